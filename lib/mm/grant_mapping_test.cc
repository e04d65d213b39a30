// Grant-mapping hooks: frame references, grant PTEs, transfer (invariants 7, 12, 13, 14, 22).
#include "pvkit/mm/grant_mapping.h"

#include <gtest/gtest.h>

#include "pvkit/mm/domain_teardown.h"
#include "pvkit/platforms/host/machine/mm_fixture.h"
#include "pvkit/platforms/host/machine/mm_invariants.h"

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
    machine.frame_entries(mb.table(kSlot, 1))[pt_index(kSlot, 1)] = 0;  // empty slot, L1 exists
    EXPECT_TRUE(mb.pin_and_load(VcpuId{0}));
  }
  const FrameInfo& info(Mfn m) { return *machine.frame_db().info(m); }
  MachAddr slot() { return builder(mapper).pte_maddr(kSlot); }
  std::uint64_t slot_value() { return machine.frame_entries(to_mfn(slot()))[pt_index(kSlot, 1)]; }
};

TEST(GrantMapping, GetInstallRemovePutByVa) {
  GrantWorld w;
  const std::uint32_t refs = w.info(w.gframe).refcount;
  const std::uint32_t types = w.info(w.gframe).type_count;
  ASSERT_TRUE(grant_get_frame(w.mm, w.gframe, w.granter, true));
  EXPECT_EQ(w.info(w.gframe).refcount, refs + 1);
  EXPECT_EQ(w.info(w.gframe).type_count, types + 1);
  auto pte = grant_install_va(w.mm, w.mapper, VcpuId{0}, kSlot, w.gframe, GrantPteFlags{});
  ASSERT_TRUE(pte.ok()) << static_cast<int>(pte.status().error());
  EXPECT_EQ(X86Pte::frame(*pte), w.gframe);
  EXPECT_TRUE(X86Pte::Rw::test(*pte));
  EXPECT_EQ(w.slot_value(), *pte);
  EXPECT_TRUE(is_grant_pte(w.mm, w.slot()));
  EXPECT_EQ(w.info(w.gframe).refcount, refs + 1);  // the PTE itself takes nothing
  // Remove with the wrong expectation: refused, nothing changes (invariant 22).
  EXPECT_EQ(grant_remove_va(w.mm, w.mapper, VcpuId{0}, kSlot, Mfn{w.gframe.value() + 1}, false).status().error(),
            Errno::Inval);
  EXPECT_EQ(grant_remove_va(w.mm, w.mapper, VcpuId{0}, kSlot, w.gframe, true).status().error(), Errno::Inval);
  EXPECT_EQ(w.slot_value(), *pte);
  auto old = grant_remove_va(w.mm, w.mapper, VcpuId{0}, kSlot, w.gframe, false);
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(*old, *pte);
  EXPECT_EQ(w.slot_value(), 0u);
  EXPECT_FALSE(is_grant_pte(w.mm, w.slot()));
  EXPECT_EQ(grant_remove_va(w.mm, w.mapper, VcpuId{0}, kSlot, w.gframe, false).status().error(), Errno::Inval);
  const std::uint64_t flushes = w.machine.guest_flushes();
  grant_flush_tlb(w.mm, w.mapper);
  EXPECT_GT(w.machine.guest_flushes(), flushes);
  grant_put_frame(w.mm, w.gframe, true);
  EXPECT_EQ(w.info(w.gframe).refcount, refs);
  EXPECT_EQ(w.info(w.gframe).type_count, types);
}

TEST(GrantMapping, ReadonlyByPte) {
  GrantWorld w;
  const std::uint32_t types = w.info(w.gframe).type_count;
  ASSERT_TRUE(grant_get_frame(w.mm, w.gframe, w.granter, false));
  EXPECT_EQ(w.info(w.gframe).type_count, types);
  auto pte = grant_install_pte(w.mm, w.mapper, w.slot(), w.gframe,
                               GrantPteFlags{.readonly = true, .user = true, .pcd = true});
  ASSERT_TRUE(pte.ok());
  EXPECT_FALSE(X86Pte::Rw::test(*pte));
  EXPECT_TRUE(X86Pte::User::test(*pte));
  EXPECT_TRUE(X86Pte::Pcd::test(*pte));
  EXPECT_FALSE(X86Pte::Pwt::test(*pte));
  ASSERT_TRUE(grant_remove_pte(w.mm, w.mapper, w.slot(), w.gframe, true).ok());
  grant_put_frame(w.mm, w.gframe, false);
}

