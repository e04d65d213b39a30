// pvkit robustness: SystemOps — hostile guest actions against a PvSystem, from any byte source.
//
// What it is: generators that turn a source of choices into what a hostile PV guest can do:
// hypercalls of every family pvkit implements (arguments and request arrays written into
// the calling vCPU's argument memory, mostly near-valid — real machine addresses of its own
// and others' tables and frames, small port/ref/domain numbers — and sometimes arbitrary),
// multicall batches of them, and plain writes to the memory the guest shares with the
// hypervisor (grant entries as an honest or a hostile granter, shared_info and FIFO event
// words). One `step()` performs one action and reports it; the caller checks invariants.
// The source is a template parameter with three members:
//   std::uint32_t range(std::uint32_t lo, std::uint32_t hi);   // inclusive
//   std::uint64_t any64();
//   bool coin();
// (FdpSource wraps libFuzzer's FuzzedDataProvider; the stress test uses a PRNG.)
//
// How to use it:
//   SystemOps<FdpSource> ops{sys, src, DomId{1}, VcpuId{0}};
//   StepResult r = ops.step();       // r.rax: the guest's RAX if a hypercall was made
//
// Concurrency: one SystemOps per (domain, vCPU) thread; guest-shared writes use atomics.
#pragma once

#include <cstdint>
#include <cstring>

#include "pvkit/base/types.h"
#include "pvkit/event/xen_abi.h"
#include "pvkit/grant/xen_abi.h"
#include "pvkit/hypercall/args.h"
#include "pvkit/mm/pte.h"
#include "pvkit/mm/xen_abi.h"
#include "pvkit/xen/hypercall_numbers.h"
#include "pvkit/xen/xen_abi.h"
#include "tests/fuzz/pv_system.h"

namespace pvkit::robustness {

/// What one step did.
struct StepResult {
  bool hypercall = false;
  HypercallArgs args{};  ///< the registers as the guest loaded them
  std::uint64_t nr = 0;
  std::int64_t rax = 0;
  int restarts = 0;
};

template <typename Src>
class SystemOps {
 public:
  /// `hostile`: the guest may also scribble over its grant entries and revoke entries in use.
  SystemOps(PvSystem& sys, Src& in, DomId dom, VcpuId vcpu, bool hostile = true)
      : sys_(sys), in_(in), dom_(dom), vcpu_(vcpu), honest_(!hostile) {}

  /// One guest action: a hypercall (maybe a multicall) or a write to shared memory.
  StepResult step() {
    StepResult r;
    const std::uint32_t kind = in_.range(0, 15);
    if (kind >= 12) {
      shared_write(kind - 12);
      return r;
    }
    HypercallArgs a = kind == 11 ? multicall() : call(kind, in_.range(0, 15));
    r.hypercall = true;
    r.args = a;
    r.nr = a.nr;
    const std::uint32_t preempt = in_.coin() ? in_.range(1, 4) : 0;
    r.rax = sys_.hypercall(dom_, vcpu_, a, preempt, &r.restarts);
    return r;
  }

 private:
  using P = X86Pte;

  host::FlatGuestMemory& mem() { return sys_.mem(dom_, vcpu_); }
  static VirtAddr slot(std::uint32_t i) {
    return VirtAddr{PvSystem::kArgVa + (i % PvSystem::kArgSlots) * PvSystem::kArgSlotBytes};
  }
  template <typename T>
  void put(VirtAddr va, std::uint32_t index, const T& v) {
    std::memcpy(mem().host_ptr(VirtAddr{va.value() + index * sizeof(T)}), &v, sizeof(T));
  }

