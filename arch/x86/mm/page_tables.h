// pvkit/arch/x86/mm/page_tables.h — building the hypervisor's own 4-level address spaces.
//
// What it is: `PageTables<Alloc, Map>`, one L4 tree whose tables come from a `PageAllocator`
// and are reached through a `PhysMap`. `create(hv_l4)` makes a new address space that shares
// the hypervisor's reserved L4 slots (256-271) with `hv_l4` by copying those 16 entries (the
// lower tables are shared, so hypervisor mappings added below an existing slot appear in
// every space); `map(va, pa, flags)` installs one 4 KiB page, allocating intermediate tables;
// `unmap`, `lookup`, and `destroy` (frees every table this object allocated outside slots
// 256-271, never the shared ones). User mappings are refused in the hypervisor slots, so a ring-3
// task can never be given a hypervisor address. Flushing is the caller's job (mm/tlb.h).
//
// How to use it:
//     PageTables<Pool, HvDirectMap> as(pool, map);
//     if (!as.create(hv_root)) ...;  as.map(va, pa, PageFlags{.writable = true, .user = true});
//     write_cr3(as.root_phys());
//
// Concurrency: not locked; one owner at a time (the CPU building it, or the vCPU running it).
#pragma once

#include <cstdint>

#include "pvkit/arch/x86/boot/layout.h"
#include "pvkit/arch/x86/cpu/frame.h"
#include "pvkit/arch/x86/mm/phys_map.h"
#include "pvkit/arch/x86/mm/pte.h"
#include "pvkit/base/errno.h"
#include "pvkit/base/page_allocator.h"
#include "pvkit/base/status.h"

namespace pvkit::x86 {

/// Permissions of one 4 KiB mapping.
struct PageFlags {
  bool writable = false;
  bool user = false;
  bool nx = false;
  bool global = false;
  bool cache_disable = false;  // PCD (MMIO)
  bool write_through = false;  // PWT
};

/// Whether `va` lies in the hypervisor's reserved L4 slots.
inline constexpr bool in_hv_slots(std::uint64_t va) {
  const unsigned slot = table_index(va, 4);
  return is_canonical(va) && slot >= kHvFirstL4Slot && slot <= kHvLastL4Slot;
}

/// 4-level x86-64 page tables the hypervisor builds for itself or a ring-3 task (pages from `Alloc`, reached through `Map`).
template <PageAllocator Alloc, PhysMap Map>
class PageTables {
 public:
  PageTables(Alloc& alloc, const Map& map) : alloc_(alloc), map_(map) {}
  PageTables(const PageTables&) = delete;
  PageTables& operator=(const PageTables&) = delete;

  /// Allocates an empty root; copies the hypervisor slots from `hv_l4` (may be null).
  [[nodiscard]] Status create(const Pte* hv_l4) {
    if (root_ != nullptr) return Status{Errno::Exist};
    root_ = static_cast<Pte*>(alloc_.alloc_page());
    if (root_ == nullptr) return Status{Errno::NoMem};
    owned_ = true;
    if (hv_l4 != nullptr) {
      for (unsigned s = kHvFirstL4Slot; s <= kHvLastL4Slot; ++s) root_[s] = hv_l4[s];
    }
    return Status::ok();
  }
  /// Uses an existing root (e.g. the live hypervisor tables) without taking ownership.
  void adopt(std::uint64_t root_pa) {
    root_ = static_cast<Pte*>(map_.to_virt(root_pa));
    owned_ = false;
  }

