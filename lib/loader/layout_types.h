// pvkit/loader/layout_types.h — the result types of the PV domain layout planner.
//
// What it is: `Region` (a run of pseudo-physical frames and where they are mapped),
// `PageTableLevel` (the bootstrap page tables of one level of one mapping) and
// `DomainLayout` (everything plan_domain_layout() decides; see layout.h for the rules).
// Page-table arithmetic uses 48-bit virtual addresses (`va48`: the canonical sign-extension
// bits dropped), as the x86-64 table walk does, so one L4 covers both halves.
//
// How to use it: read the fields; `table_at(level, va)` finds the table frame that maps `va`
// at a level, `is_page_table(pfn)` tells whether a frame must be mapped read-only.
//
// Concurrency: value types only.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "pvkit/base/types.h"

namespace pvkit::loader {

/// The 48 bits of a virtual address that the 4-level table walk uses.
constexpr std::uint64_t va48(std::uint64_t va) { return va & ((std::uint64_t{1} << 48) - 1); }

/// A run of whole pages: pfns [pfn, pfn + pages), mapped at [va, va + pages * 4 KiB).
struct Region {
  Gfn pfn{};                 ///< first pseudo-physical frame
  VirtAddr va{};             ///< its virtual address (0 for frames left unmapped)
  std::uint64_t pages = 0;   ///< 0 = element absent
  /// The virtual address just past the element.
  [[nodiscard]] constexpr VirtAddr end() const { return VirtAddr{va.value() + pages * kPageSize}; }
  /// True if pseudo-physical frame `p` belongs to the element.
  [[nodiscard]] constexpr bool contains(Gfn p) const {
    return p.value() >= pfn.value() && p.value() - pfn.value() < pages;
  }
};

/// The page tables of one level of one mapping. Level index 0 = L1 ... 3 = L4.
struct PageTableLevel {
  Gfn first_pfn{};             ///< pfn of the first table of this level
  std::uint64_t count = 0;     ///< number of tables (0: this mapping shares another's)
  std::uint64_t first_va48 = 0;///< 48-bit VA covered by the first table's first entry
  unsigned coverage_shift = 0; ///< log2 of the VA span one table covers (21, 30, 39, 48)

  /// True when one of these tables maps `va`.
  [[nodiscard]] constexpr bool covers(VirtAddr va) const {
    const std::uint64_t v = va48(va.value());
    return count != 0 && v >= first_va48 && ((v - first_va48) >> coverage_shift) < count;
  }
  /// pfn of the table of this level that maps `va` (requires covers(va)).
  [[nodiscard]] constexpr Gfn table_for(VirtAddr va) const {
    return Gfn{first_pfn.value() + ((va48(va.value()) - first_va48) >> coverage_shift)};
  }
  /// 48-bit VA of the first byte mapped by table `i` of this level.
  [[nodiscard]] constexpr std::uint64_t table_va48(std::uint64_t i) const {
    return first_va48 + (i << coverage_shift);
  }
};

/// The planned start-of-day layout of one PV domain.
struct DomainLayout {
  VirtAddr virt_base{};
  /// Bootstrap elements in Xen's order. When the p2m is relocated (INIT_P2M), `p2m` lies
  /// after the bootstrap area (pfn bootstrap_pages, mapped at the INIT_P2M address).
  Region kernel, ramdisk, p2m, start_info, xenstore, console, page_tables, boot_stack;
  std::array<PageTableLevel, 4> levels{};  ///< bootstrap-area tables: [0] L1 ... [3] L4
  VirtAddr bootstrap_end{};                ///< end of the mapped area (4 MiB aligned)
  std::uint64_t bootstrap_pages = 0;       ///< pfns [0, bootstrap_pages) are mapped 1:1
  bool p2m_relocated = false;              ///< p2m mapped at INIT_P2M, outside the area
  Region p2m_tables;                       ///< extra tables mapping a relocated p2m (unmapped)
  std::array<PageTableLevel, 4> p2m_levels{};  ///< their levels (L4 is always shared)
  VirtAddr entry{};                        ///< RIP at start
  VirtAddr stack_top{};                    ///< RSP at start
  std::optional<Gfn> hypercall_page;       ///< pfn to fill with the hypercall stubs
  std::uint64_t nr_pages = 0;
  std::uint32_t vcpus = 0;
  std::uint64_t ramdisk_bytes = 0;
  bool initial_domain = false;

  /// start_info.nr_pt_frames: the bootstrap-area tables (not those of a relocated p2m).
  [[nodiscard]] std::uint64_t nr_pt_frames() const { return page_tables.pages; }
  /// VA of pfn `p` in the bootstrap area.
  [[nodiscard]] constexpr VirtAddr va_of(Gfn p) const {
    return VirtAddr{virt_base.value() + p.value() * kPageSize};
  }
  /// True when pfn `p` holds a page table (never mapped writable).
  [[nodiscard]] constexpr bool is_page_table(Gfn p) const {
    return page_tables.contains(p) || p2m_tables.contains(p);
  }
  /// The table frame at level index `l` (0 = L1) that maps `va`, if any.
  [[nodiscard]] constexpr std::optional<Gfn> table_at(unsigned l, VirtAddr va) const {
    if (levels[l].covers(va)) return levels[l].table_for(va);
    if (p2m_levels[l].covers(va)) return p2m_levels[l].table_for(va);
    return std::nullopt;
  }
  /// The pfn mapped at `va` by the initial page tables, if any.
  [[nodiscard]] constexpr std::optional<Gfn> pfn_at(VirtAddr va) const {
    const std::uint64_t v = va.value();
    if (v >= virt_base.value() && v < bootstrap_end.value()) {
      return Gfn{(v - virt_base.value()) >> kPageShift};
    }
    if (p2m_relocated && v >= p2m.va.value() && v - p2m.va.value() < p2m.pages * kPageSize) {
      return Gfn{p2m.pfn.value() + ((v - p2m.va.value()) >> kPageShift)};
    }
    return std::nullopt;
  }
};

}  // namespace pvkit::loader
