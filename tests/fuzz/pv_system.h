// pvkit robustness: PvSystem — a small complete PV system on the host, for fuzzing and stress.
//
// What it is: pvkit's real lib/ templates composed the way a hypervisor platform composes them:
//   - a simulated machine and the PV page-table verifier (lib/mm over platforms/host/machine),
//     with a domain table (lib/domain);
//   - event channels (lib/event over platforms/host/event's HostEventPlatform);
//   - grant tables (lib/grant) over `MmGrantPlatform`, an adapter (below) that implements the
//     grant frame and mapping policies with lib/mm's grant hooks, so grant maps write real
//     grant PTEs into the mapper's validated page tables and hold real frame references;
//   - one hypercall table with every handler pvkit has (mmu_update, mmuext_op,
//     update_va_mapping, event_channel_op, grant_table_op, xen_version, console_io, vm_assist,
//     sched_op, multicall), dispatched through pvkit::hypercall_entry with the platform's
//     re-execution protocol (continuations re-executed, bounded).
// Three domains: d0 privileged (dom0-like), d1 and d2 ordinary, each with kVcpus vCPUs, a
// pinned and loaded 4-level address space mapping kDataPages data frames at kDataVa, spare
// frames, a shared_info page, FIFO control/array frames, and per-vCPU hypercall argument
// memory (a FlatGuestMemory; 16 argument slots at kArgVa, a multicall list at kListVa).
// `check()` recomputes the global invariants from scratch and answers "" or a description:
//   * frame reference and type counts, no writable mapping of a page table, linear-table
//     rules, no foreign mapping without grant or privilege, hypervisor frames untouched, no
//     stale writable TLB entry of a table (host::check_mm_invariants, with the references the
//     grant tables hold added from the adapter's ledger);
//   * grant pins vs status bits (invariant 20): an entry with host/device pins has
//     GTF_reading (and GTF_writing iff it has writable pins); without pins neither bit is
//     set (v2 status frames; v1 too for domains whose entries were only changed honestly);
//     the adapter's reference ledger never goes negative;
//   * event-channel port states: every interdomain port's peer names it back, vCPUs are in
//     range, port 0 is never bound, and the platform's mapping counters are sane.
//
// How to use it:
//   PvSystem sys;                                           // builds everything; ok() if so
//   HypercallArgs a{17, {0, 0, 0, 0, 0}};
//   std::int64_t rax = sys.hypercall(DomId{1}, VcpuId{0}, a);
//   std::string bad = sys.check();                          // "" when every invariant holds
//
// Concurrency: hypercalls may run concurrently from several threads if each thread is a
// distinct (domain, vCPU) (its own argument memory); every lib/ object is thread-safe and the
// host machine is only touched under the verifier's lock. check() needs quiescence (no
// hypercall running). Host-only (std containers).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <sstream>
#include <string>

#include "pvkit/mm/xen_abi.h"
#include "pvkit/xen/xen_abi.h"

#include "pvkit/base/status.h"
#include "pvkit/base/types.h"
#include "pvkit/domain/domain_table.h"
#include "pvkit/event/event_channels.h"
#include "pvkit/event/evtchn_op.h"
#include "pvkit/grant/grant_table_op.h"
#include "pvkit/grant/grant_tables.h"
#include "pvkit/hypercall/console_io.h"
#include "pvkit/hypercall/dispatch.h"
#include "pvkit/hypercall/multicall.h"
#include "pvkit/hypercall/sched_op.h"
#include "pvkit/hypercall/vm_assist.h"
#include "pvkit/hypercall/xen_version.h"
#include "pvkit/mm/grant_mapping.h"
#include "pvkit/mm/hypercall_mmu_update.h"
#include "pvkit/mm/hypercall_mmuext_op.h"
#include "pvkit/mm/hypercall_update_va_mapping.h"
#include "pvkit/platforms/host/event/host_event_platform.h"
#include "pvkit/platforms/host/flat_guest_memory.h"
#include "pvkit/platforms/host/heap_page_allocator.h"
#include "pvkit/platforms/host/machine/mm_fixture.h"
#include "pvkit/platforms/host/machine/mm_invariants.h"

