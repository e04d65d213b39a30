// The mmu_update, update_va_mapping and mmuext_op handlers: arguments, error codes, pdone,
// foreigndom and continuations (invariants 1, 3, 4, 6).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

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
constexpr std::uint64_t kReqs = 0x10000;    // guest buffer for request arrays
constexpr std::uint64_t kDone = 0x20000;    // pdone
constexpr std::uint64_t kMask = 0x20008;    // a vCPU bitmap
constexpr std::int64_t kEinval = -22, kEbusy = -16, kEnosys = -38, kEfault = -14, kEsrch = -3, kEperm = -1;

struct World : MmWorld {
  Domain& dom0 = domain(0, {.privileged = true, .max_pages = 64, .nr_vcpus = 2});
  Domain& d = domain(1);
  Domain& other = domain(2);
  host::FlatGuestMemory mem;
  MmCtx ctx{mem, *this, DomId{1}};
  Mfn data{};
  World() {
    mem.map(VirtAddr{kReqs}, 0x4000);
    mem.map(VirtAddr{0x20000}, 0x1000);
    auto& b = builder(d);
    data = b.alloc();
    b.map(kVa, data, true);
    EXPECT_TRUE(b.pin_and_load(VcpuId{0}));
  }
  host::GuestBuilder<Verifier>& b() { return builder(d); }
  const FrameInfo& info(Mfn m) { return *machine.frame_db().info(m); }
  void put_updates(const std::vector<xen::MmuUpdate>& v) {
    std::memcpy(mem.host_ptr(VirtAddr{kReqs}), v.data(), v.size() * sizeof(xen::MmuUpdate));
  }
  void put_ops(const std::vector<xen::MmuextOp>& v) {
    std::memcpy(mem.host_ptr(VirtAddr{kReqs}), v.data(), v.size() * sizeof(xen::MmuextOp));
  }
  std::uint32_t done() { return *mem.host_obj<std::uint32_t>(VirtAddr{kDone}); }
  std::int64_t mmu_update(std::uint64_t count, std::uint32_t foreigndom = kDomidSelf.value(), int* restarts = nullptr) {
    return invoke<MmuUpdateOp>(ctx, HypercallArgs{0, {kReqs, count, kDone, foreigndom, 0}}, restarts);
  }
  std::int64_t mmuext(std::uint64_t count, std::uint32_t foreigndom = kDomidSelf.value(), int* restarts = nullptr) {
    return invoke<MmuextOp>(ctx, HypercallArgs{0, {kReqs, count, kDone, foreigndom, 0}}, restarts);
  }
  std::string check() { return host::check_mm_invariants(machine, mm, domains); }
};

xen::MmuUpdate upd(MachAddr a, std::uint64_t v, std::uint32_t cmd = xen::kMmuNormalPtUpdate) {
  return {a.value() | cmd, v};
}

TEST(MmuUpdate, BatchAndPdone) {
  World w;
  Mfn p1 = w.b().alloc(), p2 = w.b().alloc();
  w.put_updates({upd(w.b().pte_maddr(VirtAddr{0x401000}), make_pte(p1, true)),
                 upd(w.b().pte_maddr(VirtAddr{0x402000}), make_pte(p2, false)),
                 upd(to_maddr(p2), 7, xen::kMmuMachphysUpdate)});
  EXPECT_EQ(w.mmu_update(3), 0);
  EXPECT_EQ(w.done(), 3u);
  EXPECT_EQ(w.info(p1).type_count, 1u);
  EXPECT_EQ(w.info(p2).refcount, 2u);
  EXPECT_EQ(w.info(p2).m2p, 7u);
  EXPECT_EQ(w.check(), "");
}

TEST(MmuUpdate, FirstFailureStopsTheBatch) {
  World w;
  Mfn p1 = w.b().alloc();
  Mfn theirs = w.builder(w.other).alloc();
  w.put_updates({upd(w.b().pte_maddr(VirtAddr{0x401000}), make_pte(p1, true)),
                 upd(w.b().pte_maddr(VirtAddr{0x402000}), make_pte(theirs, false)),
                 upd(w.b().pte_maddr(VirtAddr{0x403000}), make_pte(p1, false))});
  EXPECT_EQ(w.mmu_update(3), kEbusy);
  EXPECT_EQ(w.done(), 1u);
  EXPECT_EQ(w.info(p1).refcount, 2u);  // the third request never ran
  EXPECT_EQ(w.check(), "");
}

