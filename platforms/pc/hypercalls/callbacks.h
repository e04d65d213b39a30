// pvkit/platforms/pc/hypercalls/callbacks.h — a PV vCPU's registered guest entry points.
//
// What it is: `GuestCallbacks`, the event, failsafe and syscall callback addresses a guest
// kernel registers (callback_op / set_callbacks) and the trap table (set_trap_table), and the
// `CallbackContext` concept the handlers need: `ctx.callbacks()` -> GuestCallbacks& of the
// calling vCPU plus guest memory.
// How to use it: keep one GuestCallbacks per vCPU; the event-delivery path reads it.
// Concurrency: per-vCPU state, written only by that vCPU's hypercalls.
#pragma once

#include <array>
#include <concepts>
#include <cstdint>
#include <type_traits>

#include "pvkit/hypercall/context.h"
#include "pvkit/platforms/pc/hypercalls/xen_abi.h"

namespace pvkit::pc {

/// Xen's 256 possible exception vectors; pvkit guests use only the architectural 32.
inline constexpr unsigned kTrapTableVectors = 32;

struct GuestCallbacks {
  std::uint64_t event = 0;     ///< CALLBACKTYPE_event: 0 = none (events are never bounced)
  std::uint64_t failsafe = 0;  ///< CALLBACKTYPE_failsafe
  std::uint64_t syscall = 0;   ///< CALLBACKTYPE_syscall (guest user mode: unused by pvkit guests)
  bool event_masks = true;     ///< the event callback is entered with the upcall mask set
  /// set_trap_table: handler address per vector (0 = none: the fault crashes the domain).
  std::array<std::uint64_t, kTrapTableVectors> traps{};
  std::array<bool, kTrapTableVectors> trap_masks_events{};
};

template <typename Ctx>
concept CallbackContext = HasGuestMemory<Ctx> && requires(Ctx& ctx) {
  { ctx.callbacks() } -> std::same_as<GuestCallbacks&>;
};

}  // namespace pvkit::pc
