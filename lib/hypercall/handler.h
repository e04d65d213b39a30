// pvkit/hypercall/handler.h — the shape of a hypercall handler, as named concepts.
//
// What it is: the shared contract between every area's hypercall family and the dispatcher.
// A handler is a type (never an object) with
//     static constexpr std::uint32_t kNumber;    // __HYPERVISOR_* number, < kNrHypercalls
//     static constexpr const char* kName;        // for stats and logs
//     template <typename Ctx> static std::int64_t call(Ctx& ctx, HypercallArgs& args);
// `call` returns what goes into RAX: a result >= 0, a Status::guest_value() (-errno), or
// kRestartValue (-ERESTART) after rewriting `args.a[]` to encode its progress (a continuation).
//
// A handler that needs to dispatch other hypercalls (multicall) instead provides
//     template <typename Table, typename Ctx> static std::int64_t call_in(Ctx&, HypercallArgs&);
// and receives the final composed table (after every with<>/without<>) as `Table`.
//
// How to use it: `static_assert(HypercallHandler<MyOp>);` next to a handler, and
// `static_assert(HypercallHandlerFor<MyOp, MyCtx>)` in its tests.
//
// Concurrency: handlers are stateless types; the state they touch is reached through Ctx.
#pragma once

#include <concepts>
#include <cstdint>
#include <type_traits>

#include "pvkit/base/status.h"
#include "pvkit/hypercall/args.h"
#include "pvkit/xen/hypercall_numbers.h"

namespace pvkit {

/// The RAX value of a handler that asks for a continuation: -ERESTART. The dispatcher turns
/// it into "re-execute the hypercall"; a guest never sees it (invariant 3).
inline constexpr std::int64_t kRestartValue = Status{Errno::Restart}.guest_value();

/// The RAX value of an unknown hypercall or sub-op.
inline constexpr std::int64_t kNoSysValue = Status{Errno::NoSys}.guest_value();

/// The static part of the handler shape: a number inside the dispatch space and a name.
template <typename H>
concept HypercallHandler = requires {
  { H::kNumber } -> std::convertible_to<std::uint32_t>;
  { H::kName } -> std::convertible_to<const char*>;
} && (static_cast<std::uint64_t>(H::kNumber) < xen::hc::kNrHypercalls);

/// A handler that wants the composed table (multicall): `H::call_in<Table>(ctx, args)`.
template <typename H, typename Table, typename Ctx>
concept TableAwareHandlerFor = requires(Ctx& ctx, HypercallArgs& args) {
  { H::template call_in<Table, Ctx>(ctx, args) } -> std::same_as<std::int64_t>;
};

/// A handler callable with context type Ctx.
template <typename H, typename Ctx>
concept HypercallHandlerFor = HypercallHandler<H> && requires(Ctx& ctx, HypercallArgs& args) {
  { H::template call<Ctx>(ctx, args) } -> std::same_as<std::int64_t>;
};

}  // namespace pvkit
