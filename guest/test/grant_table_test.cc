// The granter side of a v1 grant table, with the test playing the hypervisor on the shared
// entries: publication order, revoke-only-when-unused, reserved refs, exhaustion, and a
// mapper racing the revoke.
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "pvkit/guest/grant_table.h"

namespace g = pvkit::guest;
namespace x = pvkit::guest::xen;
using pvkit::Errno;

namespace {

class GrantTableTest : public testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(gt_.attach(entries_.data(), 32)); }
  std::vector<x::GrantEntryV1> entries_ = std::vector<x::GrantEntryV1>(32);
  g::GrantTable<64> gt_;
};

TEST_F(GrantTableTest, GrantWritesDomidFrameAndFlags) {
  auto ref = gt_.grant(7, 0xabcde, false);
  ASSERT_TRUE(ref);
  EXPECT_GE(*ref, x::kGnttabNrReservedEntries);
  EXPECT_EQ(entries_[*ref].domid, 7);
  EXPECT_EQ(entries_[*ref].frame, 0xabcdeu);
  EXPECT_EQ(entries_[*ref].flags, x::kGtfPermitAccess);
  auto ro = gt_.grant(7, 1, true);
  ASSERT_TRUE(ro);
  EXPECT_NE(*ro, *ref);
  EXPECT_EQ(entries_[*ro].flags, x::kGtfPermitAccess | x::kGtfReadonly);
}

TEST_F(GrantTableTest, RevokeOnlyWhenNotInUse) {
  auto ref = gt_.grant(3, 0x42, false);
  ASSERT_TRUE(ref);
  // The hypervisor maps it: GTF_reading | GTF_writing.
  entries_[*ref].flags |= x::kGtfReading | x::kGtfWriting;
  EXPECT_EQ(gt_.revoke(*ref).error(), Errno::Busy);
  entries_[*ref].flags &= ~x::kGtfWriting;  // still mapped read-only somewhere
  EXPECT_EQ(gt_.revoke(*ref).error(), Errno::Busy);
  EXPECT_EQ(entries_[*ref].flags & x::kGtfTypeMask, x::kGtfPermitAccess) << "still granted";
  entries_[*ref].flags &= ~x::kGtfReading;  // unmapped
  EXPECT_TRUE(gt_.revoke(*ref));
  EXPECT_EQ(entries_[*ref].flags, 0);
  // Revoking twice: the entry grants nothing any more.
  EXPECT_EQ(gt_.end_access(*ref).error(), Errno::Inval);
}

TEST_F(GrantTableTest, ReservedAndOutOfRangeRefsAreRefused) {
  for (x::GrantRef r = 0; r < x::kGnttabNrReservedEntries; ++r) {
    EXPECT_EQ(gt_.grant_access(r, 1, 1, false).error(), Errno::Inval);
    EXPECT_EQ(gt_.end_access(r).error(), Errno::Inval);
  }
  EXPECT_EQ(gt_.grant_access(32, 1, 1, false).error(), Errno::Inval);
  EXPECT_EQ(gt_.grant_access(0xFFFFFFFF, 1, 1, false).error(), Errno::Inval);
  EXPECT_EQ(gt_.end_access(32).error(), Errno::Inval);
  for (x::GrantRef r = 0; r < 8; ++r) EXPECT_EQ(entries_[r].flags, 0);
}

TEST_F(GrantTableTest, FrameMustFitV1AndALiveEntryIsNotOverwritten) {
  EXPECT_EQ(gt_.grant_access(10, 1, std::uint64_t{1} << 32, false).error(), Errno::Overflow);
  ASSERT_TRUE(gt_.grant_access(10, 1, 5, false));
  EXPECT_EQ(gt_.grant_access(10, 2, 6, false).error(), Errno::Busy);
  EXPECT_EQ(entries_[10].domid, 1);
  EXPECT_EQ(entries_[10].frame, 5u);
}

TEST_F(GrantTableTest, ExhaustionAndRelease) {
  std::vector<x::GrantRef> refs;
  for (;;) {
    auto r = gt_.grant(1, refs.size(), false);
    if (!r) {
      EXPECT_EQ(r.status().error(), Errno::NoSpc);
      break;
    }
    refs.push_back(*r);
  }
  EXPECT_EQ(refs.size(), 32u - x::kGnttabNrReservedEntries);
  ASSERT_TRUE(gt_.revoke(refs[3]));
  auto again = gt_.grant(1, 99, false);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, refs[3]);
}

TEST_F(GrantTableTest, AttachRefusesBadTables) {
  g::GrantTable<64> t;
  EXPECT_EQ(t.attach(nullptr, 16).error(), Errno::Inval);
  EXPECT_EQ(t.attach(entries_.data(), 8).error(), Errno::Inval);  // only reserved entries
  EXPECT_EQ(t.attach(entries_.data(), 65).error(), Errno::Inval);
  EXPECT_EQ(t.grant_access(9, 1, 1, false).error(), Errno::Inval);  // not attached
  EXPECT_FALSE(t.claim());
}

// A mapper that sets GTF_reading by compare-exchange (as Xen does) races the revoke. Either the
// revoke wins (the entry is 0 and the mapper never got in) or the mapper wins (the revoke says
// Busy and the entry is still granted). Never both.
TEST_F(GrantTableTest, RevokeRacingAMapperNeverLosesAMapping) {
  for (int round = 0; round < 200; ++round) {
    auto ref = gt_.grant(4, 0x77, false);
    ASSERT_TRUE(ref);
    std::uint16_t* flags = &entries_[*ref].flags;
    std::atomic<bool> go{false};
    bool mapped = false;
    std::thread mapper([&] {
      while (!go.load()) {
      }
      std::uint16_t f = __atomic_load_n(flags, __ATOMIC_ACQUIRE);
      while ((f & x::kGtfTypeMask) == x::kGtfPermitAccess) {
        if (__atomic_compare_exchange_n(flags, &f, static_cast<std::uint16_t>(f | x::kGtfReading),
                                        false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
          mapped = true;
          break;
        }
      }
    });
    go.store(true);
    const pvkit::Status s = gt_.revoke(*ref);
    mapper.join();
    if (mapped) {
      EXPECT_EQ(s.error(), Errno::Busy);
      EXPECT_EQ(*flags & x::kGtfTypeMask, x::kGtfPermitAccess);
      *flags &= ~x::kGtfReading;  // the mapper unmaps
      ASSERT_TRUE(gt_.revoke(*ref));
    } else {
      EXPECT_TRUE(s);
      EXPECT_EQ(*flags, 0);
    }
  }
}

}  // namespace
