// pvkit/base/strong_id.h — a one-member wrapper that gives an integer its own type.
//
// What it is: `StrongId<Tag, Rep>` wraps an integer so that machine frames, guest frames,
// virtual addresses, domain ids, ports, grant refs and handles cannot be mixed up at a call
// site. Construction is explicit; `.value()` gets the raw integer back at the ABI boundary.
//
// How to use it: declare `using Mfn = StrongId<struct MfnTag, std::uint64_t>;` (see
// pvkit/base/types.h for the ones pvkit defines) and compare with ==, <, <=>.
//
// Concurrency: a plain value type; no shared state.
#pragma once

#include <compare>
#include <cstdint>
#include <type_traits>

namespace pvkit {

/// A one-member strong type: a `Rep` that converts to nothing else, so different address spaces and identifiers cannot be mixed (`Tag` names the kind).
template <typename Tag, typename Rep>
class StrongId {
  static_assert(std::is_integral_v<Rep>, "StrongId wraps an integer");

 public:
  using rep_type = Rep;

  constexpr StrongId() = default;
  constexpr explicit StrongId(Rep v) : v_(v) {}

  /// The raw integer, for the ABI boundary and for indexing.
  [[nodiscard]] constexpr Rep value() const { return v_; }

  friend constexpr bool operator==(StrongId, StrongId) = default;
  friend constexpr auto operator<=>(StrongId, StrongId) = default;

 private:
  Rep v_{};
};

}  // namespace pvkit
