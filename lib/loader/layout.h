// pvkit/loader/layout.h — plan a PV domain's start-of-day memory layout (Xen's order).
//
// What it is: `plan_domain_layout(image, request)` decides, without touching memory, where
// every bootstrap element lands, as a pseudo-physical frame (pfn) and a virtual address
// (VA = VIRT_BASE + pfn * 4 KiB; the bootstrap area is a 1:1 map of the first pfns). The
// rules are those of Xen's PV domain builder (public/xen.h, "Start-of-day memory layout"):
//   1. kernel at pfn (kernel_start - VIRT_BASE) / 4 KiB, rounded up to whole pages;
//   2. initial ramdisk (if any), whole pages;
//   3. phys-to-machine list: nr_pages 8-byte entries, whole pages;
//   4. start_info page; 5. xenstore ring page; 6. console ring page (5 and 6 not for dom0);
//   7. bootstrap page tables: enough L4/L3/L2/L1 frames to map VIRT_BASE up to the end of
//      the bootstrap area, where the end is the first 4 MiB boundary that leaves room for the
//      tables themselves, the stack and 512 KiB of padding (computed to a fixed point);
//      frames are ordered L4 first (pt_base), then the L3s, L2s and L1s;
//   8. one bootstrap stack page; RSP starts at its top.
// Every element is 4 KiB aligned and packed after the previous one. The domain needs at
// least (bootstrap_end - VIRT_BASE) / 4 KiB pages; the whole area must be canonical and
// outside the hypervisor hole. The platform later allocates frames, writes the tables
// (all bootstrap pfns mapped RW except the page-table frames, mapped RO), pins the L4 and
// starts vCPU 0 at `entry` with RSI = `start_info.va` and RSP = `stack_top`.
// Not implemented: relocating the p2m to the INIT_P2M address (the note is recorded in the
// image; the p2m always sits inline, which the protocol allows), unmapped initrds
// (SIF_MOD_START_PFN) and BSD symbol tables.
//
// How to use it:
//   LoadResult<DomainLayout> plan = plan_domain_layout(*img, {.nr_pages = 65536, .vcpus = 1});
//
// Concurrency: pure function.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "pvkit/base/types.h"
#include "pvkit/loader/address_space.h"
#include "pvkit/loader/load_error.h"
#include "pvkit/loader/pv_image.h"

namespace pvkit::loader {

/// What the domain builder is asked to build.
struct LayoutRequest {
  std::uint64_t nr_pages = 0;        ///< domain memory, 4 KiB pages
  std::uint32_t vcpus = 1;           ///< number of vCPUs (1..max_vcpus)
  std::uint64_t ramdisk_bytes = 0;   ///< initrd size; 0 = none
  bool initial_domain = false;       ///< dom0: no xenstore/console pages, privileged flags
  std::uint32_t max_vcpus = 32;      ///< XEN_LEGACY_MAX_VCPUS: vcpu_info slots in shared_info
  std::uint64_t max_ramdisk_bytes = std::uint64_t{1} << 30;
};

/// Most pages a domain may have here (2^36 pages = 256 TiB): keeps every product in range.
inline constexpr std::uint64_t kMaxDomainPages = std::uint64_t{1} << 36;
/// Padding guaranteed after the last bootstrap element (512 KiB), in pages.
inline constexpr std::uint64_t kBootstrapPaddingPages = (512 * 1024) / kPageSize;
/// The bootstrap area ends on this boundary (4 MiB).
inline constexpr unsigned kBootstrapAlignShift = 22;

/// A run of whole pages of the bootstrap area.
struct Region {
  Gfn pfn{};                 ///< first pseudo-physical frame
  VirtAddr va{};             ///< its virtual address
  std::uint64_t pages = 0;   ///< 0 = element absent
  [[nodiscard]] constexpr VirtAddr end() const { return VirtAddr{va.value() + pages * kPageSize}; }
  [[nodiscard]] constexpr bool contains(Gfn p) const {
    return p.value() >= pfn.value() && p.value() - pfn.value() < pages;
  }
};

/// The bootstrap page tables of one level. Level index 0 = L1 ... 3 = L4.
struct PageTableLevel {
  Gfn first_pfn{};             ///< pfn of the first table of this level
  std::uint64_t count = 0;     ///< number of tables
  VirtAddr first_va{};         ///< VA covered by the first table's first entry
  unsigned coverage_shift = 0; ///< log2 of the VA span one table covers (21, 30, 39, 48)
  /// pfn of the table of this level that maps `va` (va inside the bootstrap area).
  [[nodiscard]] constexpr Gfn table_for(VirtAddr va) const {
    return Gfn{first_pfn.value() + ((va.value() - first_va.value()) >> coverage_shift)};
  }
};

/// The planned start-of-day layout of one PV domain.
struct DomainLayout {
  VirtAddr virt_base{};
  Region kernel, ramdisk, p2m, start_info, xenstore, console, page_tables, boot_stack;
  std::array<PageTableLevel, 4> levels{};  ///< [0] L1 ... [3] L4
  VirtAddr bootstrap_end{};                ///< end of the mapped area (4 MiB aligned)
  std::uint64_t bootstrap_pages = 0;       ///< pfns [0, bootstrap_pages) are mapped
  VirtAddr entry{};                        ///< RIP at start
  VirtAddr stack_top{};                    ///< RSP at start
  std::optional<Gfn> hypercall_page;       ///< pfn to fill with the hypercall stubs
  std::uint64_t nr_pages = 0;
  std::uint32_t vcpus = 0;
  std::uint64_t ramdisk_bytes = 0;
  bool initial_domain = false;

