// Frame database: ownership, general references, allocation, transfer (invariants 12, 14).
#include "pvkit/mm/frame_db.h"

#include <gtest/gtest.h>

#include <vector>

#include "pvkit/domain/domain_table.h"

namespace pvkit {
namespace {

struct Db {
  std::vector<FrameInfo> info = std::vector<FrameInfo>(16);
  FrameDb db{std::span<FrameInfo>(info)};
  DomainTable<4> domains;
  Domain& a = **domains.create(DomId{1}, {.max_pages = 4});
  Domain& b = **domains.create(DomId{2}, {.max_pages = 2});
};

TEST(FrameDb, AssignGetPutRelease) {
  Db t;
  ASSERT_TRUE(t.db.assign(Mfn{3}, t.a));
  EXPECT_EQ(t.a.tot_pages, 1u);
  EXPECT_EQ(t.db.info(Mfn{3})->owner, &t.a);
  EXPECT_EQ(t.db.info(Mfn{3})->refcount, 1u);
  EXPECT_TRUE(t.db.get_page(Mfn{3}, &t.a));
  EXPECT_FALSE(t.db.get_page(Mfn{3}, &t.b));  // not b's
  EXPECT_FALSE(t.db.get_page(Mfn{99}, &t.a)); // no such frame
  EXPECT_EQ(t.db.info(Mfn{3})->refcount, 2u);
  ASSERT_TRUE(t.db.release_allocation(Mfn{3}, t.a));
  // Still referenced: still owned (refcount > 0 implies an owner).
  EXPECT_EQ(t.db.info(Mfn{3})->owner, &t.a);
  EXPECT_EQ(t.a.tot_pages, 1u);
  t.db.put_page(Mfn{3});
  EXPECT_EQ(t.db.info(Mfn{3})->owner, nullptr);
  EXPECT_EQ(t.a.tot_pages, 0u);
  EXPECT_EQ(t.db.release_allocation(Mfn{3}, t.a).error(), Errno::Inval);
}

TEST(FrameDb, AssignErrors) {
  Db t;
  EXPECT_EQ(t.db.assign(Mfn{16}, t.a).error(), Errno::Inval);
  ASSERT_TRUE(t.db.assign(Mfn{1}, t.b));
  EXPECT_EQ(t.db.assign(Mfn{1}, t.a).error(), Errno::Busy);
  ASSERT_TRUE(t.db.assign(Mfn{2}, t.b));
  EXPECT_EQ(t.db.assign(Mfn{4}, t.b).error(), Errno::TooBig);  // over max_pages
  t.b.state.store(DomainState::Dying);
  EXPECT_EQ(t.db.assign(Mfn{5}, t.b).error(), Errno::Perm);
}

TEST(FrameAdversarial, Inv12_HypervisorFramesNeverGuestOwned_XSA248) {
  Db t;
  ASSERT_TRUE(t.db.reserve_xen(Mfn{0}));
  EXPECT_EQ(t.db.assign(Mfn{0}, t.a).error(), Errno::Busy);
  EXPECT_FALSE(t.db.get_page(Mfn{0}, nullptr));
  EXPECT_FALSE(t.db.get_page(Mfn{0}, &t.a));
  ASSERT_TRUE(t.db.assign(Mfn{1}, t.a));
  EXPECT_EQ(t.db.reserve_xen(Mfn{1}).error(), Errno::Busy);
}

TEST(FrameAdversarial, Inv14_TransferWipesTypeState_XSA214) {
  Db t;
  ASSERT_TRUE(t.db.assign(Mfn{5}, t.a));
  FrameInfo& f = *t.db.info(Mfn{5});
  // Leftover type state of a previous use (count 0): must not survive the transfer.
  f.type = PageType::L1;
  f.next_index = 7;
  f.set_grant_pte(3, true);
  f.linear_out = 1;
  ASSERT_TRUE(t.db.transfer(Mfn{5}, t.a, t.b));
  EXPECT_EQ(f.owner, &t.b);
  EXPECT_EQ(f.type, PageType::None);
  EXPECT_FALSE(f.validated);
  EXPECT_FALSE(f.partial);
  EXPECT_FALSE(f.has_grant_ptes());
  EXPECT_EQ(f.linear_out, 0);
  EXPECT_EQ(t.a.tot_pages, 0u);
  EXPECT_EQ(t.b.tot_pages, 1u);
}

TEST(FrameAdversarial, Inv14_TransferRefusedWhileInUse_XSA214) {
  Db t;
  ASSERT_TRUE(t.db.assign(Mfn{5}, t.a));
  ASSERT_TRUE(t.db.get_page(Mfn{5}, &t.a));  // someone maps it
  EXPECT_EQ(t.db.transfer(Mfn{5}, t.a, t.b).error(), Errno::Busy);
  t.db.put_page(Mfn{5});
  t.db.info(Mfn{5})->type_count = 1;  // typed use
  EXPECT_EQ(t.db.transfer(Mfn{5}, t.a, t.b).error(), Errno::Busy);
  t.db.info(Mfn{5})->type_count = 0;
  EXPECT_EQ(t.db.transfer(Mfn{5}, t.b, t.a).error(), Errno::Inval);  // not b's
  ASSERT_TRUE(t.db.assign(Mfn{6}, t.b));
  ASSERT_TRUE(t.db.assign(Mfn{7}, t.b));
  EXPECT_EQ(t.db.transfer(Mfn{5}, t.a, t.b).error(), Errno::TooBig);
  EXPECT_EQ(t.db.info(Mfn{5})->owner, &t.a);
}

TEST(FrameAdversarial, Inv14_RefcountImpliesOwner_XSA287) {
  Db t;
  ASSERT_TRUE(t.db.assign(Mfn{2}, t.a));
  t.db.put_page(Mfn{2});  // the allocation reference: frame freed
  EXPECT_EQ(t.db.info(Mfn{2})->refcount, 0u);
  EXPECT_EQ(t.db.info(Mfn{2})->owner, nullptr);
  t.db.put_page(Mfn{2});  // a double put never underflows
  EXPECT_EQ(t.db.info(Mfn{2})->refcount, 0u);
  EXPECT_FALSE(t.db.get_page(Mfn{2}, nullptr));  // a free frame cannot be referenced
}

}  // namespace
}  // namespace pvkit
