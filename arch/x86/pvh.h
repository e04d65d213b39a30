// pvkit/arch/x86/pvh.h — the PVH boot information QEMU (or Xen) hands to the 32-bit entry.
//
// What it is: `HvmStartInfo` and `HvmModlistEntry`, with the layout of Xen's
// public/arch-x86/hvm/start_info.h (checked by //arch/x86:pvh_abi_test), and accessors for
// the command line and the module list (QEMU's -append and -initrd).
// How to use it: `auto* si = static_cast<const HvmStartInfo*>(hv_virt(phys)); si->valid()`.
// Concurrency: read-only after boot.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pvkit::x86 {

/// hvm_modlist_entry: one boot module of the PVH start info.
struct HvmModlistEntry {
  std::uint64_t paddr;
  std::uint64_t size;
  std::uint64_t cmdline_paddr;
  std::uint64_t reserved;
};
static_assert(sizeof(HvmModlistEntry) == 32);

/// hvm_start_info: what a PVH loader (QEMU -kernel) passes at boot.
struct HvmStartInfo {
  static constexpr std::uint32_t kMagic = 0x336ec578;
  std::uint32_t magic;
  std::uint32_t version;
  std::uint32_t flags;
  std::uint32_t nr_modules;
  std::uint64_t modlist_paddr;
  std::uint64_t cmdline_paddr;
  std::uint64_t rsdp_paddr;
  std::uint64_t memmap_paddr;
  std::uint32_t memmap_entries;
  std::uint32_t reserved;

  /// True if the magic matches.
  [[nodiscard]] bool valid() const { return magic == kMagic; }
};
static_assert(sizeof(HvmStartInfo) == 56);
static_assert(offsetof(HvmStartInfo, cmdline_paddr) == 24);

}  // namespace pvkit::x86