  DomId other_dom() { return DomId{static_cast<std::uint16_t>(in_.range(0, PvSystem::kDomains - 1))}; }
  /// A domain id as a guest names one: mostly real or self, sometimes absent or reserved.
  std::uint16_t domid() {
    switch (in_.range(0, 7)) {
      case 0: return kDomidSelf.value();
      case 1: return static_cast<std::uint16_t>(in_.range(0, 0xFFFF));
      case 2: return static_cast<std::uint16_t>(PvSystem::kDomains);  // no such domain
      default: return other_dom().value();
    }
  }
  /// A frame: own data/spare/table frames mostly, other domains' frames, hypervisor frames,
  /// frames beyond the machine.
  Mfn frame() {
    const DomId d = in_.range(0, 3) == 0 ? other_dom() : dom_;
    switch (in_.range(0, 9)) {
      case 0: return Mfn{in_.range(0, PvSystem::kFrames + 8)};
      case 1: return Mfn{in_.range(0, PvSystem::kXenFrames - 1)};
      case 2: case 3: return sys_.table_frame(d, in_.range(1, 4));
      case 4: return sys_.spare_frame(d, in_.range(0, 7));
      case 5: return Mfn{in_.any64()};
      default: return sys_.data_frame(d, in_.range(0, 7));
    }
  }
  /// A machine address of a page-table entry (mostly of the caller's own tables).
  std::uint64_t entry_maddr() {
    switch (in_.range(0, 5)) {
      case 0: return to_maddr(frame()).value() + 8 * in_.range(0, 511);
      case 1: return in_.any64();
      case 2: return to_maddr(sys_.table_frame(dom_, in_.range(1, 4))).value() + 8 * in_.range(0, 511);
      case 3: return sys_.data_pte(other_dom(), in_.range(0, 7)).value();
      default: return sys_.data_pte(dom_, in_.range(0, 7)).value() + 8 * in_.range(0, 2);
    }
  }
  /// A PTE value: a frame with mostly plausible flags, sometimes any bits.
  std::uint64_t pte() {
    if (in_.range(0, 7) == 0) return in_.any64();
    if (in_.range(0, 7) == 0) return 0;
    std::uint64_t v = P::Present::set(0, in_.range(0, 7) != 0);
    v = P::Rw::set(v, in_.coin());
    v = P::User::set(v, in_.coin());
    if (in_.range(0, 3) == 0) v |= static_cast<std::uint64_t>(in_.range(0, 0xFFF)) & ~std::uint64_t{1};
    if (in_.range(0, 5) == 0) v = P::Nx::set(v, 1);
    return P::with_frame(v, frame());
  }
  std::uint64_t va() {
    switch (in_.range(0, 4)) {
      case 0: return in_.any64();
      case 1: return PvSystem::kDataVa + in_.range(0, 600) * kPageSize;
      default: return PvSystem::kDataVa + in_.range(0, PvSystem::kDataPages) * kPageSize + (in_.coin() ? 0 : in_.range(0, 4095));
    }
  }
  std::uint32_t port() { return in_.range(0, 7) == 0 ? static_cast<std::uint32_t>(in_.any64()) : in_.range(0, 70); }
  std::uint32_t vcpu() { return in_.range(0, 7) == 0 ? static_cast<std::uint32_t>(in_.any64()) : in_.range(0, 2); }
  std::uint32_t ref() { return in_.range(0, 7) == 0 ? static_cast<std::uint32_t>(in_.any64()) : in_.range(0, 20); }
  std::uint32_t count(std::uint32_t max) { return in_.range(0, 15) == 0 ? static_cast<std::uint32_t>(in_.any64()) : in_.range(0, max); }
  /// A guest pointer: the argument slot, another slot, the list page, unmapped or wild.
  std::uint64_t ptr(VirtAddr s) {
    switch (in_.range(0, 9)) {
      case 0: return 0;
      case 1: return in_.any64();
      case 2: return PvSystem::kArgVa + PvSystem::kArgBytes - in_.range(1, 40);  // straddles the end
      default: return s.value();
    }
  }

  HypercallArgs args(std::uint64_t nr, std::uint64_t a0 = 0, std::uint64_t a1 = 0, std::uint64_t a2 = 0,
                     std::uint64_t a3 = 0, std::uint64_t a4 = 0) {
    HypercallArgs a;
    a.nr = nr;
    a.a = {a0, a1, a2, a3, a4};
    return a;
  }

