// Regression tests for bugs the system fuzzer and the stress test found, replayed
// deterministically through the same PvSystem (real hypercall table, lib/mm, lib/event,
// lib/grant). Each is named after the invariant it defends.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

#include "tests/fuzz/pv_system.h"

namespace pvkit::robustness {
namespace {

constexpr std::uint64_t kOps = PvSystem::kArgVa;

struct Sys : PvSystem {
  template <typename T>
  std::int64_t gnttab(DomId d, std::uint32_t cmd, T& op) {
    std::memcpy(mem(d, VcpuId{0}).host_ptr(VirtAddr{kOps}), &op, sizeof op);
    HypercallArgs a;
    a.nr = xen::hc::kGrantTableOp;
    a.a = {cmd, kOps, 1, 0, 0};
    const std::int64_t rc = hypercall(d, VcpuId{0}, a);
    std::memcpy(&op, mem(d, VcpuId{0}).host_ptr(VirtAddr{kOps}), sizeof op);
    return rc;
  }
  std::int64_t set_version(DomId d, std::uint32_t v) {
    xen::GnttabSetVersion op{v};
    return gnttab(d, xen::kGnttabOpSetVersion, op);
  }
  // d grants `ref` (v1 layout) to `to`: domid and frame, then flags.
  void grant_v1(DomId d, std::uint32_t ref, DomId to, Mfn frame) {
    auto* e = reinterpret_cast<xen::GrantEntryV1*>(grants().shared_frame(d, 0) + ref * 8);
    e->domid = to.value();
    e->frame = static_cast<std::uint32_t>(frame.value());
    __atomic_store_n(&e->flags, xen::kGtfPermitAccess, __ATOMIC_RELEASE);
  }
};

// A reserved entry (refs 0-7) may stay mapped across set_version. If the granter overwrote
// its v2 header while mapped, switching back to v1 dropped GTF_reading/GTF_writing although
// the entry is still pinned (lib/grant/grant_table_admin.h carries the status bits only for
// entries whose *current* type is permit_access). The granter then sees a free entry whose
// frame another domain still maps. Found by //tests/stress:stress_test; fixed in
// grant_table_admin.h (status bits carried over are derived from the pins).
TEST(GrantRegression, Inv20_ReservedEntryKeepsStatusBitsAcrossVersionsAfterGranterRewrite) {
  Sys s;
  ASSERT_TRUE(s.ok());
  const DomId granter{1}, mapper{0};
  s.grant_v1(granter, 5, mapper, s.data_frame(granter, 0));
  xen::GnttabMapGrantRef map{};
  map.host_addr = PvSystem::kDataVa + 5 * kPageSize;
  map.flags = xen::kGntmapHostMap | xen::kGntmapReadonly;
  map.ref = 5;
  map.dom = granter.value();
  ASSERT_EQ(s.gnttab(mapper, xen::kGnttabOpMapGrantRef, map), 0);
  ASSERT_EQ(map.status, 0);
  ASSERT_EQ(s.check(), "");
  ASSERT_EQ(s.set_version(granter, 2), 0);  // reserved entries may stay pinned
  ASSERT_EQ(s.check(), "") << "v2 status frame after the switch";
  // The (hostile) granter rewrites the header of its entry while it is mapped.
  auto* hdr = reinterpret_cast<std::uint16_t*>(s.grants().shared_frame(granter, 0) + 5 * 16);
  __atomic_store_n(hdr, std::uint16_t{0}, __ATOMIC_RELEASE);
  ASSERT_EQ(s.set_version(granter, 1), 0);
  EXPECT_EQ(s.check(), "") << "pins survived the switch back to v1, GTF_reading did not";
}

// The honest counterpart (what the disabled test above needs the fix for): a mapped reserved
// entry keeps its status bits through v1 -> v2 -> v1, and unmapping clears them.
TEST(GrantRegression, Inv20_MappedReservedEntryKeepsStatusBitsAcrossVersions) {
  Sys s;
  ASSERT_TRUE(s.ok());
  const DomId granter{2}, mapper{1};
  s.grant_v1(granter, 3, mapper, s.data_frame(granter, 1));
  xen::GnttabMapGrantRef map{};
  map.host_addr = PvSystem::kDataVa + 4 * kPageSize;
  map.flags = xen::kGntmapHostMap;
  map.ref = 3;
  map.dom = granter.value();
  ASSERT_EQ(s.gnttab(mapper, xen::kGnttabOpMapGrantRef, map), 0);
  ASSERT_EQ(map.status, 0);
  EXPECT_EQ(s.check(), "");
  ASSERT_EQ(s.set_version(granter, 2), 0);
  EXPECT_EQ(s.check(), "");
  ASSERT_EQ(s.set_version(granter, 1), 0);
  EXPECT_EQ(s.check(), "");
  xen::GnttabUnmapGrantRef unmap{};
  unmap.host_addr = map.host_addr;
  unmap.handle = map.handle;
  ASSERT_EQ(s.gnttab(mapper, xen::kGnttabOpUnmapGrantRef, unmap), 0);
  EXPECT_EQ(unmap.status, 0);
  EXPECT_EQ(s.check(), "");
  EXPECT_EQ(s.grants().pin_raw(granter, GrantRef{3}), 0u);
}

// The other direction of the same bug: a granter sets GTF_reading in its own unmapped v1
// reserved entry; set_version(2) copied it into the hypervisor-owned v2 status frame, which
// then claimed a pin that does not exist. Found by //tests/fuzz:system_fuzzer (reproducer
// tests/fuzz/corpus/system/crash-7bc45fa718c3dd5fc1affdb98fa460e9094cba63).
TEST(GrantRegression, Inv20_UnpinnedReservedEntryDoesNotCarryGranterWrittenStatusBits) {
  Sys s;
  ASSERT_TRUE(s.ok());
  const DomId granter{0};
  s.grant_v1(granter, 0, DomId{1}, s.data_frame(granter, 0));
  auto* flags = reinterpret_cast<std::uint16_t*>(s.grants().shared_frame(granter, 0));
  __atomic_store_n(flags, static_cast<std::uint16_t>(xen::kGtfPermitAccess | xen::kGtfReading), __ATOMIC_RELEASE);
  ASSERT_EQ(s.set_version(granter, 2), 0);
  EXPECT_EQ(s.check(), "");
  const auto* status = reinterpret_cast<const std::uint16_t*>(s.grants().status_frame(granter, 0));
  ASSERT_NE(status, nullptr);
  EXPECT_EQ(status[0], 0) << "v2 status frame claims a pin that does not exist";
}

}  // namespace
}  // namespace pvkit::robustness
