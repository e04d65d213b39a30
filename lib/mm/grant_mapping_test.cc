// Grant-mapping hooks: install/remove host mappings of granted frames (invariants 7, 13, 22).
#include "pvkit/mm/grant_mapping.h"

#include <gtest/gtest.h>

#include "pvkit/platforms/host/machine/mm_fixture.h"

namespace pvkit {
namespace {

using host::make_pte;
using host::MmWorld;

constexpr VirtAddr kData{0x400000};
constexpr VirtAddr kSlot{0x401000};

struct GrantWorld : MmWorld {
  Domain& granter = domain(1);
  Domain& mapper = domain(2);
  Mfn gframe{};
  GrantWorld() {
    auto& gb = builder(granter);
    gframe = gb.alloc();
    gb.map(kData, gframe, true);
    EXPECT_TRUE(gb.pin_and_load(VcpuId{0}));
    auto& mb = builder(mapper);
    mb.map(kData, mb.alloc(), true);
    mb.map(kSlot, mb.alloc(), false);
    // Remove the leaf at kSlot so the slot is empty but its L1 exists.
    machine.frame_entries(mb.table(kSlot, 1))[pt_index(kSlot, 1)] = 0;
    EXPECT_TRUE(mb.pin_and_load(VcpuId{0}));
  }
};

TEST(GrantMapping, MapAndUnmapByVa) {
  GrantWorld w;
  const std::uint32_t refs = w.machine.frame_db().info(w.gframe)->refcount;
  auto pte = grant_map_va(w.mm, w.mapper, VcpuId{0}, kSlot, w.gframe, w.granter, GrantPteFlags{});
  ASSERT_TRUE(pte.ok()) << static_cast<int>(pte.status().error());
  EXPECT_EQ(X86Pte::frame(*pte), w.gframe);
  EXPECT_TRUE(X86Pte::Rw::test(*pte));
  const FrameInfo& f = *w.machine.frame_db().info(w.gframe);
  EXPECT_EQ(f.refcount, refs + 1);
  EXPECT_EQ(f.type, PageType::Writable);
  MachAddr slot = w.builder(w.mapper).pte_maddr(kSlot);
  EXPECT_TRUE(is_grant_pte(w.mm, slot));
  // Unmap with the wrong expectation: refused, nothing changes (invariant 22).
  EXPECT_EQ(grant_unmap_va(w.mm, w.mapper, VcpuId{0}, kSlot, Mfn{w.gframe.value() + 1}, false).status().error(),
            Errno::Inval);
  EXPECT_EQ(grant_unmap_va(w.mm, w.mapper, VcpuId{0}, kSlot, w.gframe, true).status().error(), Errno::Inval);
  EXPECT_EQ(f.refcount, refs + 1);
  const std::uint64_t flushes = w.machine.guest_flushes();
  auto old = grant_unmap_va(w.mm, w.mapper, VcpuId{0}, kSlot, w.gframe, false);
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(*old, *pte);
  EXPECT_EQ(f.refcount, refs);
  EXPECT_FALSE(is_grant_pte(w.mm, slot));
  EXPECT_GT(w.machine.guest_flushes(), flushes);  // mapper TLB flushed after the unmap
  // Unmapping twice is refused.
  EXPECT_EQ(grant_unmap_va(w.mm, w.mapper, VcpuId{0}, kSlot, w.gframe, false).status().error(), Errno::Inval);
}

TEST(GrantMapping, ReadonlyMapTakesNoWritableType) {
  GrantWorld w;
  MachAddr slot = w.builder(w.mapper).pte_maddr(kSlot);
  const std::uint32_t tc = w.machine.frame_db().info(w.gframe)->type_count;
  auto pte = grant_map_pte(w.mm, w.mapper, slot, w.gframe, w.granter, GrantPteFlags{.readonly = true});
  ASSERT_TRUE(pte.ok());
  EXPECT_FALSE(X86Pte::Rw::test(*pte));
  EXPECT_EQ(w.machine.frame_db().info(w.gframe)->type_count, tc);
  ASSERT_TRUE(grant_unmap_pte(w.mm, w.mapper, slot, w.gframe, true).ok());
}

TEST(GrantAdversarial, Inv13_ContainsPteMustBeAligned_XSA227) {
  GrantWorld w;
  MachAddr slot = w.builder(w.mapper).pte_maddr(kSlot);
  for (std::uint64_t off = 1; off < 8; ++off) {
    EXPECT_EQ(grant_map_pte(w.mm, w.mapper, MachAddr{slot.value() + off}, w.gframe, w.granter, GrantPteFlags{})
                  .status()
                  .error(),
              Errno::Inval);
  }
  ASSERT_TRUE(grant_map_pte(w.mm, w.mapper, slot, w.gframe, w.granter, GrantPteFlags{}).ok());
  EXPECT_EQ(grant_unmap_pte(w.mm, w.mapper, MachAddr{slot.value() + 4}, w.gframe, false).status().error(),
            Errno::Inval);
}

TEST(GrantAdversarial, Inv13_ContainsPteMustBeMappersL1_XSA227) {
  GrantWorld w;
  // The granter's own L1, a data frame and the mapper's L2 are all refused.
  EXPECT_EQ(grant_map_pte(w.mm, w.mapper, w.builder(w.granter).pte_maddr(kData), w.gframe, w.granter, {})
                .status().error(), Errno::Inval);
  EXPECT_EQ(grant_map_pte(w.mm, w.mapper, to_maddr(w.gframe), w.gframe, w.granter, {}).status().error(),
            Errno::Inval);
  EXPECT_EQ(grant_map_pte(w.mm, w.mapper, w.builder(w.mapper).pte_maddr(kSlot, 2), w.gframe, w.granter, {})
                .status().error(), Errno::Inval);
}

TEST(GrantAdversarial, Inv13_GrantPteNeverSilentlyOverwritten_XSA227) {
  GrantWorld w;
  auto& mb = w.builder(w.mapper);
  MachAddr slot = mb.pte_maddr(kSlot);
  ASSERT_TRUE(grant_map_pte(w.mm, w.mapper, slot, w.gframe, w.granter, {}).ok());
  const std::uint64_t before = w.machine.frame_entries(to_mfn(slot))[pt_index(kSlot, 1)];
  // A second grant map over it, mmu_update-style rewrites and clears are all refused.
  EXPECT_EQ(grant_map_pte(w.mm, w.mapper, slot, w.gframe, w.granter, {}).status().error(), Errno::Inval);
  Mfn own = mb.alloc();
  EXPECT_EQ(w.run([&] { return w.mm.mod_entry(w.mapper, w.mapper, slot, make_pte(own, false), false); }).error(),
            Errno::Inval);
  EXPECT_EQ(w.run([&] { return w.mm.mod_entry(w.mapper, w.mapper, slot, 0, false); }).error(), Errno::Inval);
  EXPECT_EQ(w.run([&] { return w.mm.update_va(w.mapper, VcpuId{0}, kSlot, 0); }).error(), Errno::Inval);
  EXPECT_EQ(w.machine.frame_entries(to_mfn(slot))[pt_index(kSlot, 1)], before);
  EXPECT_TRUE(is_grant_pte(w.mm, slot));
}

TEST(GrantAdversarial, Inv07_WritableGrantOfPageTableRefused_XSA148) {
  GrantWorld w;
  // The granter's own L1 table cannot be mapped writable through a grant; read-only works.
  Mfn l1 = w.builder(w.granter).table(kData, 1);
  MachAddr slot = w.builder(w.mapper).pte_maddr(kSlot);
  EXPECT_EQ(grant_map_pte(w.mm, w.mapper, slot, l1, w.granter, {}).status().error(), Errno::Busy);
  EXPECT_EQ(w.machine.frame_entries(to_mfn(slot))[pt_index(kSlot, 1)], 0u);
  ASSERT_TRUE(grant_map_pte(w.mm, w.mapper, slot, l1, w.granter, {.readonly = true}).ok());
}

TEST(GrantAdversarial, Inv12_GrantFrameMustBelongToGranter_XSA248) {
  GrantWorld w;
  MachAddr slot = w.builder(w.mapper).pte_maddr(kSlot);
  Domain& other = w.domain(3);
  Mfn theirs = w.builder(other).alloc();
  EXPECT_EQ(grant_map_pte(w.mm, w.mapper, slot, theirs, w.granter, {}).status().error(), Errno::Busy);
  EXPECT_EQ(grant_map_pte(w.mm, w.mapper, slot, Mfn{0}, w.granter, {}).status().error(), Errno::Busy);  // xen
  EXPECT_EQ(grant_map_pte(w.mm, w.mapper, slot, Mfn{100000}, w.granter, {}).status().error(), Errno::Perm);
}

TEST(GrantAdversarial, Inv22_ImplicitUnmapByTableTeardownDropsRefsOnce_XSA234) {
  GrantWorld w;
  auto& mb = w.builder(w.mapper);
  MachAddr slot = mb.pte_maddr(kSlot);
  const std::uint32_t refs = w.machine.frame_db().info(w.gframe)->refcount;
  ASSERT_TRUE(grant_map_pte(w.mm, w.mapper, slot, w.gframe, w.granter, {}).ok());
  // The mapper drops its whole tree: the L1 goes, and with it the grant PTE's references.
  ASSERT_TRUE(w.run([&] { return w.mm.new_baseptr(w.mapper, VcpuId{0}, mb.root()); }));
  {
    LockGuard g(w.mm.lock());
    w.mm.drop_roots(w.mapper);
  }
  ASSERT_TRUE(w.run([&] { return w.mm.unpin(w.mapper, mb.root()); }));
  w.settle();
  EXPECT_EQ(w.mm.implicit_grant_unmaps(), 1u);
  EXPECT_EQ(w.machine.frame_db().info(w.gframe)->refcount, refs);
  EXPECT_FALSE(is_grant_pte(w.mm, slot));
  // The grant table's later unmap is refused and drops nothing a second time.
  EXPECT_EQ(grant_unmap_pte(w.mm, w.mapper, slot, w.gframe, false).status().error(), Errno::Inval);
  EXPECT_EQ(w.machine.frame_db().info(w.gframe)->refcount, refs);
}

}  // namespace
}  // namespace pvkit
