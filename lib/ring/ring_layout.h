// pvkit/ring/ring_layout.h — the byte layout of an io/ring.h shared ring for given message types.
//
// What it is: `RingMessage` (the concept a request or response type must meet: trivially
// copyable, standard layout, so it can live in memory shared with another domain), the slot
// type `RingEntry<Req, Rsp>` (Xen's `union X_sring_entry`), and `RingLayout<Req, Rsp>`, which
// computes the offset of the slot array and the number of slots for a shared area of a given
// size exactly as io/ring.h's `__RING_SIZE` does: as many slots as fit after the 64-byte header,
// rounded down to a power of two. A pvkit ring therefore has the same slot count and byte
// offsets as the C ring declared with `DEFINE_RING_TYPES(name, Req, Rsp)`.
//
// How to use it:
//   using L = pvkit::ring::RingLayout<blkif_request, blkif_response>;
//   static_assert(L::slots(4096) == 32);
//   // slot i lives at page + L::kEntriesOffset + (i & (slots - 1)) * L::kEntrySize
//
// Concurrency: compile-time arithmetic only.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "pvkit/ring/xen_abi.h"

namespace pvkit::ring {

using RingIdx = xen::RingIdx;

/// A request or response type that may be placed in a shared ring.
template <typename T>
concept RingMessage = std::is_trivially_copyable_v<T> && std::is_standard_layout_v<T> &&
                      std::is_default_constructible_v<T>;

/// One ring slot: holds a request until the backend answers it with a response in place.
template <RingMessage Req, RingMessage Rsp>
union RingEntry {
  Req req;
  Rsp rsp;
};

/// Rounds a 32-bit value down to a power of two (io/ring.h's __RD32); 0 stays 0.
[[nodiscard]] constexpr std::uint32_t round_down_pow2(std::uint32_t x) { return std::bit_floor(x); }

/// The byte layout of a ring of Req/Rsp slots (see the file comment).
template <RingMessage Req, RingMessage Rsp>
struct RingLayout {
  using Entry = RingEntry<Req, Rsp>;
  /// Size of one slot: the larger message, padded to the union's alignment.
  static constexpr std::size_t kEntrySize = sizeof(Entry);
  static constexpr std::size_t kEntryAlign = alignof(Entry);
  /// Where the slot array starts: after the 64-byte header, at the slot's alignment (what a C
  /// compiler does with `struct X_sring`'s trailing `ring[]` member).
  static constexpr std::size_t kEntriesOffset =
      (sizeof(xen::SharedRingHeader) + kEntryAlign - 1) / kEntryAlign * kEntryAlign;
  /// The alignment the shared area itself must have.
  static constexpr std::size_t kAreaAlign =
      kEntryAlign > alignof(xen::SharedRingHeader) ? kEntryAlign : alignof(xen::SharedRingHeader);
  /// Largest shared area pvkit accepts (io/ring.h's arithmetic is 32-bit).
  static constexpr std::size_t kMaxAreaBytes = std::size_t{1} << 31;

  /// Number of slots in a shared area of `bytes` bytes (0 if not even one slot fits, or if the
  /// area is larger than kMaxAreaBytes).
  [[nodiscard]] static constexpr std::uint32_t slots(std::size_t bytes) {
    if (bytes > kMaxAreaBytes || bytes < kEntriesOffset + kEntrySize) return 0;
    return round_down_pow2(static_cast<std::uint32_t>((bytes - kEntriesOffset) / kEntrySize));
  }
  /// Byte offset of the slot that index `idx` maps to in a ring of `nr_slots` (a power of two).
  [[nodiscard]] static constexpr std::size_t slot_offset(RingIdx idx, std::uint32_t nr_slots) {
    return kEntriesOffset + static_cast<std::size_t>(idx & (nr_slots - 1)) * kEntrySize;
  }
};

}  // namespace pvkit::ring