  /// One hypercall of family `kind`, its arrays in argument slot `s`.
  HypercallArgs call(std::uint32_t kind, std::uint32_t si) {
    const VirtAddr s = slot(si);
    const VirtAddr out = slot(si + 8);
    switch (kind) {
      case 0: {  // mmu_update
        const std::uint32_t n = in_.range(1, 6);
        for (std::uint32_t i = 0; i < n; ++i) {
          const std::uint32_t cmd = in_.range(0, 7) == 0 ? in_.range(0, 7) : (in_.range(0, 5) == 0 ? xen::kMmuMachphysUpdate : xen::kMmuNormalPtUpdate);
          put(s, i, xen::MmuUpdate{(entry_maddr() & ~std::uint64_t{7}) | cmd, pte()});
        }
        std::uint64_t cnt = in_.range(0, 9) == 0 ? count(64) : n;
        if (in_.range(0, 9) == 0) cnt |= xen::kMmuUpdatePreempted;
        return args(xen::hc::kMmuUpdate, ptr(s), cnt, in_.coin() ? out.value() : 0,
                    in_.range(0, 3) == 0 ? domid() : kDomidSelf.value());
      }
      case 1: {  // mmuext_op
        const std::uint32_t n = in_.range(1, 4);
        for (std::uint32_t i = 0; i < n; ++i) {
          xen::MmuextOp op{};
          op.cmd = in_.range(0, 9) == 0 ? static_cast<std::uint32_t>(in_.any64()) : in_.range(0, 21);
          op.arg1 = in_.coin() ? frame().value() : va();
          op.arg2 = in_.range(0, 3) == 0 ? out.value() : (in_.coin() ? frame().value() : in_.range(0, 600));
          put(s, i, op);
        }
        put(out, 0, std::uint64_t{in_.range(0, 3)});  // a vCPU mask
        std::uint64_t cnt = in_.range(0, 9) == 0 ? count(64) : n;
        if (in_.range(0, 9) == 0) cnt |= xen::kMmuUpdatePreempted;
        return args(xen::hc::kMmuextOp, ptr(s), cnt, in_.coin() ? out.value() + 64 : 0,
                    in_.range(0, 3) == 0 ? domid() : kDomidSelf.value());
      }
      case 2: {  // update_va_mapping
        std::uint64_t flags = in_.range(0, 7);
        if (in_.range(0, 3) == 0) flags = out.value() | (flags & 3);
        put(out, 0, std::uint64_t{in_.range(0, 3)});
        return args(xen::hc::kUpdateVaMapping, va(), pte(), in_.range(0, 9) == 0 ? in_.any64() : flags);
      }
      case 3: case 4: case 5:
        return evtchn(s);
      case 6: case 7: case 8:
        return gnttab(s, out);
      case 9: {  // xen_version / console_io / vm_assist / sched_op
        switch (in_.range(0, 3)) {
          case 0: return args(xen::hc::kXenVersion, in_.range(0, 12), ptr(s));
          case 1: {
            const std::uint32_t n = in_.range(0, 64);
            for (std::uint32_t i = 0; i < n; ++i) put(s, i, static_cast<char>(in_.range(0, 255)));
            return args(xen::hc::kConsoleIo, in_.range(0, 2), in_.range(0, 7) == 0 ? count(1 << 20) : n, ptr(s));
          }
          case 2: return args(xen::hc::kVmAssist, in_.range(0, 2), in_.range(0, 40));
          default: return args(xen::hc::kSchedOp, in_.range(0, 1), ptr(s));  // yield / block only
        }
      }
      default:  // anything: raw registers
        return args(in_.range(0, 3) == 0 ? in_.any64() : in_.range(0, 70), in_.any64(), ptr(s), in_.any64(),
                    in_.range(0, 3), in_.any64());
    }
  }

