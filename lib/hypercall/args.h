// pvkit/hypercall/args.h — the register view every hypercall handler receives.
//
// What it is: `HypercallArgs`, the guest's hypercall number (RAX) and its five argument
// registers (RDI RSI RDX R10 R8 on x86-64 PV), in that order. Handlers read their arguments
// from `a[0..4]`. A handler that wants to be preempted rewrites the argument registers to
// encode its progress and returns -Errno::Restart; the dispatcher copies `a` back to the
// guest's registers and re-executes the hypercall, so progress lives only in the guest's own
// arguments (invariant 3).
//
// How to use it: see pvkit/hypercall/dispatch.h for the handler shape.
//
// Concurrency: per-vCPU value; never shared.
#pragma once

#include <array>
#include <cstdint>

namespace pvkit {

/// A hypercall as the guest made it: RAX (nr) and RDI RSI RDX R10 R8 (a[0..4]).
struct HypercallArgs {
  /// Hypercall number (RAX on entry).
  std::uint64_t nr = 0;
  /// Arguments: RDI, RSI, RDX, R10, R8.
  std::array<std::uint64_t, 5> a{};
};

}  // namespace pvkit
