// pvkit/mm/hypercall_mmuext_op.h — HYPERVISOR_mmuext_op (hypercall 26).
//
// What it is: the handler type `MmuextOp`: mmuext_op(ops, count, pdone, foreigndom), an
// array of {cmd, arg1, arg2}:
//   PIN_L1..L4_TABLE (0-3, arg1 = mfn of a frame of FD): validate and pin; a second pin of
//       the same frame is -EINVAL (not nestable); type conflicts -EINVAL;
//   UNPIN_TABLE (4): -EINVAL unless pinned by FD;
//   NEW_BASEPTR (5) / NEW_USER_BASEPTR (15, mfn 0 = none): load an L4 of the caller;
//   TLB_FLUSH_LOCAL (6), INVLPG_LOCAL (7, arg1 = va), TLB_FLUSH_MULTI (8, arg2 = vCPU bitmap
//       pointer), INVLPG_MULTI (9), TLB_FLUSH_ALL (10), INVLPG_ALL (11);
//   every other command (FLUSH_CACHE, SET_LDT, CLEAR/COPY_PAGE, [UN]MARK_SUPER, unknown):
//       -ENOSYS.
// Everything but pin/unpin requires FD == the caller (-EPERM otherwise), as in Xen. An INVLPG
// of a non-canonical address is ignored (it would fault on hardware). Preemption and pdone
// work exactly as in mmu_update (hypercall_mmu_update.h); a pin that is preempted in the
// middle of validating a large tree re-executes the same op, which takes over the partial
// validation (invariant 11).
//
// How to use it: compose into the dispatcher; context: MmHypercallContext.
//
// Concurrency: the verifier's lock is taken per op, never across a guest copy.
#pragma once

#include <cstdint>

#include "pvkit/base/guest_memory.h"
#include "pvkit/base/spinlock.h"
#include "pvkit/base/status.h"
#include "pvkit/hypercall/args.h"
#include "pvkit/mm/frame_db.h"
#include "pvkit/mm/mm_context.h"
#include "pvkit/mm/pte.h"
#include "pvkit/mm/xen_abi.h"

namespace pvkit {

/// HYPERVISOR_mmuext_op (26).
struct MmuextOp {
  static constexpr std::uint32_t kNumber = xen::kHypercallMmuextOp;
  static constexpr const char* kName = "mmuext_op";

  /// Handles one mmuext_op call (batched, preemptible).
  template <typename Ctx>
  static std::int64_t call(Ctx& ctx, HypercallArgs& args) {
    static_assert(MmHypercallContext<Ctx>);
    auto& mem = ctx.guest_memory();
    auto& mm = ctx.mm();
    Domain* cur = ctx.domains().find(ctx.current_domain());
    if (cur == nullptr) return Status{Errno::Srch}.guest_value();
    const VcpuId vcpu = ctx.current_vcpu();

    const std::uint64_t uops = args.a[0];
    std::uint32_t count = static_cast<std::uint32_t>(args.a[1]);
    const GuestHandle<std::uint32_t> pdone{VirtAddr{args.a[2]}};
    std::uint32_t done = 0;
    if ((count & xen::kMmuUpdatePreempted) != 0) {
      count &= ~xen::kMmuUpdatePreempted;
      if (!pdone.is_null()) (void)pdone.read(mem, 0, done);
    }
    Result<Domain*> pg =
        mm_detail::resolve_owner(ctx.domains(), *cur, static_cast<std::uint16_t>(args.a[3] & 0xFFFF));
    if (!pg) return pg.status().guest_value();

    const GuestArray<xen::MmuextOp> arr{{VirtAddr{uops}}, count};
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
      xen::MmuextOp op{};
      if (Status s = arr.read(mem, i, op); !s) {
        rc = s;
        break;
      }
      // A vCPU bitmap is read before taking the lock (guest copy).
      VcpuMask mask = VcpuMask::one(vcpu);
      if (op.cmd == xen::kMmuextTlbFlushMulti || op.cmd == xen::kMmuextInvlpgMulti) {
        if (*pg != cur) {
          rc = Errno::Perm;
          break;
        }
        Result<VcpuMask> m = mm_detail::read_vcpu_mask(mem, op.arg2, *cur);
        if (!m) {
          rc = m.status();
          break;
        }
        mask = *m;
      }
      {
        LockGuard g(mm.lock());
        if (mm.has_pending()) rc = mm.drain();
        if (rc && mm.budget_exhausted()) rc = Errno::Restart;
        if (rc) {
          rc = one(mm, *cur, **pg, vcpu, op, mask);
          mm.consume();  // charged after the op: a fresh budget always makes progress
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
      args.a[0] = uops + std::uint64_t{i} * sizeof(xen::MmuextOp);
      args.a[1] = (count - i) | xen::kMmuUpdatePreempted;
      return Status{Errno::Restart}.guest_value();
    }
    return rc.guest_value();
  }

 private:
  template <typename V>
  static Status one(V& mm, Domain& cur, Domain& pg, VcpuId vcpu, const xen::MmuextOp& op, const VcpuMask& mask) {
    const Mfn mfn{op.arg1};
    const VirtAddr va{op.arg1};
    switch (op.cmd) {
      case xen::kMmuextPinL1Table:
      case xen::kMmuextPinL2Table:
      case xen::kMmuextPinL3Table:
      case xen::kMmuextPinL4Table:
        return mm.pin(pg, mfn, table_type(op.cmd - xen::kMmuextPinL1Table + 1));
      case xen::kMmuextUnpinTable:
        return mm.unpin(pg, mfn);
      default:
        break;
    }
    const bool known = op.cmd == xen::kMmuextNewBaseptr || op.cmd == xen::kMmuextNewUserBaseptr ||
                       (op.cmd >= xen::kMmuextTlbFlushLocal && op.cmd <= xen::kMmuextInvlpgAll);
    if (!known) return Errno::NoSys;
    if (&pg != &cur) return Errno::Perm;
    auto& plat = mm.platform();
    switch (op.cmd) {
      case xen::kMmuextNewBaseptr:
        return mm.new_baseptr(cur, vcpu, mfn);
      case xen::kMmuextNewUserBaseptr:
        return mm.new_user_baseptr(cur, vcpu, mfn);
      case xen::kMmuextTlbFlushLocal:
      case xen::kMmuextTlbFlushMulti:
        plat.flush_tlb(cur.id, mask);
        return Status::ok();
      case xen::kMmuextTlbFlushAll:
        plat.flush_tlb(cur.id, VcpuMask::all(cur.nr_vcpus));
        return Status::ok();
      case xen::kMmuextInvlpgLocal:
      case xen::kMmuextInvlpgMulti:
        if (is_canonical(va)) plat.invlpg(cur.id, mask, va);
        return Status::ok();
      case xen::kMmuextInvlpgAll:
        if (is_canonical(va)) plat.invlpg(cur.id, VcpuMask::all(cur.nr_vcpus), va);
        return Status::ok();
      default:
        return Errno::NoSys;
    }
  }
};

}  // namespace pvkit
