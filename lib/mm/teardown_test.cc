// Domain teardown: preemptible release of roots, pins, partial states, devalidation and frames.
#include "pvkit/mm/domain_teardown.h"

#include <gtest/gtest.h>

#include "pvkit/mm/grant_mapping.h"
#include "pvkit/platforms/host/machine/mm_fixture.h"
#include "pvkit/platforms/host/machine/mm_invariants.h"

namespace pvkit {
namespace {

using host::make_pte;
using host::MmWorld;

TEST(Teardown, RefusesRunningDomainAndIsIdempotentWhenDead) {
  MmWorld w;
  Domain& d = w.domain(1);
  EXPECT_EQ(domain_teardown_step(w.mm, d).error(), Errno::Inval);
  ASSERT_TRUE(w.domains.begin_destroy(d.id));
  EXPECT_TRUE(domain_teardown_step(w.mm, d));
  EXPECT_EQ(d.state.load(), DomainState::Dead);
  EXPECT_TRUE(domain_teardown_step(w.mm, d));
  EXPECT_TRUE(w.domains.release(DomId{1}));
}

TEST(Teardown, ReleasesEverythingInBoundedSteps) {
  MmWorld w(192, 4, 64);
  Domain& d = w.domain(1);
  Domain& peer = w.domain(2);
  auto& b = w.builder(d);
  for (int i = 0; i < 8; ++i) b.map(VirtAddr{0x400000u + 0x200000u * i}, b.alloc(), i % 2 == 0);
  ASSERT_TRUE(b.pin_and_load(VcpuId{0}));
  ASSERT_TRUE(w.run([&] { return w.mm.new_baseptr(d, VcpuId{1}, b.root()); }));
  Mfn extra_l1 = b.alloc();
  ASSERT_TRUE(w.run([&] { return w.mm.pin(d, extra_l1, PageType::L1); }));
  // d maps a frame granted by peer (the grant table holds the references).
  auto& pb = w.builder(peer);
  Mfn granted = pb.alloc();
  ASSERT_TRUE(grant_get_frame(w.mm, granted, peer, true));
  MachAddr slot{to_maddr(b.table(VirtAddr{0x400000}, 1)).value() + 8 * 7};
  ASSERT_TRUE(grant_install_pte(w.mm, d, slot, granted, {}).ok());
  host::ExtraRefs extra{{granted.value(), {1, 1}}};
  ASSERT_EQ(host::check_mm_invariants(w.machine, w.mm, w.domains, &extra), "");

  ASSERT_TRUE(w.domains.begin_destroy(d.id));
  int steps = 0;
  Status s;
  while ((s = domain_teardown_step(w.mm, d)).is_restart()) {
    ++steps;
    ASSERT_EQ(host::check_mm_invariants(w.machine, w.mm, w.domains, &extra), "") << "step " << steps;
  }
  ASSERT_TRUE(s);
  EXPECT_GT(steps, 5);
  EXPECT_EQ(d.state.load(), DomainState::Dead);
  EXPECT_EQ(d.tot_pages, 0u);
  EXPECT_EQ(w.mm.implicit_grant_unmaps(), 1u);
  // The peer's frame is still held by the grant table only; releasing it restores it.
  EXPECT_EQ(w.machine.frame_db().info(granted)->refcount, 2u);
  grant_put_frame(w.mm, granted, true);
  EXPECT_EQ(w.machine.frame_db().info(granted)->refcount, 1u);
  EXPECT_EQ(w.machine.frame_db().info(granted)->type_count, 0u);
  w.machine.frame_db().for_each([&](Mfn m, FrameInfo& f) {
    if (f.owner != &peer && !f.xen) {
      EXPECT_EQ(f.refcount, 0u) << m.value();
      EXPECT_EQ(f.owner, nullptr) << m.value();
    }
  });
  EXPECT_TRUE(w.domains.release(DomId{1}));
  EXPECT_EQ(host::check_mm_invariants(w.machine, w.mm, w.domains), "");
}

}  // namespace
}  // namespace pvkit
