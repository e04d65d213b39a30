// pvkit/hypercall/entry.h — the platform-facing hypercall entry and re-execution protocol.
//
// What it is: `hypercall_entry<Table>(ctx, args)` is what a platform's `syscall` path calls
// after saving the guest registers into `args` (RAX -> nr, RDI RSI RDX R10 R8 -> a[0..4]).
// It answers an `EntryResult` telling the platform what to do next:
//   kReturnToGuest       write `rax` to the guest's RAX and return (sysret/iret).
//   kReexecute           a handler asked for a continuation: copy `args.a[0..4]` back into
//                        RDI RSI RDX R10 R8, set RAX = args.nr (`rax` holds it), move RIP back
//                        over the 2-byte `syscall` (RIP -= 2), and return to the guest. The
//                        guest re-executes the same hypercall with its updated arguments after
//                        any pending interrupt is delivered. -ERESTART never reaches a guest
//                        (invariant 3).
//   kBounceToGuestKernel the caller was guest *user* mode: this is not a hypercall
//                        (invariant 2). Nothing was dispatched; the platform delivers the
//                        syscall to the guest kernel's registered syscall callback exactly as
//                        for any other user-mode `syscall` (registers untouched).
//
// How to use it:
//   auto r = hypercall_entry<MyTable>(ctx, args);
//   switch (r.action) { ... }
//
// Concurrency: per-vCPU; see table.h.
#pragma once

#include <cstdint>

#include "pvkit/hypercall/args.h"
#include "pvkit/hypercall/context.h"
#include "pvkit/hypercall/handler.h"
#include "pvkit/hypercall/stats.h"

namespace pvkit {

/// What the platform does after hypercall_entry.
enum class EntryAction : std::uint8_t {
  kReturnToGuest,
  kReexecute,
  kBounceToGuestKernel,
};

/// What hypercall_entry decided: the action for the platform and the value for RAX.
struct EntryResult {
  EntryAction action;
  /// kReturnToGuest: the guest's new RAX. kReexecute: the hypercall number (RAX again).
  /// kBounceToGuestKernel: unused (0).
  std::int64_t rax;
};

/// The platform's single entry for a hypercall from the current vCPU.
template <typename Table, HypercallContext Ctx>
[[gnu::always_inline]] inline EntryResult hypercall_entry(Ctx& ctx, HypercallArgs& args) {
  if (!ctx.guest_kernel_mode()) [[unlikely]] {
    if constexpr (HasHypercallStats<Ctx>) ++ctx.hypercall_stats().user_mode_denied;
    return {EntryAction::kBounceToGuestKernel, 0};
  }
  const std::int64_t rax = Table::dispatch(ctx, args);
  if (rax == kRestartValue) [[unlikely]] {
    if constexpr (HasHypercallStats<Ctx>) ++ctx.hypercall_stats().restarts;
    return {EntryAction::kReexecute, static_cast<std::int64_t>(args.nr)};
  }
  return {EntryAction::kReturnToGuest, rax};
}

/// Convenience for platforms and tests: `dispatch<Table>(ctx, args)` returns the RAX value a
/// guest would see, or kRestartValue when the call must be re-executed (never returned to a
/// guest). Does not check the guest mode: use hypercall_entry on the real syscall path.
template <typename Table, typename Ctx>
[[gnu::always_inline]] inline std::int64_t dispatch(Ctx& ctx, HypercallArgs& args) {
  return Table::dispatch(ctx, args);
}

}  // namespace pvkit
