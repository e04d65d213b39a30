// pvkit/grant/domain_grants.h — one domain's grant state: its table and its maptrack.
//
// What it is: `DomainGrants<Limits>`, fixed-size bookkeeping (arrays of page pointers sized by
// the limits) for one domain: the shared grant frames (guest-writable, v1 or v2 format),
// the v2 status frames, the hypervisor-private active entries (one per possible v1 entry),
// and the maptrack table of the mappings this domain holds on others' grants. All pages come
// from the platform's PageAllocator; nothing here allocates by itself.
//
// How to use it: through GrantTables only. Accessors compute entry addresses from a ref the
// caller has already checked against `nr_entries()`.
//
// Concurrency: `lock` (the grant lock) protects the table, active entries, version and frame
// counts (and serialises writers of the atomic `state`, which may be read without it); `maptrack_lock` protects maptrack allocation and is a leaf lock (taken last, never
// held while taking a grant lock).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "pvkit/base/spinlock.h"
#include "pvkit/base/types.h"
#include "pvkit/grant/active_entry.h"
#include "pvkit/grant/maptrack.h"
#include "pvkit/grant/shared_entry.h"

namespace pvkit::grant {

/// Where a domain's grant table is in its life cycle.
enum class DomainState : std::uint8_t { Free = 0, Live = 1, Dying = 2 };

/// A domain's grant-table state: shared and status frames, active entries, maptrack (sized by the limits `L`).
template <typename L>
struct DomainGrants {
  static constexpr std::uint32_t kActivePerPage = 4096 / sizeof(ActiveEntry);
  static constexpr std::uint32_t kMaxEntries = L::kMaxGrantFrames * kEntriesPerFrameV1;
  static constexpr std::uint32_t kActivePages = (kMaxEntries + kActivePerPage - 1) / kActivePerPage;
  static constexpr std::uint32_t kMaxStatusFrames =
      (L::kMaxGrantFrames * kEntriesPerFrameV2 + kStatusPerFrame - 1) / kStatusPerFrame;
  static constexpr std::uint32_t kMaptrackPerPage = 4096 / sizeof(MaptrackEntry);
  static constexpr std::uint32_t kMaxHandles = L::kMaxMaptrackFrames * kMaptrackPerPage;

  SpinLock lock;
  SpinLock maptrack_lock;

  // --- under `lock` ---
  /// Written only under `lock`; atomic so that a path needing only a snapshot of it (a copy
  /// naming the caller's own frame) can read it without taking the lock.
  std::atomic<DomainState> state{DomainState::Free};
  std::uint8_t version = 0;
  std::uint32_t max_frames = 0;           ///< this domain's max_grant_frames (<= the limit)
  std::uint32_t max_maptrack_pages = 0;   ///< this domain's maptrack limit (<= the limit)
  std::uint32_t nr_frames = 0;
  std::uint32_t nr_status_frames = 0;
  std::uint32_t active_pages = 0;
  std::array<void*, L::kMaxGrantFrames> shared{};
  std::array<Mfn, L::kMaxGrantFrames> shared_mfn{};
  std::array<void*, kMaxStatusFrames> status{};
  std::array<Mfn, kMaxStatusFrames> status_mfn{};
  std::array<void*, kActivePages> active{};

  // --- under `maptrack_lock` ---
  std::array<void*, L::kMaxMaptrackFrames> maptrack{};
  std::uint32_t maptrack_pages = 0;
  std::uint32_t free_head = kNoHandle;
  std::uint32_t free_tail = kNoHandle;
  std::uint32_t handles_in_use = 0;
  std::uint32_t release_cursor = 0;  ///< progress of the preemptible teardown

  /// Entries per grant frame in the current version (512 in v1, 256 in v2).
  [[nodiscard]] std::uint32_t entries_per_frame() const {
    return version == 2 ? kEntriesPerFrameV2 : kEntriesPerFrameV1;
  }
  /// Entries addressable in the current version.
  [[nodiscard]] std::uint32_t nr_entries() const { return nr_frames * entries_per_frame(); }
  /// Maptrack handles the allocated pages can hold.
  [[nodiscard]] std::uint32_t nr_handles() const { return maptrack_pages * kMaptrackPerPage; }

  /// The hypervisor-private active entry (pin counts, captured frame) of `ref`.
  [[nodiscard]] ActiveEntry& active_entry(std::uint32_t ref) {
    auto* page = static_cast<ActiveEntry*>(active[ref / kActivePerPage]);
    return page[ref % kActivePerPage];
  }
  /// First byte of entry `ref` in the current version's layout.
  [[nodiscard]] std::uint8_t* entry_bytes(std::uint32_t ref) {
    const std::uint32_t per = entries_per_frame();
    const std::uint32_t size = version == 2 ? 16u : 8u;
    return static_cast<std::uint8_t*>(shared[ref / per]) + (ref % per) * size;
  }
  /// The 32-bit flags+domid header of entry `ref` (guest-writable memory).
  [[nodiscard]] std::uint32_t* header_word(std::uint32_t ref) {
    return reinterpret_cast<std::uint32_t*>(entry_bytes(ref));
  }
  /// The 16-bit flags half of the header (v1 status bits live here).
  [[nodiscard]] std::uint16_t* flags_word(std::uint32_t ref) {
    return reinterpret_cast<std::uint16_t*>(entry_bytes(ref));
  }
  /// The v1 frame field of entry `ref` (guest-writable memory).
  [[nodiscard]] std::uint32_t* v1_frame(std::uint32_t ref) {
    return reinterpret_cast<std::uint32_t*>(entry_bytes(ref) + kV1FrameOffset);
  }
  /// The v2 frame field of entry `ref` (guest-writable memory).
  [[nodiscard]] std::uint64_t* v2_frame(std::uint32_t ref) {
    return reinterpret_cast<std::uint64_t*>(entry_bytes(ref) + kV2FrameOffset);
  }
  /// A 16-bit field at byte offset `off` of v2 entry `ref`.
  [[nodiscard]] std::uint16_t* v2_u16_at(std::uint32_t ref, std::uint32_t off) {
    return reinterpret_cast<std::uint16_t*>(entry_bytes(ref) + off);
  }
  /// A 32-bit field at byte offset `off` of v2 entry `ref`.
  [[nodiscard]] std::uint32_t* v2_u32_at(std::uint32_t ref, std::uint32_t off) {
    return reinterpret_cast<std::uint32_t*>(entry_bytes(ref) + off);
  }
  /// Where GTF_reading/GTF_writing live for `ref`: the v1 flags or the v2 status word.
  [[nodiscard]] std::uint16_t* status_word(std::uint32_t ref) {
    if (version == 2) {
      return static_cast<std::uint16_t*>(status[ref / kStatusPerFrame]) + ref % kStatusPerFrame;
    }
    return flags_word(ref);
  }
  /// The maptrack entry of `handle`.
  [[nodiscard]] MaptrackEntry& maptrack_entry(std::uint32_t handle) {
    auto* page = static_cast<MaptrackEntry*>(maptrack[handle / kMaptrackPerPage]);
    return page[handle % kMaptrackPerPage];
  }
  /// Status frames needed for `frames` grant frames in v2.
  static constexpr std::uint32_t status_frames_for(std::uint32_t frames) {
    return (frames * kEntriesPerFrameV2 + kStatusPerFrame - 1) / kStatusPerFrame;
  }
};

}  // namespace pvkit::grant