  HypercallArgs evtchn(VirtAddr s) {
    namespace ex = xen;
    const std::uint32_t cmd = in_.range(0, 15) == 0 ? static_cast<std::uint32_t>(in_.any64()) : in_.range(0, 14);
    std::uint8_t buf[32]{};
    switch (cmd) {
      case ex::kEvtchnOpAllocUnbound: { ex::EvtchnAllocUnbound o{domid(), domid(), 0}; std::memcpy(buf, &o, sizeof o); break; }
      case ex::kEvtchnOpBindInterdomain: { ex::EvtchnBindInterdomain o{domid(), port(), 0}; std::memcpy(buf, &o, sizeof o); break; }
      case ex::kEvtchnOpBindVirq: { ex::EvtchnBindVirq o{in_.range(0, 24), vcpu(), 0}; std::memcpy(buf, &o, sizeof o); break; }
      case ex::kEvtchnOpBindPirq: { ex::EvtchnBindPirq o{in_.range(0, 8), in_.range(0, 1), 0}; std::memcpy(buf, &o, sizeof o); break; }
      case ex::kEvtchnOpBindIpi: { ex::EvtchnBindIpi o{vcpu(), 0}; std::memcpy(buf, &o, sizeof o); break; }
      case ex::kEvtchnOpStatus: { ex::EvtchnStatus o{}; o.dom = domid(); o.port = port(); std::memcpy(buf, &o, sizeof o); break; }
      case ex::kEvtchnOpBindVcpu: { ex::EvtchnBindVcpu o{port(), vcpu()}; std::memcpy(buf, &o, sizeof o); break; }
      case ex::kEvtchnOpReset: case ex::kEvtchnOpResetCont: { ex::EvtchnReset o{domid()}; std::memcpy(buf, &o, sizeof o); break; }
      case ex::kEvtchnOpInitControl: {
        ex::EvtchnInitControl o{};
        o.control_gfn = in_.range(0, 3) == 0 ? in_.any64() : PvSystem::kControlGfn + in_.range(0, 2);
        o.offset = in_.range(0, 3) == 0 ? static_cast<std::uint32_t>(in_.any64()) : in_.range(0, 8) * 64;
        o.vcpu = vcpu();
        std::memcpy(buf, &o, sizeof o);
        break;
      }
      case ex::kEvtchnOpExpandArray: {
        ex::EvtchnExpandArray o{in_.range(0, 3) == 0 ? in_.any64() : PvSystem::kArrayGfn + in_.range(0, 2)};
        std::memcpy(buf, &o, sizeof o);
        break;
      }
      case ex::kEvtchnOpSetPriority: { ex::EvtchnSetPriority o{port(), in_.range(0, 17)}; std::memcpy(buf, &o, sizeof o); break; }
      default: { const std::uint32_t p = port(); std::memcpy(buf, &p, sizeof p); break; }  // close, send, unmask
    }
    std::memcpy(mem().host_ptr(s), buf, sizeof buf);
    return args(xen::hc::kEventChannelOp, cmd, ptr(s));
  }

  HypercallArgs gnttab(VirtAddr s, VirtAddr out) {
    std::uint32_t cmd = in_.range(0, 15) == 0 ? in_.range(0, 20) : in_.range(0, 11);
    if (cmd == xen::kGnttabOpMapGrantRef || cmd == xen::kGnttabOpUnmapGrantRef) {
      // the common pair gets more weight
    } else if (in_.coin()) {
      cmd = in_.coin() ? xen::kGnttabOpMapGrantRef : xen::kGnttabOpUnmapGrantRef;
    }
    const std::uint32_t n = in_.range(1, 5);
    for (std::uint32_t i = 0; i < n; ++i) {
      switch (cmd) {
        case xen::kGnttabOpMapGrantRef: {
          xen::GnttabMapGrantRef o{};
          o.flags = in_.range(0, 7) == 0 ? static_cast<std::uint32_t>(in_.any64()) : in_.range(0, 31);
          o.host_addr = (o.flags & xen::kGntmapContainsPte) != 0 ? entry_maddr() : va();
          o.ref = ref();
          o.dom = domid();
          put(s, i, o);
          break;
        }
        case xen::kGnttabOpUnmapGrantRef: {
          xen::GnttabUnmapGrantRef o{};
          o.host_addr = in_.coin() ? va() : entry_maddr();
          o.dev_bus_addr = in_.coin() ? 0 : to_maddr(frame()).value();
          o.handle = in_.range(0, 7) == 0 ? static_cast<std::uint32_t>(in_.any64()) : in_.range(0, 12);
          put(s, i, o);
          break;
        }
        case xen::kGnttabOpSetupTable: {
          xen::GnttabSetupTable o{};
          o.dom = domid();
          o.nr_frames = in_.range(0, 4);
          o.frame_list = ptr(out);
          put(s, i, o);
          break;
        }
        case xen::kGnttabOpTransfer: {
          xen::GnttabTransfer o{};
          o.mfn = frame().value();
          o.domid = domid();
          o.ref = ref();
          put(s, i, o);
          break;
        }
        case xen::kGnttabOpCopy: {
          xen::GnttabCopy o{};
          for (xen::GnttabCopyPtr* p : {&o.source, &o.dest}) {
            if (in_.coin()) p->u.ref = ref();
            else p->u.gmfn = frame().value();
            p->domid = domid();
            p->offset = static_cast<std::uint16_t>(in_.range(0, 4200));
          }
          o.len = static_cast<std::uint16_t>(in_.range(0, 4200));
          o.flags = static_cast<std::uint16_t>(in_.range(0, 3));  // GNTCOPY_source_gref, _dest_gref
          put(s, i, o);
          break;
        }
        case xen::kGnttabOpQuerySize: { xen::GnttabQuerySize o{}; o.dom = domid(); put(s, i, o); break; }
        case xen::kGnttabOpSetVersion: { xen::GnttabSetVersion o{in_.range(0, 3)}; put(s, i, o); break; }
        case xen::kGnttabOpGetStatusFrames: {
          xen::GnttabGetStatusFrames o{};
          o.nr_frames = in_.range(0, 3);
          o.dom = domid();
          o.frame_list = ptr(out);
          put(s, i, o);
          break;
        }
        case xen::kGnttabOpGetVersion: { xen::GnttabGetVersion o{}; o.dom = domid(); put(s, i, o); break; }
        case xen::kGnttabOpSwapGrantRef: { xen::GnttabSwapGrantRef o{ref(), ref(), 0}; put(s, i, o); break; }
        default: put(s, i, in_.any64()); break;
      }
    }
    std::uint64_t c = cmd;
    if (in_.range(0, 9) == 0) c |= static_cast<std::uint64_t>(in_.range(0, 8)) << xen::kGnttabOpContShift;
    return args(xen::hc::kGrantTableOp, c, ptr(s), in_.range(0, 9) == 0 ? count(64) : n);
  }

