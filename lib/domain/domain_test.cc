#include "pvkit/domain/domain_table.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>
#include <set>

namespace pvkit {
namespace {

TEST(DomainTable, CreateFindRelease) {
  DomainTable<2> t;
  auto a = t.create(DomId{1}, {.max_pages = 10, .nr_vcpus = 2});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ((*a)->id, DomId{1});
  EXPECT_EQ((*a)->nr_vcpus, 2u);
  EXPECT_TRUE((*a)->is_running());
  EXPECT_EQ(t.find(DomId{1}), *a);
  EXPECT_EQ(t.find(DomId{2}), nullptr);
  EXPECT_EQ(t.size(), 1u);
  EXPECT_EQ(t.release(DomId{1}).error(), Errno::Busy);  // still running
  ASSERT_TRUE(t.begin_destroy(DomId{1}));
  EXPECT_TRUE((*a)->is_dying());
  EXPECT_EQ(t.find(DomId{1}), *a);  // Dying domains are still found
  (*a)->state.store(DomainState::Dead);
  EXPECT_EQ(t.find(DomId{1}), nullptr);
  EXPECT_TRUE(t.release(DomId{1}));
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.release(DomId{1}).error(), Errno::Srch);
}

TEST(DomainTable, RefusesBadCreation) {
  DomainTable<2> t;
  EXPECT_EQ(t.create(kDomidSelf, {}).status().error(), Errno::Inval);
  EXPECT_EQ(t.create(DomId{3}, {.nr_vcpus = 0}).status().error(), Errno::Inval);
  EXPECT_EQ(t.create(DomId{3}, {.nr_vcpus = kMaxVcpusPerDomain + 1}).status().error(), Errno::Inval);
  EXPECT_EQ(t.create(DomId{3}, {.has_target = true, .target = DomId{3}}).status().error(), Errno::Inval);
  ASSERT_TRUE(t.create(DomId{3}, {}).ok());
  EXPECT_EQ(t.create(DomId{3}, {}).status().error(), Errno::Exist);
  ASSERT_TRUE(t.create(DomId{4}, {}).ok());
  EXPECT_EQ(t.create(DomId{5}, {}).status().error(), Errno::NoSpc);
  EXPECT_EQ(t.begin_destroy(DomId{9}).error(), Errno::Srch);
}

TEST(Domain, Privilege) {
  DomainTable<4> t;
  Domain* dom0 = *t.create(DomId{0}, {.privileged = true});
  Domain* stub = *t.create(DomId{1}, {.has_target = true, .target = DomId{2}});
  Domain* u2 = *t.create(DomId{2}, {});
  Domain* u3 = *t.create(DomId{3}, {});
  EXPECT_TRUE(dom0->can_act_on(*u2));
  EXPECT_TRUE(stub->can_act_on(*u2));
  EXPECT_FALSE(stub->can_act_on(*u3));
  EXPECT_FALSE(u2->can_act_on(*u3));
  EXPECT_FALSE(u2->can_act_on(*dom0));
  EXPECT_TRUE(u2->can_act_on(*u2));
  EXPECT_TRUE(u2->valid_vcpu(VcpuId{0}));
  EXPECT_FALSE(u2->valid_vcpu(VcpuId{1}));
}


// The table is a global of the PC image: it must be constant-initialised (no static constructor).
constinit DomainTable<4> g_constant_table;

TEST(DomainTable, ConstantInitialisedGlobalWorks) {
  EXPECT_EQ(g_constant_table.size(), 0u);
  EXPECT_EQ(g_constant_table.find(DomId{0}), nullptr);
  auto d = g_constant_table.create(DomId{0}, {.privileged = true});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(g_constant_table.find(DomId{0}), *d);
  (*d)->state.store(DomainState::Dead);
  EXPECT_TRUE(g_constant_table.release(DomId{0}));
  EXPECT_EQ(g_constant_table.size(), 0u);
}

TEST(DomainTable, CreateResetsARecycledSlot) {
  DomainTable<1> t;
  Domain* a = *t.create(DomId{7}, {.privileged = true, .max_pages = 5, .nr_vcpus = 3});
  a->tot_pages = 4;
  a->vcpu_mm[1].has_kernel_root = true;
  a->teardown_phase = 2;
  a->teardown_cursor = 99;
  a->state.store(DomainState::Dead);
  ASSERT_TRUE(t.release(DomId{7}));
  Domain* b = *t.create(DomId{8}, {.max_pages = 9});
  EXPECT_EQ(b, a);  // the only slot, reused
  EXPECT_EQ(b->id, DomId{8});
  EXPECT_FALSE(b->privileged);
  EXPECT_EQ(b->max_pages, 9u);
  EXPECT_EQ(b->tot_pages, 0u);
  EXPECT_EQ(b->nr_vcpus, 1u);
  EXPECT_FALSE(b->vcpu_mm[1].has_kernel_root);
  EXPECT_EQ(b->teardown_phase, 0u);
  EXPECT_EQ(b->teardown_cursor, 0u);
  EXPECT_TRUE(b->is_running());
  EXPECT_EQ(t.find(DomId{7}), nullptr);
}

TEST(DomainTable, IdsAcrossTheWholeOrdinaryRange) {
  DomainTable<3> t;
  const DomId lo{0}, hi{kDomidFirstReserved - 1}, mid{0x1234};
  Domain* a = *t.create(lo, {});
  Domain* b = *t.create(hi, {});
  Domain* c = *t.create(mid, {});
  EXPECT_EQ(t.find(lo), a);
  EXPECT_EQ(t.find(hi), b);
  EXPECT_EQ(t.find(mid), c);
  EXPECT_EQ(t.find(DomId{1}), nullptr);
  EXPECT_EQ(t.find(DomId{kDomidFirstReserved - 2}), nullptr);
  std::set<std::uint16_t> seen;
  t.for_each([&](Domain& d) { seen.insert(d.id.value()); });
  EXPECT_EQ(seen, (std::set<std::uint16_t>{lo.value(), mid.value(), hi.value()}));
}

// Reserved ids (DOMID_SELF, DOMID_IO, ..., DOMID_IDLE, and every value above) never name a
// table slot: they must not index past the DomId index, and every operation refuses them.
TEST(DomainTableAdversarial, ReservedAndOutOfRangeIdsAreRefused) {
  DomainTable<2> t;
  ASSERT_TRUE(t.create(DomId{1}, {}).ok());
  for (std::uint32_t v = kDomidFirstReserved; v <= 0xFFFF; ++v) {
    const DomId id{static_cast<std::uint16_t>(v)};
    ASSERT_EQ(t.create(id, {}).status().error(), Errno::Inval) << v;
    ASSERT_EQ(t.find(id), nullptr) << v;
    ASSERT_EQ(t.begin_destroy(id).error(), Errno::Srch) << v;
    ASSERT_EQ(t.release(id).error(), Errno::Srch) << v;
  }
  EXPECT_EQ(t.size(), 1u);
  EXPECT_NE(t.find(DomId{1}), nullptr);
}

TEST(DomainTableAdversarial, DoubleReleaseAndReleaseOfUnknownIds) {
  DomainTable<2> t;
  Domain* a = *t.create(DomId{3}, {});
  Domain* b = *t.create(DomId{4}, {});
  EXPECT_EQ(t.release(DomId{5}).error(), Errno::Srch);  // never created
  a->state.store(DomainState::Dead);
  ASSERT_TRUE(t.release(DomId{3}));
  EXPECT_EQ(t.release(DomId{3}).error(), Errno::Srch);  // double release
  EXPECT_EQ(t.release(DomId{3}).error(), Errno::Srch);
  EXPECT_EQ(t.size(), 1u);  // the free list holds the slot once: exactly one more create fits
  ASSERT_TRUE(t.create(DomId{6}, {}).ok());
  EXPECT_EQ(t.create(DomId{7}, {}).status().error(), Errno::NoSpc);
  EXPECT_EQ(t.find(DomId{4}), b);
  EXPECT_TRUE(b->is_running());
}

// Xen does not reuse a domid while a zombie (a Dead domain something still refers to) holds it:
// the id stays taken until release, and the zombie is invisible to find.
TEST(DomainTableAdversarial, ZombieKeepsItsDomidUntilReleased) {
  DomainTable<2> t;
  Domain* a = *t.create(DomId{3}, {});
  ASSERT_TRUE(t.begin_destroy(DomId{3}));
  EXPECT_EQ(t.release(DomId{3}).error(), Errno::Busy);  // Dying is not Dead
  a->state.store(DomainState::Dead);
  EXPECT_EQ(t.find(DomId{3}), nullptr);
  EXPECT_EQ(t.begin_destroy(DomId{3}).error(), Errno::Srch);
  EXPECT_EQ(t.create(DomId{3}, {}).status().error(), Errno::Exist);
  EXPECT_EQ(t.size(), 1u);
  ASSERT_TRUE(t.release(DomId{3}));
  auto again = t.create(DomId{3}, {});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)->is_running());
}

