// pvkit/grant/shared_entry.h — access to grant entries that live in guest-writable memory.
//
// What it is: the entry geometry of both table versions (512 v1 entries, 256 v2 entries and
// 2048 v2 status words per 4 KiB frame), `HeaderWord` — the combined flags+domid word of an
// entry header with named accessors — and the only primitives pvkit uses on shared grant
// memory: atomic loads/stores, a compare-exchange on the header word, and atomic bit
// set/clear on 16-bit flag/status words (compiler __atomic builtins: the same code in the
// freestanding image and in host tests, where the thread sanitizer understands it).
//
// How to use it: read the header word once (`shared_load32`), decide on that copy, and act
// with `shared_cas32` so that a concurrent change by the granter makes the CAS fail (then
// re-decide on the new value, a bounded number of times: invariant 20).
//
// Concurrency: the granter's vCPUs may write these words at any time; every access here is
// a single atomic access, never a plain read that could be torn or re-read.
#pragma once

#include <cstddef>
#include <cstdint>

#include "pvkit/base/types.h"
#include "pvkit/grant/xen_abi.h"

namespace pvkit::grant {

inline constexpr std::uint32_t kEntriesPerFrameV1 = 4096 / sizeof(xen::GrantEntryV1);
inline constexpr std::uint32_t kEntriesPerFrameV2 = 4096 / sizeof(xen::GrantEntryV2);
inline constexpr std::uint32_t kStatusPerFrame = 4096 / sizeof(xen::GrantStatusEntry);

// Byte offsets of fields inside an entry (checked against xen_abi.h below).
inline constexpr std::uint32_t kV1FrameOffset = 4;
inline constexpr std::uint32_t kV2FrameOffset = 8;
inline constexpr std::uint32_t kV2PageOffOffset = 4;
inline constexpr std::uint32_t kV2LengthOffset = 6;
inline constexpr std::uint32_t kV2TransDomidOffset = 4;
inline constexpr std::uint32_t kV2TransGrefOffset = 8;
static_assert(kV1FrameOffset == __builtin_offsetof(xen::GrantEntryV1, frame));
static_assert(kV2FrameOffset == __builtin_offsetof(xen::GrantEntryV2FullPage, frame));
static_assert(kV2PageOffOffset == __builtin_offsetof(xen::GrantEntryV2SubPage, page_off));
static_assert(kV2LengthOffset == __builtin_offsetof(xen::GrantEntryV2SubPage, length));
static_assert(kV2TransDomidOffset == __builtin_offsetof(xen::GrantEntryV2Transitive, trans_domid));
static_assert(kV2TransGrefOffset == __builtin_offsetof(xen::GrantEntryV2Transitive, gref));

/// Reads a guest-shared 16-bit word once (acquire).
[[nodiscard]] inline std::uint16_t shared_load16(const std::uint16_t* p) {
  return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
/// Reads a guest-shared 32-bit word once (acquire).
[[nodiscard]] inline std::uint32_t shared_load32(const std::uint32_t* p) {
  return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
/// Reads a guest-shared 64-bit word once (acquire).
[[nodiscard]] inline std::uint64_t shared_load64(const std::uint64_t* p) {
  return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
/// Writes a guest-shared 16-bit word (release).
inline void shared_store16(std::uint16_t* p, std::uint16_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
/// Writes a guest-shared 32-bit word (release).
inline void shared_store32(std::uint32_t* p, std::uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
/// Writes a guest-shared 64-bit word (release).
inline void shared_store64(std::uint64_t* p, std::uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
/// Compare-exchange: on failure `expected` receives the current value.
[[nodiscard]] inline bool shared_cas32(std::uint32_t* p, std::uint32_t& expected, std::uint32_t desired) {
  return __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}
/// Atomically sets `bits`; returns the previous value.
inline std::uint16_t shared_set_bits16(std::uint16_t* p, std::uint16_t bits) {
  return __atomic_fetch_or(p, bits, __ATOMIC_ACQ_REL);
}
/// Atomically clears `bits`; returns the previous value.
inline std::uint16_t shared_clear_bits16(std::uint16_t* p, std::uint16_t bits) {
  return __atomic_fetch_and(p, static_cast<std::uint16_t>(~bits), __ATOMIC_ACQ_REL);
}
/// Clears a guest-shared page word by word (relaxed atomic stores): the guest may be writing
/// it at the same time, so it is never touched with plain (memset) stores.
inline void shared_zero_page(void* page) {
  auto* w = static_cast<std::uint64_t*>(page);
  for (std::size_t i = 0; i < 4096 / sizeof(std::uint64_t); ++i) __atomic_store_n(&w[i], 0, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_RELEASE);
}
/// A full memory barrier.
inline void full_fence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

/// grant_entry_header_t read as one little-endian 32-bit word: flags in bits 0-15, domid in
/// bits 16-31. Compare-exchanging this word is how status bits are set in v1 (invariant 20).
class HeaderWord {
 public:
  constexpr explicit HeaderWord(std::uint32_t raw) : raw_(raw) {}
  /// The header word for `flags` and `domid`.
  static constexpr HeaderWord make(std::uint16_t flags, DomId domid) {
    return HeaderWord{static_cast<std::uint32_t>(flags) | (static_cast<std::uint32_t>(domid.value()) << 16)};
  }
  /// The 32-bit word as stored.
  [[nodiscard]] constexpr std::uint32_t raw() const { return raw_; }
  /// The GTF_* flags (low 16 bits).
  [[nodiscard]] constexpr std::uint16_t flags() const { return static_cast<std::uint16_t>(raw_ & 0xFFFFu); }
  /// The domain the entry names (high 16 bits).
  [[nodiscard]] constexpr DomId domid() const { return DomId{static_cast<std::uint16_t>(raw_ >> 16)}; }
  /// GTF_invalid / permit_access / accept_transfer / transitive.
  [[nodiscard]] constexpr std::uint16_t type() const { return flags() & xen::kGtfTypeMask; }
  /// GTF_readonly is set.
  [[nodiscard]] constexpr bool readonly() const { return (flags() & xen::kGtfReadonly) != 0; }
  /// GTF_sub_page is set (v2).
  [[nodiscard]] constexpr bool sub_page() const { return (flags() & xen::kGtfSubPage) != 0; }
  /// GTF_PWT | GTF_PCD | GTF_PAT requested by the granter.
  [[nodiscard]] constexpr std::uint16_t cache_flags() const {
    return flags() & (xen::kGtfPwt | xen::kGtfPcd | xen::kGtfPat);
  }
  /// This header with `bits` added to the flags.
  [[nodiscard]] constexpr HeaderWord with_flags(std::uint16_t bits) const { return HeaderWord{raw_ | bits}; }

  friend constexpr bool operator==(HeaderWord, HeaderWord) = default;

 private:
  std::uint32_t raw_;
};

}  // namespace pvkit::grant