  /// Maps the 4 KiB page at `va` to physical `pa`.
  /// -EINVAL: unaligned or non-canonical address, or a user page in the hypervisor slots;
  /// -EEXIST: already mapped; -EBUSY: a large page covers `va`; -ENOMEM: no table page.
  [[nodiscard]] Status map(std::uint64_t va, std::uint64_t pa, PageFlags f) {
    if (root_ == nullptr) return Status{Errno::Inval};
    if ((va & 0xFFF) != 0 || (pa & 0xFFF) != 0 || !is_canonical(va) || pa >= (std::uint64_t{1} << 52)) {
      return Status{Errno::Inval};
    }
    if (f.user && in_hv_slots(va)) return Status{Errno::Inval};
    Pte* slot = nullptr;
    if (Status s = walk(va, f.user, /*create=*/true, &slot); !s) return s;
    if (slot->present()) return Status{Errno::Exist};
    *slot = Pte::leaf(pa)
                .with_writable(f.writable)
                .with_user(f.user)
                .with_nx(f.nx)
                .with_global(f.global)
                .with_cache_disable(f.cache_disable)
                .with_write_through(f.write_through);
    return Status::ok();
  }

  /// Removes the 4 KiB mapping at `va` and returns the old entry (-ENOENT if none).
  [[nodiscard]] Result<Pte> unmap(std::uint64_t va) {
    if (root_ == nullptr || (va & 0xFFF) != 0 || !is_canonical(va)) return Errno::Inval;
    Pte* slot = nullptr;
    if (Status s = walk(va, false, /*create=*/false, &slot); !s) return s;
    if (!slot->present()) return Errno::NoEnt;
    const Pte old = *slot;
    *slot = Pte{};
    return old;
  }

  /// The leaf entry translating `va` (a 4 KiB PTE, or a 2 MiB / 1 GiB large entry), or a
  /// non-present entry.
  [[nodiscard]] Pte lookup(std::uint64_t va) const {
    if (root_ == nullptr || !is_canonical(va)) return Pte{};
    const Pte* table = root_;
    for (unsigned level = 4; level >= 1; --level) {
      const Pte e = table[table_index(va, level)];
      if (!e.present() || level == 1 || ((level == 3 || level == 2) && e.large())) return e;
      table = static_cast<const Pte*>(map_.to_virt(e.address()));
    }
    return Pte{};
  }

  /// Frees every table this object owns (below every L4 slot except the shared hypervisor
  /// slots 256-271), then the root; an adopted root is left alone.
  void destroy() {
    if (root_ == nullptr) return;
    if (owned_) {
      for (unsigned s = 0; s < kPtEntries; ++s) {
        if (s >= kHvFirstL4Slot && s <= kHvLastL4Slot) continue;
        if (root_[s].present()) free_tree(root_[s], 3);
      }
      alloc_.free_page(root_);
    }
    root_ = nullptr;
  }

  /// The physical address of the L4 table (the CR3 value).
  [[nodiscard]] std::uint64_t root_phys() const { return map_.to_phys(root_); }
  /// The L4 table.
  [[nodiscard]] const Pte* root() const { return root_; }

 private:
  Status walk(std::uint64_t va, bool user, bool create, Pte** out) {
    Pte* table = root_;
    for (unsigned level = 4; level > 1; --level) {
      Pte& e = table[table_index(va, level)];
      if (!e.present()) {
        if (!create) return Status{Errno::NoEnt};
        void* page = alloc_.alloc_page();
        if (page == nullptr) return Status{Errno::NoMem};
        e = Pte::table(map_.to_phys(page), user);
      } else if (level != 4 && e.large()) {
        return Status{Errno::Busy};
      } else if (user && !e.user()) {
        // An existing supervisor-only branch: never widen it to ring 3 implicitly.
        return Status{Errno::Inval};
      }
      table = static_cast<Pte*>(map_.to_virt(e.address()));
    }
    *out = &table[table_index(va, 1)];
    return Status::ok();
  }

  void free_tree(Pte e, unsigned level) {
    auto* table = static_cast<Pte*>(map_.to_virt(e.address()));
    if (level > 1) {
      for (unsigned i = 0; i < kPtEntries; ++i) {
        if (table[i].present() && !table[i].large()) free_tree(table[i], level - 1);
      }
    }
    alloc_.free_page(table);
  }

  Alloc& alloc_;
  const Map& map_;
  Pte* root_ = nullptr;
  bool owned_ = false;
};

}  // namespace pvkit::x86
