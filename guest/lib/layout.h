// pvkit/guest/layout.h — where a pvkit guest kernel lives and the page-sized slots it remaps.
//
// What it is: the virtual base of every pvkit guest kernel (Xen's usual x86-64 PV kernel
// base, the same value guest/guest.ld and the VIRT_BASE note use; pseudo-physical frame 0
// is mapped there, PADDR_OFFSET is 0), the page size, and `PageSlot`, a 4 KiB-aligned page
// of the kernel's .bss whose virtual address a guest re-points at another frame (the
// shared_info page, grant-table frames, a peer's granted page).
//
// How to use it:
//   constinit PageSlot ring_page{};              // in .bss, mapped by the domain builder
//   virt_to_pfn(&ring_page) == (VA - kGuestVirtBase) >> 12
//
// Concurrency: constants and a plain type.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pvkit::guest {

/// VIRT_BASE: the kernel's virtual address of pseudo-physical address 0.
inline constexpr std::uint64_t kGuestVirtBase = 0xFFFF'FFFF'8000'0000ull;
inline constexpr std::size_t kPageSize = 4096;
inline constexpr unsigned kPageShift = 12;

namespace detail {
inline constinit std::uint64_t g_virt_base = kGuestVirtBase;
}  // namespace detail

/// The VIRT_BASE this kernel runs at: kGuestVirtBase in every guest image. Host tests that run
/// kernel code inside a process (//guest/test) point it at the process image instead.
inline std::uint64_t guest_virt_base() { return detail::g_virt_base; }

/// One page of .bss, page-aligned, that may be remapped with update_va_mapping.
struct alignas(kPageSize) PageSlot {
  unsigned char bytes[kPageSize];
};
static_assert(sizeof(PageSlot) == kPageSize);

/// The guest virtual address of a kernel object.
inline std::uint64_t va_of(const void* p) { return reinterpret_cast<std::uint64_t>(p); }

}  // namespace pvkit::guest
