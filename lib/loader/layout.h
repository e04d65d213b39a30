// pvkit/loader/layout.h — plan a PV domain's start-of-day memory layout (Xen's order).
//
// What it is: `plan_domain_layout(image, request)` decides, without touching memory, where
// every bootstrap element lands, as a pseudo-physical frame (pfn) and a virtual address
// (VA = VIRT_BASE + pfn * 4 KiB; the bootstrap area is a 1:1 map of the first pfns). The
// rules are those of Xen's PV domain builder (public/xen.h, "Start-of-day memory layout",
// and libxenguest's order):
//   1. kernel at pfn (kernel_start - VIRT_BASE) / 4 KiB, rounded up to whole pages;
//   2. initial ramdisk (if any), whole pages;
//   3. phys-to-machine list: nr_pages 8-byte entries, whole pages (unless relocated, below);
//   4. start_info page; 5. xenstore ring page; 6. console ring page (5 and 6 not for dom0);
//   7. bootstrap page tables: enough L4/L3/L2/L1 frames to map VIRT_BASE up to the end of
//      the bootstrap area, where the end is the first 4 MiB boundary that leaves room for the
//      tables themselves, the stack and 512 KiB of padding (computed to a fixed point);
//      frames are ordered L4 first (pt_base), then the L3s, L2s and L1s;
//   8. one bootstrap stack page; RSP starts at its top.
// Every element is 4 KiB aligned and packed after the previous one. The domain needs at
// least (bootstrap_end - VIRT_BASE) / 4 KiB pages; the whole area must be canonical and
// outside the hypervisor hole.
// INIT_P2M: when the image names a page-aligned p2m address below VIRT_BASE (and the request
// allows it), the p2m is not put in step 3 but after the bootstrap area (pfn
// bootstrap_pages), mapped at that address by extra L3/L2/L1 tables that follow it in pfn
// space (tables of a level the bootstrap area already provides for that range are shared;
// the L4 always is). Those extra tables are not mapped; start_info reports the p2m frames
// and its tables as first_p2m_pfn/nr_p2m_frames. The p2m range must not meet the bootstrap
// area, and must be canonical and outside the hypervisor hole.
// The platform allocates frames, writes the tables (bootstrap_mappings.h lists the entries),
// pins the L4 and starts vCPU 0 at `entry` with RSI = `start_info.va`, RSP = `stack_top`.
// Not implemented: unmapped initrds (SIF_MOD_START_PFN) and BSD symbol tables.
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
#include "pvkit/loader/layout_types.h"
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
  bool relocate_p2m = true;          ///< honour a usable INIT_P2M note (as Xen's builder does)
};

/// Most pages a domain may have here (2^36 pages = 256 TiB): keeps every product in range.
inline constexpr std::uint64_t kMaxDomainPages = std::uint64_t{1} << 36;
/// Padding guaranteed after the last bootstrap element (512 KiB), in pages.
inline constexpr std::uint64_t kBootstrapPaddingPages = (512 * 1024) / kPageSize;
/// The bootstrap area ends on this boundary (4 MiB).
inline constexpr unsigned kBootstrapAlignShift = 22;

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

/// Places a relocated p2m of `pages` frames at VA `base` after the bootstrap area of `L`
/// (whose levels are final), with its own tables after it; see the header comment.
inline LoadError place_relocated_p2m(DomainLayout& L, std::uint64_t base, std::uint64_t pages) {
  const std::uint64_t size = pages * kPageSize;  // pages <= 2^33: no overflow
  if (LoadError e = check_guest_va_range(base, size); e != LoadError::Ok) return e;
  if (base + size > L.virt_base.value()) return LoadError::P2mOverlapsBootstrap;
  L.p2m_relocated = true;
  L.p2m = Region{Gfn{L.bootstrap_pages}, VirtAddr{base}, pages};
  const std::uint64_t from = va48(base);
  const std::uint64_t to = va48(base + size - 1);
  std::uint64_t next = L.bootstrap_pages + pages;
  std::uint64_t total = 0;
  for (std::size_t l = 3; l-- > 0;) {  // L3, L2, L1; the L4 is the bootstrap area's
    const unsigned bits = kLevelShift[l];
    const std::uint64_t mask = (std::uint64_t{1} << bits) - 1;
    std::uint64_t f = from & ~mask;
    std::uint64_t t = to | mask;
    // Drop the part of the range whose tables the bootstrap area already has.
    const PageTableLevel& own = L.levels[l];
    const std::uint64_t f0 = own.first_va48;
    const std::uint64_t t0 = f0 + (own.count << bits) - 1;
    std::uint64_t count = 0;
    if (!(f >= f0 && t <= t0)) {
      if (f < f0 && t > t0) return LoadError::P2mOverlapsBootstrap;  // cannot happen below vb
      if (f >= f0 && f <= t0) f = t0 + 1;
      if (t >= f0 && t <= t0) t = f0 - 1;
      count = f < t ? ((t - f) >> bits) + 1 : 0;
    }
    L.p2m_levels[l] = PageTableLevel{Gfn{next}, count, f, bits};
    next += count;
    total += count;
  }
  L.p2m_levels[3] = PageTableLevel{Gfn{next}, 0, 0, kLevelShift[3]};
  L.p2m_tables = Region{Gfn{L.bootstrap_pages + pages}, VirtAddr{0}, total};
  if (L.bootstrap_pages + pages + total > L.nr_pages) return LoadError::NotEnoughMemory;
  return LoadError::Ok;
}

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
  const std::uint64_t p2m_pages = detail::pages_for(req.nr_pages * sizeof(std::uint64_t));
  // Xen's builder honours INIT_P2M only for a page-aligned address below VIRT_BASE.
  const std::optional<std::uint64_t>& init_p2m = img.notes.init_p2m;
  const bool relocate = req.relocate_p2m && init_p2m && *init_p2m < vb &&
                        (*init_p2m & ~kPageMask) == 0;
  if (!relocate) L.p2m = a.take(p2m_pages);
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
                                 va48(vb) & ~((std::uint64_t{1} << bits) - 1), bits};
    next += counts[l];
  }
  L.boot_stack = a.take(1);
  L.bootstrap_end = VirtAddr{last + 1};
  L.bootstrap_pages = (last + 1 - vb) >> kPageShift;
  if (LoadError e = check_guest_va_range(vb, last + 1 - vb); e != LoadError::Ok) return e;
  if (L.bootstrap_pages > req.nr_pages) return LoadError::NotEnoughMemory;

  if (relocate) {
    if (LoadError e = detail::place_relocated_p2m(L, *init_p2m, p2m_pages); e != LoadError::Ok) {
      return e;
    }
  }

  L.entry = img.entry;
  L.stack_top = L.boot_stack.end();
  if (img.hypercall_page) {
    L.hypercall_page = Gfn{(img.hypercall_page->value() - vb) >> kPageShift};
  }
  return L;
}

}  // namespace pvkit::loader
