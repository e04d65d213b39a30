// Tests for pvkit/base: strong types, status values, element-wise guest array access.
#include <cstdint>

#include <gtest/gtest.h>

#include "pvkit/base/guest_memory.h"
#include "pvkit/base/spinlock.h"
#include "pvkit/base/status.h"
#include "pvkit/base/types.h"
#include "pvkit/platforms/host/flat_guest_memory.h"

namespace pvkit {
namespace {

TEST(StrongId, ComparesAndKeepsValue) {
  Mfn a{5}, b{7};
  EXPECT_LT(a, b);
  EXPECT_EQ(a, Mfn{5});
  EXPECT_EQ(b.value(), 7u);
  static_assert(!std::is_convertible_v<Mfn, Gfn>, "address spaces must not mix");
  static_assert(!std::is_convertible_v<std::uint64_t, Mfn>, "construction is explicit");
}

TEST(Status, GuestValueIsNegatedXenErrno) {
  EXPECT_EQ(Status::ok().guest_value(), 0);
  EXPECT_EQ(Status{Errno::NoSys}.guest_value(), -38);
  EXPECT_EQ(Status{Errno::Inval}.guest_value(), -22);
  EXPECT_FALSE(Status{Errno::Fault});
  EXPECT_TRUE(Status{Errno::Restart}.is_restart());
}

TEST(Result, CarriesValueOrError) {
  Result<int> r{42};
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 42);
  Result<int> e{Errno::NoSpc};
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(e.status().error(), Errno::NoSpc);
}

TEST(GuestElementAddress, RejectsOverflow) {
  EXPECT_FALSE(guest_element_address(VirtAddr{UINT64_MAX - 4}, 1, 8).ok());
  EXPECT_FALSE(guest_element_address(VirtAddr{0x1000}, UINT64_MAX / 8 + 1, 8).ok());
  auto a = guest_element_address(VirtAddr{0x1000}, 3, 8);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->value(), 0x1018u);
}

// Invariant 4: a guest array is checked per element, not only at its base.
TEST(GuestArray, Invariant4_EachElementIsCheckedNotOnlyTheBase) {
  host::FlatGuestMemory mem;
  auto* p = mem.map(VirtAddr{0x10000}, 16);  // room for exactly two u64
  reinterpret_cast<std::uint64_t*>(p)[1] = 0xABCD;
  GuestArray<std::uint64_t> arr{{VirtAddr{0x10000}}, 4};  // guest claims four elements
  std::uint64_t v = 0;
  EXPECT_TRUE(arr.read(mem, 1, v));
  EXPECT_EQ(v, 0xABCDu);
  EXPECT_EQ(arr.read(mem, 2, v).error(), Errno::Fault);  // beyond the mapping
  EXPECT_EQ(arr.read(mem, 4, v).error(), Errno::Fault);  // beyond the count
}

TEST(FlatGuestMemory, ReadOnlyRegionRefusesWrites) {
  host::FlatGuestMemory mem;
  mem.map(VirtAddr{0x2000}, 4096, false);
  std::uint32_t v = 1;
  EXPECT_EQ(mem.copy_to_guest(VirtAddr{0x2000}, &v, 4).error(), Errno::Fault);
  EXPECT_TRUE(mem.copy_from_guest(&v, VirtAddr{0x2000}, 4));
  EXPECT_EQ(mem.copy_from_guest(&v, VirtAddr{0x2FFE}, 4).error(), Errno::Fault);  // straddles end
}

TEST(SpinLock, LockTwoIsOrderIndependent) {
  SpinLock a, b;
  lock_two(a, 2, b, 1);
  EXPECT_TRUE(a.is_locked());
  EXPECT_TRUE(b.is_locked());
  unlock_two(a, b);
  EXPECT_FALSE(a.is_locked());
  lock_two(a, 1, a, 1);  // the same lock is taken once
  EXPECT_TRUE(a.is_locked());
  unlock_two(a, a);
  EXPECT_FALSE(a.is_locked());
}

}  // namespace
}  // namespace pvkit