  /// A multicall batch of up to 6 entries, each generated like a top-level call.
  HypercallArgs multicall() {
    const VirtAddr list{PvSystem::kListVa};
    const std::uint32_t n = in_.range(1, 6);
    for (std::uint32_t i = 0; i < n; ++i) {
      xen::MulticallEntry e{};
      const std::uint32_t kind = in_.range(0, 12);
      HypercallArgs a = kind == 11 ? args(xen::hc::kIret) : kind == 12 ? args(xen::hc::kMulticall, list.value(), 1)
                                                                       : call(kind, i);
      e.op = a.nr;
      for (std::size_t k = 0; k < a.a.size(); ++k) e.args[k] = a.a[k];
      std::memcpy(mem().host_ptr(VirtAddr{list.value() + i * sizeof(xen::MulticallEntry)}), &e, sizeof e);
    }
    const std::uint64_t cnt = in_.range(0, 9) == 0 ? count(200) : n;
    return args(xen::hc::kMulticall, in_.range(0, 15) == 0 ? in_.any64() : list.value(), cnt);
  }

  /// A write by the guest to memory it shares with the hypervisor.
  void shared_write(std::uint32_t kind) {
    switch (kind) {
      case 0: granter_write(); break;
      case 1: revoke(); break;
      case 2: {  // shared_info / FIFO control block / event array: any 32-bit word
        const std::uint64_t gfn = in_.coin() ? PvSystem::kSharedInfoGfn
                                             : (in_.coin() ? PvSystem::kControlGfn + in_.range(0, 1) : PvSystem::kArrayGfn + in_.range(0, 1));
        auto* w = sys_.event_platform().guest_frame_as<std::uint32_t>(dom_, Gfn{gfn});
        __atomic_store_n(&w[in_.range(0, 1023)], static_cast<std::uint32_t>(in_.any64()), __ATOMIC_RELAXED);
        break;
      }
      default: {  // a hostile granter scribbles on its grant table (any entry, any bits)
        if (honest_) return granter_write();
        std::uint8_t* f = sys_.grants().shared_frame(dom_, in_.range(0, 1));
        if (f == nullptr) return;
        sys_.v1_honest[dom_.value()].store(false);  // v1 status bits are now the guest's word
        auto* w = reinterpret_cast<std::uint32_t*>(f);
        __atomic_store_n(&w[in_.range(0, 1023)], static_cast<std::uint32_t>(in_.any64()), __ATOMIC_RELAXED);
      }
    }
  }

