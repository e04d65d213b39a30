// pvkit/grant/maptrack.h — one row of a mapper domain's maptrack table.
//
// What it is: `MaptrackEntry`, what a mapping handle (GrantHandle = row index) records: the
// granting domain and ref, which parts are mapped (GNTMAP_host_map / GNTMAP_device_map) and
// how (readonly, contains_pte, application_map), and the host address used at map time (for
// domain teardown). `kMapInUse` marks an allocated row; a row is freed exactly once, by the
// operation that cleared its last part (invariant 21).
//
// How to use it: rows live in pages from the PageAllocator, reached through
// DomainGrants::maptrack_entry(handle).
//
// Concurrency: allocation/free under the mapper's maptrack lock; the part bits of a row that
// names granter G change only while G's grant lock is held too.
#pragma once

#include <cstdint>

#include "pvkit/grant/xen_abi.h"

namespace pvkit::grant {

inline constexpr std::uint32_t kNoHandle = 0xFFFFFFFFu;

/// The bits of MaptrackEntry::flags.
inline constexpr std::uint16_t kMapInUse = 0x8000;
inline constexpr std::uint16_t kMapParts = xen::kGntmapHostMap | xen::kGntmapDeviceMap;
inline constexpr std::uint16_t kMapKeptFlags =
    kMapParts | xen::kGntmapReadonly | xen::kGntmapContainsPte | xen::kGntmapApplicationMap;

/// One maptrack entry: a mapping a domain made of another domain's grant (its handle indexes these).
struct MaptrackEntry {
  std::uint64_t host_addr = 0;
  std::uint32_t ref = 0;
  std::uint32_t next_free = kNoHandle;
  std::uint16_t domid = 0;
  std::uint16_t flags = 0;
  std::uint32_t pad = 0;

  /// True while the handle is allocated.
  [[nodiscard]] constexpr bool in_use() const { return (flags & kMapInUse) != 0; }
  /// Which parts (host, device) of the mapping are still held.
  [[nodiscard]] constexpr std::uint16_t parts() const { return flags & kMapParts; }
  /// GNTMAP_readonly was requested.
  [[nodiscard]] constexpr bool readonly() const { return (flags & xen::kGntmapReadonly) != 0; }
  /// GNTMAP_contains_pte: the host address is a PTE's machine address.
  [[nodiscard]] constexpr bool contains_pte() const { return (flags & xen::kGntmapContainsPte) != 0; }
  /// GNTMAP_application_map: the mapping is user-accessible.
  [[nodiscard]] constexpr bool application() const { return (flags & xen::kGntmapApplicationMap) != 0; }
};
static_assert(sizeof(MaptrackEntry) == 24);

}  // namespace pvkit::grant
