// The adversarial suite: each test attacks one invariant of xen-pv.md section 7 the way the
// named XSA did, and checks the exact error code and that nothing else changed.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "pvkit/mm/domain_teardown.h"
#include "pvkit/mm/hypercall_mmu_update.h"
#include "pvkit/mm/hypercall_mmuext_op.h"
#include "pvkit/mm/hypercall_update_va_mapping.h"
#include "pvkit/platforms/host/machine/mm_fixture.h"
#include "pvkit/platforms/host/machine/mm_invariants.h"

namespace pvkit {
namespace {

using host::invoke;
using host::make_pte;
using host::MmCtx;
using host::MmWorld;

constexpr VirtAddr kVa{0x400000};
constexpr std::uint64_t kReqs = 0x10000;
constexpr std::uint64_t kDone = 0x20000;
constexpr std::int64_t kEinval = -22, kEbusy = -16, kEfault = -14;

struct World : MmWorld {
  Domain& d = domain(1);
  Domain& other = domain(2);
  host::FlatGuestMemory mem;
  MmCtx ctx{mem, *this, DomId{1}};
  Mfn data{};
  explicit World(std::uint32_t budget = 4096) : MmWorld(192, 4, budget) {
    mem.map(VirtAddr{kReqs}, 0x1000);
    mem.map(VirtAddr{0x20000}, 0x1000);
    auto& b = builder(d);
    data = b.alloc();
    b.map(kVa, data, true);
    b.map(VirtAddr{kVa.value() + 0x1000}, b.alloc(), false);
    machine.frame_entries(b.table(kVa, 1))[1] = 0;  // an empty slot in the live L1
    EXPECT_TRUE(b.pin_and_load(VcpuId{0}));
  }
  host::GuestBuilder<Verifier>& b() { return builder(d); }
  FrameInfo& info(Mfn m) { return *machine.frame_db().info(m); }
  MachAddr slot() { return b().pte_maddr(VirtAddr{kVa.value() + 0x1000}); }
  Status mod(MachAddr ptr, std::uint64_t val) { return run([&] { return mm.mod_entry(d, d, ptr, val, false); }); }
  std::int64_t mmu_update(std::vector<xen::MmuUpdate> v, std::uint32_t fd = kDomidSelf.value()) {
    std::memcpy(mem.host_ptr(VirtAddr{kReqs}), v.data(), v.size() * sizeof(v[0]));
    return invoke<MmuUpdateOp>(ctx, HypercallArgs{0, {kReqs, v.size(), kDone, fd, 0}});
  }
  std::int64_t mmuext(std::vector<xen::MmuextOp> v) {
    std::memcpy(mem.host_ptr(VirtAddr{kReqs}), v.data(), v.size() * sizeof(v[0]));
    return invoke<MmuextOp>(ctx, HypercallArgs{0, {kReqs, v.size(), kDone, kDomidSelf.value(), 0}});
  }
  std::uint32_t done() { return *mem.host_obj<std::uint32_t>(VirtAddr{kDone}); }
  std::string check() { return host::check_mm_invariants(machine, mm, domains); }
  /// A tree of `l1s` L1 tables (each with a few data pages), not yet validated; returns its L4.
  Mfn big_tree(Domain& dom, int l1s) {
    auto& bb = builder(dom);
    host::GuestBuilder<Verifier> nb(machine, mm, dom);
    (void)bb;
    Mfn l4 = alloc_for(dom), l3 = alloc_for(dom), l2 = alloc_for(dom);
    machine.frame_entries(l4)[1] = make_pte(l3, true);
    machine.frame_entries(l3)[0] = make_pte(l2, true);
    for (int i = 0; i < l1s; ++i) {
      Mfn l1 = alloc_for(dom);
      machine.frame_entries(l2)[i] = make_pte(l1, true);
      for (int k = 0; k < 3; ++k) machine.frame_entries(l1)[k * 100] = make_pte(alloc_for(dom), k == 0);
    }
    return l4;
  }
  Mfn alloc_for(Domain& dom) { return builder(dom).alloc(); }
};

xen::MmuUpdate upd(MachAddr a, std::uint64_t v) { return {a.value(), v}; }

// ---- Invariant 3: continuation progress lives only in arguments (XSA-296) ----------------

TEST(MmuAdversarial, Inv03_ForgedContinuationCannotCrash_XSA296) {
  World w;
  // A guest that sets MMU_UPDATE_PREEMPTED itself, with a wild pdone and a huge count.
  HypercallArgs a{0, {kReqs, xen::kMmuUpdatePreempted | 0x7FFFFFFFu, 0xdead0000, kDomidSelf.value(), 0}};
  std::memset(w.mem.host_ptr(VirtAddr{kReqs}), 0, 0x1000);
  // Requests of all zeroes target machine address 0 (a hypervisor frame): -EINVAL at once.
  EXPECT_EQ(invoke<MmuUpdateOp>(w.ctx, a), kEinval);
  HypercallArgs b{0, {kReqs, xen::kMmuUpdatePreempted | 1u, kDone, kDomidSelf.value(), 0}};
  *w.mem.host_obj<std::uint32_t>(VirtAddr{kDone}) = 0xFFFFFFF0u;  // forged progress
  xen::MmuextOp op{xen::kMmuextTlbFlushLocal, 0, 0, 0};
  std::memcpy(w.mem.host_ptr(VirtAddr{kReqs}), &op, sizeof(op));
  EXPECT_EQ(invoke<MmuextOp>(w.ctx, b), 0);
  EXPECT_EQ(w.done(), 0xFFFFFFF1u);  // only the reported count is affected (wraps harmlessly)
  EXPECT_EQ(w.check(), "");
}

TEST(MmuAdversarial, Inv03_RestartNeverReachesTheGuest_XSA296) {
  World w(5);
  std::vector<xen::MmuUpdate> v;
  for (int i = 0; i < 40; ++i) v.push_back(upd(w.slot(), i % 2 ? 0 : make_pte(w.data, false)));
  int restarts = 0;
  std::memcpy(w.mem.host_ptr(VirtAddr{kReqs}), v.data(), v.size() * sizeof(v[0]));
  EXPECT_EQ(invoke<MmuUpdateOp>(w.ctx, HypercallArgs{0, {kReqs, v.size(), kDone, kDomidSelf.value(), 0}}, &restarts),
            0);
  EXPECT_GT(restarts, 5);
  EXPECT_EQ(w.done(), 40u);
}

// ---- Invariant 4: guest arrays are bounds-checked per element (XSA-29, 212, 382) ---------

TEST(MmuAdversarial, Inv04_ArrayCheckedPerElement_XSA212) {
  World w;
  // Two requests, the second straddling the end of the mapped guest buffer.
  const std::uint64_t base = 0x20000 + 0x1000 - sizeof(xen::MmuUpdate) - 8;
  xen::MmuUpdate r = upd(w.slot(), make_pte(w.data, false));
  std::memcpy(w.mem.host_ptr(VirtAddr{base}), &r, sizeof(r));
  EXPECT_EQ(invoke<MmuUpdateOp>(w.ctx, HypercallArgs{0, {base, 2, kDone, kDomidSelf.value(), 0}}), kEfault);
  EXPECT_EQ(w.done(), 1u);
  // An array whose addresses wrap around the top of the address space.
  EXPECT_EQ(invoke<MmuUpdateOp>(w.ctx, HypercallArgs{0, {~std::uint64_t{0} - 8, 2, kDone, kDomidSelf.value(), 0}}),
            kEfault);
  EXPECT_EQ(invoke<MmuextOp>(w.ctx, HypercallArgs{0, {~std::uint64_t{0} - 8, 2, kDone, kDomidSelf.value(), 0}}),
            kEfault);
  EXPECT_EQ(w.check(), "");
}

// ---- Invariant 6: guest-sized loops are bounded (XSA-45, 252, 264, 344, 380) -------------

TEST(MmuAdversarial, Inv06_EveryInvocationDoesBoundedWork_XSA45) {
  World w(16);
  std::vector<xen::MmuUpdate> v(200, upd(w.slot(), 0));
  std::memcpy(w.mem.host_ptr(VirtAddr{kReqs}), v.data(), v.size() * sizeof(v[0]));
  HypercallArgs a{0, {kReqs, 200, kDone, kDomidSelf.value(), 0}};
  EXPECT_EQ(MmuUpdateOp::call(w.ctx, a), -85);
  EXPECT_LE(w.done(), 16u);
  // Pinning a large tree is preempted too, and teardown of it as well.
  Mfn l4 = w.big_tree(w.d, 6);
  HypercallArgs p{0, {kReqs, 1, kDone, kDomidSelf.value(), 0}};
  xen::MmuextOp op{xen::kMmuextPinL4Table, 0, l4.value(), 0};
  std::memcpy(w.mem.host_ptr(VirtAddr{kReqs}), &op, sizeof(op));
  int restarts = 0;
  EXPECT_EQ(invoke<MmuextOp>(w.ctx, p, &restarts), 0);
  EXPECT_GT(restarts, 50);
  ASSERT_TRUE(w.domains.begin_destroy(w.d.id));
  int steps = 1;
  Status s;
  while ((s = domain_teardown_step(w.mm, w.d)).is_restart()) ++steps;
  EXPECT_TRUE(s);
  EXPECT_GT(steps, 50);
}

TEST(MmuAdversarial, Inv06_SmallestBudgetStillMakesProgress_XSA45) {
  // Resuming a deep partial tree must not spend the budget walking back to the frontier:
  // with a budget of 1, every invocation still completes one entry, so the pin terminates.
  World w(1);
  Mfn l4 = w.big_tree(w.d, 2);
  xen::MmuextOp op{xen::kMmuextPinL4Table, 0, l4.value(), 0};
  std::memcpy(w.mem.host_ptr(VirtAddr{kReqs}), &op, sizeof(op));
  int restarts = 0;
  EXPECT_EQ(invoke<MmuextOp>(w.ctx, HypercallArgs{0, {kReqs, 1, kDone, kDomidSelf.value(), 0}}, &restarts, 20000),
            0);
  EXPECT_GT(restarts, 1000);  // about one entry per invocation
  EXPECT_TRUE(w.info(l4).pinned);
  EXPECT_EQ(w.check(), "");
}

// ---- Invariant 7: writable mapping <=> writable type (XSA-148, 182, 185, 401) ------------

TEST(MmuAdversarial, Inv07_NoWritableMappingOfPageTable_XSA148) {
  World w;
  for (PtLevel l = 1; l <= 4; ++l) {
    Mfn t = w.b().table(kVa, l);
    EXPECT_EQ(w.mmu_update({upd(w.slot(), make_pte(t, true))}), kEbusy) << l;
    EXPECT_EQ(invoke<UpdateVaMappingOp>(w.ctx, HypercallArgs{0, {kVa.value() + 0x1000, make_pte(t, true), 0}}), kEbusy);
    EXPECT_EQ(w.info(t).type, table_type(l));
  }
  EXPECT_EQ(w.machine.frame_entries(to_mfn(w.slot()))[1], 0u);
  EXPECT_EQ(w.check(), "");
}

TEST(MmuAdversarial, Inv07_WritablePageNeverBecomesTable_XSA182) {
  World w;
  // data is mapped writable: it can be neither pinned nor linked in as a table.
  EXPECT_EQ(w.mmuext({{xen::kMmuextPinL1Table, 0, w.data.value(), 0}}), kEinval);
  MachAddr l2e = w.b().pte_maddr(VirtAddr{0x600000}, 2);
  EXPECT_EQ(w.mmu_update({upd(l2e, make_pte(w.data, false))}), kEinval);
  EXPECT_EQ(w.info(w.data).type, PageType::Writable);
  EXPECT_EQ(w.check(), "");
}

TEST(MmuAdversarial, Inv07_TableWithSelfWritableEntryRefused_XSA182) {
  World w;
  // An L1 that maps itself writable is refused at validation, as is an L2 whose L1 maps the L2.
  Mfn t = w.b().alloc();
  w.machine.frame_entries(t)[5] = make_pte(t, true);
  EXPECT_EQ(w.mmuext({{xen::kMmuextPinL1Table, 0, t.value(), 0}}), kEbusy);
  Mfn l2 = w.b().alloc(), l1 = w.b().alloc();
  w.machine.frame_entries(t)[5] = 0;
  w.machine.frame_entries(l2)[0] = make_pte(l1, true);
  w.machine.frame_entries(l1)[0] = make_pte(l2, true);
  EXPECT_EQ(w.mmuext({{xen::kMmuextPinL2Table, 0, l2.value(), 0}}), kEbusy);
  EXPECT_EQ(w.info(l2).type_count, 0u);
  EXPECT_EQ(w.info(l1).type_count, 0u);
  EXPECT_EQ(w.check(), "");
}

// ---- Invariant 8: type change at count 0; flush after publishing (XSA-241, 401, 217) -----

TEST(MmuAdversarial, Inv08_StaleWritableTranslationFlushedBeforeBecomingTable_XSA241) {
  World w;
  Mfn page = w.b().alloc();
  ASSERT_TRUE(w.mod(w.slot(), make_pte(page, true)));
  w.machine.observe_all();  // the guest touched it: its TLB caches a writable translation
  ASSERT_TRUE(w.mod(w.slot(), 0));  // unmapped, and the guest "forgets" to flush
  EXPECT_TRUE(w.machine.any_writable_translation(page));
  bool published_at_flush = false;
  w.machine.on_full_flush = [&] {
    published_at_flush = w.info(page).type == PageType::L1 && w.info(page).type_count == 1;
  };
  const std::uint64_t flushes = w.machine.full_flushes();
  EXPECT_EQ(w.mmuext({{xen::kMmuextPinL1Table, 0, page.value(), 0}}), 0);
  EXPECT_EQ(w.machine.full_flushes(), flushes + 1);
  EXPECT_TRUE(published_at_flush) << "the flush must come after the type change is published";
  EXPECT_FALSE(w.machine.any_writable_translation(page));
  EXPECT_EQ(w.check(), "");
}

TEST(MmuAdversarial, Inv08_NoFlushWithoutTypeChange_XSA241) {
  World w;
  Mfn t = w.b().alloc();
  EXPECT_EQ(w.mmuext({{xen::kMmuextPinL1Table, 0, t.value(), 0}}), 0);
  w.machine.observe_all();
  EXPECT_EQ(w.mmuext({{xen::kMmuextUnpinTable, 0, t.value(), 0}}), 0);
  w.settle();
  const std::uint64_t flushes = w.machine.full_flushes();
  // L1 -> (count 0) -> L1 again: the TLB cannot hold anything invalid for an L1.
  EXPECT_EQ(w.mmuext({{xen::kMmuextPinL1Table, 0, t.value(), 0}}), 0);
  EXPECT_EQ(w.machine.full_flushes(), flushes);
}

TEST(MmuAdversarial, Inv08_OldTableMadeWritableIsFlushedFirst_XSA401) {
  World w;
  // An L1 that was live (its translations may sit in paging-structure caches) is unlinked
  // and immediately mapped writable: a full flush must separate the two uses.
  Mfn l1 = w.b().table(kVa, 1);
  Mfn l1b = w.b().alloc();
  ASSERT_TRUE(w.mod(w.b().pte_maddr(VirtAddr{0x600000}, 2), make_pte(l1b, true)));
  w.machine.observe_all();
  ASSERT_TRUE(w.mod(w.b().pte_maddr(kVa, 2), 0));  // unlink: devalidation is queued
  bool flushed_as_writable = false;
  w.machine.on_full_flush = [&] { flushed_as_writable |= w.info(l1).type == PageType::Writable; };
  ASSERT_TRUE(w.mod(MachAddr{to_maddr(l1b).value()}, make_pte(l1, true)));
  EXPECT_EQ(w.info(l1).type, PageType::Writable);
  EXPECT_TRUE(flushed_as_writable);
  EXPECT_EQ(w.check(), "");
}

TEST(MmuAdversarial, Inv08_TypeChangesOnlyAtCountZero_XSA401) {
  World w;
  Mfn l1 = w.b().table(kVa, 1);
  {
    LockGuard g(w.mm.lock());
    w.mm.begin_call();
    ASSERT_TRUE(w.machine.frame_db().get_page(l1, &w.d));
    EXPECT_EQ(w.mm.get_type(l1, PageType::Writable).error(), Errno::Inval);
    EXPECT_EQ(w.mm.get_type(l1, PageType::L2).error(), Errno::Inval);
    EXPECT_EQ(w.mm.get_type(l1, PageType::SegDesc).error(), Errno::Inval);
    w.machine.frame_db().put_page(l1);
  }
  EXPECT_EQ(w.info(l1).type, PageType::L1);
  EXPECT_EQ(w.check(), "");
}

// ---- Invariant 9: the fast path never changes RW/PSE/PCD/PWT/PAT (XSA-148, 154, 182) -----

TEST(MmuAdversarial, Inv09_FastPathNeverAddsRw_XSA148) {
  World w;
  Mfn l1 = w.b().table(kVa, 1);
  ASSERT_TRUE(w.mod(w.slot(), make_pte(l1, false)));  // a read-only view of the L1 is fine
  const std::uint64_t ro = make_pte(l1, false);
  EXPECT_EQ(w.mod(w.slot(), X86Pte::Rw::set(ro, 1)).error(), Errno::Busy);  // only RW differs
  EXPECT_EQ(w.mod(w.slot(), X86Pte::Dirty::set(X86Pte::Rw::set(ro, 1), 1)).error(), Errno::Busy);
  EXPECT_EQ(w.machine.frame_entries(l1)[1], ro);
  EXPECT_EQ(w.check(), "");
}

TEST(MmuAdversarial, Inv09_FastPathNeverChangesCacheBitsOrPse_XSA154) {
  World w;
  MachAddr s = w.b().pte_maddr(kVa);
  const std::uint64_t cur = w.machine.frame_entries(to_mfn(s))[pt_index(kVa, 1)];
  for (std::uint64_t bit : {X86Pte::Pwt::kMask, X86Pte::Pcd::kMask, X86Pte::PsePat::kMask}) {
    EXPECT_EQ(w.mod(s, cur | bit).error(), Errno::Inval) << bit;
  }
  MachAddr l2e = w.b().pte_maddr(kVa, 2);
  const std::uint64_t l2v = w.machine.frame_entries(to_mfn(l2e))[pt_index(kVa, 2)];
  for (std::uint64_t bit : {X86Pte::Pwt::kMask, X86Pte::Pcd::kMask, X86Pte::PsePat::kMask}) {
    EXPECT_EQ(w.mod(l2e, l2v | bit).error(), Errno::Inval) << bit;
  }
  // Same flags, different frame: never the fast path.
  Mfn theirs = w.builder(w.other).alloc();
  EXPECT_EQ(w.mod(s, X86Pte::with_frame(cur, theirs)).error(), Errno::Busy);
  EXPECT_EQ(w.check(), "");
}

TEST(MmuAdversarial, Inv09_PrivilegedMayUseCacheBitsAtL1_XSA154) {
  World w;
  Domain& dom0 = w.domain(0, {.privileged = true, .max_pages = 32, .nr_vcpus = 1});
  auto& b0 = w.builder(dom0);
  Mfn p = b0.alloc();
  b0.map(kVa, p, true);
  b0.map(VirtAddr{kVa.value() + 0x1000}, p, false);
  ASSERT_TRUE(b0.pin_and_load(VcpuId{0}));
  MachAddr s = b0.pte_maddr(VirtAddr{kVa.value() + 0x1000});
  EXPECT_TRUE(w.run([&] { return w.mm.mod_entry(dom0, dom0, s, make_pte(p, false) | X86Pte::Pcd::kMask, false); }));
  EXPECT_EQ(w.run([&] { return w.mm.mod_entry(dom0, dom0, b0.pte_maddr(kVa, 2),
                                                w.machine.frame_entries(b0.table(kVa, 2))[2] | X86Pte::PsePat::kMask,
                                                false); }).error(),
            Errno::Inval);  // never superpages, even for dom0
}

// ---- Invariant 10: linear tables (XSA-185, 240, 309) --------------------------------------

TEST(MmuAdversarial, Inv10_LinearEntryMustBeReadOnly_XSA185) {
  World w;
  Mfn l4 = w.b().root();
  EXPECT_EQ(w.mod(MachAddr{to_maddr(l4).value() + 8 * 400}, make_pte(l4, true)).error(), Errno::Inval);
  Mfn l3 = w.b().table(kVa, 3);
  Mfn l3b = w.b().alloc();
  ASSERT_TRUE(w.run([&] { return w.mm.pin(w.d, l3b, PageType::L3); }));
  EXPECT_EQ(w.mod(MachAddr{to_maddr(l3).value() + 8 * 9}, make_pte(l3b, true)).error(), Errno::Inval);
  EXPECT_EQ(w.check(), "");
}

TEST(MmuAdversarial, Inv10_LinearEntryMustBeSameOwner_XSA240) {
  World w;
  auto& ob = w.builder(w.other);
  ob.map(kVa, ob.alloc(), true);
  ASSERT_TRUE(ob.pin_and_load(VcpuId{0}));
  EXPECT_EQ(w.mod(w.b().pte_maddr(VirtAddr{0x600000}, 2), make_pte(ob.table(kVa, 2), false)).error(), Errno::Inval);
  EXPECT_EQ(w.check(), "");
}

TEST(MmuAdversarial, Inv10_LinearTargetMustBeValidated_XSA240) {
  World w(40);
  // A partially validated L2 cannot be the target of a linear entry.
  Mfn l2p = w.b().alloc();
  for (int i = 0; i < 3; ++i) w.machine.frame_entries(l2p)[i * 200] = make_pte(w.b().alloc(), true);
  Status s;
  {
    LockGuard g(w.mm.lock());
    w.mm.begin_call();
    s = w.mm.pin(w.d, l2p, PageType::L2);
  }
  ASSERT_TRUE(s.is_restart());
  ASSERT_TRUE(w.info(l2p).partial);
  EXPECT_EQ(w.mod(w.b().pte_maddr(VirtAddr{0x600000}, 2), make_pte(l2p, false)).error(), Errno::Inval);
  EXPECT_TRUE(w.info(l2p).partial);
  EXPECT_EQ(w.check(), "");
}

TEST(MmuAdversarial, Inv10_LinearDepthAtMostOne_XSA309) {
  World w;
  Mfn a = w.b().table(kVa, 2);
  Mfn b = w.b().alloc(), c = w.b().alloc();
  ASSERT_TRUE(w.run([&] { return w.mm.pin(w.d, b, PageType::L2); }));
  ASSERT_TRUE(w.run([&] { return w.mm.pin(w.d, c, PageType::L2); }));
  ASSERT_TRUE(w.mod(MachAddr{to_maddr(a).value() + 8 * 100}, make_pte(b, false)));  // a -> b
  // b is referenced by a linear entry: it may not contain one (b -> c refused)...
  EXPECT_EQ(w.mod(MachAddr{to_maddr(b).value() + 8 * 1}, make_pte(c, false)).error(), Errno::Inval);
  // ...and a contains one: nothing may point at a linearly (c -> a refused).
  EXPECT_EQ(w.mod(MachAddr{to_maddr(c).value() + 8 * 1}, make_pte(a, false)).error(), Errno::Inval);
  EXPECT_EQ(w.info(a).linear_out, 1u);
  EXPECT_EQ(w.info(b).linear_in, 1u);
  EXPECT_EQ(w.check(), "");
  // Unpinning b keeps it alive through the linear reference; dropping the entry frees it.
  ASSERT_TRUE(w.run([&] { return w.mm.unpin(w.d, b); }));
  EXPECT_EQ(w.info(b).type_count, 1u);
  ASSERT_TRUE(w.mod(MachAddr{to_maddr(a).value() + 8 * 100}, 0));
  w.settle();
  EXPECT_EQ(w.info(b).type_count, 0u);
  EXPECT_EQ(w.check(), "");
}

// ---- Invariant 11: pin exclusive; partial validation owns one extra ref (XSA-58, 299, 310)

TEST(MmuAdversarial, Inv11_PinIsNotNestable_XSA58) {
  World w;
  EXPECT_EQ(w.mmuext({{xen::kMmuextPinL4Table, 0, w.b().root().value(), 0}}), kEinval);
  EXPECT_EQ(w.info(w.b().root()).type_count, 2u);  // pin + root, unchanged
  EXPECT_EQ(w.check(), "");
}

TEST(MmuAdversarial, Inv11_PartialValidationOwnsExactlyOneReference_XSA299) {
  World w(100);
  Mfn l4 = w.big_tree(w.d, 4);
  const std::uint32_t alloc_ref = w.info(l4).refcount;
  int partial_seen = 0;
  Status s;
  for (;;) {
    LockGuard g(w.mm.lock());
    w.mm.begin_call();
    s = w.mm.pin(w.d, l4, PageType::L4);
    if (!s.is_restart()) break;
    ++partial_seen;
    // Whatever level is partial right now, each partial frame holds exactly 1 + 1.
    w.machine.frame_db().for_each([&](Mfn, FrameInfo& f) {
      if (f.partial) {
        EXPECT_EQ(f.type_count, 1u);
      }
    });
    EXPECT_TRUE(w.info(l4).partial);
    EXPECT_EQ(w.info(l4).refcount, alloc_ref + 1);
    EXPECT_FALSE(w.info(l4).pinned);
  }
  ASSERT_TRUE(s);
  EXPECT_GT(partial_seen, 10);
  EXPECT_FALSE(w.info(l4).partial);
  EXPECT_TRUE(w.info(l4).pinned);
  EXPECT_EQ(w.info(l4).type_count, 1u);
  EXPECT_EQ(w.info(l4).refcount, alloc_ref + 1);
  EXPECT_EQ(w.check(), "");
}

TEST(MmuAdversarial, Inv11_PartialStateCountsAreConsistent_XSA299) {
  World w(150);
  Mfn l4 = w.big_tree(w.d, 3);
  {
    LockGuard g(w.mm.lock());
    w.mm.begin_call();
    ASSERT_TRUE(w.mm.pin(w.d, l4, PageType::L4).is_restart());
  }
  EXPECT_EQ(w.check(), "");  // the recount includes each partial state's extra reference
  // A different type cannot take the partial state over; a writable mapping is refused.
  EXPECT_EQ(w.run([&] { return w.mm.pin(w.d, l4, PageType::L3); }).error(), Errno::Inval);
  EXPECT_EQ(w.mod(w.slot(), make_pte(l4, true)).error(), Errno::Busy);
  EXPECT_EQ(w.check(), "");
}

TEST(MmuAdversarial, Inv11_FailureAfterPreemptionUnwindsEverything_XSA310) {
  World w(60);
  Mfn l4 = w.big_tree(w.d, 3);
  // Poison the last L1 with a foreign frame: validation fails only after several preemptions.
  Mfn l3 = X86Pte::frame(w.machine.frame_entries(l4)[1]);
  Mfn l2 = X86Pte::frame(w.machine.frame_entries(l3)[0]);
  Mfn last = X86Pte::frame(w.machine.frame_entries(l2)[2]);
  w.machine.frame_entries(last)[511] = make_pte(w.builder(w.other).alloc(), false);
  int restarts = 0;
  Status s;
  do {
    LockGuard g(w.mm.lock());
    w.mm.begin_call();
    if (w.mm.has_pending()) {
      s = w.mm.drain();
      if (s.is_restart()) continue;
    }
    s = w.mm.pin(w.d, l4, PageType::L4);
  } while (s.is_restart() && ++restarts < 10000);
  EXPECT_EQ(s.error(), Errno::Busy);
  EXPECT_GT(restarts, 3);
  w.settle();
  for (Mfn m : {l4, l3, l2, last}) {
    EXPECT_EQ(w.info(m).type_count, 0u);
    EXPECT_FALSE(w.info(m).partial);
    EXPECT_EQ(w.info(m).refcount, 1u);  // only the allocation reference is left
  }
  EXPECT_EQ(w.check(), "");
}

TEST(MmuAdversarial, Inv11_AbandonedPartialReleasedByTeardown_XSA310) {
  World w(100);
  Mfn l4 = w.big_tree(w.d, 4);
  {
    LockGuard g(w.mm.lock());
    w.mm.begin_call();
    ASSERT_TRUE(w.mm.pin(w.d, l4, PageType::L4).is_restart());
  }
  ASSERT_TRUE(w.domains.begin_destroy(w.d.id));
  Status s;
  int guard = 0;
  while ((s = domain_teardown_step(w.mm, w.d)).is_restart() && ++guard < 100000) {
  }
  ASSERT_TRUE(s);
  EXPECT_EQ(w.d.state.load(), DomainState::Dead);
  EXPECT_EQ(w.d.tot_pages, 0u);
  w.machine.frame_db().for_each([&](Mfn m, FrameInfo& f) {
    if (!f.xen && f.owner == nullptr) {
      EXPECT_EQ(f.refcount, 0u) << m.value();
      EXPECT_EQ(f.type_count, 0u) << m.value();
    }
  });
  EXPECT_EQ(w.check(), "");
}

// ---- Invariant 12: foreign frames only via grant or privilege (XSA-248) ------------------

TEST(MmuAdversarial, Inv12_ForeignFrameRefused_XSA248) {
  World w;
  Mfn theirs = w.builder(w.other).alloc();
  EXPECT_EQ(w.mmu_update({upd(w.slot(), make_pte(theirs, false))}), kEbusy);
  EXPECT_EQ(w.mmu_update({upd(w.slot(), make_pte(Mfn{2}, false))}), kEbusy);  // hypervisor frame
  EXPECT_EQ(w.mmu_update({upd(w.slot(), make_pte(theirs, false))}, 2), -1);   // FD needs privilege
  // An unpinned L1 containing a foreign frame fails validation when linked in.
  Mfn t = w.b().alloc();
  w.machine.frame_entries(t)[3] = make_pte(theirs, false);
  EXPECT_EQ(w.mmu_update({upd(w.b().pte_maddr(VirtAddr{0x600000}, 2), make_pte(t, true))}), kEbusy);
  EXPECT_EQ(w.info(theirs).refcount, 1u);
  EXPECT_EQ(w.check(), "");
}

TEST(MmuAdversarial, Inv12_HypervisorSlotsIgnoredAndRefilled_XSA248) {
  World w;
  // A guest L4 with its own "entries" in the hypervisor slots: they are not validated, take no
  // references and are replaced by the platform's.
  Mfn l4 = w.b().alloc(), l3 = w.b().alloc();
  w.machine.frame_entries(l4)[256] = make_pte(l3, true);
  w.machine.frame_entries(l4)[271] = make_pte(Mfn{1}, true);
  EXPECT_EQ(w.mmuext({{xen::kMmuextPinL4Table, 0, l4.value(), 0}}), 0);
  EXPECT_EQ(w.machine.frame_entries(l4)[256], w.machine.xen_slot_value(256));
  EXPECT_EQ(w.machine.frame_entries(l4)[271], w.machine.xen_slot_value(271));
  EXPECT_EQ(w.info(l3).type_count, 0u);
  EXPECT_EQ(w.info(l3).refcount, 1u);
  EXPECT_EQ(w.check(), "");
}

// ---- Invariant 13: grant PTEs (XSA-227) are covered in grant_mapping_test; the hypercall path:

TEST(MmuAdversarial, Inv13_MmuUpdateCannotTouchGrantPte_XSA227) {
  World w;
  Mfn theirs = w.builder(w.other).alloc();
  {
    LockGuard g(w.mm.lock());
    ASSERT_TRUE(w.machine.frame_db().get_page(theirs, &w.other));  // the grant table's reference
  }
  FrameInfo& l1 = w.info(to_mfn(w.slot()));
  {
    LockGuard g(w.mm.lock());
    w.machine.frame_entries(to_mfn(w.slot()))[1] = make_pte(theirs, false);
    l1.set_grant_pte(1, true);
  }
  EXPECT_EQ(w.mmu_update({upd(w.slot(), 0)}), kEinval);
  EXPECT_EQ(w.mmu_update({{w.slot().value() | xen::kMmuPtUpdatePreserveAd, 0}}), kEinval);
  EXPECT_EQ(invoke<UpdateVaMappingOp>(w.ctx, HypercallArgs{0, {kVa.value() + 0x1000, 0, 0}}), kEinval);
  EXPECT_EQ(w.machine.frame_entries(to_mfn(w.slot()))[1], make_pte(theirs, false));
  host::ExtraRefs extra{{theirs.value(), {1, 0}}};
  EXPECT_EQ(host::check_mm_invariants(w.machine, w.mm, w.domains, &extra), "");
}

// ---- Invariant 14: ownership transfer wipes type state; refcount => owner (XSA-214, 287) --

TEST(MmuAdversarial, Inv14_TransferredTableIsRevalidatedFromScratch_XSA214) {
  World w;
  Mfn t = w.b().alloc();
  w.machine.frame_entries(t)[0] = make_pte(w.data, false);  // maps d1's page
  ASSERT_TRUE(w.run([&] { return w.mm.pin(w.d, t, PageType::L1); }));
  ASSERT_TRUE(w.run([&] { return w.mm.unpin(w.d, t); }));
  w.settle();
  ASSERT_TRUE(w.machine.frame_db().transfer(t, w.d, w.other));
  EXPECT_EQ(w.info(t).type, PageType::None);
  EXPECT_FALSE(w.info(t).validated);
  // In d2's hands, the old contents map a frame d2 does not own: refused.
  EXPECT_EQ(w.run([&] { return w.mm.pin(w.other, t, PageType::L1); }).error(), Errno::Busy);
  EXPECT_EQ(w.check(), "");
}

TEST(MmuAdversarial, Inv14_FrameOfDyingDomainKeepsOwnerWhileReferenced_XSA287) {
  World w;
  Domain& dom0 = w.domain(0, {.privileged = true, .max_pages = 32, .nr_vcpus = 1});
  auto& b0 = w.builder(dom0);
  b0.map(kVa, b0.alloc(), true);
  b0.map(VirtAddr{kVa.value() + 0x1000}, b0.alloc(), true);
  ASSERT_TRUE(b0.pin_and_load(VcpuId{0}));
  // dom0 maps d1's data page (privileged foreign mapping), then d1 is destroyed.
  ASSERT_TRUE(w.run([&] { return w.mm.mod_entry(dom0, w.d, b0.pte_maddr(VirtAddr{kVa.value() + 0x1000}),
                                                make_pte(w.data, true), false); }));
  ASSERT_TRUE(w.domains.begin_destroy(w.d.id));
  Status s;
  while ((s = domain_teardown_step(w.mm, w.d)).is_restart()) {
  }
  EXPECT_EQ(s.error(), Errno::Busy);  // a zombie: dom0 still maps one of its frames
  EXPECT_EQ(w.d.tot_pages, 1u);
  EXPECT_EQ(w.info(w.data).owner, &w.d);
  EXPECT_EQ(w.check(), "");
  ASSERT_TRUE(w.run([&] { return w.mm.mod_entry(dom0, dom0, b0.pte_maddr(VirtAddr{kVa.value() + 0x1000}), 0, false); }));
  EXPECT_EQ(w.info(w.data).owner, nullptr);
  EXPECT_TRUE(domain_teardown_step(w.mm, w.d));
  EXPECT_EQ(w.d.state.load(), DomainState::Dead);
}

}  // namespace
}  // namespace pvkit
