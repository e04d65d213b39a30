// pvkit/hypercall/stats.h — per-vCPU hypercall counters.
//
// What it is: `HypercallStats`, a plain array of per-number counters plus a few event
// counters. The dispatcher increments them with ordinary (non-atomic) adds, so each vCPU (or
// physical CPU) must own its own instance: no shared cache line, no lock, no atomic.
//
// How to use it: give the per-call context a `HypercallStats& hypercall_stats()` accessor
// returning the current vCPU's counters; the dispatcher detects it at compile time
// (`HasHypercallStats<Ctx>`) and counts nothing when the accessor is absent. To report, sum
// the instances of all vCPUs (reading another vCPU's counters gives a possibly stale value,
// never a torn one on x86-64).
//
// Concurrency: single writer (the owning vCPU); readers tolerate stale values.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>

#include "pvkit/xen/hypercall_numbers.h"

namespace pvkit {

/// Per-vCPU hypercall counters (plain increments, no atomics).
struct HypercallStats {
  /// Handler invocations per hypercall number: top-level calls, re-executions after a
  /// continuation, and multicall entries. Numbers without a handler are never counted here.
  std::array<std::uint64_t, xen::hc::kNrHypercalls> calls{};
  /// Calls answered -ENOSYS because no handler has that number (including any number
  /// >= kNrHypercalls).
  std::uint64_t unknown = 0;
  /// Continuations: hypercalls the entry asked the platform to re-execute.
  std::uint64_t restarts = 0;
  /// `syscall`s from guest user mode that the entry refused to dispatch (invariant 2).
  std::uint64_t user_mode_denied = 0;

  /// Adds another vCPU's counters (for reporting totals).
  constexpr HypercallStats& operator+=(const HypercallStats& o) {
    for (std::size_t i = 0; i < calls.size(); ++i) calls[i] += o.calls[i];
    unknown += o.unknown;
    restarts += o.restarts;
    user_mode_denied += o.user_mode_denied;
    return *this;
  }
};

/// A context that exposes the current vCPU's counters.
template <typename Ctx>
concept HasHypercallStats = requires(Ctx& ctx) {
  { ctx.hypercall_stats() } -> std::same_as<HypercallStats&>;
};

}  // namespace pvkit