namespace pvkit::robustness {

/// The grant-table policies implemented with lib/mm's grant hooks over an MmWorld.
/// Keeps a ledger of the frame references the grant tables hold (general, writable-type),
/// which the whole-system check adds to the references it recomputes.
class MmGrantPlatform {
 public:
  /// Hypervisor grant/status pages are shown to guests under frame numbers from here on
  /// (outside the simulated machine, so no guest page table can map them).
  static constexpr std::uint64_t kFirstTablePageMfn = 0x100000;

  explicit MmGrantPlatform(host::MmWorld& w) : w_(w) {}

  // ---- PageAllocator
  void* alloc_page() { return alloc_.alloc_page(); }
  void free_page(void* p) { alloc_.free_page(p); }
  host::HeapPageAllocator& allocator() { return alloc_; }

  // ---- GrantFramePolicy
  GrantStatus get_frame(Mfn m, DomId owner, bool writable) {
    Domain* d = w_.domains.find(owner);
    if (d == nullptr) return GrantStatus::BadPage;
    if (Status s = grant_get_frame(w_.mm, m, *d, writable); !s) {
      if (s.error() == Errno::Inval) return GrantStatus::BadPage;
      if (s.error() == Errno::Again) return GrantStatus::Eagain;
      return GrantStatus::GeneralError;
    }
    std::lock_guard g(mu_);
    auto& e = ledger_[m.value()];
    ++e.first;
    if (writable) ++e.second;
    return GrantStatus::Okay;
  }
  void put_frame(Mfn m, bool writable) {
    {
      std::lock_guard g(mu_);
      auto& e = ledger_[m.value()];
      if (e.first == 0 || (writable && e.second == 0)) {
        ++violations_;  // the grant code dropped a reference it never took
        return;
      }
      --e.first;
      if (writable) --e.second;
    }
    grant_put_frame(w_.mm, m, writable);
  }
  std::uint8_t* frame_bytes(Mfn m) {
    if (m.value() < w_.machine.xen_frames()) return nullptr;
    return reinterpret_cast<std::uint8_t*>(w_.machine.frame_entries(m));
  }
  GrantStatus steal_frame(DomId owner, Mfn m) {
    Domain* d = w_.domains.find(owner);
    if (d == nullptr) return GrantStatus::BadPage;
    Status s = grant_steal_frame(w_.mm, *d, m);
    if (s) return GrantStatus::Okay;
    return s.error() == Errno::Inval ? GrantStatus::BadPage : GrantStatus::GeneralError;
  }
  GrantStatus assign_frame(DomId to, Mfn m) {
    Domain* d = w_.domains.find(to);
    if (d == nullptr) return GrantStatus::BadPage;
    Status s = grant_assign_frame(w_.mm, *d, m);
    if (s) return GrantStatus::Okay;
    return s.error() == Errno::Inval ? GrantStatus::BadPage : GrantStatus::GeneralError;
  }
  Result<Mfn> share_table_page(DomId, void* page, bool) {
    std::lock_guard g(mu_);
    auto it = shared_.find(page);
    if (it != shared_.end()) return Mfn{it->second};
    const std::uint64_t m = kFirstTablePageMfn + next_shared_++;
    shared_[page] = m;
    return Mfn{m};
  }
  Status unshare_table_page(DomId, void* page) {
    std::lock_guard g(mu_);
    shared_.erase(page);
    return Status::ok();
  }
  bool controls(DomId caller, DomId target) {
    Domain* c = w_.domains.find(caller);
    Domain* t = w_.domains.find(target);
    return c != nullptr && t != nullptr && c->can_act_on(*t);
  }

