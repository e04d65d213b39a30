// pvkit/mm/hypercall_update_va_mapping.h — HYPERVISOR_update_va_mapping (hypercall 14).
//
// What it is: the handler type `UpdateVaMappingOp`: update_va_mapping(va, val, flags) replaces
// the L1 entry that maps `va` in the calling vCPU's current page tables with `val` (validated
// exactly like MMU_NORMAL_PT_UPDATE), then flushes as `flags` ask:
//   flags & UVMF_FLUSHTYPE_MASK: UVMF_NONE (0), UVMF_TLB_FLUSH (1), UVMF_INVLPG (2);
//       3 is not defined by the ABI: -EINVAL, nothing done (Xen silently ignores it);
//   flags & ~UVMF_FLUSHTYPE_MASK: UVMF_LOCAL (0) the calling vCPU, UVMF_ALL (4) every vCPU of
//       the domain, anything else a guest pointer to a vCPU bitmap (unsigned longs).
// Errors: -EINVAL (hypervisor or non-canonical va, va not mapped down to an L1 of the caller,
// bad flags/entry), -EBUSY (frame of another domain, or RW on a frame that cannot be
// writable), -EPERM (not RAM), -EFAULT (unreadable vCPU bitmap; read before the update, so
// nothing changed — Xen reads it after the update). A continuation (-ERESTART) re-executes
// the whole call; nothing was written.
//
// How to use it: compose into the dispatcher; context: MmHypercallContext.
//
// Concurrency: the verifier's lock is held for the update and the flush, not for guest copies.
#pragma once

#include <cstdint>

#include "pvkit/base/spinlock.h"
#include "pvkit/base/status.h"
#include "pvkit/hypercall/args.h"
#include "pvkit/mm/mm_context.h"
#include "pvkit/mm/pte.h"
#include "pvkit/mm/xen_abi.h"

namespace pvkit {

/// HYPERVISOR_update_va_mapping (14).
struct UpdateVaMappingOp {
  static constexpr std::uint32_t kNumber = xen::kHypercallUpdateVaMapping;
  static constexpr const char* kName = "update_va_mapping";

  /// Handles one update_va_mapping call.
  template <typename Ctx>
  static std::int64_t call(Ctx& ctx, HypercallArgs& args) {
    static_assert(MmHypercallContext<Ctx>);
    auto& mm = ctx.mm();
    Domain* cur = ctx.domains().find(ctx.current_domain());
    if (cur == nullptr) return Status{Errno::Srch}.guest_value();
    const VcpuId vcpu = ctx.current_vcpu();
    const VirtAddr va{args.a[0]};
    const std::uint64_t val = args.a[1];
    const std::uint64_t flags = args.a[2];
    const std::uint64_t type = flags & xen::kUvmfFlushTypeMask;
    const std::uint64_t scope = flags & ~xen::kUvmfFlushTypeMask;
    if (type == xen::kUvmfFlushTypeMask) return Status{Errno::Inval}.guest_value();

    VcpuMask mask = VcpuMask::one(vcpu);
    if (type != xen::kUvmfNone) {
      if (scope == xen::kUvmfAll) {
        mask = VcpuMask::all(cur->nr_vcpus);
      } else if (scope != xen::kUvmfLocal) {
        Result<VcpuMask> m = mm_detail::read_vcpu_mask(ctx.guest_memory(), scope, *cur);
        if (!m) return m.status().guest_value();
        mask = *m;
      }
    }

    LockGuard g(mm.lock());
    mm.begin_call();
    Status s;
    if (mm.has_pending()) s = mm.drain();
    if (s) s = mm.update_va(*cur, vcpu, va, val);
    if (!s) return s.guest_value();  // includes -ERESTART: args unchanged, re-executed
    if (type == xen::kUvmfTlbFlush) {
      mm.platform().flush_tlb(cur->id, mask);
    } else if (type == xen::kUvmfInvlpg) {
      mm.platform().invlpg(cur->id, mask, va);
    }
    return 0;
  }
};

}  // namespace pvkit