TEST(MmuUpdate, UnknownCommandIsEnosys) {
  World w;
  for (std::uint32_t cmd = 4; cmd < 8; ++cmd) {
    w.put_updates({upd(w.b().pte_maddr(VirtAddr{0x401000}), 0, cmd)});
    EXPECT_EQ(w.mmu_update(1), kEnosys) << cmd;
    EXPECT_EQ(w.done(), 0u);
  }
}

TEST(MmuUpdate, PreserveAdAndNoTranslate) {
  World w;
  MachAddr slot = w.b().pte_maddr(kVa);
  std::uint64_t* e = &w.machine.frame_entries(to_mfn(slot))[pt_index(kVa, 1)];
  *e = X86Pte::Accessed::set(*e, 1);
  w.put_updates({upd(slot, make_pte(w.data, true), xen::kMmuPtUpdatePreserveAd)});
  EXPECT_EQ(w.mmu_update(1), 0);
  EXPECT_TRUE(X86Pte::Accessed::test(*e));
  w.put_updates({upd(slot, make_pte(w.data, true), xen::kMmuPtUpdateNoTranslate)});
  EXPECT_EQ(w.mmu_update(1), 0);
  EXPECT_FALSE(X86Pte::Accessed::test(*e));
}

TEST(MmuUpdate, FaultingRequestArray) {
  World w;
  // Request array beyond the mapped guest buffer: the element that faults ends the batch.
  std::vector<xen::MmuUpdate> v(1024, upd(w.b().pte_maddr(VirtAddr{0x401000}), 0));
  w.put_updates(v);
  EXPECT_EQ(w.mmu_update(1025), kEfault);
  EXPECT_EQ(w.done(), 1024u);
  EXPECT_EQ(invoke<MmuUpdateOp>(w.ctx, HypercallArgs{0, {0xdead0000, 1, kDone, kDomidSelf.value(), 0}}), kEfault);
  EXPECT_EQ(w.done(), 0u);
}

TEST(MmuUpdate, ForeignDomainResolution) {
  World w;
  w.put_updates({upd(w.b().pte_maddr(VirtAddr{0x401000}), 0)});
  EXPECT_EQ(w.mmu_update(1, 77), kEsrch);          // unknown FD
  EXPECT_EQ(w.mmu_update(1, 1), kEsrch);           // own id given explicitly (Xen quirk)
  EXPECT_EQ(w.mmu_update(1, 2), kEperm);           // unprivileged foreign FD
  EXPECT_EQ(w.mmu_update(1, kDomidIo.value()), kEsrch);
  EXPECT_EQ(w.mmu_update(1, kDomidSelf.value() | (3u << 16)), kEperm);  // PFD = d2, unprivileged
  EXPECT_EQ(w.mmu_update(1, kDomidSelf.value() | (78u << 16)), kEsrch);
  EXPECT_EQ(w.mem.writes(), 0u) << "no pdone written on argument errors";
  EXPECT_EQ(w.mmu_update(1, kDomidSelf.value() | (2u << 16)), 0);  // PFD = the caller itself
}

TEST(MmuUpdate, PrivilegedForeignMapping) {
  World w;
  auto& b0 = w.builder(w.dom0);
  b0.map(kVa, b0.alloc(), true);
  ASSERT_TRUE(b0.pin_and_load(VcpuId{0}));
  w.ctx.dom = DomId{0};
  Mfn target = w.b().alloc();  // a frame of d1
  w.put_updates({upd(b0.pte_maddr(VirtAddr{0x401000}), make_pte(target, true))});
  EXPECT_EQ(w.mmu_update(1), kEbusy);        // without FD: foreign frame refused
  EXPECT_EQ(w.mmu_update(1, 1), 0);          // FD = d1: a privileged foreign mapping
  EXPECT_EQ(w.info(target).refcount, 2u);
  EXPECT_EQ(w.info(target).type, PageType::Writable);
  // dom0 may also edit d1's page tables (PFD = d1).
  w.put_updates({upd(w.b().pte_maddr(VirtAddr{0x402000}), make_pte(target, false))});
  EXPECT_EQ(w.mmu_update(1, kDomidSelf.value() | (2u << 16)), kEbusy);  // data frame of d0 expected
  EXPECT_EQ(w.mmu_update(1, 1u | (2u << 16)), 0);
  EXPECT_EQ(w.info(target).refcount, 3u);
  EXPECT_EQ(w.check(), "");
}

