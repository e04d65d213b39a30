// Checks pvkit's PVH start-info layout against Xen's public header.
#include <cstddef>

#include <gtest/gtest.h>
#include <xen/xen.h>
#include <xen/arch-x86/hvm/start_info.h>

#include "pvkit/arch/x86/boot/layout.h"
#include "pvkit/arch/x86/pvh.h"

namespace pvkit::x86 {
namespace {

TEST(PvhAbi, StartInfoMatchesXen) {
  EXPECT_EQ(HvmStartInfo::kMagic, XEN_HVM_START_MAGIC_VALUE);
  EXPECT_EQ(sizeof(HvmStartInfo), sizeof(hvm_start_info));
  EXPECT_EQ(offsetof(HvmStartInfo, magic), offsetof(hvm_start_info, magic));
  EXPECT_EQ(offsetof(HvmStartInfo, nr_modules), offsetof(hvm_start_info, nr_modules));
  EXPECT_EQ(offsetof(HvmStartInfo, modlist_paddr), offsetof(hvm_start_info, modlist_paddr));
  EXPECT_EQ(offsetof(HvmStartInfo, cmdline_paddr), offsetof(hvm_start_info, cmdline_paddr));
  EXPECT_EQ(offsetof(HvmStartInfo, rsdp_paddr), offsetof(hvm_start_info, rsdp_paddr));
  EXPECT_EQ(offsetof(HvmStartInfo, memmap_paddr), offsetof(hvm_start_info, memmap_paddr));
  EXPECT_EQ(offsetof(HvmStartInfo, memmap_entries), offsetof(hvm_start_info, memmap_entries));
  EXPECT_EQ(sizeof(HvmModlistEntry), sizeof(hvm_modlist_entry));
  EXPECT_EQ(offsetof(HvmModlistEntry, cmdline_paddr), offsetof(hvm_modlist_entry, cmdline_paddr));
}

TEST(Layout, HypervisorLivesInXenReservedSlots) {
  const unsigned slot = (kHvDirectMapBase >> 39) & 511;
  EXPECT_GE(slot, kHvFirstL4Slot);
  EXPECT_LE(slot, kHvLastL4Slot);
  // Xen's public x86-64 header: HYPERVISOR_VIRT_START..END bound the reserved range.
  EXPECT_GE(kHvDirectMapBase, static_cast<std::uint64_t>(HYPERVISOR_VIRT_START));
  EXPECT_LT(kHvDirectMapBase + kBootDirectMapSize, static_cast<std::uint64_t>(HYPERVISOR_VIRT_END));
}

}  // namespace
}  // namespace pvkit::x86
