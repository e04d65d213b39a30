// The hypervisor's page-table entry layout and address-space builder (host, over heap pages).
#include <cstdint>
#include <set>

#include <gtest/gtest.h>

#include "pvkit/arch/x86/mm/page_tables.h"
#include "pvkit/arch/x86/mm/pte.h"
#include "pvkit/arch/x86/mm/static_page_pool.h"
#include "pvkit/platforms/host/heap_page_allocator.h"

namespace pvkit::x86 {
namespace {

using Tables = PageTables<host::HeapPageAllocator, IdentityPhysMap>;

// The hypervisor's own tables: PageTables never frees the subtrees of the hypervisor slots
// (every address space shares them), so this allocator returns whatever is left when the
// test ends, keeping the leak checker quiet without weakening what the test asserts.
class ArenaPageAllocator {
 public:
  ~ArenaPageAllocator() {
    for (void* p : live_) heap_.free_page(p);
  }
  void* alloc_page() {
    void* p = heap_.alloc_page();
    if (p != nullptr) live_.insert(p);
    return p;
  }
  void free_page(void* p) {
    live_.erase(p);
    heap_.free_page(p);
  }
  [[nodiscard]] std::int64_t live_pages() const { return heap_.live_pages(); }

 private:
  host::HeapPageAllocator heap_;
  std::set<void*> live_;
};

TEST(Pte, FieldsSitWhereTheSdmSays) {
  EXPECT_EQ(Pte::Present::kBit, 1ull << 0);
  EXPECT_EQ(Pte::Writable::kBit, 1ull << 1);
  EXPECT_EQ(Pte::User::kBit, 1ull << 2);
  EXPECT_EQ(Pte::WriteThrough::kBit, 1ull << 3);
  EXPECT_EQ(Pte::CacheDisable::kBit, 1ull << 4);
  EXPECT_EQ(Pte::Accessed::kBit, 1ull << 5);
  EXPECT_EQ(Pte::Dirty::kBit, 1ull << 6);
  EXPECT_EQ(Pte::PageSize::kBit, 1ull << 7);
  EXPECT_EQ(Pte::Global::kBit, 1ull << 8);
  EXPECT_EQ(Pte::AvailLow::kMask, 0xE00ull);
  EXPECT_EQ(Pte::Address::kMask, 0x000FFFFFFFFFF000ull);
  EXPECT_EQ(Pte::NoExecute::kBit, 1ull << 63);
  const Pte e = Pte::leaf(0x123456000).with_writable(true).with_user(true).with_nx(true).with_avail(0x5A);
  EXPECT_EQ(e.raw(), 0x8000000123456007ull | (0x2ull << 9) | (0xBull << 52));
  EXPECT_EQ(e.address(), 0x123456000u);
  EXPECT_EQ(e.avail(), 0x5Au);
  EXPECT_TRUE(e.present() && e.writable() && e.user() && e.nx());
  EXPECT_FALSE(e.global() || e.large() || e.cache_disable() || e.write_through());
}

TEST(Pte, TableIndex) {
  const std::uint64_t va = 0xFFFF82D0FEE00000ull;
  EXPECT_EQ(table_index(va, 4), 261u);
  EXPECT_EQ(table_index(va, 3), 323u);
  EXPECT_EQ(table_index(va, 2), 503u);
  EXPECT_EQ(table_index(va, 1), 0u);
  EXPECT_EQ(table_index(0x400000, 2), 2u);
  EXPECT_EQ(level_span(2), 2ull << 20);
}

TEST(PageTables, MapLookupUnmap) {
  host::HeapPageAllocator alloc;
  IdentityPhysMap map;
  Tables t(alloc, map);
  ASSERT_TRUE(t.create(nullptr).is_ok());
  ASSERT_TRUE(t.map(0x400000, 0x1234000, PageFlags{.user = true}).is_ok());
  ASSERT_TRUE(t.map(0x801000, 0x5678000, PageFlags{.writable = true, .user = true, .nx = true}).is_ok());
  const Pte code = t.lookup(0x400000);
  EXPECT_TRUE(code.present() && code.user() && !code.writable() && !code.nx());
  EXPECT_EQ(code.address(), 0x1234000u);
  const Pte stack = t.lookup(0x801000);
  EXPECT_TRUE(stack.writable() && stack.nx());
  EXPECT_FALSE(t.lookup(0x402000).present());
  // Upper levels of a user mapping carry US and RW (the leaf decides).
  const Pte l4 = t.root()[0];
  EXPECT_TRUE(l4.present() && l4.user() && l4.writable() && !l4.nx());
  EXPECT_EQ(alloc.live_pages(), 5);  // L4 + L3 + L2 + an L1 each (0x400000 and 0x801000 differ at L2)
  auto old = t.unmap(0x400000);
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->address(), 0x1234000u);
  EXPECT_FALSE(t.lookup(0x400000).present());
  EXPECT_EQ(t.unmap(0x400000).status().error(), Errno::NoEnt);
  t.destroy();
  EXPECT_EQ(alloc.live_pages(), 0);
}

TEST(PageTables, SupervisorMappingsStaySupervisorAtEveryLevel) {
  host::HeapPageAllocator alloc;
  IdentityPhysMap map;
  Tables t(alloc, map);
  ASSERT_TRUE(t.create(nullptr).is_ok());
  ASSERT_TRUE(t.map(0x600000, 0x1000, PageFlags{.writable = true}).is_ok());
  EXPECT_FALSE(t.root()[0].user());
  EXPECT_FALSE(t.lookup(0x600000).user());
  t.destroy();
}

TEST(PageTablesAdversarial, UserPagesNeverInHypervisorSlots) {
  host::HeapPageAllocator alloc;
  IdentityPhysMap map;
  Tables t(alloc, map);
  ASSERT_TRUE(t.create(nullptr).is_ok());
  for (std::uint64_t va : {0xFFFF800000000000ull, 0xFFFF82D000100000ull, 0xFFFF87FFFFFFF000ull}) {
    EXPECT_EQ(t.map(va, 0x1000, PageFlags{.user = true}).error(), Errno::Inval) << std::hex << va;
  }
  EXPECT_TRUE(t.map(0xFFFF880000000000ull, 0x1000, PageFlags{.user = true}).is_ok());  // slot 272: guest
  t.destroy();  // frees the guest's upper-half tables too
  EXPECT_EQ(alloc.live_pages(), 0);
}

TEST(PageTablesAdversarial, UserMappingNeverWidensASupervisorBranch) {
  host::HeapPageAllocator alloc;
  IdentityPhysMap map;
  Tables t(alloc, map);
  ASSERT_TRUE(t.create(nullptr).is_ok());
  ASSERT_TRUE(t.map(0x600000, 0x1000, PageFlags{}).is_ok());
  EXPECT_EQ(t.map(0x601000, 0x2000, PageFlags{.user = true}).error(), Errno::Inval);
  EXPECT_FALSE(t.root()[0].user());
  t.destroy();
}

TEST(PageTablesAdversarial, BadArgumentsAndConflicts) {
  host::HeapPageAllocator alloc;
  IdentityPhysMap map;
  Tables t(alloc, map);
  EXPECT_EQ(t.map(0x400000, 0x1000, PageFlags{}).error(), Errno::Inval);  // no root yet
  ASSERT_TRUE(t.create(nullptr).is_ok());
  EXPECT_EQ(t.create(nullptr).error(), Errno::Exist);
  EXPECT_EQ(t.map(0x400010, 0x1000, PageFlags{}).error(), Errno::Inval);
  EXPECT_EQ(t.map(0x400000, 0x1001, PageFlags{}).error(), Errno::Inval);
  EXPECT_EQ(t.map(0x0000800000000000ull, 0x1000, PageFlags{}).error(), Errno::Inval);
  EXPECT_EQ(t.map(0x400000, 1ull << 52, PageFlags{}).error(), Errno::Inval);
  ASSERT_TRUE(t.map(0x400000, 0x1000, PageFlags{}).is_ok());
  EXPECT_EQ(t.map(0x400000, 0x2000, PageFlags{}).error(), Errno::Exist);
  EXPECT_EQ(t.lookup(0x400000).address(), 0x1000u) << "a refused map must not change the entry";
  t.destroy();
  EXPECT_EQ(alloc.live_pages(), 0);
}

TEST(PageTablesAdversarial, LargePageInTheWayIsBusy) {
  host::HeapPageAllocator alloc;
  IdentityPhysMap map;
  Tables t(alloc, map);
  ASSERT_TRUE(t.create(nullptr).is_ok());
  ASSERT_TRUE(t.map(0x200000, 0x1000, PageFlags{}).is_ok());
  // Turn the L2 entry covering 0x400000 into a 2 MiB page by hand.
  auto* l3 = reinterpret_cast<Pte*>(t.root()[0].address());
  auto* l2 = reinterpret_cast<Pte*>(l3[0].address());
  l2[2] = Pte::leaf(0x40000000).with_large(true);
  EXPECT_EQ(t.map(0x401000, 0x2000, PageFlags{}).error(), Errno::Busy);
  EXPECT_TRUE(t.lookup(0x4AB000).large());
  EXPECT_EQ(t.lookup(0x4AB000).address(), 0x40000000u);
  l2[2] = Pte{};
  t.destroy();
  EXPECT_EQ(alloc.live_pages(), 0);
}

TEST(PageTablesAdversarial, OutOfMemoryLeavesNoPartialMapping) {
  host::HeapPageAllocator alloc;
  IdentityPhysMap map;
  Tables t(alloc, map);
  alloc.set_limit(2);
  ASSERT_TRUE(t.create(nullptr).is_ok());
  EXPECT_EQ(t.map(0x400000, 0x1000, PageFlags{}).error(), Errno::NoMem);
  EXPECT_FALSE(t.lookup(0x400000).present());
  t.destroy();
  EXPECT_EQ(alloc.live_pages(), 0);
}

TEST(PageTables, SharesHypervisorSlotsAndNeverFreesThem) {
  ArenaPageAllocator hv_alloc;
  host::HeapPageAllocator alloc;
  IdentityPhysMap map;
  PageTables<ArenaPageAllocator, IdentityPhysMap> hv(hv_alloc, map);
  ASSERT_TRUE(hv.create(nullptr).is_ok());
  ASSERT_TRUE(hv.map(0xFFFF82D000100000ull, 0x100000, PageFlags{.writable = true, .global = true}).is_ok());
  Tables guest(alloc, map);
  ASSERT_TRUE(guest.create(hv.root()).is_ok());
  for (unsigned s = kHvFirstL4Slot; s <= kHvLastL4Slot; ++s) EXPECT_EQ(guest.root()[s], hv.root()[s]) << s;
  for (unsigned s = 0; s < 512; ++s) {
    if (s < kHvFirstL4Slot || s > kHvLastL4Slot) EXPECT_FALSE(guest.root()[s].present()) << s;
  }
  EXPECT_EQ(guest.lookup(0xFFFF82D000100000ull).address(), 0x100000u);
  // A hypervisor mapping added later below an existing slot is visible in the guest space.
  ASSERT_TRUE(hv.map(0xFFFF82D0FEE00000ull, 0xFEE00000, PageFlags{.writable = true, .cache_disable = true}).is_ok());
  EXPECT_TRUE(guest.lookup(0xFFFF82D0FEE00000ull).cache_disable());
  ASSERT_TRUE(guest.map(0x400000, 0x1000, PageFlags{.user = true}).is_ok());
  const auto hv_pages = hv_alloc.live_pages();
  guest.destroy();
  EXPECT_EQ(alloc.live_pages(), 0);
  EXPECT_EQ(hv_alloc.live_pages(), hv_pages);
  hv.destroy();
}

TEST(StaticPagePool, ZeroedReusedAndBounded) {
  static StaticPagePool<2> pool;
  void* a = pool.alloc_page();
  void* b = pool.alloc_page();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(a) % 4096, 0u);
  EXPECT_EQ(pool.alloc_page(), nullptr);
  static_cast<std::uint8_t*>(a)[100] = 7;
  pool.free_page(a);
  void* c = pool.alloc_page();
  EXPECT_EQ(c, a);
  EXPECT_EQ(static_cast<std::uint8_t*>(c)[100], 0);
  EXPECT_EQ(static_cast<std::uint8_t*>(c)[0], 0);  // the free-list link is wiped too
  EXPECT_EQ(pool.live_pages(), 2u);
}

}  // namespace
}  // namespace pvkit::x86
