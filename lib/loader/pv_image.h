// pvkit/loader/pv_image.h — validate a PV guest kernel image and describe what to load.
//
// What it is: `inspect_pv_image(bytes, limits)` runs the hardened ELF reader and the Xen note
// parser, applies Xen's rules for a 64-bit PV kernel and returns a `PvGuestImage`: where the
// image lands in the guest's virtual address space, its entry point, hypercall page and
// load segments. Rules (docs/boot-protocol.md has the full list):
//  - LOADER must start with "generic" or GUEST_OS with "linux"; XEN_VERSION with "xen-3.0".
//  - VIRT_BASE defaults to 0, PADDR_OFFSET to 0; PADDR_OFFSET without VIRT_BASE is refused.
//  - Segments are the PT_LOAD headers with R, W or X set and p_memsz > 0. Like Xen, a
//    segment is placed by its p_paddr: it lands at p_paddr + VIRT_BASE - PADDR_OFFSET.
//    Segments may not overlap; the loaded range [kernel_start, kernel_end) must be canonical,
//    outside the hypervisor hole, 4 KiB aligned at its start, at or above VIRT_BASE and no
//    larger than `limits.max_image_bytes`.
//  - ENTRY defaults to e_entry and must lie in [kernel_start, kernel_end); the hypercall page
//    (optional) must be 4 KiB aligned and lie wholly in the loaded range.
//  - FEATURES "!x" names must be known and not in `limits.refused_required_features`.
// The PvGuestImage refers into `bytes` (note strings), which must outlive it.
//
// How to use it:
//   LoadResult<PvGuestImage> img = inspect_pv_image(bytes, LoadLimits{});
//   if (!img) return img.status();
//
// Concurrency: pure function over caller-owned bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "pvkit/base/types.h"
#include "pvkit/loader/address_space.h"
#include "pvkit/loader/elf_reader.h"
#include "pvkit/loader/load_error.h"
#include "pvkit/loader/xen_features.h"
#include "pvkit/loader/xen_notes.h"

namespace pvkit::loader {

/// Most PT_LOAD segments an image may have (real kernels have 2 to 5).
inline constexpr std::size_t kMaxLoadSegments = 16;

/// XENFEAT bits a 64-bit PV kernel may not mark required ("!name"): supervisor_mode_kernel
/// (Xen's builder refuses it) and auto_translated_physmap (not a PV mode). Like Xen, other
/// required bits are accepted even when XENVER_get_features would not report them (Linux
/// requires "!writable_page_tables", which Xen provides by emulating page-table writes).
inline constexpr std::uint32_t kRefusedRequiredFeatures = (1u << 2) | (1u << 3);

/// What the caller allows an image to use.
struct LoadLimits {
  /// Largest loaded range (kernel_end - kernel_start) accepted, in bytes.
  std::uint64_t max_image_bytes = std::uint64_t{256} << 20;
  /// XENFEAT bits an image may not require; an image requiring one is refused.
  std::uint32_t refused_required_features = kRefusedRequiredFeatures;
};

/// One PT_LOAD segment, as it will be loaded.
struct LoadSegment {
  VirtAddr vaddr{};             ///< where it lands: p_paddr + VIRT_BASE - PADDR_OFFSET
  std::uint64_t paddr = 0;      ///< ELF p_paddr
  std::uint64_t elf_vaddr = 0;  ///< ELF p_vaddr (informational; Xen places by p_paddr)
  std::uint64_t file_offset = 0;
  std::uint64_t file_size = 0;
  std::uint64_t mem_size = 0;   ///< >= file_size; the rest is zero (bss)
  std::uint32_t flags = 0;      ///< PF_R/PF_W/PF_X
};

/// A validated PV guest kernel.
struct PvGuestImage {
  VirtAddr virt_base{};          ///< VIRT_BASE: VA of pseudo-physical frame 0
  std::uint64_t paddr_offset = 0;///< PADDR_OFFSET
  VirtAddr kernel_start{};       ///< lowest loaded VA (4 KiB aligned)
  VirtAddr kernel_end{};         ///< one past the highest loaded VA
  VirtAddr entry{};              ///< ENTRY note, else e_entry
  bool entry_from_note = false;  ///< true when ENTRY was given
  std::optional<VirtAddr> hypercall_page;  ///< HYPERCALL_PAGE, if given
  std::array<LoadSegment, kMaxLoadSegments> segments{};
  std::size_t segment_count = 0;
  FeatureSet features{};         ///< FEATURES string plus SUPPORTED_FEATURES
  XenNotes notes{};              ///< every Xen note as read

