// Runs the real adversary guest kernel (guest/kernels/adversary.cc) on the host against a fake
// hypervisor that answers like Xen: first a strict one that refuses every attack — the kernel
// must run every group to the end, count every attempt as refused and report SUCCESS — then a
// lax one that lets page-table and foreign mappings through, which the kernel must report as
// ACCEPTED and FAILURE. This checks the adversary's own logic and bookkeeping; what pvkit's
// hypervisor answers is for the boot tests to find out.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>

#include <gtest/gtest.h>

#include "fake_xen.h"
#include "pvkit/guest/runtime.h"
#include "pvkit/guest/xen_event_abi.h"
#include "pvkit/guest/xen_grant_abi.h"
#include "pvkit/guest/xen_hypercall_abi.h"
#include "pvkit/guest/xen_mm_abi.h"

namespace x = pvkit::guest::xen;
using fake_xen::Call;

namespace {

constexpr x::DomId kSelf = 3;
constexpr std::uint64_t kGrantFrameMfn = 0x4242;  // a hypervisor-owned grant frame
constexpr long kEinval = -22, kEfault = -14, kEperm = -1, kEnosys = -38;

alignas(4096) unsigned char g_fake_l4[4096];

template <typename T>
T* arg_ptr(std::uint64_t a) {
  return reinterpret_cast<T*>(a);
}

struct StrictXen {
  StrictXen(const fake_xen::ProcessPhysMap& map, bool accept_mappings)
      : pm(map), lax(accept_mappings) {}
  const fake_xen::ProcessPhysMap& pm;
  bool lax = false;  // accept page-table and foreign-frame mappings
  std::string console;
  std::uint64_t l4_mfn = 0;
  std::uint64_t table_va = 0;                        // where the guest mapped its grant frame
  std::map<std::uint64_t, std::uint32_t> grant_maps;  // va -> ref
  std::map<std::uint32_t, std::uint64_t> handles;     // handle -> va
  std::uint32_t next_handle = 1;

  bool guest_range(std::uint64_t p, std::uint64_t len) const {
    const std::uint64_t end = reinterpret_cast<std::uint64_t>(_end);
    return p >= pm.base && p < end && len <= end - p;
  }
  // An argument pointer a hypervisor could copy from: canonical lower half, not the low 64 KiB
  // (the guest's stack is a valid place for arguments, so this is wider than guest_range).
  static bool readable(std::uint64_t p, std::uint64_t len) {
    return p >= 0x10000 && p < 0x0000'7FFF'FFFF'F000ull && len <= 0x0000'7FFF'FFFF'F000ull - p;
  }
  x::GrantEntryV1* entries() const { return arg_ptr<x::GrantEntryV1>(table_va); }

  long update_va_mapping(const Call& c) {
    const x::Pte pte(c.a[1]);
    if (!guest_range(c.a[0], 4096) || c.a[0] % 4096 != 0) return kEinval;
    if (grant_maps.count(c.a[0])) return kEinval;  // never overwrite a grant mapping
    if (pte.mfn() == kGrantFrameMfn) {
      table_va = c.a[0];
      return 0;
    }
    if (lax) return 0;
    if (pm.ptr_of(pte.mfn()) == nullptr) return kEinval;       // not our frame
    if (pte.mfn() == l4_mfn && pte.writable()) return kEinval;  // a page table, writable
    return 0;
  }

  std::int16_t map_grant(x::GnttabMapGrantRef& op) {
    if (op.dom != kSelf) return -2;
    if (op.ref >= x::kGrantEntriesPerFrameV1) return -3;
    if (!guest_range(op.host_addr, 4096) || op.host_addr % 4096) return -5;
    x::GrantEntryV1& e = entries()[op.ref];
    if ((e.flags & x::kGtfTypeMask) != x::kGtfPermitAccess || e.domid != kSelf) return -8;
    const bool ro = op.flags & x::kGntmapReadonly;
    if ((e.flags & x::kGtfReadonly) && !ro) return -8;
    e.flags |= x::kGtfReading | (ro ? 0 : x::kGtfWriting);
    grant_maps[op.host_addr] = op.ref;
    handles[next_handle] = op.host_addr;
    op.handle = next_handle++;
    return 0;
  }

