// pvkit/mm/hypercall_mmu_update.h — HYPERVISOR_mmu_update (hypercall 1).
//
// What it is: the handler type `MmuUpdateOp`: mmu_update(reqs, count, pdone, foreigndom).
// Each request {ptr, val}: ptr & 7 is the command (Xen decodes the low 3 bits, so the PTE
// address is 8-byte aligned by construction), ptr & ~7 the machine address:
//   MMU_NORMAL_PT_UPDATE (0), MMU_PT_UPDATE_NO_TRANSLATE (3, the same for PV):
//       validated update of a page-table entry of the page-table owner PFD
//   MMU_PT_UPDATE_PRESERVE_AD (2): the same, ORing in the A/D bits currently in the entry
//   MMU_MACHPHYS_UPDATE (1): M2P entry of frame ptr >> 12 (a frame of FD) := val
//   anything else: -ENOSYS.
// foreigndom bits 0-15 = FD (owner of the data frames new L1 entries may map, DOMID_SELF for
// the caller), bits 16-31 = PFD + 1 (0, or the caller's own id + 1: the caller). Foreign
// owners need privilege (-EPERM), unknown ones give -ESRCH, before any request runs. As in
// Xen, FD naming the caller by its own id (not DOMID_SELF) is -ESRCH.
// Requests are copied one by one with per-element bounds checks (invariant 4). The loop is
// bounded by the verifier's per-call budget (invariant 6): on preemption the handler rewrites
// its arguments — reqs advanced past the done requests, count = remaining | MMU_UPDATE_PREEMPTED
// — stores the done count so far in *pdone, and returns -ERESTART (never seen by the guest).
// A continuation reads the done count back from *pdone; a guest that forges the preempted
// bit only changes what is reported in *pdone (invariant 3). The first failing request stops
// the batch; *pdone (if non-null) then holds the number that succeeded.
//
// How to use it: compose `MmuUpdateOp` into the dispatcher; the context must satisfy
// MmHypercallContext (pvkit/mm/mm_context.h).
//
// Concurrency: the verifier's lock is taken per request, never across a guest copy.
#pragma once

#include <cstdint>

#include "pvkit/base/guest_memory.h"
#include "pvkit/base/spinlock.h"
#include "pvkit/base/status.h"
#include "pvkit/hypercall/args.h"
#include "pvkit/mm/mm_context.h"
#include "pvkit/mm/xen_abi.h"

namespace pvkit {

/// HYPERVISOR_mmu_update (1).
struct MmuUpdateOp {
  static constexpr std::uint32_t kNumber = xen::kHypercallMmuUpdate;
  static constexpr const char* kName = "mmu_update";

  /// Handles one mmu_update call (batched, preemptible).
  template <typename Ctx>
  static std::int64_t call(Ctx& ctx, HypercallArgs& args) {
    static_assert(MmHypercallContext<Ctx>);
    auto& mem = ctx.guest_memory();
    auto& mm = ctx.mm();
    Domain* cur = ctx.domains().find(ctx.current_domain());
    if (cur == nullptr) return Status{Errno::Srch}.guest_value();

    const std::uint64_t reqs = args.a[0];
    std::uint32_t count = static_cast<std::uint32_t>(args.a[1]);
    const GuestHandle<std::uint32_t> pdone{VirtAddr{args.a[2]}};
    const std::uint32_t foreigndom = static_cast<std::uint32_t>(args.a[3]);
    std::uint32_t done = 0;
    if ((count & xen::kMmuUpdatePreempted) != 0) {
      count &= ~xen::kMmuUpdatePreempted;
      if (!pdone.is_null()) (void)pdone.read(mem, 0, done);
    }

    Result<Domain*> pg = mm_detail::resolve_owner(ctx.domains(), *cur, static_cast<std::uint16_t>(foreigndom & 0xFFFF));
    if (!pg) return pg.status().guest_value();
    Domain* pt_owner = cur;
    if (const std::uint32_t pfd = foreigndom >> xen::kForeigndomPtOwnerShift; pfd != 0 && pfd - 1 != cur->id.value()) {
      Result<Domain*> pt = mm_detail::resolve_owner(ctx.domains(), *cur, static_cast<std::uint16_t>(pfd - 1));
      if (!pt) return pt.status().guest_value();
      pt_owner = *pt;
    }

    const GuestArray<xen::MmuUpdate> arr{{VirtAddr{reqs}}, count};
    {
      LockGuard g(mm.lock());
      mm.begin_call();
    }
    Status rc;
    std::uint32_t i = 0;
    bool preempt = false;
    for (; i < count; ++i) {
      if (i > 0 && mm_detail::preempt_requested(ctx)) {
        preempt = true;
        break;
      }
      xen::MmuUpdate req{};
      if (Status s = arr.read(mem, i, req); !s) {
        rc = s;
        break;
      }
      {
        LockGuard g(mm.lock());
        if (mm.has_pending()) rc = mm.drain();
        if (rc && mm.budget_exhausted()) rc = Errno::Restart;
        if (rc) {
          const MachAddr ptr{req.ptr & ~xen::kMmuCmdMask};
          switch (static_cast<std::uint32_t>(req.ptr & xen::kMmuCmdMask)) {
            case xen::kMmuNormalPtUpdate:
            case xen::kMmuPtUpdateNoTranslate:
              rc = mm.mod_entry(*pt_owner, **pg, ptr, req.val, false);
              break;
            case xen::kMmuPtUpdatePreserveAd:
              rc = mm.mod_entry(*pt_owner, **pg, ptr, req.val, true);
              break;
            case xen::kMmuMachphysUpdate:
              rc = mm.set_m2p(**pg, to_mfn(ptr), req.val);
              break;
            default:
              rc = Errno::NoSys;
              break;
          }
          mm.consume();  // charged after the request: a fresh budget always makes progress
        }
      }
      if (rc.is_restart()) {
        preempt = true;
        break;
      }
      if (!rc) break;
    }
    if (!pdone.is_null()) (void)pdone.write(mem, 0, done + i);
    if (preempt) {
      args.a[0] = reqs + std::uint64_t{i} * sizeof(xen::MmuUpdate);
      args.a[1] = (count - i) | xen::kMmuUpdatePreempted;
      return Status{Errno::Restart}.guest_value();
    }
    return rc.guest_value();
  }
};

}  // namespace pvkit
