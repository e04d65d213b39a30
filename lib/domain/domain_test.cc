#include "pvkit/domain/domain_table.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace pvkit