TEST(DomainTableAdversarial, FullTableRefusesAndRecovers) {
  DomainTable<4> t;
  Domain* d[4];
  for (std::uint16_t i = 0; i < 4; ++i) d[i] = *t.create(DomId{static_cast<std::uint16_t>(10 * i)}, {});
  EXPECT_EQ(t.create(DomId{99}, {}).status().error(), Errno::NoSpc);
  EXPECT_EQ(t.create(DomId{10}, {}).status().error(), Errno::Exist);  // duplicate still Exist
  EXPECT_EQ(t.find(DomId{99}), nullptr);
  d[2]->state.store(DomainState::Dead);
  ASSERT_TRUE(t.release(DomId{20}));
  Domain* e = *t.create(DomId{99}, {});
  EXPECT_EQ(e, d[2]);  // the released slot
  EXPECT_EQ(t.create(DomId{100}, {}).status().error(), Errno::NoSpc);
  EXPECT_EQ(t.find(DomId{0}), d[0]);
  EXPECT_EQ(t.find(DomId{10}), d[1]);
  EXPECT_EQ(t.find(DomId{30}), d[3]);
  EXPECT_EQ(t.find(DomId{99}), e);
  EXPECT_EQ(t.find(DomId{20}), nullptr);
}

// Random create / destroy / release / find against a reference model, on a table with more
// than 255 slots (two-byte slot numbers) and one with a few (one-byte), ids anywhere in range.
template <std::size_t kCap>
void churn_against_model(std::uint32_t seed) {
  static DomainTable<kCap> t;  // static: large
  std::map<std::uint16_t, Domain*> live;  // created and not released (any state)
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::uint32_t> pick_id(0, kDomidFirstReserved - 1);
  for (int step = 0; step < 20000; ++step) {
    const std::uint32_t what = rng() % 4;
    DomId id{static_cast<std::uint16_t>(pick_id(rng))};
    if (!live.empty() && rng() % 2 == 0) {  // act on an existing domain half of the time
      auto it = live.begin();
      std::advance(it, rng() % live.size());
      id = DomId{it->first};
    }
    const auto known = live.find(id.value());
    switch (what) {
      case 0: {
        auto r = t.create(id, {});
        if (known != live.end()) {
          ASSERT_EQ(r.status().error(), Errno::Exist);
        } else if (live.size() == kCap) {
          ASSERT_EQ(r.status().error(), Errno::NoSpc);
        } else {
          ASSERT_TRUE(r.ok());
          live[id.value()] = *r;
        }
        break;
      }
      case 1:  // destroy completely (Dead)
        if (known != live.end()) {
          (void)t.begin_destroy(id);
          known->second->state.store(DomainState::Dead);
        }
        break;
      case 2: {
        Status s = t.release(id);
        if (known == live.end()) {
          ASSERT_EQ(s.error(), Errno::Srch);
        } else if (known->second->state.load() != DomainState::Dead) {
          ASSERT_EQ(s.error(), Errno::Busy);
        } else {
          ASSERT_TRUE(s);
          live.erase(known);
        }
        break;
      }
      default: {
        Domain* d = t.find(id);
        if (known == live.end() || known->second->state.load() == DomainState::Dead) {
          ASSERT_EQ(d, nullptr);
        } else {
          ASSERT_EQ(d, known->second);
          ASSERT_EQ(d->id, id);
        }
      }
    }
    ASSERT_EQ(t.size(), live.size());
  }
  std::set<Domain*> slots;
  std::size_t visited = 0;
  t.for_each([&](Domain& d) {
    ++visited;
    slots.insert(&d);
    auto it = live.find(d.id.value());
    ASSERT_NE(it, live.end());
    EXPECT_EQ(it->second, &d);
  });
  EXPECT_EQ(visited, live.size());
  EXPECT_EQ(slots.size(), live.size());  // no slot shared by two ids
}

TEST(DomainTable, ChurnMatchesModelSmallTable) { churn_against_model<6>(1); }
TEST(DomainTable, ChurnMatchesModelLargeTable) { churn_against_model<300>(2); }

}  // namespace
}  // namespace pvkit