  // ---- GrantMappingPolicy
  GrantStatus install_host_mapping(DomId mapper, const GrantHostMapping& m, Mfn f) {
    Domain* d = w_.domains.find(mapper);
    if (d == nullptr) return GrantStatus::GeneralError;
    const GrantPteFlags fl{.readonly = m.readonly, .user = m.application};
    Result<std::uint64_t> r = m.contains_pte ? grant_install_pte(w_.mm, *d, MachAddr{m.addr}, f, fl)
                                             : grant_install_va(w_.mm, *d, VcpuId{0}, VirtAddr{m.addr}, f, fl);
    if (r.ok()) return GrantStatus::Okay;
    if (!m.contains_pte && r.status().error() == Errno::Inval) return GrantStatus::BadVirtAddr;
    return GrantStatus::GeneralError;
  }
  GrantStatus remove_host_mapping(DomId mapper, const GrantHostMapping& m, Mfn f) {
    Domain* d = w_.domains.find(mapper);
    if (d == nullptr) return GrantStatus::GeneralError;
    Result<std::uint64_t> r = m.contains_pte ? grant_remove_pte(w_.mm, *d, MachAddr{m.addr}, f, m.readonly)
                                             : grant_remove_va(w_.mm, *d, VcpuId{0}, VirtAddr{m.addr}, f, m.readonly);
    return r.ok() ? GrantStatus::Okay : GrantStatus::GeneralError;
  }
  void release_host_mapping(DomId mapper, const GrantHostMapping& m, Mfn f) {
    Domain* d = w_.domains.find(mapper);
    if (d == nullptr) return;
    if (m.contains_pte) grant_release_pte(w_.mm, *d, MachAddr{m.addr}, f, m.readonly);
    else grant_release_va(w_.mm, *d, VcpuId{0}, VirtAddr{m.addr}, f, m.readonly);
  }
  GrantStatus install_device_mapping(DomId, Mfn, bool) {
    device_maps_.fetch_add(1, std::memory_order_relaxed);
    return GrantStatus::Okay;
  }
  void remove_device_mapping(DomId, Mfn) { device_maps_.fetch_sub(1, std::memory_order_relaxed); }
  void flush_tlb(DomId mapper) {
    if (Domain* d = w_.domains.find(mapper)) grant_flush_tlb(w_.mm, *d);
  }

  // ---- for the checks
  /// The references grant tables hold, as check_mm_invariants' `extra` (mfn -> (ref, type)).
  host::ExtraRefs ledger() {
    std::lock_guard g(mu_);
    host::ExtraRefs out;
    for (auto& [m, e] : ledger_) {
      if (e.first != 0 || e.second != 0) out[m] = e;
    }
    return out;
  }
  [[nodiscard]] std::uint64_t violations() {
    std::lock_guard g(mu_);
    return violations_;
  }
  [[nodiscard]] std::int64_t device_maps() const { return device_maps_.load(std::memory_order_relaxed); }

