// pvkit/loader/segment_loader.h — copy a planned kernel and initrd into the domain's frames.
//
// What it is: `load_kernel_segments(img, layout, file, writer)` zeroes every frame of the
// kernel region (so gaps between segments and bss never leak old frame contents) and then
// copies each PT_LOAD segment's file bytes to its place, frame by frame, through the
// platform's GuestFrameWriter. `load_ramdisk(layout, initrd, writer)` copies the initrd and
// zeroes the tail of its last frame. Both only write frames inside the planned regions.
//
// How to use it:
//   if (Status s = load_kernel_segments(*img, *plan, bytes, writer); !s) return s;
//
// Concurrency: single-threaded domain construction (see guest_frame_writer.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "pvkit/base/errno.h"
#include "pvkit/base/status.h"
#include "pvkit/base/types.h"
#include "pvkit/loader/guest_frame_writer.h"
#include "pvkit/loader/layout.h"
#include "pvkit/loader/load_error.h"
#include "pvkit/loader/pv_image.h"

namespace pvkit::loader {

namespace detail {

/// Copies `bytes` to the bootstrap area starting `off` bytes after region `r`'s first pfn.
template <GuestFrameWriter W>
Status copy_into(const Region& r, std::uint64_t off, std::span<const std::uint8_t> bytes, W& w) {
  while (!bytes.empty()) {
    const std::uint64_t page = off >> kPageShift;
    if (page >= r.pages) return Status{Errno::Inval};
    const auto in_page = static_cast<std::uint32_t>(off & ~kPageMask);
    const std::size_t n = bytes.size() < kPageSize - in_page ? bytes.size() : kPageSize - in_page;
    if (Status s = w.write(Gfn{r.pfn.value() + page}, in_page, bytes.first(n)); !s) return s;
    bytes = bytes.subspan(n);
    off += n;
  }
  return Status::ok();
}

}  // namespace detail

/// Zeroes the kernel region and copies every segment of `img` (from `file`) into it.
template <GuestFrameWriter W>
Status load_kernel_segments(const PvGuestImage& img, const DomainLayout& layout,
                            std::span<const std::uint8_t> file, W& w) {
  if (layout.kernel.va != img.kernel_start ||
      layout.kernel.pages * kPageSize < img.kernel_bytes()) {
    return Status{Errno::Inval};  // the plan is not for this image
  }
  for (std::uint64_t p = 0; p < layout.kernel.pages; ++p) {
    if (Status s = w.zero(Gfn{layout.kernel.pfn.value() + p}, 0, kPageSize); !s) return s;
  }
  for (const LoadSegment& seg : img.load_segments()) {
    if (!range_within(seg.file_offset, seg.file_size, file.size()) ||
        seg.vaddr.value() < img.kernel_start.value()) {
      return Status{Errno::Inval};  // not the file the image was inspected from
    }
    const std::uint64_t off = seg.vaddr.value() - img.kernel_start.value();
    const auto bytes = file.subspan(static_cast<std::size_t>(seg.file_offset),
                                    static_cast<std::size_t>(seg.file_size));
    if (Status s = detail::copy_into(layout.kernel, off, bytes, w); !s) return s;
  }
  return Status::ok();
}

/// Copies the initrd into the planned ramdisk region and zeroes the rest of its last frame.
template <GuestFrameWriter W>
Status load_ramdisk(const DomainLayout& layout, std::span<const std::uint8_t> initrd, W& w) {
  if (initrd.size() != layout.ramdisk_bytes) return Status{Errno::Inval};
  if (initrd.empty()) return Status::ok();
  if (Status s = detail::copy_into(layout.ramdisk, 0, initrd, w); !s) return s;
  const auto tail = static_cast<std::uint32_t>(initrd.size() & ~kPageMask);
  if (tail != 0) {
    const Gfn last{layout.ramdisk.pfn.value() + layout.ramdisk.pages - 1};
    return w.zero(last, tail, static_cast<std::uint32_t>(kPageSize - tail));
  }
  return Status::ok();
}

}  // namespace pvkit::loader