TEST(GrantMapping, InstallRequiresCallerReferences) {
  GrantWorld w;
  // No grant_get_frame: the frame only has its allocation and the granter's own mapping refs
  // (refcount 2), but no Writable reference for a writable PTE -> refused.
  Mfn bare = w.builder(w.granter).alloc();
  EXPECT_EQ(grant_install_pte(w.mm, w.mapper, w.slot(), bare, {}).status().error(), Errno::Inval);
  EXPECT_EQ(grant_install_pte(w.mm, w.mapper, w.slot(), bare, {.readonly = true}).status().error(), Errno::Inval);
  EXPECT_EQ(w.slot_value(), 0u);
}

TEST(GrantMapping, GetFrameErrors) {
  GrantWorld w;
  Domain& other = w.domain(3);
  Mfn theirs = w.builder(other).alloc();
  EXPECT_EQ(grant_get_frame(w.mm, theirs, w.granter, false).error(), Errno::Inval);
  EXPECT_EQ(grant_get_frame(w.mm, Mfn{0}, w.granter, false).error(), Errno::Inval);  // hypervisor frame
  EXPECT_EQ(grant_get_frame(w.mm, Mfn{1u << 30}, w.granter, false).error(), Errno::Inval);
}

TEST(GrantAdversarial, Inv13_ContainsPteMustBeAligned_XSA227) {
  GrantWorld w;
  ASSERT_TRUE(grant_get_frame(w.mm, w.gframe, w.granter, true));
  for (std::uint64_t off = 1; off < 8; ++off) {
    EXPECT_EQ(grant_install_pte(w.mm, w.mapper, MachAddr{w.slot().value() + off}, w.gframe, {}).status().error(),
              Errno::Inval);
  }
  ASSERT_TRUE(grant_install_pte(w.mm, w.mapper, w.slot(), w.gframe, {}).ok());
  EXPECT_EQ(grant_remove_pte(w.mm, w.mapper, MachAddr{w.slot().value() + 4}, w.gframe, false).status().error(),
            Errno::Inval);
  EXPECT_TRUE(is_grant_pte(w.mm, w.slot()));
}

TEST(GrantAdversarial, Inv13_ContainsPteMustBeMappersL1_XSA227) {
  GrantWorld w;
  ASSERT_TRUE(grant_get_frame(w.mm, w.gframe, w.granter, false));
  // The granter's own L1, a data frame and the mapper's L2 are all refused.
  EXPECT_EQ(grant_install_pte(w.mm, w.mapper, w.builder(w.granter).pte_maddr(kData), w.gframe, {.readonly = true})
                .status().error(), Errno::Inval);
  EXPECT_EQ(grant_install_pte(w.mm, w.mapper, to_maddr(w.gframe), w.gframe, {.readonly = true}).status().error(),
            Errno::Inval);
  EXPECT_EQ(grant_install_pte(w.mm, w.mapper, w.builder(w.mapper).pte_maddr(kSlot, 2), w.gframe, {.readonly = true})
                .status().error(), Errno::Inval);
  // A va that is not mapped down to an L1, and a hypervisor va.
  EXPECT_EQ(grant_install_va(w.mm, w.mapper, VcpuId{0}, VirtAddr{0x7f0000000000}, w.gframe, {.readonly = true})
                .status().error(), Errno::Inval);
  EXPECT_EQ(grant_install_va(w.mm, w.mapper, VcpuId{0}, VirtAddr{xen::kHypervisorVirtStart}, w.gframe,
                             {.readonly = true}).status().error(), Errno::Inval);
}

