// pvkit/loader/guest_frame_writer.h — the policy through which the loader writes guest frames.
//
// What it is: the `GuestFrameWriter` concept. The loader never touches machine memory
// itself: it asks the platform to copy bytes into, or zero a byte range of, one of the new
// domain's pseudo-physical frames. The loader guarantees that `offset + length <= 4096`
// (a call never crosses a frame) and that `pfn` is inside the planned bootstrap area; the
// platform translates pfn -> its machine frame and returns a non-ok Status if it cannot.
//
// How to use it: implement
//   Status write(Gfn pfn, std::uint32_t offset, std::span<const std::uint8_t> bytes);
//   Status zero(Gfn pfn, std::uint32_t offset, std::uint32_t length);
// and pass the object to load_kernel_segments() / load_ramdisk() (segment_loader.h).
//
// Concurrency: called from the single thread building the domain, before it runs.
#pragma once

#include <concepts>
#include <cstdint>
#include <span>

#include "pvkit/base/status.h"
#include "pvkit/base/types.h"

namespace pvkit::loader {

/// How the loader writes a new domain's frames (see the file comment).
template <typename W>
concept GuestFrameWriter = requires(W& w, Gfn pfn, std::uint32_t offset,
                                    std::span<const std::uint8_t> bytes, std::uint32_t length) {
  { w.write(pfn, offset, bytes) } -> std::same_as<Status>;
  { w.zero(pfn, offset, length) } -> std::same_as<Status>;
};

}  // namespace pvkit::loader
