// pvkit/arch/x86/mm/guest_copy.h — copying to and from the running guest's virtual memory,
// from the hypervisor, without ever faulting fatally.
//
// What it is: `CurrentGuestMemory`, the PC platform's `GuestMemory` (pvkit/base): copies
// through the current CR3, byte-exact, with a fault fixup — a #PF or #GP on the copy
// instruction resumes at a recovery point (the exception table in arch/x86/mm/guest_copy.S,
// consulted by the ring-0 fault path) and the copy answers Errno::Fault instead of panicking.
// Before touching memory, `guest_range_ok` refuses ranges that wrap, are non-canonical, cross
// the canonical hole or touch the hypervisor's reserved slots 256-271 (a guest must never get
// the hypervisor to read or write its own memory on the guest's behalf). Writes honour
// read-only guest mappings (CR0.WP is on).
//
// How to use it: `CurrentGuestMemory mem; if (!mem.copy_from_guest(&req, va, sizeof req)) ...`
// inside a hook entered from the guest (its address space is loaded).
//
// Concurrency: the guest's other vCPUs may change the bytes at any time: copy once, validate
// the copy.
#pragma once

#include <cstddef>
#include <cstdint>

#include "pvkit/arch/x86/boot/layout.h"
#include "pvkit/arch/x86/cpu/frame.h"
#include "pvkit/base/guest_memory.h"
#include "pvkit/base/status.h"
#include "pvkit/base/types.h"

extern "C" {
/// entry: copies `n` bytes; returns how many were NOT copied (0 on success). Bare metal only.
std::size_t pvkit_x86_copy_guest(void* dst, const void* src, std::size_t n);
}

namespace pvkit::x86 {

/// First and last byte of the hypervisor's reserved slots (L4 256-271).
inline constexpr std::uint64_t kHvRangeFirst = 0xFFFF800000000000ull;
inline constexpr std::uint64_t kHvRangeLast = 0xFFFF87FFFFFFFFFFull;

/// Whether [va, va + n) is an address range the hypervisor may access for the guest.
inline constexpr bool guest_range_ok(std::uint64_t va, std::uint64_t n) {
  if (n == 0) return true;
  if (va > UINT64_MAX - (n - 1)) return false;  // wraps
  const std::uint64_t last = va + (n - 1);
  if (!is_canonical(va) || !is_canonical(last)) return false;
  if ((va >> 63) != (last >> 63)) return false;  // spans the canonical hole
  return last < kHvRangeFirst || va > kHvRangeLast;
}

/// The GuestMemory of the address space currently loaded in CR3 (fault-recovering copies).
struct CurrentGuestMemory {
  /// Copies `n` bytes from the guest; Errno::Fault for any inaccessible or non-guest byte.
  [[nodiscard]] Status copy_from_guest(void* dst, VirtAddr va, std::size_t n) {
    if (!guest_range_ok(va.value(), n)) return Status{Errno::Fault};
    if (n == 0) return Status::ok();
    return pvkit_x86_copy_guest(dst, reinterpret_cast<const void*>(va.value()), n) == 0 ? Status::ok()
                                                                                      : Status{Errno::Fault};
  }
  /// Copies `n` bytes to the guest; Errno::Fault for any unwritable or non-guest byte.
  [[nodiscard]] Status copy_to_guest(VirtAddr va, const void* src, std::size_t n) {
    if (!guest_range_ok(va.value(), n)) return Status{Errno::Fault};
    if (n == 0) return Status::ok();
    return pvkit_x86_copy_guest(reinterpret_cast<void*>(va.value()), src, n) == 0 ? Status::ok()
                                                                                 : Status{Errno::Fault};
  }
};
static_assert(GuestMemory<CurrentGuestMemory>);

}  // namespace pvkit::x86
