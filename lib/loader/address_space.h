// pvkit/loader/address_space.h — which guest virtual ranges a 64-bit PV guest may occupy.
//
// What it is: x86-64 has 48-bit canonical virtual addresses (lower half below
// 0x0000_8000_0000_0000, upper half from 0xFFFF_8000_0000_0000); Xen keeps
// [0xFFFF_8000_0000_0000, 0xFFFF_8800_0000_0000) for itself in every PV address space
// (HYPERVISOR_VIRT_START/_END). `check_guest_va_range` accepts a range only when it lies
// wholly inside one half and outside that hole.
//
// How to use it: `if (LoadError e = check_guest_va_range(start, len); e != LoadError::Ok) ...`
//
// Concurrency: pure functions.
#pragma once

#include <cstdint>

#include "pvkit/loader/load_error.h"

namespace pvkit::loader {

/// End (exclusive) of the canonical lower half.
inline constexpr std::uint64_t kLowerHalfEnd = 0x0000800000000000ULL;
/// Start of the canonical upper half.
inline constexpr std::uint64_t kUpperHalfStart = 0xFFFF800000000000ULL;
/// Xen's reserved range in a 64-bit PV guest (HYPERVISOR_VIRT_START, _END).
inline constexpr std::uint64_t kHypervisorHoleStart = 0xFFFF800000000000ULL;
inline constexpr std::uint64_t kHypervisorHoleEnd = 0xFFFF880000000000ULL;

/// True for a canonical 48-bit virtual address.
constexpr bool is_canonical(std::uint64_t va) {
  return va < kLowerHalfEnd || va >= kUpperHalfStart;
}

/// Checks [start, start + len) (len > 0): canonical, one half, outside the hypervisor hole,
/// and no wrap past 2^64.
constexpr LoadError check_guest_va_range(std::uint64_t start, std::uint64_t len) {
  if (len == 0) return LoadError::Ok;
  if (len - 1 > ~std::uint64_t{0} - start) return LoadError::SegmentAddressOverflow;
  const std::uint64_t last = start + (len - 1);
  if (!is_canonical(start) || !is_canonical(last)) return LoadError::NonCanonicalAddress;
  if (start < kLowerHalfEnd) {
    // A lower-half range may not run on into the upper half (it would cross the gap).
    return last < kLowerHalfEnd ? LoadError::Ok : LoadError::NonCanonicalAddress;
  }
  if (start < kHypervisorHoleEnd) return LoadError::HypervisorRange;
  return LoadError::Ok;
}

}  // namespace pvkit::loader