TEST(GrantAdversarial, Inv13_GrantPteNeverSilentlyOverwritten_XSA227) {
  GrantWorld w;
  auto& mb = w.builder(w.mapper);
  ASSERT_TRUE(grant_get_frame(w.mm, w.gframe, w.granter, true));
  ASSERT_TRUE(grant_install_pte(w.mm, w.mapper, w.slot(), w.gframe, {}).ok());
  const std::uint64_t before = w.slot_value();
  // A second install over it, mmu_update-style rewrites and clears are all refused.
  EXPECT_EQ(grant_install_pte(w.mm, w.mapper, w.slot(), w.gframe, {}).status().error(), Errno::Inval);
  Mfn own = mb.alloc();
  MachAddr slot = w.slot();
  EXPECT_EQ(w.run([&] { return w.mm.mod_entry(w.mapper, w.mapper, slot, make_pte(own, false), false); }).error(),
            Errno::Inval);
  EXPECT_EQ(w.run([&] { return w.mm.mod_entry(w.mapper, w.mapper, slot, 0, false); }).error(), Errno::Inval);
  EXPECT_EQ(w.run([&] { return w.mm.mod_entry(w.mapper, w.mapper, slot, before & ~1ull, true); }).error(),
            Errno::Inval);
  EXPECT_EQ(w.run([&] { return w.mm.update_va(w.mapper, VcpuId{0}, kSlot, 0); }).error(), Errno::Inval);
  EXPECT_EQ(w.slot_value(), before);
  EXPECT_TRUE(is_grant_pte(w.mm, slot));
}

TEST(GrantAdversarial, Inv07_WritableGrantOfPageTableRefused_XSA148) {
  GrantWorld w;
  Mfn l1 = w.builder(w.granter).table(kData, 1);
  const std::uint32_t refs = w.info(l1).refcount;
  EXPECT_EQ(grant_get_frame(w.mm, l1, w.granter, true).error(), Errno::Busy);
  EXPECT_EQ(w.info(l1).refcount, refs);  // nothing leaked
  ASSERT_TRUE(grant_get_frame(w.mm, l1, w.granter, false));
  ASSERT_TRUE(grant_install_pte(w.mm, w.mapper, w.slot(), l1, {.readonly = true}).ok());
  // ...and a writable PTE for it is refused even with a read-only reference held.
  ASSERT_TRUE(grant_remove_pte(w.mm, w.mapper, w.slot(), l1, true).ok());
  EXPECT_EQ(grant_install_pte(w.mm, w.mapper, w.slot(), l1, {}).status().error(), Errno::Inval);
  grant_put_frame(w.mm, l1, false);
}

TEST(GrantAdversarial, Inv22_ImplicitUnmapKeepsGrantReferences_XSA234) {
  GrantWorld w;
  auto& mb = w.builder(w.mapper);
  MachAddr slot = w.slot();
  const std::uint32_t refs = w.info(w.gframe).refcount;
  ASSERT_TRUE(grant_get_frame(w.mm, w.gframe, w.granter, true));
  ASSERT_TRUE(grant_install_pte(w.mm, w.mapper, slot, w.gframe, {}).ok());
  // The mapper drops its whole tree: the L1 goes; the PTE stops being a grant PTE, and the
  // grant table's references stay until its own unmap.
  {
    LockGuard g(w.mm.lock());
    w.mm.drop_roots(w.mapper);
  }
  ASSERT_TRUE(w.run([&] { return w.mm.unpin(w.mapper, mb.root()); }));
  w.settle();
  EXPECT_EQ(w.mm.implicit_grant_unmaps(), 1u);
  EXPECT_FALSE(is_grant_pte(w.mm, slot));
  EXPECT_EQ(w.info(w.gframe).refcount, refs + 1);
  EXPECT_EQ(grant_remove_pte(w.mm, w.mapper, slot, w.gframe, false).status().error(), Errno::Inval);
  grant_release_pte(w.mm, w.mapper, slot, w.gframe, false);  // never fails, changes nothing
  grant_put_frame(w.mm, w.gframe, true);
  EXPECT_EQ(w.info(w.gframe).refcount, refs);
}