  [[nodiscard]] std::uint64_t nr_pt_frames() const { return page_tables.pages; }
  /// VA of pfn `p` in the bootstrap area.
  [[nodiscard]] constexpr VirtAddr va_of(Gfn p) const {
    return VirtAddr{virt_base.value() + p.value() * kPageSize};
  }
  /// True when pfn `p` holds a bootstrap page table (mapped read-only).
  [[nodiscard]] constexpr bool is_page_table(Gfn p) const { return page_tables.contains(p); }
};

namespace detail {

/// Xen's count of tables at a level whose tables each cover 2^bits bytes of [start, last].
constexpr std::uint64_t tables_at_level(std::uint64_t start, std::uint64_t last, unsigned bits) {
  const std::uint64_t mask = (std::uint64_t{1} << bits) - 1;
  return (((last | mask) - (start & ~mask)) >> bits) + 1;
}

inline constexpr std::array<unsigned, 4> kLevelShift = {21, 30, 39, 48};

constexpr std::uint64_t pages_for(std::uint64_t bytes) {
  return bytes / kPageSize + (bytes % kPageSize != 0 ? 1 : 0);
}

/// Allocator of consecutive bootstrap pages, in offsets from VIRT_BASE.
struct BumpAllocator {
  std::uint64_t virt_base = 0;
  std::uint64_t next_pfn = 0;
  Region take(std::uint64_t pages) {
    Region r{Gfn{next_pfn}, VirtAddr{virt_base + next_pfn * kPageSize}, pages};
    next_pfn += pages;
    return r;
  }
};

}  // namespace detail

/// Plans the layout of a domain booting `img`; see the header comment for the rules.
inline LoadResult<DomainLayout> plan_domain_layout(const PvGuestImage& img,
                                                   const LayoutRequest& req) {
  if (req.vcpus == 0 || req.vcpus > req.max_vcpus) return LoadError::BadVcpuCount;
  if (req.nr_pages == 0 || req.nr_pages > kMaxDomainPages) return LoadError::NotEnoughMemory;
  if (req.ramdisk_bytes > req.max_ramdisk_bytes || req.ramdisk_bytes > (kMaxDomainPages << 12)) {
    return LoadError::RamdiskTooLarge;
  }
  const std::uint64_t vb = img.virt_base.value();
  const std::uint64_t kstart = img.kernel_start.value();
  // inspect_pv_image guarantees vb <= kstart, both page aligned, kernel bytes bounded.
  if (vb > kstart || (vb & ~kPageMask) != 0 || img.kernel_end.value() < kstart) {
    return LoadError::VirtBaseAboveKernel;
  }
  // The image may have been built by hand: re-check what the plan derives from it.
  const std::uint64_t kbytes = img.kernel_end.value() - kstart;
  if (img.entry.value() < kstart || img.entry.value() - kstart >= kbytes) {
    return LoadError::EntryOutsideImage;
  }
  if (img.hypercall_page && (img.hypercall_page->value() < kstart || kbytes < kPageSize ||
                             img.hypercall_page->value() - kstart > kbytes - kPageSize)) {
    return LoadError::HypercallPageOutsideImage;
  }
  const std::uint64_t kernel_pfn = (kstart - vb) >> kPageShift;
  if (kernel_pfn >= req.nr_pages) return LoadError::NotEnoughMemory;

  DomainLayout L;
  L.virt_base = img.virt_base;
  L.nr_pages = req.nr_pages;
  L.vcpus = req.vcpus;
  L.ramdisk_bytes = req.ramdisk_bytes;
  L.initial_domain = req.initial_domain;
  detail::BumpAllocator a{vb, kernel_pfn};

  // Every count below is < 2^37 pages, so pfn sums cannot overflow; VA overflow is checked
  // once for the whole area at the end.
  L.kernel = a.take(detail::pages_for(img.kernel_bytes()));
  if (req.ramdisk_bytes != 0) {
    L.ramdisk = a.take(detail::pages_for(req.ramdisk_bytes));
  } else {
    L.ramdisk = Region{Gfn{a.next_pfn}, VirtAddr{vb + a.next_pfn * kPageSize}, 0};
  }
  L.p2m = a.take(detail::pages_for(req.nr_pages * sizeof(std::uint64_t)));
  L.start_info = a.take(1);
  if (!req.initial_domain) {
    L.xenstore = a.take(1);
    L.console = a.take(1);
  }
  if (a.next_pfn > req.nr_pages) return LoadError::NotEnoughMemory;  // keeps pfn * 4K < 2^48
  // The page tables must map everything up to the 4 MiB boundary after the tables, the
  // stack and the padding: iterate to a fixed point (the count only grows, so few rounds).
  const std::uint64_t extra = 1 + kBootstrapPaddingPages;
  const std::uint64_t alloc_off = a.next_pfn * kPageSize;
  if (alloc_off > ~std::uint64_t{0} - vb) return LoadError::LayoutOverflow;
  const std::uint64_t alloc_va = vb + alloc_off;
  const std::uint64_t align_mask = (std::uint64_t{1} << kBootstrapAlignShift) - 1;
  std::uint64_t pages = extra;
  std::uint64_t last = 0;  // inclusive end of the bootstrap area
  std::array<std::uint64_t, 4> counts{};
  bool settled = false;
  for (int round = 0; round < 16 && !settled; ++round) {
    if (pages * kPageSize > ~std::uint64_t{0} - alloc_va) return LoadError::LayoutOverflow;
    last = (alloc_va + pages * kPageSize) | align_mask;
    if (last == ~std::uint64_t{0}) return LoadError::LayoutOverflow;  // would end at 2^64
    std::uint64_t total = 0;
    for (std::size_t l = 0; l < 4; ++l) {
      counts[l] = detail::tables_at_level(vb, last, detail::kLevelShift[l]);
      total += counts[l];
    }
    pages = total + extra;
    settled = alloc_va + pages * kPageSize <= last + 1;
  }
  if (!settled) return LoadError::LayoutOverflow;

  L.page_tables = a.take(pages - extra);
  std::uint64_t next = L.page_tables.pfn.value();
  for (std::size_t l = 4; l-- > 0;) {  // L4 first, then L3, L2, L1
    const unsigned bits = detail::kLevelShift[l];
    L.levels[l] = PageTableLevel{Gfn{next}, counts[l],
                                 VirtAddr{vb & ~((std::uint64_t{1} << bits) - 1)}, bits};
    next += counts[l];
  }
  L.boot_stack = a.take(1);
  L.bootstrap_end = VirtAddr{last + 1};
  L.bootstrap_pages = (last + 1 - vb) >> kPageShift;
  if (LoadError e = check_guest_va_range(vb, last + 1 - vb); e != LoadError::Ok) return e;
  if (L.bootstrap_pages > req.nr_pages) return LoadError::NotEnoughMemory;

  L.entry = img.entry;
  L.stack_top = L.boot_stack.end();
  if (img.hypercall_page) {
    L.hypercall_page = Gfn{(img.hypercall_page->value() - vb) >> kPageShift};
  }
  return L;
}

}  // namespace pvkit::loader
