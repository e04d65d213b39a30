// FramePool over heap pages (identity "physical" addresses): frames come back zeroed, LIFO,
// counted; a frame freed and re-allocated is the same frame; the pool runs dry cleanly.
#include "pvkit/platforms/pc/hv/frame_pool.h"

#include <cstdlib>
#include <cstring>
#include <set>

#include <gtest/gtest.h>

namespace pvkit::pc {
namespace {

struct Pages {
  static constexpr std::size_t kN = 8;
  void* mem = std::aligned_alloc(kPageSize, kN * kPageSize);
  ~Pages() { std::free(mem); }
  Mfn first() const { return Mfn{reinterpret_cast<std::uint64_t>(mem) >> kPageShift}; }
};

TEST(FramePool, HandsOutEveryFrameOnceZeroedThenRunsDry) {
  Pages p;
  std::memset(p.mem, 0xAB, Pages::kN * kPageSize);
  FramePool<x86::IdentityPhysMap> pool;
  pool.add_range(p.first(), Mfn{p.first().value() + Pages::kN});
  EXPECT_EQ(pool.free_frames(), Pages::kN);
  std::set<std::uint64_t> seen;
  for (std::size_t i = 0; i < Pages::kN; ++i) {
    auto m = pool.alloc();
    ASSERT_TRUE(m.has_value());
    EXPECT_TRUE(seen.insert(m->value()).second) << "frame handed out twice";
    EXPECT_GE(m->value(), p.first().value());
    EXPECT_LT(m->value(), p.first().value() + Pages::kN);
    const auto* bytes = static_cast<const std::uint8_t*>(pool.virt(*m));
    for (std::size_t b = 0; b < kPageSize; ++b) ASSERT_EQ(bytes[b], 0) << "not zeroed at " << b;
  }
  EXPECT_EQ(pool.free_frames(), 0u);
  EXPECT_FALSE(pool.alloc().has_value());
  EXPECT_EQ(pool.alloc_page(), nullptr);
}

TEST(FramePool, FreedFrameComesBackAndPageAllocatorAgrees) {
  Pages p;
  FramePool<x86::IdentityPhysMap> pool;
  pool.add_range(p.first(), Mfn{p.first().value() + 2});
  void* a = pool.alloc_page();
  ASSERT_NE(a, nullptr);
  static_cast<std::uint8_t*>(a)[100] = 7;
  const Mfn ma = pool.mfn_of(a);
  pool.free_page(a);
  EXPECT_EQ(pool.free_frames(), 2u);
  auto again = pool.alloc();
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->value(), ma.value());  // LIFO
  EXPECT_EQ(static_cast<std::uint8_t*>(pool.virt(*again))[100], 0);
}

TEST(FramePool, MoveToSetsFramesAsideWithoutZeroingAndGivesThemBack) {
  Pages p;
  FramePool<x86::IdentityPhysMap> pool, aside;
  pool.add_range(p.first(), Mfn{p.first().value() + 4});
  EXPECT_EQ(pool.move_to(aside, 3), 3u);
  EXPECT_EQ(pool.free_frames(), 1u);
  EXPECT_EQ(aside.free_frames(), 3u);
  EXPECT_EQ(pool.move_to(aside, 5), 1u);  // only what there is
  EXPECT_FALSE(pool.alloc().has_value());
  auto m = aside.alloc();
  ASSERT_TRUE(m.has_value());
  aside.free(*m);
  EXPECT_EQ(aside.move_to(pool, 10), 4u);
  EXPECT_EQ(aside.free_frames(), 0u);
  std::set<std::uint64_t> seen;
  for (int i = 0; i < 4; ++i) {
    auto f = pool.alloc();
    ASSERT_TRUE(f.has_value());
    EXPECT_TRUE(seen.insert(f->value()).second) << "frame listed twice after moving back and forth";
  }
  EXPECT_FALSE(pool.alloc().has_value());
}

}  // namespace
}  // namespace pvkit::pc
