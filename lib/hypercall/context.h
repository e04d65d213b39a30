// pvkit/hypercall/context.h — what the dispatcher needs from the per-call context.
//
// What it is: `HypercallContext`, the named concept for the platform's per-call context as
// the dispatcher and entry see it: whether the calling vCPU is in guest kernel mode (only
// the guest kernel may hypercall, invariant 2). Two optional accessors are detected:
//   HypercallStats& hypercall_stats();   // per-vCPU counters (pvkit/hypercall/stats.h)
//   bool hypercall_preempt_check();       // true when long work should yield now (pending
//                                         // interrupt/softirq); absent = never
// Each area adds its own concept on top (GuestMemory access, its object, ...).
//
// How to use it: the platform defines one context type per vCPU call and
// `static_assert(HypercallContext<MyCtx>)`.
//
// Concurrency: a context is used by one vCPU for one hypercall.
#pragma once

#include <concepts>
#include <type_traits>

#include "pvkit/base/guest_memory.h"

namespace pvkit {

/// The dispatcher's only requirement on a context: whether the vCPU is in guest kernel mode.
template <typename Ctx>
concept HypercallContext = requires(Ctx& ctx) {
  { ctx.guest_kernel_mode() } -> std::same_as<bool>;
};

/// A context through which handlers copy to and from the caller's guest memory.
template <typename Ctx>
concept HasGuestMemory = requires(Ctx& ctx) {
  { ctx.guest_memory() };
  requires std::is_lvalue_reference_v<decltype(ctx.guest_memory())>;
  requires GuestMemory<std::remove_cvref_t<decltype(ctx.guest_memory())>>;
};

/// Whether long work should stop now and continue in a re-executed hypercall.
template <typename Ctx>
[[nodiscard]] constexpr bool hypercall_preempt_requested(Ctx& ctx) {
  if constexpr (requires { { ctx.hypercall_preempt_check() } -> std::same_as<bool>; }) {
    return ctx.hypercall_preempt_check();
  } else {
    return false;
  }
}

}  // namespace pvkit