  std::int16_t unmap_grant(const x::GnttabUnmapGrantRef& op) {
    auto h = handles.find(op.handle);
    if (h == handles.end() || h->second != op.host_addr) return -4;
    entries()[grant_maps[op.host_addr]].flags &= ~(x::kGtfReading | x::kGtfWriting);
    grant_maps.erase(op.host_addr);
    handles.erase(h);
    return 0;
  }

  void install(fake_xen::FakeXen& xen) {
    xen.handlers[x::hc::kConsoleIo] = [this](const Call& c) -> long {
      if (!readable(c.a[2], c.a[1])) return kEfault;
      console.append(arg_ptr<const char>(c.a[2]), c.a[1]);
      return 0;
    };
    xen.handlers[x::hc::kUpdateVaMapping] = [this](const Call& c) { return update_va_mapping(c); };
    xen.handlers[x::hc::kMmuUpdate] = [this](const Call& c) -> long {
      if (!readable(c.a[0], 16ull * c.a[1])) return kEfault;
      const auto* req = arg_ptr<const x::MmuUpdate>(c.a[0]);
      return (req->ptr >> 12) == l4_mfn && !lax ? kEinval : 0;
    };
    xen.handlers[x::hc::kMmuextOp] = [this](const Call& c) -> long {
      if (!readable(c.a[0], 24ull * c.a[1])) return kEfault;
      return lax ? 0 : kEinval;  // NEW_BASEPTR to data, re-pin: both refused
    };
    xen.handlers[x::hc::kMulticall] = [](const Call& c) -> long {
      return readable(c.a[0], 64ull * c.a[1]) ? 0 : kEfault;
    };
    xen.handlers[x::hc::kSchedOp] = [](const Call& c) -> long {
      return c.a[0] == x::kSchedOpShutdown && !readable(c.a[1], 4) ? kEfault : 0;
    };
    xen.handlers[x::hc::kXenVersion] = [](const Call& c) -> long {
      return c.a[1] != 0 && !readable(c.a[1], 16) ? kEfault : 0x40011;
    };
    xen.handlers[x::hc::kCallbackOp] = [](const Call& c) -> long {
      return readable(c.a[1], 16) ? 0 : kEfault;
    };
    xen.handlers[x::hc::kEventChannelOp] = [](const Call& c) -> long {
      if (c.a[0] > x::kEvtchnOpUnmask) return kEnosys;
      if (!readable(c.a[1], 4)) return kEfault;
      switch (c.a[0]) {
        case x::kEvtchnOpAllocUnbound:
          if (arg_ptr<x::EvtchnAllocUnbound>(c.a[1])->dom != x::kDomIdSelf) return kEperm;
          arg_ptr<x::EvtchnAllocUnbound>(c.a[1])->port = 1;
          return 0;
        case x::kEvtchnOpStatus:
          return arg_ptr<x::EvtchnStatus>(c.a[1])->dom != x::kDomIdSelf ? kEperm : kEinval;
        default:
          return kEinval;  // no port of this domain is bound to anything
      }
    };
    xen.handlers[x::hc::kGrantTableOp] = [this](const Call& c) -> long {
      const std::uint64_t cmd = c.a[0];
      if (cmd != x::kGnttabOpSetupTable && cmd != x::kGnttabOpMapGrantRef &&
          cmd != x::kGnttabOpUnmapGrantRef) {
        return kEnosys;
      }
      if (!readable(c.a[1], 32ull * c.a[2])) return kEfault;
      if (cmd == x::kGnttabOpSetupTable) {
        auto* op = arg_ptr<x::GnttabSetupTable>(c.a[1]);
        if (op->nr_frames != 1 || !readable(op->frame_list, 8)) return kEfault;
        *arg_ptr<std::uint64_t>(op->frame_list) = kGrantFrameMfn;
        op->status = 0;
        return 0;
      }
      if (cmd == x::kGnttabOpMapGrantRef) {
        auto* op = arg_ptr<x::GnttabMapGrantRef>(c.a[1]);
        op->status = map_grant(*op);
        return 0;
      }
      auto* op = arg_ptr<x::GnttabUnmapGrantRef>(c.a[1]);
      op->status = unmap_grant(*op);
      return 0;
    };
  }
};

x::StartInfo start_info(const fake_xen::ProcessPhysMap& pm) {
  x::StartInfo si{};
  std::memcpy(si.magic.data(), "xen-3.0-x86_64", 15);
  std::memcpy(si.cmd_line.data(), "domid=3", 8);
  si.mfn_list = reinterpret_cast<std::uint64_t>(pm.p2m.data());
  si.nr_pages = pm.p2m.size();
  si.pt_base = reinterpret_cast<std::uint64_t>(g_fake_l4);
  return si;
}

TEST(AdversaryOnHost, EveryAttackRefusedGivesSuccessAndAnyAcceptedGivesFailure) {
  fake_xen::ProcessPhysMap pm;
  auto& xen = fake_xen::instance();
  xen.reset();
  StrictXen strict(pm, false);
  strict.l4_mfn = pm.mfn_of(g_fake_l4);
  strict.install(xen);
  const x::StartInfo si = start_info(pm);

  EXPECT_EQ(guest_main(si), 0) << strict.console;
  const std::string& out = strict.console;
  std::printf("%s", out.c_str());  // the adversary's report, for the test log
  for (const char* group : {"--- page tables ---", "--- foreign frames ---",
                            "--- bad pointers and huge counts ---", "--- event channels ---",
                            "--- grants (own domain id 3) ---", "--- last: overwrite"}) {
    EXPECT_NE(out.find(group), std::string::npos) << group << " did not run\n" << out;
  }
  EXPECT_EQ(out.find("[ACCEPTED]"), std::string::npos) << out;
  EXPECT_NE(out.find("[refused] revoke while mapped"), std::string::npos) << out;
  EXPECT_NE(out.find("[refused] update_va_mapping over a live grant mapping"), std::string::npos);
  EXPECT_NE(out.find("(EFAULT)"), std::string::npos);
  EXPECT_NE(out.find("GNTST_bad_handle"), std::string::npos);
  EXPECT_NE(out.find("0 accepted"), std::string::npos) << out;
  EXPECT_NE(out.find("adversary: SUCCESS"), std::string::npos) << out;
  std::size_t refused = 0;
  for (std::size_t p = out.find("[refused]"); p != std::string::npos; p = out.find("[refused]", p + 1)) {
    ++refused;
  }
  EXPECT_NE(out.find(std::to_string(refused) + " attempts, " + std::to_string(refused) + " refused"),
            std::string::npos)
      << "the summary must count every printed attempt\n" << out;
  EXPECT_GE(refused, 40u);

  // The same kernel against a hypervisor that maps anything.
  xen.reset();
  StrictXen lax(pm, true);
  lax.l4_mfn = strict.l4_mfn;
  lax.install(xen);
  std::memset(reinterpret_cast<void*>(strict.table_va), 0, 4096);  // fresh grant frame
  EXPECT_EQ(guest_main(si), 1) << lax.console;
  EXPECT_NE(lax.console.find("[ACCEPTED] update_va_mapping: own L4 page table, writable"),
            std::string::npos)
      << lax.console;
  EXPECT_NE(lax.console.find("[ACCEPTED] update_va_mapping: machine frame 0"), std::string::npos);
  EXPECT_NE(lax.console.find("adversary: FAILURE"), std::string::npos) << lax.console;
  xen.reset();
}

}  // namespace