TEST(MmuUpdate, ContinuationRewritesArgumentsAndPdone) {
  World w;
  w.mm.set_budget_per_call(3);
  std::vector<xen::MmuUpdate> v;
  std::vector<Mfn> pages;
  for (int i = 0; i < 10; ++i) {
    pages.push_back(w.b().alloc());
    v.push_back(upd(w.b().pte_maddr(VirtAddr{0x401000u + 0x1000u * i}), make_pte(pages.back(), false)));
  }
  w.put_updates(v);
  HypercallArgs a{0, {kReqs, 10, kDone, kDomidSelf.value(), 0}};
  EXPECT_EQ(MmuUpdateOp::call(w.ctx, a), -85);
  EXPECT_EQ(a.a[0], kReqs + 3 * sizeof(xen::MmuUpdate));
  EXPECT_EQ(a.a[1], 7u | xen::kMmuUpdatePreempted);
  EXPECT_EQ(w.done(), 3u);
  int restarts = 0;
  EXPECT_EQ(invoke<MmuUpdateOp>(w.ctx, a, &restarts), 0);
  EXPECT_GE(restarts, 2);
  EXPECT_EQ(w.done(), 10u);
  for (Mfn p : pages) EXPECT_EQ(w.info(p).refcount, 2u);
  EXPECT_EQ(w.check(), "");
}

TEST(MmuUpdate, PlatformPreemptionRequest) {
  World w;
  Mfn p = w.b().alloc();
  w.put_updates({upd(w.b().pte_maddr(VirtAddr{0x401000}), make_pte(p, false)),
                 upd(w.b().pte_maddr(VirtAddr{0x402000}), make_pte(p, false))});
  w.ctx.preempt = true;
  HypercallArgs a{0, {kReqs, 2, kDone, kDomidSelf.value(), 0}};
  EXPECT_EQ(MmuUpdateOp::call(w.ctx, a), -85);  // yields after the first request
  EXPECT_EQ(w.done(), 1u);
  w.ctx.preempt = false;
  EXPECT_EQ(invoke<MmuUpdateOp>(w.ctx, a), 0);
  EXPECT_EQ(w.done(), 2u);
}

TEST(UpdateVaMapping, FlushFlags) {
  World w;
  Mfn p = w.b().alloc();
  const std::uint64_t inv = w.machine.guest_invlpgs(), fl = w.machine.guest_flushes();
  EXPECT_EQ(invoke<UpdateVaMappingOp>(w.ctx, HypercallArgs{0, {kVa.value(), make_pte(p, true), xen::kUvmfInvlpg}}), 0);
  EXPECT_EQ(w.machine.guest_invlpgs(), inv + 1);
  EXPECT_EQ(w.info(p).type_count, 1u);
  EXPECT_EQ(invoke<UpdateVaMappingOp>(
                w.ctx, HypercallArgs{0, {kVa.value(), make_pte(p, false), xen::kUvmfTlbFlush | xen::kUvmfAll}}),
            0);
  EXPECT_EQ(w.machine.guest_flushes(), fl + 1);
  *w.mem.host_obj<std::uint64_t>(VirtAddr{kMask}) = 0b10;
  EXPECT_EQ(invoke<UpdateVaMappingOp>(w.ctx, HypercallArgs{0, {kVa.value(), make_pte(p, false), kMask | xen::kUvmfTlbFlush}}),
            0);
  EXPECT_EQ(w.machine.guest_flushes(), fl + 2);
  EXPECT_EQ(w.check(), "");
}

TEST(UpdateVaMapping, Errors) {
  World w;
  Mfn p = w.b().alloc();
  const std::uint64_t before = w.machine.frame_entries(w.b().table(kVa, 1))[pt_index(kVa, 1)];
  // Flush type 3 is undefined; an unreadable vCPU bitmap faults before anything changes.
  EXPECT_EQ(invoke<UpdateVaMappingOp>(w.ctx, HypercallArgs{0, {kVa.value(), make_pte(p, true), 3}}), kEinval);
  EXPECT_EQ(invoke<UpdateVaMappingOp>(w.ctx, HypercallArgs{0, {kVa.value(), make_pte(p, true), 0xdead000 | 1}}),
            kEfault);
  EXPECT_EQ(w.machine.frame_entries(w.b().table(kVa, 1))[pt_index(kVa, 1)], before);
  EXPECT_EQ(invoke<UpdateVaMappingOp>(w.ctx, HypercallArgs{0, {0x7f0000000000, 0, 0}}), kEinval);
  EXPECT_EQ(invoke<UpdateVaMappingOp>(w.ctx, HypercallArgs{0, {xen::kHypervisorVirtStart, 0, 0}}), kEinval);
  EXPECT_EQ(invoke<UpdateVaMappingOp>(w.ctx, HypercallArgs{0, {kVa.value(), make_pte(w.b().root(), true), 0}}),
            kEbusy);
  w.ctx.vcpu = VcpuId{1};  // no page tables loaded on vCPU 1
  EXPECT_EQ(invoke<UpdateVaMappingOp>(w.ctx, HypercallArgs{0, {kVa.value(), 0, 0}}), kEinval);
}

