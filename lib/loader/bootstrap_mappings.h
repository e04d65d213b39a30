// pvkit/loader/bootstrap_mappings.h — the entries of a PV domain's bootstrap page tables.
//
// What it is: `for_each_bootstrap_entry(layout, fn)` enumerates, as pure data, every present
// entry the platform must write into the page-table frames planned by plan_domain_layout():
// the L4 points at the L3s, each L3 at its L2s, each L2 at its L1s (table entries, writable
// as in Xen's builder: protection is enforced at L1), and each L1 maps one pfn of the
// bootstrap area at VA = VIRT_BASE + pfn * 4 KiB — read-write, except the page-table frames
// themselves, which are mapped read-only (a PV guest may never hold a writable mapping of a
// page table). A relocated p2m (INIT_P2M) is mapped at its address by its own tables (and
// entries added to shared upper tables). Nothing else is mapped, and no entry falls in Xen's
// reserved L4 slots (the layout is outside the hole). Entries come top-down (L4 first). The platform turns
// `target` into a machine frame through the p2m it built and encodes the PTE bits itself.
//
// How to use it:
//   Status s = for_each_bootstrap_entry(plan, [&](const BootstrapEntry& e) -> Status {
//     return mm.write_entry(e.table, e.slot, p2m[e.target], e.writable);
//   });
//
// Concurrency: pure enumeration; `fn` runs on the calling thread.
#pragma once

#include <cstdint>
#include <optional>
#include <type_traits>

#include "pvkit/base/errno.h"
#include "pvkit/base/status.h"
#include "pvkit/base/types.h"
#include "pvkit/loader/layout.h"

namespace pvkit::loader {

/// Number of entries in one x86-64 page table.
inline constexpr unsigned kPtEntries = 512;

/// One present entry of a bootstrap page table.
struct BootstrapEntry {
  Gfn table{};          ///< the page-table frame holding the entry
  unsigned level = 0;   ///< 4 = L4 ... 1 = L1
  unsigned slot = 0;    ///< 0..511
  Gfn target{};         ///< next-level table (level > 1) or mapped page (level 1)
  bool writable = true; ///< false only for L1 entries mapping a page-table frame
};

namespace detail {

/// A mapped VA range in 48-bit form, [first, last].
struct Span48 {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  bool present = false;
  [[nodiscard]] constexpr bool meets(std::uint64_t f, std::uint64_t l) const {
    return present && f <= last && l >= first;
  }
};

/// Emits the entries of the `count` tables of `level` (level index `li`) of layout `L`.
template <typename Fn>
Status emit_level(const DomainLayout& L, const PageTableLevel& level, unsigned li,
                  const Span48 (&areas)[2], Fn& fn) {
  const unsigned entry_shift = level.coverage_shift - 9;  // VA span of one entry
  for (std::uint64_t t = 0; t < level.count; ++t) {
    const Gfn table{level.first_pfn.value() + t};
    const std::uint64_t table_va = level.table_va48(t);
    for (unsigned slot = 0; slot < kPtEntries; ++slot) {
      const std::uint64_t f = table_va + (std::uint64_t{slot} << entry_shift);
      const std::uint64_t l = f + ((std::uint64_t{1} << entry_shift) - 1);
      for (const Span48& area : areas) {
        if (!area.meets(f, l)) continue;
        // A VA (in sign-extended form) inside both the slot and the area.
        std::uint64_t v = f < area.first ? area.first : f;
        if (v & (std::uint64_t{1} << 47)) v |= ~((std::uint64_t{1} << 48) - 1);
        BootstrapEntry e;
        e.table = table;
        e.level = li + 1;
        e.slot = slot;
        if (li > 0) {
          const std::optional<Gfn> next = L.table_at(li - 1, VirtAddr{v});
          if (!next) return Status{Errno::Inval};  // inconsistent layout
          e.target = *next;
        } else {
          const std::optional<Gfn> pfn = L.pfn_at(VirtAddr{v});
          if (!pfn) return Status{Errno::Inval};
          e.target = *pfn;
          e.writable = !L.is_page_table(e.target);
        }
        if (Status s = fn(e); !s) return s;
        break;  // one entry per slot
      }
    }
  }
  return Status::ok();
}

}  // namespace detail

/// Calls `fn(entry)` for every present bootstrap entry; stops at and returns the first
/// non-ok Status `fn` returns (Errno::Inval for a layout not made by plan_domain_layout).
template <typename Fn>
  requires std::is_invocable_r_v<Status, Fn&, const BootstrapEntry&>
Status for_each_bootstrap_entry(const DomainLayout& L, Fn&& fn) {
  const detail::Span48 areas[2] = {
      {va48(L.virt_base.value()), va48(L.bootstrap_end.value() - 1),
       L.bootstrap_end.value() > L.virt_base.value()},
      {va48(L.p2m.va.value()), va48(L.p2m.va.value() + L.p2m.pages * kPageSize - 1),
       L.p2m_relocated && L.p2m.pages != 0},
  };
  for (unsigned li = 4; li-- > 0;) {  // L4 first
    if (Status s = detail::emit_level(L, L.levels[li], li, areas, fn); !s) return s;
    if (Status s = detail::emit_level(L, L.p2m_levels[li], li, areas, fn); !s) return s;
  }
  return Status::ok();
}

}  // namespace pvkit::loader
