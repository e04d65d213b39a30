// pvkit/arch/x86/mm/pte.h — the x86-64 4-level page-table entry, as named fields.
//
// What it is: `Pte`, one 64-bit entry of any level (L4/PML4, L3/PDPT, L2/PD, L1/PT):
// P, RW, US, PWT, PCD, A, D, PS (L3/L2 large page; PAT at L1), G, the AVAIL bits (9-11 and
// 52-58), the frame address (bits 12-51) and NX; `table_index(va, level)` picks the entry a
// virtual address uses at each level. These are the hypervisor's own tables; the guest-facing
// PV entry rules live in lib/ (the verifier).
//
// How to use it: `Pte::leaf(pa).with_writable(true).with_user(true).with_nx(true)`;
// `e.address()`, `e.present()` ...
//
// Concurrency: a value type. Live tables are written with one 64-bit store per entry.
#pragma once

#include <cstdint>

#include "pvkit/arch/x86/cpu/bitfield.h"

namespace pvkit::x86 {

/// An x86-64 page-table entry with named fields.
class Pte {
 public:
  using Present = BitFlag<0>;
  using Writable = BitFlag<1>;
  using User = BitFlag<2>;
  using WriteThrough = BitFlag<3>;  // PWT
  using CacheDisable = BitFlag<4>;  // PCD
  using Accessed = BitFlag<5>;
  using Dirty = BitFlag<6>;
  using PageSize = BitFlag<7>;      // PS at L3/L2 (1 GiB / 2 MiB page); PAT at L1
  using Global = BitFlag<8>;
  using AvailLow = BitField<9, 3>;
  using Address = BitField<12, 40>; // frame number (physical address >> 12)
  using AvailHigh = BitField<52, 7>;
  using NoExecute = BitFlag<63>;

  constexpr Pte() = default;
  constexpr explicit Pte(std::uint64_t raw) : raw_(raw) {}

  /// A present entry pointing at physical address `pa` (4 KiB aligned), all other bits clear.
  [[nodiscard]] static constexpr Pte leaf(std::uint64_t pa) {
    return Pte{Present::kBit | Address::make(pa >> 12)};
  }
  /// A present entry of an upper level pointing at a lower table: RW, and US when
  /// `user` (permissions are the AND of all levels, so the leaf decides).
  [[nodiscard]] static constexpr Pte table(std::uint64_t pa, bool user) {
    return leaf(pa).with_writable(true).with_user(user);
  }

  /// P: the entry maps something.
  [[nodiscard]] constexpr bool present() const { return Present::test(raw_); }
  /// R/W: writes allowed.
  [[nodiscard]] constexpr bool writable() const { return Writable::test(raw_); }
  /// U/S: ring 3 may access.
  [[nodiscard]] constexpr bool user() const { return User::test(raw_); }
  /// PWT.
  [[nodiscard]] constexpr bool write_through() const { return WriteThrough::test(raw_); }
  /// PCD.
  [[nodiscard]] constexpr bool cache_disable() const { return CacheDisable::test(raw_); }
  /// A: accessed.
  [[nodiscard]] constexpr bool accessed() const { return Accessed::test(raw_); }
  /// D: dirty.
  [[nodiscard]] constexpr bool dirty() const { return Dirty::test(raw_); }
  /// PS: a large page at L3/L2 (at L1 the same bit is PAT).
  [[nodiscard]] constexpr bool large() const { return PageSize::test(raw_); }
  /// G: global.
  [[nodiscard]] constexpr bool global() const { return Global::test(raw_); }
  /// NX: no instruction fetch.
  [[nodiscard]] constexpr bool nx() const { return NoExecute::test(raw_); }
  /// The software-available bits.
  [[nodiscard]] constexpr std::uint64_t avail() const { return AvailLow::get(raw_) | (AvailHigh::get(raw_) << 3); }
  /// The physical address mapped.
  [[nodiscard]] constexpr std::uint64_t address() const { return Address::get(raw_) << 12; }
  /// The 64-bit entry as stored.
  [[nodiscard]] constexpr std::uint64_t raw() const { return raw_; }

  /// This entry with R/W set to `v`.
  [[nodiscard]] constexpr Pte with_writable(bool v) const { return Pte{Writable::set(raw_, v)}; }
  /// This entry with U/S set to `v`.
  [[nodiscard]] constexpr Pte with_user(bool v) const { return Pte{User::set(raw_, v)}; }
  /// This entry with PWT set to `v`.
  [[nodiscard]] constexpr Pte with_write_through(bool v) const { return Pte{WriteThrough::set(raw_, v)}; }
  /// This entry with PCD set to `v`.
  [[nodiscard]] constexpr Pte with_cache_disable(bool v) const { return Pte{CacheDisable::set(raw_, v)}; }
  /// This entry with PS (large page) set to `v`.
  [[nodiscard]] constexpr Pte with_large(bool v) const { return Pte{PageSize::set(raw_, v)}; }
  /// This entry with G set to `v`.
  [[nodiscard]] constexpr Pte with_global(bool v) const { return Pte{Global::set(raw_, v)}; }
  /// This entry with NX set to `v`.
  [[nodiscard]] constexpr Pte with_nx(bool v) const { return Pte{NoExecute::set(raw_, v)}; }
  /// This entry with the software-available bits set to `v`.
  [[nodiscard]] constexpr Pte with_avail(std::uint64_t v) const {
    return Pte{AvailHigh::set(AvailLow::set(raw_, v & 7), v >> 3)};
  }
  friend constexpr bool operator==(Pte, Pte) = default;

 private:
  std::uint64_t raw_ = 0;
};
static_assert(sizeof(Pte) == 8);

inline constexpr unsigned kPtEntries = 512;
/// The entry index a virtual address uses at `level` (4 = L4 ... 1 = L1).
inline constexpr unsigned table_index(std::uint64_t va, unsigned level) {
  return static_cast<unsigned>((va >> (12 + 9 * (level - 1))) & 511);
}
/// Bytes one entry maps at `level` (L1: 4 KiB, L2: 2 MiB, L3: 1 GiB, L4: 512 GiB).
inline constexpr std::uint64_t level_span(unsigned level) { return std::uint64_t{1} << (12 + 9 * (level - 1)); }

}  // namespace pvkit::x86