  /// The PT_LOAD segments to copy, in file order.
  [[nodiscard]] std::span<const LoadSegment> load_segments() const {
    return std::span<const LoadSegment>(segments.data(), segment_count);
  }
  /// Size of the kernel's virtual range [kernel_start, kernel_end).
  [[nodiscard]] std::uint64_t kernel_bytes() const {
    return kernel_end.value() - kernel_start.value();
  }
};

namespace detail {

inline LoadError collect_segments(const ElfImage& elf, PvGuestImage& img) {
  for (std::uint16_t i = 0; i < elf.program_header_count(); ++i) {
    const elf::ProgramHeader ph = elf.program_header(i);
    if (ph.type != elf::kPtLoad || (ph.flags & (elf::kPfR | elf::kPfW | elf::kPfX)) == 0 ||
        ph.memsz == 0) {
      continue;
    }
    if (ph.memsz - 1 > ~std::uint64_t{0} - ph.paddr ||
        ph.memsz - 1 > ~std::uint64_t{0} - ph.vaddr) {
      return LoadError::SegmentAddressOverflow;
    }
    if (ph.align > 1 && (ph.align & (ph.align - 1)) != 0) return LoadError::BadSegmentAlignment;
    if (img.segment_count == kMaxLoadSegments) return LoadError::TooManyLoadSegments;
    LoadSegment& s = img.segments[img.segment_count++];
    s.paddr = ph.paddr;
    s.elf_vaddr = ph.vaddr;
    s.file_offset = ph.offset;
    s.file_size = ph.filesz;
    s.mem_size = ph.memsz;
    s.flags = ph.flags;
  }
  if (img.segment_count == 0) return LoadError::NoLoadableSegments;
  // Pairwise overlap in load (p_paddr) space; n <= kMaxLoadSegments keeps this small.
  for (std::size_t a = 0; a < img.segment_count; ++a) {
    for (std::size_t b = a + 1; b < img.segment_count; ++b) {
      const LoadSegment& x = img.segments[a];
      const LoadSegment& y = img.segments[b];
      const std::uint64_t x_last = x.paddr + (x.mem_size - 1);
      const std::uint64_t y_last = y.paddr + (y.mem_size - 1);
      if (x.paddr <= y_last && y.paddr <= x_last) return LoadError::OverlappingSegments;
    }
  }
  return LoadError::Ok;
}

inline LoadError check_guest_kind(const XenNotes& n) {
  if (!n.loader.starts_with("generic") && !n.guest_os.starts_with("linux")) {
    return LoadError::UnsupportedGuest;
  }
  if (!n.xen_version.starts_with("xen-3.0")) return LoadError::UnsupportedXenVersion;
  return LoadError::Ok;
}

inline LoadError collect_features(const XenNotes& n, const LoadLimits& limits, FeatureSet& f) {
  if (n.features.present()) {
    if (LoadError e = parse_feature_string(n.features.data, n.features.size, f);
        e != LoadError::Ok) {
      return e;
    }
  }
  if (n.supported_features) f.supported |= static_cast<std::uint32_t>(*n.supported_features);
  if ((f.required & limits.refused_required_features) != 0) return LoadError::UnsupportedFeature;
  return LoadError::Ok;
}

inline LoadError place_image(const ElfImage& elf, PvGuestImage& img, const LoadLimits& limits) {
  const XenNotes& n = img.notes;
  if (n.paddr_offset && !n.virt_base) return LoadError::PaddrOffsetWithoutVirtBase;
  img.virt_base = VirtAddr{n.virt_base.value_or(0)};
  img.paddr_offset = n.paddr_offset.value_or(0);
  const std::uint64_t virt_offset = img.virt_base.value() - img.paddr_offset;  // modular

  std::uint64_t pstart = ~std::uint64_t{0};
  std::uint64_t plast = 0;
  for (LoadSegment& s : std::span<LoadSegment>(img.segments.data(), img.segment_count)) {
    pstart = s.paddr < pstart ? s.paddr : pstart;
    const std::uint64_t last = s.paddr + (s.mem_size - 1);
    plast = last > plast ? last : plast;
  }
  const std::uint64_t len_minus_1 = plast - pstart;
  if (len_minus_1 >= limits.max_image_bytes) return LoadError::ImageTooLarge;
  const std::uint64_t kstart = pstart + virt_offset;
  const std::uint64_t len = len_minus_1 + 1;
  if (LoadError e = check_guest_va_range(kstart, len); e != LoadError::Ok) return e;
  if ((img.virt_base.value() & ~kPageMask) != 0 || (kstart & ~kPageMask) != 0) {
    return LoadError::MisalignedImageBase;
  }
  if (img.virt_base.value() > kstart) return LoadError::VirtBaseAboveKernel;
  // VIRT_BASE starts the bootstrap area: [VIRT_BASE, kernel_start] must share the kernel's
  // half of the space (kstart is page aligned, so the length cannot wrap).
  if (LoadError e = check_guest_va_range(img.virt_base.value(), kstart - img.virt_base.value() + 1);
      e != LoadError::Ok) {
    return e;
  }
  img.kernel_start = VirtAddr{kstart};
  img.kernel_end = VirtAddr{kstart + len};
  for (LoadSegment& s : std::span<LoadSegment>(img.segments.data(), img.segment_count)) {
    s.vaddr = VirtAddr{s.paddr + virt_offset};
  }

  // Entry point.
  img.entry_from_note = n.entry.has_value();
  const std::uint64_t entry = n.entry.value_or(elf.header().entry);
  if (entry < kstart || entry - kstart >= len) return LoadError::EntryOutsideImage;
  img.entry = VirtAddr{entry};

  // Hypercall page.
  if (n.hypercall_page) {
    const std::uint64_t hc = *n.hypercall_page;
    if ((hc & ~kPageMask) != 0) return LoadError::HypercallPageMisaligned;
    if (hc < kstart || len < kPageSize || hc - kstart > len - kPageSize) {
      return LoadError::HypercallPageOutsideImage;
    }
    img.hypercall_page = VirtAddr{hc};
  }
  return LoadError::Ok;
}

}  // namespace detail

/// Validates `file` as a 64-bit PV guest kernel; see the header comment for the rules.
inline LoadResult<PvGuestImage> inspect_pv_image(std::span<const std::uint8_t> file,
                                                 const LoadLimits& limits) {
  LoadResult<ElfImage> elf = ElfImage::parse(file);
  if (!elf) return elf.error();
  LoadResult<XenNotes> notes = parse_xen_notes(*elf);
  if (!notes) return notes.error();
  PvGuestImage img;
  img.notes = *notes;
  if (LoadError e = detail::check_guest_kind(img.notes); e != LoadError::Ok) return e;
  if (LoadError e = detail::collect_features(img.notes, limits, img.features); e != LoadError::Ok) {
    return e;
  }
  if (LoadError e = detail::collect_segments(*elf, img); e != LoadError::Ok) return e;
  if (LoadError e = detail::place_image(*elf, img, limits); e != LoadError::Ok) return e;
  return img;
}

}  // namespace pvkit::loader
