// pvkit/grant/active_entry.h — the hypervisor-private state of one grant entry.
//
// What it is: `PinCounts`, the four 8-bit pin counters of an entry as named fields (host
// write / host read / device write / device read, Xen's GNTPIN layout), and `ActiveEntry`,
// what the hypervisor remembers about a pinned entry (who pinned it, the frame and byte
// range captured at the first pin, transitive target). The granter cannot write any of this:
// once pinned, pvkit acts on the captured copy, never on the guest-writable entry.
//
// How to use it: only under the granting domain's grant lock (pvkit/grant/domain_grants.h).
// A counter whose top bit is set refuses further pins (`would_overflow`).
//
// Concurrency: plain data protected by the owning domain's grant lock.
#pragma once

#include <cstdint>

namespace pvkit::grant {

/// The pin word: four 8-bit counters.
struct PinCounts {
  static constexpr std::uint32_t kHostWriteShift = 0;
  static constexpr std::uint32_t kHostReadShift = 8;
  static constexpr std::uint32_t kDevWriteShift = 16;
  static constexpr std::uint32_t kDevReadShift = 24;
  static constexpr std::uint32_t kHostWriteInc = 1u << kHostWriteShift;
  static constexpr std::uint32_t kHostReadInc = 1u << kHostReadShift;
  static constexpr std::uint32_t kDevWriteInc = 1u << kDevWriteShift;
  static constexpr std::uint32_t kDevReadInc = 1u << kDevReadShift;
  /// The top bit of every counter.
  static constexpr std::uint32_t kOverflowMask = 0x80808080u;
  /// The counters that require GTF_writing.
  static constexpr std::uint32_t kWriteMask = 0x00FF00FFu;

  std::uint32_t raw = 0;

  /// Host (page-table) mappings holding write access.
  [[nodiscard]] constexpr std::uint32_t host_write() const { return (raw >> kHostWriteShift) & 0xFFu; }
  /// Host (page-table) mappings holding read-only access.
  [[nodiscard]] constexpr std::uint32_t host_read() const { return (raw >> kHostReadShift) & 0xFFu; }
  /// Device (IOMMU) mappings holding write access.
  [[nodiscard]] constexpr std::uint32_t dev_write() const { return (raw >> kDevWriteShift) & 0xFFu; }
  /// Device (IOMMU) mappings holding read-only access.
  [[nodiscard]] constexpr std::uint32_t dev_read() const { return (raw >> kDevReadShift) & 0xFFu; }
  /// True if any pin is held.
  [[nodiscard]] constexpr bool any() const { return raw != 0; }
  /// True if any writable pin (host or device) is held.
  [[nodiscard]] constexpr bool any_write() const { return (raw & kWriteMask) != 0; }
  /// True when some counter has its top bit set: no further pin is allowed.
  [[nodiscard]] constexpr bool would_overflow() const { return (raw & kOverflowMask) != 0; }

  /// The increment for one host or device pin, read-only or writable.
  static constexpr std::uint32_t increment(bool device, bool readonly) {
    if (device) return readonly ? kDevReadInc : kDevWriteInc;
    return readonly ? kHostReadInc : kHostWriteInc;
  }
  /// Whether the counter that `inc` addresses is non-zero (so a decrement cannot underflow).
  [[nodiscard]] constexpr bool holds(std::uint32_t inc) const { return (raw / inc) % 256u != 0; }
};

/// What kind of grant the first pin captured.
enum class ActiveKind : std::uint8_t { Full = 0, SubPage = 1, Transitive = 2 };

/// Hypervisor-private state of one grant entry (32 bytes, 128 per page).
struct ActiveEntry {
  PinCounts pin;
  std::uint16_t domid = 0;        ///< the domain holding the pins (mapper or copier)
  std::uint16_t trans_domid = 0;  ///< Transitive: the domain owning the real grant
  std::uint32_t trans_gref = 0;   ///< Transitive: the grant in trans_domid
  std::uint16_t start = 0;        ///< accessible byte range [start, start + length)
  std::uint16_t length = 0;
  std::uint64_t frame = 0;        ///< machine frame captured at the first pin
  ActiveKind kind = ActiveKind::Full;
};
static_assert(sizeof(ActiveEntry) == 32);

}  // namespace pvkit::grant