  /// An honest granter (re)writes one of its entries that is not in use: domid and frame
  /// first, then the flags by compare-exchange (GTF_reading/GTF_writing are Xen's to set).
  /// In v1 an entry in use is left alone (domid and frame of an entry in use are rewritten,
  /// which is allowed: Xen acts on what it captured at the first pin).
  void granter_write() {
    const std::uint32_t r = in_.range(0, 20);
    const std::uint16_t to = in_.range(0, 5) == 0 ? domid() : other_dom().value();
    const Mfn f = in_.range(0, 5) == 0 ? frame() : sys_.data_frame(dom_, in_.range(0, 7));
    std::uint16_t flags = static_cast<std::uint16_t>(in_.range(0, 3));  // type
    if (in_.coin()) flags |= xen::kGtfReadonly;
    if (in_.range(0, 5) == 0) flags |= xen::kGtfSubPage;
    if (in_.range(0, 9) == 0) flags |= xen::kGtfPwt;
    auto& gt = sys_.grants();
    const std::uint32_t v = gt.version(dom_);
    if (v == 2) {
      std::uint8_t* page = gt.shared_frame(dom_, r / 256);
      if (page == nullptr) return;
      auto* e = reinterpret_cast<xen::GrantEntryV2*>(page + (r % 256) * 16);
      if ((flags & xen::kGtfTypeMask) == xen::kGtfTransitive) {
        __atomic_store_n(&e->transitive.trans_domid, other_dom().value(), __ATOMIC_RELAXED);
        __atomic_store_n(&e->transitive.gref, ref(), __ATOMIC_RELAXED);
      } else if (flags & xen::kGtfSubPage) {
        __atomic_store_n(&e->sub_page.frame, f.value(), __ATOMIC_RELAXED);
        __atomic_store_n(&e->sub_page.page_off, static_cast<std::uint16_t>(in_.range(0, 4096)), __ATOMIC_RELAXED);
        __atomic_store_n(&e->sub_page.length, static_cast<std::uint16_t>(in_.range(0, 4096)), __ATOMIC_RELAXED);
      } else {
        __atomic_store_n(&e->full_page.frame, f.value(), __ATOMIC_RELAXED);
      }
      __atomic_store_n(&e->full_page.hdr.domid, to, __ATOMIC_RELAXED);
      __atomic_store_n(&e->full_page.hdr.flags, flags, __ATOMIC_RELEASE);
      return;
    }
    std::uint8_t* page = gt.shared_frame(dom_, r / 512);
    if (page == nullptr) return;
    auto* e = reinterpret_cast<xen::GrantEntryV1*>(page + (r % 512) * 8);
    __atomic_store_n(&e->frame, static_cast<std::uint32_t>(f.value()), __ATOMIC_RELAXED);
    __atomic_store_n(&e->domid, to, __ATOMIC_RELAXED);
    // An honest granter reuses an entry only once the hypervisor no longer uses it.
    constexpr std::uint16_t kInUse = xen::kGtfReading | xen::kGtfWriting;
    std::uint16_t old = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
    do {
      if ((old & xen::kGtfTypeMask) != xen::kGtfAcceptTransfer && (old & kInUse) != 0) return;
    } while (!__atomic_compare_exchange_n(&e->flags, &old, static_cast<std::uint16_t>(flags & ~kInUse), false,
                                          __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
  }

  /// A revoke: flags -> 0 by compare-exchange, only while neither reading nor writing (v1);
  /// in v2 an honest granter checks its status frame first, a hostile one does not.
  void revoke() {
    const std::uint32_t r = in_.range(0, 20);
    auto& gt = sys_.grants();
    const std::uint32_t v = gt.version(dom_);
    std::uint8_t* page = gt.shared_frame(dom_, r / (v == 2 ? 256 : 512));
    if (page == nullptr) return;
    auto* flags = reinterpret_cast<std::uint16_t*>(page + (r % (v == 2 ? 256 : 512)) * (v == 2 ? 16 : 8));
    std::uint16_t old = __atomic_load_n(flags, __ATOMIC_ACQUIRE);
    constexpr std::uint16_t kInUse = xen::kGtfReading | xen::kGtfWriting;
    if (v == 1 && (old & xen::kGtfTypeMask) != xen::kGtfAcceptTransfer && (old & kInUse) != 0) return;
    if (v == 2 && honest_) {  // an honest v2 granter looks at its status frame first
      std::uint8_t* st = gt.status_frame(dom_, r / 2048);
      if (st == nullptr || (__atomic_load_n(reinterpret_cast<std::uint16_t*>(st) + r % 2048, __ATOMIC_ACQUIRE) & kInUse) != 0) {
        return;
      }
    }
    (void)__atomic_compare_exchange_n(flags, &old, std::uint16_t{0}, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
  }

  PvSystem& sys_;
  Src& in_;
  DomId dom_;
  VcpuId vcpu_;
  bool honest_;
};

}  // namespace pvkit::robustness
