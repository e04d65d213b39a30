// pvkit/loader/bootstrap_mappings.h — the entries of a PV domain's bootstrap page tables.
//
// What it is: `for_each_bootstrap_entry(layout, fn)` enumerates, as pure data, every present
// entry the platform must write into the bootstrap page-table frames planned by
// plan_domain_layout(): the L4 points at the L3s, each L3 at its L2s, each L2 at its L1s
// (table entries, writable as in Xen's builder: protection is enforced at L1), and each L1
// maps one pfn of the bootstrap area at VA = VIRT_BASE + pfn * 4 KiB — read-write, except the
// page-table frames themselves, which are mapped read-only (a PV guest may never hold a
// writable mapping of a page table). Nothing outside [VIRT_BASE, bootstrap_end) is mapped,
// and no entry falls in Xen's reserved L4 slots (the layout is outside the hole).
// Entries come top-down (L4 first), tables in pfn order, slots ascending. The platform turns
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
#include <type_traits>

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

/// Calls `fn(entry)` for every present bootstrap entry; stops at and returns the first
/// non-ok Status `fn` returns.
template <typename Fn>
  requires std::is_invocable_r_v<Status, Fn&, const BootstrapEntry&>
Status for_each_bootstrap_entry(const DomainLayout& L, Fn&& fn) {
  const std::uint64_t vb = L.virt_base.value();
  const std::uint64_t last = L.bootstrap_end.value() - 1;  // inclusive end of the area
  for (unsigned lvl = 4; lvl >= 1; --lvl) {
    const PageTableLevel& level = L.levels[lvl - 1];
    const unsigned entry_shift = level.coverage_shift - 9;  // VA span of one entry
    for (std::uint64_t t = 0; t < level.count; ++t) {
      const Gfn table{level.first_pfn.value() + t};
      const std::uint64_t table_va = level.first_va.value() + (t << level.coverage_shift);
      for (unsigned slot = 0; slot < kPtEntries; ++slot) {
        const std::uint64_t slot_va = table_va + (std::uint64_t{slot} << entry_shift);
        const std::uint64_t slot_last = slot_va + ((std::uint64_t{1} << entry_shift) - 1);
        if (slot_last < vb || slot_va > last) continue;  // outside the bootstrap area
        BootstrapEntry e;
        e.table = table;
        e.level = lvl;
        e.slot = slot;
        if (lvl > 1) {
          const std::uint64_t va = slot_va < vb ? vb : slot_va;
          e.target = L.levels[lvl - 2].table_for(VirtAddr{va});
        } else {
          e.target = Gfn{(slot_va - vb) >> kPageShift};
          e.writable = !L.is_page_table(e.target);
        }
        if (Status s = fn(e); !s) return s;
      }
    }
  }
  return Status::ok();
}

}  // namespace pvkit::loader
