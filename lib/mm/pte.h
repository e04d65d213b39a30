// pvkit/mm/pte.h — the page-table-entry format policy and x86-64's 4-level format.
//
// What it is: `PteFormat` is the named concept the verifier is parameterised by: an entry is a
// 64-bit word whose fields are named (`Present`, `Rw`, `User`, ... `Frame`), each a `PteField`
// with constexpr get/set. `X86Pte` gives x86-64's layout. Masks the verifier needs (fast-path
// bits, reserved bits) are derived from the named fields, never written as loose numbers.
//
// How to use it: `X86Pte::Rw::get(e)`, `X86Pte::Frame::get(e)`, `X86Pte::make(mfn, flags)`.
// At L1, bit 7 is PAT; at L2/L3 it is PSE (the same bit, two names).
//
// Concurrency: pure functions on values.
#pragma once

#include <concepts>
#include <cstdint>

#include "pvkit/base/types.h"

namespace pvkit {

/// A field of `kWidth` bits starting at bit `kLow` of a 64-bit entry.
template <unsigned kLow, unsigned kWidth>
struct PteField {
  static_assert(kLow + kWidth <= 64 && kWidth > 0);
  static constexpr unsigned kShift = kLow;
  static constexpr std::uint64_t kMask =
      (kWidth == 64 ? ~std::uint64_t{0} : ((std::uint64_t{1} << kWidth) - 1)) << kLow;
  /// The field's value in entry `e`.
  static constexpr std::uint64_t get(std::uint64_t e) { return (e & kMask) >> kLow; }
  /// Entry `e` with the field set to `v`.
  static constexpr std::uint64_t set(std::uint64_t e, std::uint64_t v) {
    return (e & ~kMask) | ((v << kLow) & kMask);
  }
  /// True if any bit of the field is set in `e`.
  static constexpr bool test(std::uint64_t e) { return (e & kMask) != 0; }
};

/// The verifier's entry-format policy: named fields of a 64-bit entry.
template <typename F>
concept PteFormat = requires(std::uint64_t e, Mfn m) {
  { F::Present::test(e) } -> std::same_as<bool>;
  { F::Rw::test(e) } -> std::same_as<bool>;
  { F::User::test(e) } -> std::same_as<bool>;
  { F::Pwt::test(e) } -> std::same_as<bool>;
  { F::Pcd::test(e) } -> std::same_as<bool>;
  { F::Accessed::test(e) } -> std::same_as<bool>;
  { F::Dirty::test(e) } -> std::same_as<bool>;
  { F::PsePat::test(e) } -> std::same_as<bool>;
  { F::Global::test(e) } -> std::same_as<bool>;
  { F::Avail::get(e) } -> std::same_as<std::uint64_t>;
  { F::Nx::test(e) } -> std::same_as<bool>;
  { F::Frame::get(e) } -> std::same_as<std::uint64_t>;
  { F::Reserved::test(e) } -> std::same_as<bool>;
  { F::frame(e) } -> std::same_as<Mfn>;
  { F::with_frame(e, m) } -> std::same_as<std::uint64_t>;
  { F::kEntriesPerTable } -> std::convertible_to<unsigned>;
};

/// x86-64 4-level paging entry (Intel SDM vol. 3 4.5), with MAXPHYADDR 52.
struct X86Pte {
  using Present = PteField<0, 1>;
  using Rw = PteField<1, 1>;
  using User = PteField<2, 1>;
  using Pwt = PteField<3, 1>;
  using Pcd = PteField<4, 1>;
  using Accessed = PteField<5, 1>;
  using Dirty = PteField<6, 1>;
  using PsePat = PteField<7, 1>;  ///< PAT at L1, PSE (large page) at L2/L3
  using Global = PteField<8, 1>;
  using Avail = PteField<9, 3>;   ///< software bits 9-11
  using Frame = PteField<12, 40>; ///< machine frame number, bits 12-51
  using Reserved = PteField<52, 11>;  ///< bits 52-62: refused (protection keys, unused)
  using Nx = PteField<63, 1>;

  static constexpr unsigned kEntriesPerTable = 512;

  /// The machine frame an entry names.
  static constexpr Mfn frame(std::uint64_t e) { return Mfn{Frame::get(e)}; }
  /// Entry `e` naming frame `m` instead.
  static constexpr std::uint64_t with_frame(std::uint64_t e, Mfn m) { return Frame::set(e, m.value()); }

  /// Bits that may change on a live entry without revalidation (the fast path):
  /// NX, AVAIL, G, D, A, US. Never P, RW, PWT, PCD, PSE/PAT or the frame.
  static constexpr std::uint64_t kFastPathMask =
      Nx::kMask | Avail::kMask | Global::kMask | Dirty::kMask | Accessed::kMask | User::kMask;
  /// Cache-attribute bits refused without privilege at L1 (PWT, PCD, PAT).
  static constexpr std::uint64_t kL1CacheMask = Pwt::kMask | Pcd::kMask | PsePat::kMask;
  /// Bits hardware may set behind the verifier's back (preserved by PRESERVE_AD).
  static constexpr std::uint64_t kAdMask = Accessed::kMask | Dirty::kMask;
};
static_assert(PteFormat<X86Pte>);

/// Page-table level: 1 (L1, maps 4 KiB pages) .. 4 (L4, the root).
using PtLevel = unsigned;

/// The index of `va` in a table of level `level` (x86-64: 9 bits per level above bit 12).
constexpr unsigned pt_index(VirtAddr va, PtLevel level) {
  return static_cast<unsigned>((va.value() >> (kPageShift + 9 * (level - 1))) & 511);
}

/// True if `va` is canonical for 48-bit virtual addresses.
constexpr bool is_canonical(VirtAddr va) {
  const std::uint64_t top = va.value() >> 47;
  return top == 0 || top == 0x1FFFF;
}

}  // namespace pvkit
