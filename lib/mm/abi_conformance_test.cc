// pvkit's own mm ABI definitions against Xen's public headers (sizes, offsets, constants).
#include <gtest/gtest.h>

#include <cstddef>

extern "C" {
#include <xen/xen.h>
}

#include "pvkit/base/types.h"
#include "pvkit/mm/xen_abi.h"

namespace pvkit {
namespace {

TEST(MmAbi, HypercallNumbers) {
  EXPECT_EQ(xen::kHypercallMmuUpdate, static_cast<std::uint32_t>(__HYPERVISOR_mmu_update));
  EXPECT_EQ(xen::kHypercallUpdateVaMapping, static_cast<std::uint32_t>(__HYPERVISOR_update_va_mapping));
  EXPECT_EQ(xen::kHypercallMmuextOp, static_cast<std::uint32_t>(__HYPERVISOR_mmuext_op));
}

TEST(MmAbi, MmuUpdateLayout) {
  EXPECT_EQ(sizeof(xen::MmuUpdate), sizeof(mmu_update_t));
  EXPECT_EQ(offsetof(xen::MmuUpdate, ptr), offsetof(mmu_update_t, ptr));
  EXPECT_EQ(offsetof(xen::MmuUpdate, val), offsetof(mmu_update_t, val));
  EXPECT_EQ(xen::kMmuNormalPtUpdate, static_cast<std::uint32_t>(MMU_NORMAL_PT_UPDATE));
  EXPECT_EQ(xen::kMmuMachphysUpdate, static_cast<std::uint32_t>(MMU_MACHPHYS_UPDATE));
  EXPECT_EQ(xen::kMmuPtUpdatePreserveAd, static_cast<std::uint32_t>(MMU_PT_UPDATE_PRESERVE_AD));
  EXPECT_EQ(xen::kMmuPtUpdateNoTranslate, static_cast<std::uint32_t>(MMU_PT_UPDATE_NO_TRANSLATE));
  // MMU_UPDATE_PREEMPTED lives in Xen's private headers: the top bit of a 32-bit count.
  EXPECT_EQ(xen::kMmuUpdatePreempted, 0x80000000u);
}

TEST(MmAbi, MmuextOpLayout) {
  EXPECT_EQ(sizeof(xen::MmuextOp), sizeof(mmuext_op_t));
  EXPECT_EQ(offsetof(xen::MmuextOp, cmd), offsetof(mmuext_op_t, cmd));
  EXPECT_EQ(offsetof(xen::MmuextOp, arg1), offsetof(mmuext_op_t, arg1));
  EXPECT_EQ(offsetof(xen::MmuextOp, arg2), offsetof(mmuext_op_t, arg2));
  EXPECT_EQ(offsetof(mmuext_op_t, arg1.mfn), offsetof(mmuext_op_t, arg1.linear_addr));
  EXPECT_EQ(sizeof(mmuext_op_t::arg1), sizeof(xen::MmuextOp::arg1));
  EXPECT_EQ(sizeof(mmuext_op_t::arg2), sizeof(xen::MmuextOp::arg2));
}

TEST(MmAbi, MmuextCommands) {
  EXPECT_EQ(xen::kMmuextPinL1Table, static_cast<std::uint32_t>(MMUEXT_PIN_L1_TABLE));
  EXPECT_EQ(xen::kMmuextPinL2Table, static_cast<std::uint32_t>(MMUEXT_PIN_L2_TABLE));
  EXPECT_EQ(xen::kMmuextPinL3Table, static_cast<std::uint32_t>(MMUEXT_PIN_L3_TABLE));
  EXPECT_EQ(xen::kMmuextPinL4Table, static_cast<std::uint32_t>(MMUEXT_PIN_L4_TABLE));
  EXPECT_EQ(xen::kMmuextUnpinTable, static_cast<std::uint32_t>(MMUEXT_UNPIN_TABLE));
  EXPECT_EQ(xen::kMmuextNewBaseptr, static_cast<std::uint32_t>(MMUEXT_NEW_BASEPTR));
  EXPECT_EQ(xen::kMmuextTlbFlushLocal, static_cast<std::uint32_t>(MMUEXT_TLB_FLUSH_LOCAL));
  EXPECT_EQ(xen::kMmuextInvlpgLocal, static_cast<std::uint32_t>(MMUEXT_INVLPG_LOCAL));
  EXPECT_EQ(xen::kMmuextTlbFlushMulti, static_cast<std::uint32_t>(MMUEXT_TLB_FLUSH_MULTI));
  EXPECT_EQ(xen::kMmuextInvlpgMulti, static_cast<std::uint32_t>(MMUEXT_INVLPG_MULTI));
  EXPECT_EQ(xen::kMmuextTlbFlushAll, static_cast<std::uint32_t>(MMUEXT_TLB_FLUSH_ALL));
  EXPECT_EQ(xen::kMmuextInvlpgAll, static_cast<std::uint32_t>(MMUEXT_INVLPG_ALL));
  EXPECT_EQ(xen::kMmuextFlushCache, static_cast<std::uint32_t>(MMUEXT_FLUSH_CACHE));
  EXPECT_EQ(xen::kMmuextSetLdt, static_cast<std::uint32_t>(MMUEXT_SET_LDT));
  EXPECT_EQ(xen::kMmuextNewUserBaseptr, static_cast<std::uint32_t>(MMUEXT_NEW_USER_BASEPTR));
  EXPECT_EQ(xen::kMmuextClearPage, static_cast<std::uint32_t>(MMUEXT_CLEAR_PAGE));
  EXPECT_EQ(xen::kMmuextCopyPage, static_cast<std::uint32_t>(MMUEXT_COPY_PAGE));
  EXPECT_EQ(xen::kMmuextFlushCacheGlobal, static_cast<std::uint32_t>(MMUEXT_FLUSH_CACHE_GLOBAL));
  EXPECT_EQ(xen::kMmuextMarkSuper, static_cast<std::uint32_t>(MMUEXT_MARK_SUPER));
  EXPECT_EQ(xen::kMmuextUnmarkSuper, static_cast<std::uint32_t>(MMUEXT_UNMARK_SUPER));
}

TEST(MmAbi, UvmfFlags) {
  EXPECT_EQ(xen::kUvmfNone, static_cast<std::uint64_t>(UVMF_NONE));
  EXPECT_EQ(xen::kUvmfTlbFlush, static_cast<std::uint64_t>(UVMF_TLB_FLUSH));
  EXPECT_EQ(xen::kUvmfInvlpg, static_cast<std::uint64_t>(UVMF_INVLPG));
  EXPECT_EQ(xen::kUvmfFlushTypeMask, static_cast<std::uint64_t>(UVMF_FLUSHTYPE_MASK));
  EXPECT_EQ(xen::kUvmfMulti, static_cast<std::uint64_t>(UVMF_MULTI));
  EXPECT_EQ(xen::kUvmfLocal, static_cast<std::uint64_t>(UVMF_LOCAL));
  EXPECT_EQ(xen::kUvmfAll, static_cast<std::uint64_t>(UVMF_ALL));
}

TEST(MmAbi, DomainIdsAndHypervisorArea) {
  EXPECT_EQ(kDomidSelf.value(), DOMID_SELF);
  EXPECT_EQ(kDomidIo.value(), DOMID_IO);
  EXPECT_EQ(kDomidXen.value(), DOMID_XEN);
  EXPECT_EQ(xen::kHypervisorVirtStart, static_cast<std::uint64_t>(HYPERVISOR_VIRT_START));
  // Slots 256..271 cover [HYPERVISOR_VIRT_START, HYPERVISOR_VIRT_END).
  EXPECT_EQ(xen::kFirstXenL4Slot, (xen::kHypervisorVirtStart >> 39) & 511);
  EXPECT_EQ(xen::kLastXenL4Slot + 1, (xen::kHypervisorVirtEnd >> 39) & 511);
#ifdef HYPERVISOR_VIRT_END
  EXPECT_EQ(xen::kHypervisorVirtEnd, static_cast<std::uint64_t>(HYPERVISOR_VIRT_END));
#endif
}

}  // namespace
}  // namespace pvkit