 private:
  host::MmWorld& w_;
  host::HeapPageAllocator alloc_;
  std::mutex mu_;
  std::map<std::uint64_t, std::pair<std::uint32_t, std::uint32_t>> ledger_;
  std::map<void*, std::uint64_t> shared_;
  std::uint64_t next_shared_ = 0;
  std::uint64_t violations_ = 0;
  std::atomic<std::int64_t> device_maps_{0};
};
static_assert(GrantPlatform<MmGrantPlatform>);

/// Grant-table sizing small enough for limits to be reachable.
struct SystemGrantLimits {
  static constexpr std::uint32_t kMaxGrantFrames = 2;
  static constexpr std::uint32_t kInitialGrantFrames = 1;
  static constexpr std::uint32_t kMaxMaptrackFrames = 1;
  static constexpr std::uint32_t kMaxVersion = 2;
  static constexpr std::uint32_t kOpsPerCall = 8;
  static constexpr std::uint32_t kUnmapBatch = 4;
  static constexpr std::uint32_t kCasRetries = 4;
};

/// A console that only counts (no growth per call).
struct CountingConsole {
  std::atomic<std::uint64_t> bytes{0};
  void write(std::span<const char> s) { bytes.fetch_add(s.size(), std::memory_order_relaxed); }
  std::size_t read(std::span<char>) { return 0; }
  bool accepts_unprivileged_writes() const { return true; }
};
/// A scheduler that only counts.
struct CountingScheduler {
  std::atomic<std::uint64_t> calls{0};
  void yield() { calls.fetch_add(1, std::memory_order_relaxed); }
  void block() { calls.fetch_add(1, std::memory_order_relaxed); }
  void shutdown(std::uint32_t) { calls.fetch_add(1, std::memory_order_relaxed); }
};

class PvSystem {
 public:
  static constexpr std::size_t kDomains = 3;       ///< d0 privileged, d1, d2
  static constexpr std::uint32_t kVcpus = 2;
  static constexpr std::uint64_t kFrames = 64;     ///< machine frames (4 hypervisor-owned)
  static constexpr std::uint64_t kXenFrames = 4;
  static constexpr std::uint32_t kDataPages = 6;   ///< mapped data frames per domain
  static constexpr std::uint32_t kSparePages = 4;  ///< owned, unmapped frames per domain
  static constexpr std::uint64_t kDataVa = 0x400000;
  static constexpr std::uint64_t kArgVa = 0x10000;   ///< kArgSlots argument slots of kArgSlotBytes
  static constexpr std::uint64_t kArgSlotBytes = 512;
  static constexpr std::uint64_t kArgSlots = 16;
  static constexpr std::uint64_t kArgBytes = kArgSlots * kArgSlotBytes;
  static constexpr std::uint64_t kListVa = 0x30000;  ///< multicall list, 4 KiB
  static constexpr std::uint64_t kSharedInfoGfn = 0x10;
  static constexpr std::uint64_t kControlGfn = 0x20;  ///< + vCPU
  static constexpr std::uint64_t kArrayGfn = 0x100;   ///< + page (2 pages)

  using Events = event::EventChannels<host::HostEventPlatform, 4, kVcpus>;
  using Grants = GrantTables<MmGrantPlatform, 4, SystemGrantLimits>;

  /// The per-call context: satisfies every handler family's context concept.
  struct Ctx {
    PvSystem* sys;
    DomId dom;
    VcpuId vcpu;
    std::uint32_t preempt_every = 0;  ///< >0: the preempt check fires on every Nth check
    std::uint32_t checks = 0;

    bool guest_kernel_mode() { return true; }
    HypercallStats& hypercall_stats() { return sys->stats_[dom.value()][vcpu.value()]; }
    bool hypercall_preempt_check() { return preempt_every != 0 && ++checks % preempt_every == 0; }
    host::FlatGuestMemory& guest_memory() { return *sys->mem_[dom.value()][vcpu.value()]; }
    DomId current_domain() const { return dom; }
    VcpuId current_vcpu() const { return vcpu; }
    host::MmWorld::Verifier& mm() { return sys->world_.mm; }
    DomainTable<8>& domains() { return sys->world_.domains; }
    Events& evtchn() { return *sys->ev_; }
    Grants& grant_tables() { return *sys->gt_; }
    const XenVersionInfo& xen_version_info() { return sys->version_; }
    xen::DomainHandle domain_handle() { return xen::DomainHandle{}; }
    bool is_privileged() { return dom.value() == 0; }
    std::atomic<std::uint64_t>& vm_assist() { return sys->assist_[dom.value()]; }
    CountingConsole& console() { return sys->console_; }
    CountingScheduler& scheduler() { return sys->sched_; }
  };