TEST(MmuextOp, PinBaseptrUnpin) {
  World w;
  Mfn l4 = w.b().alloc(), l1 = w.b().alloc();
  w.put_ops({{xen::kMmuextPinL4Table, 0, l4.value(), 0},
             {xen::kMmuextPinL1Table, 0, l1.value(), 0},
             {xen::kMmuextNewBaseptr, 0, l4.value(), 0},
             {xen::kMmuextNewUserBaseptr, 0, l4.value(), 0}});
  EXPECT_EQ(w.mmuext(4), 0);
  EXPECT_EQ(w.done(), 4u);
  EXPECT_EQ(w.info(l4).type_count, 3u);
  EXPECT_TRUE(w.info(l1).pinned);
  w.put_ops({{xen::kMmuextPinL1Table, 0, l1.value(), 0}});
  EXPECT_EQ(w.mmuext(1), kEinval);  // pinning is not nestable
  w.put_ops({{xen::kMmuextUnpinTable, 0, l1.value(), 0}, {xen::kMmuextUnpinTable, 0, l1.value(), 0}});
  EXPECT_EQ(w.mmuext(2), kEinval);
  EXPECT_EQ(w.done(), 1u);
  EXPECT_EQ(w.check(), "");
}

TEST(MmuextOp, FlushOps) {
  World w;
  *w.mem.host_obj<std::uint64_t>(VirtAddr{kMask}) = 0b11;
  const std::uint64_t fl = w.machine.guest_flushes(), inv = w.machine.guest_invlpgs();
  w.put_ops({{xen::kMmuextTlbFlushLocal, 0, 0, 0},
             {xen::kMmuextInvlpgLocal, 0, kVa.value(), 0},
             {xen::kMmuextTlbFlushMulti, 0, 0, kMask},
             {xen::kMmuextInvlpgMulti, 0, kVa.value(), kMask},
             {xen::kMmuextTlbFlushAll, 0, 0, 0},
             {xen::kMmuextInvlpgAll, 0, kVa.value(), 0},
             {xen::kMmuextInvlpgAll, 0, 0x0000900000000000, 0}});  // non-canonical: ignored
  EXPECT_EQ(w.mmuext(7), 0);
  EXPECT_EQ(w.machine.guest_flushes(), fl + 3);
  EXPECT_EQ(w.machine.guest_invlpgs(), inv + 3);
  w.put_ops({{xen::kMmuextTlbFlushMulti, 0, 0, 0xdead000}});
  EXPECT_EQ(w.mmuext(1), kEfault);
}

TEST(MmuextOp, UnsupportedCommandsAreEnosys) {
  World w;
  for (std::uint32_t cmd : {12u, 13u, 14u, 16u, 17u, 18u, 19u, 20u, 21u, 1000u, 0xFFFFFFFFu}) {
    w.put_ops({{cmd, 0, w.data.value(), w.data.value()}});
    EXPECT_EQ(w.mmuext(1), kEnosys) << cmd;
    EXPECT_EQ(w.done(), 0u);
  }
}

TEST(MmuextOp, ForeignOwnerRules) {
  World w;
  Mfn theirs = w.builder(w.other).alloc();
  w.put_ops({{xen::kMmuextPinL1Table, 0, theirs.value(), 0}});
  EXPECT_EQ(w.mmuext(1), kEinval);    // not the caller's frame
  EXPECT_EQ(w.mmuext(1, 2), kEperm);  // unprivileged foreign owner
  w.ctx.dom = DomId{0};
  EXPECT_EQ(w.mmuext(1, 2), 0);       // dom0 pins on d2's behalf
  EXPECT_TRUE(w.info(theirs).pinned);
  w.put_ops({{xen::kMmuextNewBaseptr, 0, theirs.value(), 0}});
  EXPECT_EQ(w.mmuext(1, 2), kEperm);  // only pin/unpin work on a foreign owner
  w.put_ops({{xen::kMmuextTlbFlushLocal, 0, 0, 0}});
  EXPECT_EQ(w.mmuext(1, 2), kEperm);
}

}  // namespace
}  // namespace pvkit
