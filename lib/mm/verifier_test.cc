// PageTableVerifier operations and their error paths, with Xen's error codes.
#include "pvkit/mm/verifier.h"

#include <gtest/gtest.h>

#include "pvkit/platforms/host/machine/mm_fixture.h"
#include "pvkit/platforms/host/machine/mm_invariants.h"

namespace pvkit {
namespace {

using host::make_pte;
using host::MmWorld;

constexpr VirtAddr kVa{0x400000};
constexpr VirtAddr kVa2{0x401000};

struct Guest : MmWorld {
  Domain& d = domain(1);
  Domain& other = domain(2);
  Mfn data{};
  Guest() {
    auto& b = builder(d);
    data = b.alloc();
    b.map(kVa, data, true);
    EXPECT_TRUE(b.pin_and_load(VcpuId{0}));
  }
  host::GuestBuilder<Verifier>& b() { return builder(d); }
  const FrameInfo& info(Mfn m) { return *machine.frame_db().info(m); }
  Status mod(MachAddr ptr, std::uint64_t val, Domain* pg = nullptr) {
    return run([&] { return mm.mod_entry(d, pg ? *pg : d, ptr, val, false); });
  }
  std::uint64_t entry(MachAddr a) { return machine.frame_entries(to_mfn(a))[(a.value() & 0xFFF) / 8]; }
  std::string check() { return host::check_mm_invariants(machine, mm, domains); }
};

TEST(Verifier, PinAndLoadTypesTheTree) {
  Guest g;
  Mfn l4 = g.b().root(), l3 = g.b().table(kVa, 3), l2 = g.b().table(kVa, 2), l1 = g.b().table(kVa, 1);
  EXPECT_EQ(g.info(l4).type, PageType::L4);
  EXPECT_EQ(g.info(l4).type_count, 2u);  // pin + vCPU root
  EXPECT_TRUE(g.info(l4).pinned);
  EXPECT_EQ(g.info(l3).type, PageType::L3);
  EXPECT_EQ(g.info(l2).type, PageType::L2);
  EXPECT_EQ(g.info(l1).type, PageType::L1);
  for (Mfn m : {l4, l3, l2, l1}) EXPECT_TRUE(g.info(m).validated);
  EXPECT_EQ(g.info(g.data).type, PageType::Writable);
  EXPECT_EQ(g.info(g.data).type_count, 1u);
  EXPECT_EQ(g.info(g.data).refcount, 2u);  // allocation + the L1 entry
  EXPECT_EQ(g.check(), "");
}

TEST(Verifier, HypervisorL4SlotsFilledByPlatform) {
  Guest g;
  const std::uint64_t* e = g.machine.frame_entries(g.b().root());
  for (unsigned i = 256; i <= 271; ++i) EXPECT_EQ(e[i], g.machine.xen_slot_value(i)) << i;
  EXPECT_EQ(e[272], 0u);
}

TEST(Verifier, MapRemapUnmapCountsReferences) {
  Guest g;
  Mfn page = g.b().alloc();
  MachAddr slot = g.b().pte_maddr(kVa2);
  ASSERT_TRUE(g.mod(slot, make_pte(page, false)));
  EXPECT_EQ(g.info(page).refcount, 2u);
  EXPECT_EQ(g.info(page).type_count, 0u);
  ASSERT_TRUE(g.mod(slot, make_pte(page, true)));  // RW change: full validation
  EXPECT_EQ(g.info(page).type, PageType::Writable);
  EXPECT_EQ(g.info(page).type_count, 1u);
  EXPECT_EQ(g.info(page).refcount, 2u);
  EXPECT_EQ(g.check(), "");
  ASSERT_TRUE(g.mod(slot, 0));
  EXPECT_EQ(g.info(page).refcount, 1u);
  EXPECT_EQ(g.info(page).type_count, 0u);
  EXPECT_EQ(g.entry(slot), 0u);
  EXPECT_EQ(g.check(), "");
}

TEST(Verifier, FastPathBitsChangeWithoutRevalidation) {
  Guest g;
  MachAddr slot = g.b().pte_maddr(kVa);
  const std::uint64_t base = g.entry(slot);
  std::uint64_t v = X86Pte::Nx::set(base, 1);
  v = X86Pte::Avail::set(v, 5);
  v = X86Pte::Global::set(v, 1);
  v = X86Pte::Dirty::set(v, 1);
  v = X86Pte::Accessed::set(v, 1);
  v = X86Pte::User::set(v, 0);
  ASSERT_TRUE(g.mod(slot, v));
  EXPECT_EQ(g.entry(slot), v);
  EXPECT_EQ(g.info(g.data).refcount, 2u);
  EXPECT_EQ(g.info(g.data).type_count, 1u);
  // Dropping RW is not a fast-path change: the writable reference goes.
  ASSERT_TRUE(g.mod(slot, X86Pte::Rw::set(v, 0)));
  EXPECT_EQ(g.info(g.data).type_count, 0u);
  EXPECT_EQ(g.check(), "");
}

TEST(Verifier, PreserveAdKeepsHardwareBits) {
  Guest g;
  MachAddr slot = g.b().pte_maddr(kVa);
  std::uint64_t* e = &g.machine.frame_entries(to_mfn(slot))[pt_index(kVa, 1)];
  *e = X86Pte::Dirty::set(X86Pte::Accessed::set(*e, 1), 1);  // "hardware" set A and D
  ASSERT_TRUE(g.run([&] { return g.mm.mod_entry(g.d, g.d, slot, make_pte(g.data, true), true); }));
  EXPECT_TRUE(X86Pte::Accessed::test(*e));
  EXPECT_TRUE(X86Pte::Dirty::test(*e));
  ASSERT_TRUE(g.mod(slot, make_pte(g.data, true)));
  EXPECT_FALSE(X86Pte::Accessed::test(*e));
}

TEST(VerifierErrors, EntryFlagsAndFrames) {
  Guest g;
  MachAddr slot = g.b().pte_maddr(kVa2);
  Mfn page = g.b().alloc();
  const std::uint64_t ok = make_pte(page, true);
  EXPECT_EQ(g.mod(slot, X86Pte::Reserved::set(ok, 1)).error(), Errno::Inval);
  EXPECT_EQ(g.mod(slot, X86Pte::Pwt::set(ok, 1)).error(), Errno::Inval);
  EXPECT_EQ(g.mod(slot, X86Pte::Pcd::set(ok, 1)).error(), Errno::Inval);
  EXPECT_EQ(g.mod(slot, X86Pte::PsePat::set(ok, 1)).error(), Errno::Inval);  // PAT at L1
  EXPECT_EQ(g.mod(slot, make_pte(Mfn{1u << 20}, false)).error(), Errno::Perm);  // not RAM
  EXPECT_EQ(g.mod(slot, make_pte(Mfn{0}, false)).error(), Errno::Busy);  // hypervisor frame
  Mfn theirs = g.builder(g.other).alloc();
  EXPECT_EQ(g.mod(slot, make_pte(theirs, false)).error(), Errno::Busy);  // foreign frame
  EXPECT_EQ(g.mod(slot, make_pte(g.b().table(kVa, 1), true)).error(), Errno::Busy);  // RW of a table
  ASSERT_TRUE(g.mod(slot, make_pte(g.b().table(kVa, 1), false)));  // read-only is fine
  EXPECT_EQ(g.entry(g.b().pte_maddr(kVa2)), make_pte(g.b().table(kVa, 1), false));
  EXPECT_EQ(g.check(), "");
}

TEST(VerifierErrors, UpperLevelEntries) {
  Guest g;
  MachAddr l2e = g.b().pte_maddr(VirtAddr{0x600000}, 2);  // an empty slot of the L2
  Mfn fresh = g.b().alloc();
  const std::uint64_t ok = make_pte(fresh, true);
  EXPECT_EQ(g.mod(l2e, X86Pte::PsePat::set(ok, 1)).error(), Errno::Inval);  // no superpages
  EXPECT_EQ(g.mod(l2e, X86Pte::Global::set(ok, 1)).error(), Errno::Inval);
  EXPECT_EQ(g.mod(l2e, X86Pte::Pcd::set(ok, 1)).error(), Errno::Inval);
  EXPECT_EQ(g.mod(l2e, make_pte(g.data, true)).error(), Errno::Inval);  // a writable page as L1
  Mfn theirs = g.builder(g.other).alloc();
  EXPECT_EQ(g.mod(l2e, make_pte(theirs, true)).error(), Errno::Inval);  // foreign table
  ASSERT_TRUE(g.mod(l2e, ok));  // a fresh zeroed frame becomes an L1
  EXPECT_EQ(g.info(fresh).type, PageType::L1);
  EXPECT_EQ(g.info(fresh).type_count, 1u);
  ASSERT_TRUE(g.mod(l2e, 0));
  g.settle();
  EXPECT_EQ(g.info(fresh).type_count, 0u);
  EXPECT_EQ(g.check(), "");
}

TEST(VerifierErrors, HypervisorL4SlotsNotGuestWritable) {
  Guest g;
  for (unsigned i : {256u, 263u, 271u}) {
    MachAddr a{to_maddr(g.b().root()).value() + 8 * i};
    EXPECT_EQ(g.mod(a, 0).error(), Errno::Inval);
    EXPECT_EQ(g.entry(a), g.machine.xen_slot_value(i));
  }
  MachAddr ok{to_maddr(g.b().root()).value() + 8 * 272};
  EXPECT_TRUE(g.mod(ok, 0));
}

TEST(VerifierErrors, TargetFrameMustBeCallers) {
  Guest g;
  auto& ob = g.builder(g.other);
  ob.map(kVa, ob.alloc(), true);
  ASSERT_TRUE(ob.pin_and_load(VcpuId{0}));
  EXPECT_EQ(g.mod(ob.pte_maddr(kVa), 0).error(), Errno::Inval);
  EXPECT_EQ(g.mod(MachAddr{to_maddr(Mfn{1}).value()}, 0).error(), Errno::Inval);  // hypervisor frame
  // A plain frame of the caller is written directly.
  Mfn plain = g.b().alloc();
  ASSERT_TRUE(g.mod(MachAddr{to_maddr(plain).value() + 16}, 0x1234));
  EXPECT_EQ(g.machine.frame_entries(plain)[2], 0x1234u);
  EXPECT_EQ(g.info(plain).type_count, 0u);
}

TEST(VerifierPin, PinUnpinErrors) {
  Guest g;
  Mfn t = g.b().alloc();
  ASSERT_TRUE(g.run([&] { return g.mm.pin(g.d, t, PageType::L1); }));
  EXPECT_EQ(g.run([&] { return g.mm.pin(g.d, t, PageType::L1); }).error(), Errno::Inval);  // not nestable
  EXPECT_EQ(g.run([&] { return g.mm.pin(g.d, t, PageType::L2); }).error(), Errno::Inval);  // type conflict
  EXPECT_EQ(g.info(t).type_count, 1u);
  EXPECT_EQ(g.run([&] { return g.mm.pin(g.other, t, PageType::L1); }).error(), Errno::Inval);  // not theirs
  EXPECT_EQ(g.run([&] { return g.mm.unpin(g.other, t); }).error(), Errno::Inval);
  ASSERT_TRUE(g.run([&] { return g.mm.unpin(g.d, t); }));
  EXPECT_EQ(g.run([&] { return g.mm.unpin(g.d, t); }).error(), Errno::Inval);  // not pinned
  EXPECT_EQ(g.run([&] { return g.mm.pin(g.d, g.data, PageType::L1); }).error(), Errno::Inval);  // writable
  EXPECT_EQ(g.run([&] { return g.mm.pin(g.d, Mfn{0}, PageType::L1); }).error(), Errno::Inval);
  g.settle();
  EXPECT_EQ(g.info(t).type_count, 0u);
  EXPECT_EQ(g.check(), "");
}

TEST(VerifierPin, ValidationErrorsPropagateAndUnwind) {
  Guest g;
  Mfn t = g.b().alloc();
  std::uint64_t* e = g.machine.frame_entries(t);
  e[0] = make_pte(g.b().alloc(), true);
  e[1] = make_pte(g.builder(g.other).alloc(), false);  // foreign
  const std::uint32_t before = g.info(Mfn{X86Pte::frame(e[0])}).refcount;
  EXPECT_EQ(g.run([&] { return g.mm.pin(g.d, t, PageType::L1); }).error(), Errno::Busy);
  EXPECT_EQ(g.info(t).type_count, 0u);
  EXPECT_FALSE(g.info(t).pinned);
  EXPECT_EQ(g.info(X86Pte::frame(e[0])).refcount, before);  // entry 0's refs were given back
  EXPECT_EQ(g.info(X86Pte::frame(e[0])).type_count, 0u);
  EXPECT_EQ(g.check(), "");
}

TEST(VerifierRoots, NewBaseptrAndUserBaseptr) {
  Guest g;
  Mfn l4b = g.b().alloc();
  EXPECT_EQ(g.run([&] { return g.mm.new_baseptr(g.d, VcpuId{0}, g.data); }).error(), Errno::Inval);
  EXPECT_EQ(g.run([&] { return g.mm.new_baseptr(g.d, VcpuId{5}, l4b); }).error(), Errno::Inval);
  ASSERT_TRUE(g.run([&] { return g.mm.new_baseptr(g.d, VcpuId{1}, l4b); }));
  EXPECT_EQ(g.info(l4b).type, PageType::L4);
  ASSERT_TRUE(g.run([&] { return g.mm.new_baseptr(g.d, VcpuId{1}, g.b().root()); }));
  g.settle();
  EXPECT_EQ(g.info(l4b).type_count, 0u);
  ASSERT_TRUE(g.run([&] { return g.mm.new_user_baseptr(g.d, VcpuId{0}, l4b); }));
  EXPECT_EQ(g.info(l4b).type_count, 1u);
  ASSERT_TRUE(g.run([&] { return g.mm.new_user_baseptr(g.d, VcpuId{0}, Mfn{0}); }));
  g.settle();
  EXPECT_EQ(g.info(l4b).type_count, 0u);
  EXPECT_EQ(g.check(), "");
}

TEST(VerifierVa, UpdateVaAndErrors) {
  Guest g;
  Mfn page = g.b().alloc();
  ASSERT_TRUE(g.run([&] { return g.mm.update_va(g.d, VcpuId{0}, kVa2, make_pte(page, true)); }));
  EXPECT_EQ(g.info(page).type_count, 1u);
  EXPECT_EQ(g.run([&] { return g.mm.update_va(g.d, VcpuId{1}, kVa2, 0); }).error(), Errno::Inval);  // no root
  EXPECT_EQ(g.run([&] { return g.mm.update_va(g.d, VcpuId{0}, VirtAddr{0x7f0000000000}, 0); }).error(),
            Errno::Inval);
  EXPECT_EQ(g.run([&] { return g.mm.update_va(g.d, VcpuId{0}, VirtAddr{xen::kHypervisorVirtStart + 0x1000}, 0); })
                .error(), Errno::Inval);
  EXPECT_EQ(g.run([&] { return g.mm.update_va(g.d, VcpuId{0}, VirtAddr{0x0000900000000000}, 0); }).error(),
            Errno::Inval);  // non-canonical
  EXPECT_EQ(g.check(), "");
}

TEST(VerifierM2p, MachphysUpdate) {
  Guest g;
  ASSERT_TRUE(g.run([&] { return g.mm.set_m2p(g.d, g.data, 42); }));
  EXPECT_EQ(g.info(g.data).m2p, 42u);
  EXPECT_EQ(g.run([&] { return g.mm.set_m2p(g.other, g.data, 1); }).error(), Errno::Inval);
}

TEST(VerifierLinear, RecursiveAndLinearTables) {
  Guest g;
  Mfn l4 = g.b().root();
  MachAddr self{to_maddr(l4).value() + 8 * 300};
  EXPECT_EQ(g.mod(self, make_pte(l4, true)).error(), Errno::Inval);  // writable self-map
  ASSERT_TRUE(g.mod(self, make_pte(l4, false)));                     // read-only recursive slot
  EXPECT_EQ(g.check(), "");
  // An L2 pointing at another validated L2 of the same owner, read-only.
  Mfn l2 = g.b().table(kVa, 2);
  Mfn l2b = g.b().alloc();
  ASSERT_TRUE(g.run([&] { return g.mm.pin(g.d, l2b, PageType::L2); }));
  MachAddr lin{to_maddr(l2).value() + 8 * 10};
  EXPECT_EQ(g.mod(lin, make_pte(l2b, true)).error(), Errno::Inval);
  ASSERT_TRUE(g.mod(lin, make_pte(l2b, false)));
  EXPECT_EQ(g.info(l2).linear_out, 1u);
  EXPECT_EQ(g.info(l2b).linear_in, 1u);
  EXPECT_EQ(g.check(), "");
  ASSERT_TRUE(g.mod(lin, 0));
  EXPECT_EQ(g.info(l2).linear_out, 0u);
  EXPECT_EQ(g.info(l2b).linear_in, 0u);
  EXPECT_EQ(g.check(), "");
}

TEST(InvariantChecker, DetectsCorruption) {
  // The checker the property test relies on must itself be able to fail.
  {
    Guest g;
    ++g.machine.frame_db().info(g.data)->refcount;
    EXPECT_NE(g.check(), "");
  }
  {
    Guest g;  // a writable mapping of an L1 poked straight into memory
    g.machine.frame_entries(g.b().table(kVa, 1))[3] = make_pte(g.b().table(kVa, 1), true);
    EXPECT_NE(g.check(), "");
  }
  {
    Guest g;  // a foreign frame poked into an L1
    g.machine.frame_entries(g.b().table(kVa, 1))[3] = make_pte(g.builder(g.other).alloc(), false);
    EXPECT_NE(g.check(), "");
  }
  {
    Guest g;  // a stale writable translation of a frame that is now a table
    Mfn p = g.b().alloc();
    ASSERT_TRUE(g.mod(g.b().pte_maddr(kVa2), make_pte(p, true)));
    g.machine.observe_all();
    ASSERT_TRUE(g.mod(g.b().pte_maddr(kVa2), 0));
    FrameInfo& f = *g.machine.frame_db().info(p);
    f.type = PageType::L1;  // as if typed without the verifier's flush
    f.type_count = 1;
    f.validated = true;
    ++f.refcount;
    host::ExtraRefs extra{{p.value(), {1, 1}}};
    EXPECT_NE(host::check_mm_invariants(g.machine, g.mm, g.domains, &extra), "");
  }
}

}  // namespace
}  // namespace pvkit
