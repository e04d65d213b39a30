// pvkit's x86-64 PV selectors and reserved layout against Xen's public headers
// (xen/arch-x86/xen-x86_64.h, xen/arch-x86/xen.h), and the selectors the CPU derives from
// pvkit's STAR value.
#include <stdint.h>  // Xen's headers expect the C fixed-width types
#include <xen/xen.h>

#include <gtest/gtest.h>

#include "pvkit/arch/x86/boot/layout.h"
#include "pvkit/arch/x86/cpu/segment.h"
#include "pvkit/arch/x86/mm/guest_copy.h"
#include "pvkit/arch/x86/mm/pte.h"

namespace pvkit::x86 {
namespace {

TEST(X86AbiConformance, FlatRing3Selectors) {
  EXPECT_EQ(kGuestCs64.raw(), FLAT_RING3_CS64);
  EXPECT_EQ(kGuestCs32.raw(), FLAT_RING3_CS32);
  EXPECT_EQ(kGuestDs.raw(), FLAT_RING3_DS32);
  EXPECT_EQ(kGuestSs64.raw(), FLAT_RING3_SS64);
  EXPECT_EQ(kGuestDs.raw(), FLAT_RING3_SS32);
  // 64-bit PV guests run with a null DS (Xen: FLAT_RING3_DS64 0x0000); the kernel's
  // selectors are the ring-3 ones (x86-64 PV kernels run in ring 3).
  EXPECT_EQ(FLAT_RING3_DS64, 0);
  EXPECT_EQ(kGuestCs64.raw(), FLAT_KERNEL_CS64);
  EXPECT_EQ(kGuestSs64.raw(), FLAT_KERNEL_SS64);
  EXPECT_EQ(kGuestCs64.raw(), FLAT_USER_CS64);
}

TEST(X86AbiConformance, SysretLoadsXensGuestSelectors) {
  const std::uint64_t star = star_msr_value();
  EXPECT_EQ(sysret64_cs(star).raw(), FLAT_RING3_CS64);
  EXPECT_EQ(sysret_ss(star).raw(), FLAT_RING3_SS64);
  EXPECT_EQ(sysret32_cs(star).raw(), FLAT_RING3_CS32);
  EXPECT_EQ(syscall_cs(star), kHvCs);
  EXPECT_EQ(syscall_ss(star), kHvDs);
}

TEST(X86AbiConformance, ReservedGdtArea) {
  EXPECT_EQ(kFirstReservedGdtPage, FIRST_RESERVED_GDT_PAGE);
  EXPECT_EQ(kFirstReservedGdtEntry, FIRST_RESERVED_GDT_ENTRY);
  for (Selector s : {kHvCs, kHvDs, kGuestCs32, kGuestDs, kGuestCs64, kTss}) {
    EXPECT_GE(s.index(), static_cast<unsigned>(FIRST_RESERVED_GDT_ENTRY)) << s.raw();
    EXPECT_LT(s.index() + 1, kGdtEntries) << s.raw();
  }
}

TEST(X86AbiConformance, HypervisorVirtualRangeIsL4Slots256To271) {
  EXPECT_EQ(table_index(__HYPERVISOR_VIRT_START, 4), kHvFirstL4Slot);
  EXPECT_EQ(table_index(__HYPERVISOR_VIRT_END - 1, 4), kHvLastL4Slot);
  EXPECT_EQ(kHvRangeFirst, static_cast<std::uint64_t>(__HYPERVISOR_VIRT_START));
  EXPECT_EQ(kHvRangeLast, static_cast<std::uint64_t>(__HYPERVISOR_VIRT_END) - 1);
  EXPECT_GE(kHvDirectMapBase, static_cast<std::uint64_t>(__HYPERVISOR_VIRT_START));
  EXPECT_LT(kHvDirectMapBase, static_cast<std::uint64_t>(__HYPERVISOR_VIRT_END));
}

}  // namespace
}  // namespace pvkit::x86