  using Table = HypercallTable<MmuUpdateOp, MmuextOp, UpdateVaMappingOp, event::EventChannelOp, GrantTableOp,
                               XenVersion, ConsoleIo, VmAssist, SchedOp, Multicall>;

  PvSystem() : world_(kFrames, kXenFrames), gplat_(world_) {
    ev_ = std::make_unique<Events>(evplat_);
    gt_ = std::make_unique<Grants>(gplat_);
    ok_ = build();
  }
  PvSystem(const PvSystem&) = delete;
  PvSystem& operator=(const PvSystem&) = delete;
  ~PvSystem() {
    // Grant mappings hold frame references: release them before the machine goes away.
    for (std::uint16_t d = 0; d < kDomains; ++d) {
      for (int i = 0; i < 100000 && gt_->release_domain(DomId{d}).is_restart(); ++i) {
      }
    }
    for (std::uint16_t d = 0; d < kDomains; ++d) {
      (void)gt_->destroy_domain(DomId{d});
      for (int i = 0; i < 100000 && ev_->domain_destroy(DomId{d}).is_restart(); ++i) {
      }
    }
  }

  /// True if the system was built (every domain created, address spaces pinned and loaded).
  [[nodiscard]] bool ok() const { return ok_; }

  /// A hypercall from (dom, vcpu) as the guest sees it: re-executed on continuations (at most
  /// max_restarts times; `*restarts` counts them). Returns the guest's final RAX, or
  /// kRestartValue if it was still asking to be re-executed (a livelock: callers treat it as
  /// a violation).
  std::int64_t hypercall(DomId dom, VcpuId vcpu, HypercallArgs args, std::uint32_t preempt_every = 0,
                         int* restarts = nullptr, int max_restarts = 20000) {
    int r = 0;
    for (;;) {
      Ctx ctx{this, dom, vcpu, preempt_every, 0};
      EntryResult e = hypercall_entry<Table>(ctx, args);
      if (e.action == EntryAction::kReturnToGuest) {
        if (restarts != nullptr) *restarts = r;
        return e.rax;
      }
      if (e.action != EntryAction::kReexecute || e.rax != static_cast<std::int64_t>(args.nr)) return -9999;
      if (++r > max_restarts) {
        if (restarts != nullptr) *restarts = r;
        return kRestartValue;
      }
    }
  }

  /// Recomputes every global invariant; "" if all hold. Needs quiescence. Defined in
  /// pv_system.cc, compiled without fuzzer instrumentation (the checker's loops would
  /// otherwise dominate both the run time and libFuzzer's coverage signal).
  std::string check();

  /// Destroys domain `d` the way a toolstack does (Dying; grant mappings it holds released;
  /// event channels and grant table torn down; memory torn down in bounded steps). Others'
  /// grant mappings of its frames may keep it a zombie (mm teardown Busy, grant table Busy):
  /// then every other domain releases its grant mappings and both must finish. Answers ""
  /// or what went wrong (including a domain that is not Dead or still owns frames at the
  /// end). Afterwards `d` must make no hypercall. Defined in pv_system.cc. Needs quiescence.
  std::string destroy_domain(DomId d);
  [[nodiscard]] bool destroyed(DomId d) const { return destroyed_[d.value()]; }

  // ---- what the fuzzer and the stress test use to build inputs
  host::FlatGuestMemory& mem(DomId d, VcpuId v) { return *mem_[d.value()][v.value()]; }
  Mfn data_frame(DomId d, std::uint32_t i) { return data_[d.value()][i % kDataPages]; }
  Mfn spare_frame(DomId d, std::uint32_t i) { return spare_[d.value()][i % kSparePages]; }
  /// Machine address of the L1 entry mapping data page i of d.
  MachAddr data_pte(DomId d, std::uint32_t i) { return data_pte_[d.value()][i % kDataPages]; }
  /// A validated page-table frame of d: level 1..4.
  Mfn table_frame(DomId d, unsigned level) { return tables_[d.value()][(level - 1) % 4]; }
  host::MmWorld& world() { return world_; }
  Events& events() { return *ev_; }
  Grants& grants() { return *gt_; }
  MmGrantPlatform& grant_platform() { return gplat_; }
  host::HostEventPlatform& event_platform() { return evplat_; }

