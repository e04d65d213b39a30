// pvkit/hypercall/table.h — a hypercall table composed at compile time from handler types.
//
// What it is: `HypercallTable<H...>` turns a list of handler types (pvkit/hypercall/handler.h)
// into a dispatcher: a bounds check on RAX, then one indirect jump through a constexpr
// 64-entry table of thunks (constant-initialised, read-only, no runtime registration, no
// virtual call). Every slot without a handler points at the same "unknown" thunk, which
// answers -ENOSYS and touches nothing but the `unknown` counter (invariant 1). The index is
// masked after the bounds check, so even a mispredicted check cannot read past the table.
//
// How to use it (the extension point; none of this edits pvkit):
//   using Base  = HypercallTable<XenVersion, ConsoleIo, VmAssist, Multicall>;
//   using Mine  = Base::with<MyMmuUpdate>          // add, or replace the same number
//                     ::without<xen::hc::kConsoleIo>;  // remove
//   using Also  = Base::add<MyOp>;                 // add; compile error if the number is taken
//   using Other = Base::replace<MyVersion>;        // replace; compile error if it is absent
//   std::int64_t rax = Mine::dispatch(ctx, args);  // raw: may be kRestartValue
// The platform normally calls hypercall_entry<Mine>(ctx, args) (pvkit/hypercall/entry.h),
// which adds the guest-kernel-mode check and the re-execution protocol.
//
// Concurrency: the table is immutable; dispatch runs concurrently on every vCPU. Counters
// are per-vCPU (pvkit/hypercall/stats.h).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "pvkit/hypercall/args.h"
#include "pvkit/hypercall/handler.h"
#include "pvkit/hypercall/stats.h"
#include "pvkit/xen/hypercall_numbers.h"

namespace pvkit {

/// A hypercall table composed at compile time from handler types (docs/hypercalls.md §2, §3).
template <typename... Hs>
class HypercallTable;

namespace hypercall_detail {

// Appends to Acc every T whose number is not N.
template <std::uint32_t N, typename Acc, typename... Ts>
struct RemoveNumber {
  using type = Acc;
};
template <std::uint32_t N, typename... Acc, typename T, typename... Ts>
struct RemoveNumber<N, HypercallTable<Acc...>, T, Ts...> {
  using type = typename RemoveNumber<
      N,
      std::conditional_t<static_cast<std::uint32_t>(T::kNumber) == N, HypercallTable<Acc...>,
                         HypercallTable<Acc..., T>>,
      Ts...>::type;
};

template <typename Table, typename H>
struct Append;
template <typename... Acc, typename H>
struct Append<HypercallTable<Acc...>, H> {
  using type = HypercallTable<Acc..., H>;
};

template <typename... Hs>
constexpr bool numbers_unique() {
  std::array<bool, xen::hc::kNrHypercalls> seen{};
  bool ok = true;
  ((ok = ok && !seen[Hs::kNumber], seen[Hs::kNumber] = true), ...);
  return ok;
}

}  // namespace hypercall_detail

template <typename... Hs>
class HypercallTable {
  static_assert((HypercallHandler<Hs> && ...),
                "every handler needs kNumber < kNrHypercalls and kName (handler.h)");
  static_assert(hypercall_detail::numbers_unique<Hs...>(),
                "two handlers share a hypercall number: use with<>/replace<> to replace one");

 public:
  /// Number of slots: RAX values at or above this are unknown.
  static constexpr std::uint32_t kSlots = xen::hc::kNrHypercalls;
  static_assert((kSlots & (kSlots - 1)) == 0, "the index mask needs a power of two");

  /// Handler count.
  static constexpr std::size_t kSize = sizeof...(Hs);

  /// This table without the handler numbered N (unchanged if there is none).
  template <std::uint32_t N>
  using without = typename hypercall_detail::RemoveNumber<N, HypercallTable<>, Hs...>::type;

  /// This table with H added, replacing any handler of the same number.
  template <HypercallHandler H>
  using with =
      typename hypercall_detail::Append<without<static_cast<std::uint32_t>(H::kNumber)>, H>::type;

  /// True when a handler has number `nr`.
  [[nodiscard]] static constexpr bool contains(std::uint64_t nr) {
    return ((nr == static_cast<std::uint64_t>(Hs::kNumber)) || ...);
  }

  /// H added; the number must be free.
  template <HypercallHandler H>
    requires(!contains(H::kNumber))
  using add = with<H>;

  /// H replacing the handler with the same number, which must exist.
  template <HypercallHandler H>
    requires(contains(H::kNumber))
  using replace = with<H>;

  /// The handler name for `nr`, or nullptr.
  [[nodiscard]] static constexpr const char* name(std::uint64_t nr) {
    const char* n = nullptr;
    (void)((nr == static_cast<std::uint64_t>(Hs::kNumber) ? (n = Hs::kName, true) : false) || ...);
    return n;
  }

  /// Runs the handler for `args.nr` and returns its RAX value, which may be kRestartValue
  /// (the caller must then re-execute; see entry.h). Unknown numbers: -ENOSYS, no effect.
  template <typename Ctx>
  [[gnu::always_inline]] static inline std::int64_t dispatch(Ctx& ctx, HypercallArgs& args) {
    const std::uint64_t nr = args.nr;
    if (nr >= kSlots) [[unlikely]] {
      return unknown<Ctx>(ctx, args);
    }
    return kJump<Ctx>[nr & (kSlots - 1)](ctx, args);
  }

 private:
  using Self = HypercallTable<Hs...>;
  template <typename Ctx>
  using Thunk = std::int64_t (*)(Ctx&, HypercallArgs&);

  template <typename Ctx>
  static std::int64_t unknown(Ctx& ctx, HypercallArgs&) {
    if constexpr (HasHypercallStats<Ctx>) ++ctx.hypercall_stats().unknown;
    return kNoSysValue;
  }

  template <typename H, typename Ctx>
  static std::int64_t thunk(Ctx& ctx, HypercallArgs& args) {
    if constexpr (HasHypercallStats<Ctx>) ++ctx.hypercall_stats().calls[H::kNumber];
    if constexpr (TableAwareHandlerFor<H, Self, Ctx>) {
      return H::template call_in<Self, Ctx>(ctx, args);
    } else {
      static_assert(HypercallHandlerFor<H, Ctx>,
                    "handler cannot be called with this context: check its context concept");
      return H::template call<Ctx>(ctx, args);
    }
  }

  template <typename Ctx>
  static constexpr std::array<Thunk<Ctx>, kSlots> make_jump() {
    std::array<Thunk<Ctx>, kSlots> t{};
    for (auto& f : t) f = &unknown<Ctx>;
    ((t[Hs::kNumber] = &thunk<Hs, Ctx>), ...);
    return t;
  }

  template <typename Ctx>
  static constexpr std::array<Thunk<Ctx>, kSlots> kJump = make_jump<Ctx>();
};

}  // namespace pvkit
