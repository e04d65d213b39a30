// pvkit/arch/x86/boot/layout.h — where the hypervisor lives in the address space.
//
// What it is: the constants shared by the linker script, the boot assembly and C++. The
// hypervisor runs in Xen's reserved L4 slots (256-271 on x86-64): a direct map of the first
// GiB of physical memory starts at kHvDirectMapBase (L4 slot 261, as Xen's own text), and the
// image is linked at kHvDirectMapBase + its physical load address. Guest kernels keep the rest
// of the address space, including the top 2 GiB Linux PV kernels use.
//
// How to use it: `hv_virt(phys)` / `hv_phys(ptr)` convert within the direct map.
//
// Concurrency: constants only.
#pragma once

#define PVKIT_HV_DIRECT_MAP_BASE 0xFFFF82D000000000
#define PVKIT_HV_LOAD_PHYS 0x100000

#ifndef __ASSEMBLER__
#include <cstdint>

namespace pvkit::x86 {

inline constexpr std::uint64_t kHvDirectMapBase = PVKIT_HV_DIRECT_MAP_BASE;
/// The boot page tables map this much physical memory at kHvDirectMapBase (and identity).
inline constexpr std::uint64_t kBootDirectMapSize = std::uint64_t{1} << 30;
/// First and last L4 slot reserved for the hypervisor (Xen's x86-64 PV ABI).
inline constexpr unsigned kHvFirstL4Slot = 256;
inline constexpr unsigned kHvLastL4Slot = 271;

/// The hypervisor's direct-map address of physical address `phys`.
inline void* hv_virt(std::uint64_t phys) { return reinterpret_cast<void*>(kHvDirectMapBase + phys); }
/// The physical address of a direct-map (or image) pointer.
inline std::uint64_t hv_phys(const void* p) {
  return reinterpret_cast<std::uint64_t>(p) - kHvDirectMapBase;
}

static_assert(((kHvDirectMapBase >> 39) & 511) >= kHvFirstL4Slot &&
              ((kHvDirectMapBase >> 39) & 511) <= kHvLastL4Slot,
              "the hypervisor must live in Xen's reserved L4 slots");

}  // namespace pvkit::x86
#endif