  /// Whether d's v1 grant entries were written only the way an honest granter writes them
  /// (never touching GTF_reading/GTF_writing); the pin/status check for v1 needs that.
  std::array<std::atomic<bool>, kDomains> v1_honest{};

 private:
  bool build() {
    for (std::uint16_t i = 0; i < kDomains; ++i) {
      const DomId d{i};
      Domain& dom = world_.domain(i, DomainConfig{.privileged = i == 0, .max_pages = 32, .nr_vcpus = kVcpus});
      auto& b = world_.builder(dom);
      for (std::uint32_t k = 0; k < kDataPages; ++k) {
        data_[i][k] = b.alloc();
        b.map(VirtAddr{kDataVa + k * kPageSize}, data_[i][k], true);
      }
      for (std::uint32_t k = 0; k < kSparePages; ++k) spare_[i][k] = b.alloc();
      for (unsigned level = 1; level <= 4; ++level) tables_[i][level - 1] = b.table(VirtAddr{kDataVa}, level);
      for (std::uint32_t k = 0; k < kDataPages; ++k) data_pte_[i][k] = b.pte_maddr(VirtAddr{kDataVa + k * kPageSize});
      if (!b.pin_and_load(VcpuId{0})) return false;
      {
        LockGuard g(world_.mm.lock());
        Status s;
        do {
          world_.mm.begin_call();
          s = world_.mm.new_baseptr(dom, VcpuId{1}, b.root());
        } while (s.is_restart());
        if (!s) return false;
      }
      event::EventDomainConfig cfg;
      cfg.nr_vcpus = kVcpus;
      cfg.privileged = i == 0;
      cfg.max_port = 63;
      cfg.shared_info = evplat_.add_guest_frame(d, Gfn{kSharedInfoGfn});
      for (std::uint32_t v = 0; v < kVcpus; ++v) evplat_.add_guest_frame(d, Gfn{kControlGfn + v});
      for (std::uint32_t p = 0; p < 2; ++p) evplat_.add_guest_frame(d, Gfn{kArrayGfn + p});
      if (!ev_->domain_create(d, cfg)) return false;
      if (!gt_->create_domain(d)) return false;
      for (std::uint32_t v = 0; v < kVcpus; ++v) {
        mem_[i][v] = std::make_unique<host::FlatGuestMemory>();
        mem_[i][v]->map(VirtAddr{kArgVa}, kArgBytes);
        mem_[i][v]->map(VirtAddr{kListVa}, kPageSize);
      }
      v1_honest[i].store(true);
    }
    return check().empty();
  }

  void check_grants(std::ostringstream& err);
  void check_events(std::ostringstream& err);

  host::MmWorld world_;
  host::HostEventPlatform evplat_;
  MmGrantPlatform gplat_;
  std::unique_ptr<Events> ev_;
  std::unique_ptr<Grants> gt_;
  XenVersionInfo version_;
  CountingConsole console_;
  CountingScheduler sched_;
  std::array<std::atomic<std::uint64_t>, kDomains> assist_{};
  HypercallStats stats_[kDomains][kVcpus]{};
  std::unique_ptr<host::FlatGuestMemory> mem_[kDomains][kVcpus];
  Mfn data_[kDomains][kDataPages]{};
  Mfn spare_[kDomains][kSparePages]{};
  MachAddr data_pte_[kDomains][kDataPages]{};
  Mfn tables_[kDomains][4]{};
  std::array<bool, kDomains> destroyed_{};
  bool ok_ = false;
};

}  // namespace pvkit::robustness
