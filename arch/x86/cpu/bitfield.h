// pvkit/arch/x86/cpu/bitfield.h — a named bit field inside an integer register or table entry.
//
// What it is: `BitField<Lo, Width>` describes bits [Lo, Lo+Width) of a 64-bit (or narrower)
// raw value, with constexpr get/set. Descriptor, PTE, MSR and LVT layouts in pvkit/arch/x86
// declare one `using Name = BitField<...>` per architectural field, so no code outside the
// layout's own header spells a mask or a shift.
//
// How to use it:
//     using Dpl = BitField<45, 2>;
//     raw = Dpl::set(raw, 3);  unsigned dpl = Dpl::get(raw);
//
// Concurrency: pure functions on values.
#pragma once

#include <cstdint>

namespace pvkit::x86 {

/// A named field of bits [Lo, Lo+Width) of a register or descriptor word of type T.
template <unsigned Lo, unsigned Width, typename T = std::uint64_t>
struct BitField {
  static_assert(Width >= 1 && Lo + Width <= sizeof(T) * 8, "field must fit its register");
  /// The field's bits in place.
  static constexpr T kMask =
      static_cast<T>((Width == sizeof(T) * 8 ? ~T{0} : static_cast<T>((T{1} << Width) - 1)) << Lo);
  /// The largest value the field can hold.
  static constexpr T kMax = kMask >> Lo;

  /// The field's value in `raw`.
  [[nodiscard]] static constexpr T get(T raw) { return static_cast<T>((raw & kMask) >> Lo); }
  /// `raw` with the field replaced by `v` (bits of `v` beyond the width are dropped).
  [[nodiscard]] static constexpr T set(T raw, T v) {
    return static_cast<T>((raw & ~kMask) | ((v << Lo) & kMask));
  }
  /// Just the field holding `v`, every other bit zero.
  [[nodiscard]] static constexpr T make(T v) { return set(T{0}, v); }
};

/// A one-bit flag.
template <unsigned Bit, typename T = std::uint64_t>
struct BitFlag : BitField<Bit, 1, T> {
  /// True if the bit is set in `raw`.
  [[nodiscard]] static constexpr bool test(T raw) { return BitField<Bit, 1, T>::get(raw) != 0; }
  /// `raw` with the bit set or cleared.
  [[nodiscard]] static constexpr T set(T raw, bool on) { return BitField<Bit, 1, T>::set(raw, on ? 1 : 0); }
  static constexpr T kBit = BitField<Bit, 1, T>::kMask;
};

}  // namespace pvkit::x86