TEST(GrantAdversarial, Inv14_TransferOnlyUnusedFramesAndWipesType_XSA214) {
  GrantWorld w;
  // A mapped frame cannot be stolen.
  EXPECT_EQ(grant_steal_frame(w.mm, w.granter, w.gframe).error(), Errno::Busy);
  Mfn spare = w.builder(w.granter).alloc();
  EXPECT_EQ(grant_steal_frame(w.mm, w.mapper, spare).error(), Errno::Inval);  // not the mapper's
  const std::uint64_t gpages = w.granter.tot_pages;
  ASSERT_TRUE(grant_steal_frame(w.mm, w.granter, spare));
  EXPECT_EQ(w.granter.tot_pages, gpages - 1);
  EXPECT_EQ(w.info(spare).owner, nullptr);
  EXPECT_EQ(w.info(spare).refcount, 0u);
  // In transit: nobody else can be given it.
  EXPECT_EQ(w.machine.frame_db().assign(spare, w.granter).error(), Errno::Busy);
  ASSERT_TRUE(grant_assign_frame(w.mm, w.mapper, spare));
  EXPECT_EQ(w.info(spare).owner, &w.mapper);
  EXPECT_EQ(w.info(spare).type, PageType::None);
  EXPECT_EQ(grant_assign_frame(w.mm, w.mapper, spare).error(), Errno::Inval);  // once only
}

TEST(GrantMapping, SharedHypervisorFrames) {
  GrantWorld w;
  const Mfn table{1}, status{2};  // hypervisor frames of the machine
  auto& mb = w.builder(w.mapper);
  ASSERT_TRUE(grant_share_xen_frame(w.mm, w.mapper, table, false));
  ASSERT_TRUE(grant_share_xen_frame(w.mm, w.mapper, status, true));
  EXPECT_EQ(grant_share_xen_frame(w.mm, w.granter, table, false).error(), Errno::Busy);
  EXPECT_EQ(grant_share_xen_frame(w.mm, w.mapper, w.gframe, false).error(), Errno::Inval);  // not a hypervisor frame
  const std::uint64_t pages = w.mapper.tot_pages;
  // The mapper may map the table frame writable, the status frame only read-only; neither can
  // become a page table; the granter (not shared with) cannot map them at all.
  EXPECT_TRUE(w.run([&] { return w.mm.mod_entry(w.mapper, w.mapper, w.slot(), make_pte(table, true), false); }));
  EXPECT_EQ(w.run([&] { return w.mm.update_va(w.mapper, VcpuId{0}, kSlot, make_pte(status, true)); }).error(),
            Errno::Busy);
  EXPECT_EQ(w.run([&] { return w.mm.pin(w.mapper, status, PageType::L1); }).error(), Errno::Inval);
  EXPECT_EQ(w.run([&] { return w.mm.update_va(w.granter, VcpuId{0}, kData, make_pte(table, false)); }).error(),
            Errno::Busy);
  EXPECT_EQ(w.mapper.tot_pages, pages);
  EXPECT_EQ(host::check_mm_invariants(w.machine, w.mm, w.domains), "");
  // Unsharing waits until the mapping is gone (invariant 23).
  EXPECT_EQ(grant_unshare_xen_frame(w.mm, w.mapper, table).error(), Errno::Busy);
  ASSERT_TRUE(w.run([&] { return w.mm.update_va(w.mapper, VcpuId{0}, kSlot, make_pte(status, false)); }));
  ASSERT_TRUE(grant_unshare_xen_frame(w.mm, w.mapper, table));
  EXPECT_EQ(w.info(table).owner, nullptr);
  EXPECT_EQ(grant_unshare_xen_frame(w.mm, w.mapper, table).error(), Errno::Inval);
  // Teardown of the mapper ends the remaining sharing.
  ASSERT_TRUE(w.domains.begin_destroy(w.mapper.id));
  Status s;
  while ((s = domain_teardown_step(w.mm, w.mapper)).is_restart()) {
  }
  EXPECT_TRUE(s);
  EXPECT_EQ(w.info(status).owner, nullptr);
  EXPECT_EQ(w.info(status).refcount, 0u);
  EXPECT_TRUE(w.info(status).xen);
  (void)mb;
}

}  // namespace
}  // namespace pvkit
