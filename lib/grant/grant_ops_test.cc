// Every grant_table_op sub-op and its error paths, with exact GNTST / errno codes, for both
// table versions, through the real hypercall handler and a simulated platform.
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "pvkit/grant/grant_table_op.h"
#include "pvkit/grant/xen_abi.h"
#include "pvkit/hypercall/handler.h"
#include "pvkit/platforms/host/grant/grant_harness.h"

namespace pvkit {
namespace {

using host::GrantHarness;
constexpr DomId kD0{0}, kD1{1}, kD2{2};
constexpr std::int16_t kOkay = 0;
constexpr std::int64_t kEinval = -22, kEfault = -14, kEnosys = -38, kEsrch = -3, kEperm = -1;
constexpr std::uint32_t kHost = xen::kGntmapHostMap, kDev = xen::kGntmapDeviceMap, kRo = xen::kGntmapReadonly;

std::int16_t st(GrantStatus s) { return guest_value(s); }

// The handler has the dispatcher's shape and accepts the host test context.
static_assert(HypercallHandler<GrantTableOp>);
static_assert(HypercallHandlerFor<GrantTableOp, GrantHarness::Ctx>);
static_assert(GrantTableOp::kNumber == 20);

// Runs each test for both table versions where the behaviour is version-independent.
class GrantOps : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    h.platform.give_frame(Mfn{5}, kD1);
    h.platform.give_frame(Mfn{6}, kD1);
    h.platform.give_frame(Mfn{7}, kD2);
    h.platform.give_frame(Mfn{8}, kD2);
    if (GetParam() == 2) {
      ASSERT_EQ(h.set_version(kD1, 2), 0);
      ASSERT_EQ(h.set_version(kD2, 2), 0);
    }
  }
  void TearDown() override { EXPECT_EQ(h.platform.violations(), 0); }
  bool v2() const { return GetParam() == 2; }
  void grant(DomId d, std::uint32_t ref, DomId to, Mfn f, std::uint16_t flags = xen::kGtfPermitAccess) {
    if (v2()) {
      h.grant_v2(d, ref, to, f, flags);
    } else {
      h.grant_v1(d, ref, to, f, flags);
    }
  }
  GrantHarness h;
};
INSTANTIATE_TEST_SUITE_P(BothVersions, GrantOps, ::testing::Values(1, 2));

// ---- setup_table / query_size / versions ------------------------------------------------

TEST_P(GrantOps, SetupTableGrowsAndListsFrames) {
  std::vector<xen::GnttabSetupTable> op(1);
  op[0].dom = kDomidSelf.value();
  op[0].nr_frames = 3;
  op[0].frame_list = GrantHarness::kList.value();
  ASSERT_EQ(h.op(kD1, xen::kGnttabOpSetupTable, op), 0);
  EXPECT_EQ(op[0].status, kOkay);
  EXPECT_EQ(h.gt->nr_frames(kD1), 3u);
  auto* list = reinterpret_cast<std::uint64_t*>(h.mem[1]->host_ptr(GrantHarness::kList));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(h.platform.table_page(Mfn{list[i]}), h.gt->shared_frame(kD1, i)) << i;
    EXPECT_TRUE(h.platform.is_shared(Mfn{list[i]}));
  }
  // Shrinking is not a thing: asking for fewer frames lists the first ones.
  op[0].nr_frames = 1;
  ASSERT_EQ(h.op(kD1, xen::kGnttabOpSetupTable, op), 0);
  EXPECT_EQ(op[0].status, kOkay);
  EXPECT_EQ(h.gt->nr_frames(kD1), 3u);
}

TEST_P(GrantOps, SetupTableErrors) {
  std::vector<xen::GnttabSetupTable> op(1);
  op[0].dom = kD1.value();
  op[0].frame_list = GrantHarness::kList.value();
  op[0].nr_frames = 5;  // max is 4
  ASSERT_EQ(h.op(kD1, xen::kGnttabOpSetupTable, op), 0);
  EXPECT_EQ(op[0].status, st(GrantStatus::GeneralError));
  op[0].nr_frames = 1;
  op[0].dom = 7;  // not created
  ASSERT_EQ(h.op(kD1, xen::kGnttabOpSetupTable, op), 0);
  EXPECT_EQ(op[0].status, st(GrantStatus::BadDomain));
  op[0].dom = 0x7FF5;  // reserved id
  ASSERT_EQ(h.op(kD1, xen::kGnttabOpSetupTable, op), 0);
  EXPECT_EQ(op[0].status, st(GrantStatus::BadDomain));
  op[0].dom = kD2.value();  // no privilege over d2
  ASSERT_EQ(h.op(kD1, xen::kGnttabOpSetupTable, op), 0);
  EXPECT_EQ(op[0].status, st(GrantStatus::PermissionDenied));
  h.platform.set_controls(kD1, kD2);
  ASSERT_EQ(h.op(kD1, xen::kGnttabOpSetupTable, op), 0);
  EXPECT_EQ(op[0].status, kOkay);
  // A frame list the guest cannot write: bad_virt_addr in the status.
  op[0].dom = kD1.value();
  op[0].frame_list = 0xdead0000;
  ASSERT_EQ(h.op(kD1, xen::kGnttabOpSetupTable, op), 0);
  EXPECT_EQ(op[0].status, st(GrantStatus::BadVirtAddr));
  // count must be 1; an unreadable request is -EFAULT.
  EXPECT_EQ(h.hypercall(kD1, xen::kGnttabOpSetupTable, GrantHarness::kOps.value(), 2), kEinval);
  EXPECT_EQ(h.hypercall(kD1, xen::kGnttabOpSetupTable, 0xdead0000, 1), kEfault);
}

TEST_P(GrantOps, SetupTableOutOfMemoryIsGeneralError) {
  h.platform.allocator().set_limit(h.platform.allocator().live_pages());
  std::vector<xen::GnttabSetupTable> op(1);
  op[0].dom = kD1.value();
  op[0].nr_frames = 2;
  op[0].frame_list = GrantHarness::kList.value();
  ASSERT_EQ(h.op(kD1, xen::kGnttabOpSetupTable, op), 0);
  EXPECT_EQ(op[0].status, st(GrantStatus::GeneralError));
  EXPECT_EQ(h.gt->nr_frames(kD1), 1u);
}

TEST_P(GrantOps, QuerySize) {
  std::vector<xen::GnttabQuerySize> op(1);
  op[0].dom = kDomidSelf.value();
  op[0].nr_frames = 0xAAAA;
  ASSERT_EQ(h.op(kD2, xen::kGnttabOpQuerySize, op), 0);
  EXPECT_EQ(op[0].status, kOkay);
  EXPECT_EQ(op[0].nr_frames, 1u);
  EXPECT_EQ(op[0].max_nr_frames, 4u);
  op[0].dom = 6;
  ASSERT_EQ(h.op(kD2, xen::kGnttabOpQuerySize, op), 0);
  EXPECT_EQ(op[0].status, st(GrantStatus::BadDomain));
  EXPECT_EQ(op[0].nr_frames, 0u);  // output initialised even on error
  op[0].dom = kD1.value();
  ASSERT_EQ(h.op(kD2, xen::kGnttabOpQuerySize, op), 0);
  EXPECT_EQ(op[0].status, st(GrantStatus::PermissionDenied));
  EXPECT_EQ(h.hypercall(kD2, xen::kGnttabOpQuerySize, GrantHarness::kOps.value(), 0), kEinval);
}

TEST_P(GrantOps, GetAndSetVersion) {
  std::vector<xen::GnttabGetVersion> gv(1);
  gv[0].dom = kDomidSelf.value();
  ASSERT_EQ(h.op(kD1, xen::kGnttabOpGetVersion, gv), 0);
  EXPECT_EQ(gv[0].version, static_cast<std::uint32_t>(GetParam()));
  std::uint32_t out = 0;
  EXPECT_EQ(h.set_version(kD1, 3, &out), kEinval);
  EXPECT_EQ(out, static_cast<std::uint32_t>(GetParam()));  // the version in force is reported
  EXPECT_EQ(h.set_version(kD1, 0, &out), kEinval);
  const std::uint32_t other = v2() ? 1 : 2;
  EXPECT_EQ(h.set_version(kD1, other, &out), 0);
  EXPECT_EQ(out, other);
  ASSERT_EQ(h.op(kD1, xen::kGnttabOpGetVersion, gv), 0);
  EXPECT_EQ(gv[0].version, other);
  EXPECT_EQ(h.set_version(kD1, other, &out), 0);  // same version: no-op
  gv[0].dom = 6;
  EXPECT_EQ(h.op(kD1, xen::kGnttabOpGetVersion, gv), kEsrch);
  gv[0].dom = kD2.value();
  EXPECT_EQ(h.op(kD1, xen::kGnttabOpGetVersion, gv), kEperm);
  EXPECT_EQ(h.hypercall(kD1, xen::kGnttabOpGetVersion, GrantHarness::kOps.value(), 2), kEinval);
  EXPECT_EQ(h.hypercall(kD1, xen::kGnttabOpSetVersion, GrantHarness::kOps.value(), 0), kEinval);
}

TEST_P(GrantOps, GetStatusFrames) {
  std::vector<xen::GnttabGetStatusFrames> op(1);
  op[0].dom = kDomidSelf.value();
  op[0].nr_frames = 1;
  op[0].frame_list = GrantHarness::kList.value();
  ASSERT_EQ(h.op(kD1, xen::kGnttabOpGetStatusFrames, op), 0);
  if (!v2()) {
    EXPECT_EQ(op[0].status, st(GrantStatus::GeneralError));
    return;
  }
  EXPECT_EQ(op[0].status, kOkay);
  auto* list = reinterpret_cast<std::uint64_t*>(h.mem[1]->host_ptr(GrantHarness::kList));
  EXPECT_EQ(h.platform.table_page(Mfn{list[0]}), h.gt->status_frame(kD1, 0));
  op[0].nr_frames = 2;  // only one status frame exists for one grant frame
  ASSERT_EQ(h.op(kD1, xen::kGnttabOpGetStatusFrames, op), 0);
  EXPECT_EQ(op[0].status, st(GrantStatus::GeneralError));
  op[0].nr_frames = 1;
  op[0].dom = 6;
  ASSERT_EQ(h.op(kD1, xen::kGnttabOpGetStatusFrames, op), 0);
  EXPECT_EQ(op[0].status, st(GrantStatus::BadDomain));
}

// ---- map / unmap --------------------------------------------------------------------------

TEST_P(GrantOps, MapHostWritableAndUnmap) {
  grant(kD1, 10, kD2, Mfn{5});
  auto m = h.map(kD2, kD1, 10, kHost, 0x4000);
  ASSERT_EQ(m.status, kOkay);
  EXPECT_EQ(m.dev_bus_addr, 0u);
  auto pte = h.platform.pte(kD2, 0x4000);
  ASSERT_TRUE(pte);
  EXPECT_TRUE(pte->grant && pte->present && pte->rw);
  EXPECT_EQ(pte->frame, Mfn{5});
  EXPECT_EQ(h.platform.frame(Mfn{5}).refs, 1);
  EXPECT_EQ(h.platform.frame(Mfn{5}).wrefs, 1);
  EXPECT_EQ(h.status_bits(kD1, 10), xen::kGtfReading | xen::kGtfWriting);
  EXPECT_EQ(h.gt->pin_raw(kD1, GrantRef{10}), grant::PinCounts::kHostWriteInc);
  EXPECT_EQ(h.gt->handles_in_use(kD2), 1u);

  const int flushes = h.platform.flushes(kD2);
  EXPECT_EQ(h.unmap(kD2, m.handle, 0x4000), kOkay);
  EXPECT_FALSE(h.platform.pte(kD2, 0x4000));
  EXPECT_EQ(h.platform.flushes(kD2), flushes + 1);
  EXPECT_EQ(h.platform.frame(Mfn{5}).refs, 0);
  EXPECT_EQ(h.platform.frame(Mfn{5}).wrefs, 0);
  EXPECT_EQ(h.status_bits(kD1, 10), 0);
  EXPECT_EQ(h.gt->pin_raw(kD1, GrantRef{10}), 0u);
  EXPECT_EQ(h.gt->handles_in_use(kD2), 0u);
}

TEST_P(GrantOps, MapReadonlyAndApplication) {
  grant(kD1, 11, kD2, Mfn{6}, xen::kGtfPermitAccess | xen::kGtfReadonly);
  auto m = h.map(kD2, kD1, 11, kHost | kRo | xen::kGntmapApplicationMap, 0x5000);
  ASSERT_EQ(m.status, kOkay);
  auto pte = h.platform.pte(kD2, 0x5000);
  ASSERT_TRUE(pte);
  EXPECT_FALSE(pte->rw);
  EXPECT_TRUE(pte->user);
  EXPECT_EQ(h.platform.frame(Mfn{6}).wrefs, 0);
  EXPECT_EQ(h.status_bits(kD1, 11), xen::kGtfReading);
  // Writable map of a read-only grant: refused.
  auto w = h.map(kD2, kD1, 11, kHost, 0x6000);
  EXPECT_EQ(w.status, st(GrantStatus::GeneralError));
  EXPECT_EQ(w.handle, 0xFFFFFFFFu);
  EXPECT_EQ(h.unmap(kD2, m.handle, 0x5000), kOkay);
  EXPECT_EQ(h.status_bits(kD1, 11), 0);
}

TEST_P(GrantOps, MapDeviceGivesBusAddress) {
  grant(kD1, 12, kD2, Mfn{5});
  auto m = h.map(kD2, kD1, 12, kDev, 0);
  ASSERT_EQ(m.status, kOkay);
  EXPECT_EQ(m.dev_bus_addr, 5u << 12);
  EXPECT_EQ(h.platform.device_maps(), 1);
  EXPECT_EQ(h.gt->pin_raw(kD1, GrantRef{12}), grant::PinCounts::kDevWriteInc);
  EXPECT_EQ(h.unmap(kD2, m.handle, 0, 0x1000), st(GrantStatus::BadDevAddr));
  EXPECT_EQ(h.unmap(kD2, m.handle, 0, 5u << 12), kOkay);
  EXPECT_EQ(h.platform.device_maps(), 0);
  EXPECT_EQ(h.gt->handles_in_use(kD2), 0u);
}

TEST_P(GrantOps, MapErrors) {
  grant(kD1, 13, kD2, Mfn{5});
  EXPECT_EQ(h.map(kD2, kD1, 13, 0, 0x4000).status, st(GrantStatus::BadGntref));       // neither part
  EXPECT_EQ(h.map(kD2, DomId{6}, 13, kHost, 0x4000).status, st(GrantStatus::BadDomain));
  EXPECT_EQ(h.map(kD2, kDomidSelf, 13, kHost, 0x4000).status, st(GrantStatus::BadDomain));
  EXPECT_EQ(h.map(kD2, kD1, 4096, kHost, 0x4000).status, st(GrantStatus::BadGntref));  // beyond table
  EXPECT_EQ(h.map(kD2, kD1, 14, kHost, 0x4000).status, st(GrantStatus::GeneralError));  // invalid entry
  EXPECT_EQ(h.map(kD0, kD1, 13, kHost, 0x4000).status, st(GrantStatus::GeneralError));  // names d2
  grant(kD1, 15, kD2, Mfn{7});  // frame 7 belongs to d2, not the granter
  EXPECT_EQ(h.map(kD2, kD1, 15, kHost, 0x4000).status, st(GrantStatus::BadPage));
  h.platform.give_frame(Mfn{9}, kD1);
  h.platform.make_page_table(Mfn{9});
  grant(kD1, 16, kD2, Mfn{9});
  EXPECT_EQ(h.map(kD2, kD1, 16, kHost, 0x4000).status, st(GrantStatus::GeneralError));  // RW of a table
  EXPECT_EQ(h.map(kD2, kD1, 16, kHost | kRo, 0x4000).status, kOkay);                     // RO is fine
  EXPECT_EQ(h.map(kD2, kD1, 13, kHost | xen::kGntmapContainsPte, 0x8004).status, st(GrantStatus::GeneralError));
  EXPECT_EQ(h.map(kD2, kD1, 13, kHost, 0).status, st(GrantStatus::BadVirtAddr));
  h.platform.set_device_space(0);
  EXPECT_EQ(h.map(kD2, kD1, 13, kDev, 0).status, st(GrantStatus::NoDeviceSpace));
  // None of the failures left a pin, a status bit, a reference or a handle behind.
  EXPECT_EQ(h.gt->pin_raw(kD1, GrantRef{13}), 0u);
  EXPECT_EQ(h.status_bits(kD1, 13), 0);
  EXPECT_EQ(h.platform.frame(Mfn{5}).refs, 0);
  EXPECT_EQ(h.gt->handles_in_use(kD2), 1u);  // the one successful RO map
}

TEST_P(GrantOps, MaptrackExhaustionIsNoSpace) {
  grant(kD1, 20, kD2, Mfn{5}, xen::kGtfPermitAccess | xen::kGtfReadonly);
  // The maptrack holds 2 pages of 170 handles; pins stop at 128 per counter, so use both
  // host and device read counters (each map takes one of each) ... 127 maps then no_space.
  const std::uint32_t max = host::TestGrantTables::kMaxHandles;
  std::vector<std::uint32_t> handles;
  for (std::uint32_t i = 0; i < max; ++i) {
    const std::uint32_t ref = 20 + i / 100;  // spread pins over several entries
    if (i % 100 == 0) grant(kD1, ref, kD2, Mfn{5}, xen::kGtfPermitAccess | xen::kGtfReadonly);
    auto m = h.map(kD2, kD1, ref, kHost | kRo, 0x100000 + i * 0x1000);
    ASSERT_EQ(m.status, kOkay) << i;
    handles.push_back(m.handle);
  }
  EXPECT_EQ(h.map(kD2, kD1, 20, kHost | kRo, 0x90000000).status, st(GrantStatus::NoSpace));
  for (std::uint32_t i = 0; i < max; ++i) ASSERT_EQ(h.unmap(kD2, handles[i], 0x100000 + i * 0x1000), kOkay);
  EXPECT_EQ(h.platform.frame(Mfn{5}).refs, 0);
}

TEST_P(GrantOps, UnmapErrors) {
  grant(kD1, 30, kD2, Mfn{5});
  auto m = h.map(kD2, kD1, 30, kHost, 0x4000);
  ASSERT_EQ(m.status, kOkay);
  EXPECT_EQ(h.unmap(kD2, 100000, 0x4000), st(GrantStatus::BadHandle));      // out of range
  EXPECT_EQ(h.unmap(kD2, m.handle + 1, 0x4000), st(GrantStatus::BadHandle));  // never used
  EXPECT_EQ(h.unmap(kD2, m.handle, 0x7000), st(GrantStatus::GeneralError));   // no grant PTE there
  EXPECT_EQ(h.unmap(kD1, m.handle, 0x4000), st(GrantStatus::BadHandle));      // not d1's handle
  EXPECT_EQ(h.gt->pin_raw(kD1, GrantRef{30}), grant::PinCounts::kHostWriteInc);
  EXPECT_EQ(h.unmap(kD2, m.handle, 0x4000), kOkay);
  EXPECT_EQ(h.unmap(kD2, m.handle, 0x4000), st(GrantStatus::BadHandle));      // double unmap
  // Zero addresses: nothing is unmapped, the element still answers okay (as Xen).
  auto m2 = h.map(kD2, kD1, 30, kHost, 0x4000);
  ASSERT_EQ(m2.status, kOkay);
  EXPECT_EQ(h.unmap(kD2, m2.handle, 0, 0), kOkay);
  EXPECT_TRUE(h.platform.pte(kD2, 0x4000));
  EXPECT_EQ(h.unmap(kD2, m2.handle, 0x4000), kOkay);
}

TEST_P(GrantOps, BatchedUnmapFlushesOncePerBatch) {
  std::vector<xen::GnttabMapGrantRef> maps(8);
  for (std::uint32_t i = 0; i < 8; ++i) {
    grant(kD1, 40 + i, kD2, Mfn{5});
    maps[i].host_addr = 0x10000 + i * 0x1000;
    maps[i].flags = kHost;
    maps[i].ref = 40 + i;
    maps[i].dom = kD1.value();
  }
  ASSERT_EQ(h.op(kD2, xen::kGnttabOpMapGrantRef, maps), 0);
  std::vector<xen::GnttabUnmapGrantRef> un(8);
  for (std::uint32_t i = 0; i < 8; ++i) {
    ASSERT_EQ(maps[i].status, kOkay);
    un[i].host_addr = maps[i].host_addr;
    un[i].handle = maps[i].handle;
    un[i].status = 0x5555;
  }
  un[3].handle = 999;  // one bad element in the batch
  const int before = h.platform.flushes(kD2);
  ASSERT_EQ(h.op(kD2, xen::kGnttabOpUnmapGrantRef, un), 0);
  EXPECT_EQ(h.platform.flushes(kD2), before + 1);
  for (std::uint32_t i = 0; i < 8; ++i) {
    EXPECT_EQ(un[i].status, i == 3 ? st(GrantStatus::BadHandle) : kOkay) << i;
  }
  EXPECT_EQ(h.platform.frame(Mfn{5}).refs, 1);  // element 3's mapping is still there
}

TEST_P(GrantOps, SubPageAndTransitiveCannotBeMapped) {
  if (!v2()) GTEST_SKIP() << "v2 entry kinds";
  h.grant_v2_sub(kD1, 50, kD2, Mfn{5}, 0, 128);
  EXPECT_EQ(h.map(kD2, kD1, 50, kHost, 0x4000).status, st(GrantStatus::GeneralError));
  h.grant_v1(kD0, 3, kD1, Mfn{5});  // d0 is v1; any entry will do, it is never reached
  h.grant_v2_trans(kD1, 51, kD2, kD0, 3);
  EXPECT_EQ(h.map(kD2, kD1, 51, kHost, 0x4000).status, st(GrantStatus::GeneralError));
  EXPECT_EQ(h.status_bits(kD1, 50), 0);
  EXPECT_EQ(h.status_bits(kD1, 51), 0);
}

// ---- copy -----------------------------------------------------------------------------------

xen::GnttabCopy gref_copy(std::uint32_t sref, DomId sdom, std::uint16_t soff, std::uint32_t dref, DomId ddom,
                          std::uint16_t doff, std::uint16_t len) {
  xen::GnttabCopy c{};
  c.source.u.ref = sref;
  c.source.domid = sdom.value();
  c.source.offset = soff;
  c.dest.u.ref = dref;
  c.dest.domid = ddom.value();
  c.dest.offset = doff;
  c.len = len;
  c.flags = xen::kGntcopySourceGref | xen::kGntcopyDestGref;
  return c;
}

TEST_P(GrantOps, CopyBetweenGrants) {
  grant(kD1, 60, kD0, Mfn{5}, xen::kGtfPermitAccess | xen::kGtfReadonly);  // source
  grant(kD2, 61, kD0, Mfn{7});                                              // destination
  std::memcpy(h.platform.bytes(Mfn{5}) + 100, "hello grant", 11);
  EXPECT_EQ(h.copy(kD0, gref_copy(60, kD1, 100, 61, kD2, 4000, 11)), kOkay);
  EXPECT_EQ(std::memcmp(h.platform.bytes(Mfn{7}) + 4000, "hello grant", 11), 0);
  EXPECT_EQ(h.platform.frame(Mfn{5}).refs, 0);
  EXPECT_EQ(h.platform.frame(Mfn{7}).refs, 0);
  EXPECT_EQ(h.status_bits(kD1, 60), 0);
  EXPECT_EQ(h.status_bits(kD2, 61), 0);
  EXPECT_EQ(h.gt->pin_raw(kD1, GrantRef{60}), 0u);
  // Writing through a read-only grant is refused.
  EXPECT_EQ(h.copy(kD0, gref_copy(61, kD2, 0, 60, kD1, 0, 8)), st(GrantStatus::GeneralError));
}

TEST_P(GrantOps, CopyFromOwnFrame) {
  h.platform.give_frame(Mfn{10}, kD0);
  std::memcpy(h.platform.bytes(Mfn{10}), "frame!", 6);
  grant(kD2, 62, kD0, Mfn{8});
  xen::GnttabCopy c = gref_copy(0, kDomidSelf, 0, 62, kD2, 10, 6);
  c.flags = xen::kGntcopyDestGref;
  c.source.u.gmfn = 10;
  EXPECT_EQ(h.copy(kD0, c), kOkay);
  EXPECT_EQ(std::memcmp(h.platform.bytes(Mfn{8}) + 10, "frame!", 6), 0);
  c.source.domid = kD0.value();  // a frame by explicit domid, even one's own: refused as Xen does
  EXPECT_EQ(h.copy(kD0, c), st(GrantStatus::PermissionDenied));
  c.source.domid = kDomidSelf.value();
  c.source.u.gmfn = 5;  // d1's frame
  EXPECT_EQ(h.copy(kD0, c), st(GrantStatus::BadPage));
  c.source.u.gmfn = 1u << 20;  // no such frame
  EXPECT_EQ(h.copy(kD0, c), st(GrantStatus::BadPage));
}

TEST_P(GrantOps, CopyErrors) {
  grant(kD1, 63, kD0, Mfn{5});
  grant(kD2, 64, kD0, Mfn{7});
  EXPECT_EQ(h.copy(kD0, gref_copy(63, kD1, 4090, 64, kD2, 0, 7)), st(GrantStatus::BadCopyArg));
  EXPECT_EQ(h.copy(kD0, gref_copy(63, kD1, 0, 64, kD2, 65535, 1)), st(GrantStatus::BadCopyArg));
  EXPECT_EQ(h.copy(kD0, gref_copy(63, kD1, 0, 64, DomId{6}, 0, 1)), st(GrantStatus::BadDomain));
  EXPECT_EQ(h.copy(kD0, gref_copy(4096, kD1, 0, 64, kD2, 0, 1)), st(GrantStatus::BadGntref));
  EXPECT_EQ(h.copy(kD0, gref_copy(65, kD1, 0, 64, kD2, 0, 1)), st(GrantStatus::GeneralError));
  EXPECT_EQ(h.copy(kD1, gref_copy(63, kD1, 0, 64, kD2, 0, 1)), st(GrantStatus::GeneralError));  // not for d1
  EXPECT_EQ(h.gt->pin_raw(kD1, GrantRef{63}), 0u);
  EXPECT_EQ(h.gt->pin_raw(kD2, GrantRef{64}), 0u);
  EXPECT_EQ(h.platform.frame(Mfn{5}).refs, 0);
  EXPECT_EQ(h.platform.frame(Mfn{7}).refs, 0);
}

TEST_P(GrantOps, CopyRespectsSubPageBounds) {
  if (!v2()) GTEST_SKIP() << "sub-page grants are v2";
  h.grant_v2_sub(kD1, 70, kD0, Mfn{5}, 256, 128);
  grant(kD2, 71, kD0, Mfn{7});
  EXPECT_EQ(h.copy(kD0, gref_copy(70, kD1, 256, 71, kD2, 0, 128)), kOkay);
  EXPECT_EQ(h.copy(kD0, gref_copy(70, kD1, 255, 71, kD2, 0, 1)), st(GrantStatus::GeneralError));
  EXPECT_EQ(h.copy(kD0, gref_copy(70, kD1, 300, 71, kD2, 0, 100)), st(GrantStatus::GeneralError));
  h.grant_v2_sub(kD1, 72, kD0, Mfn{5}, 4000, 200);  // range beyond the page
  EXPECT_EQ(h.copy(kD0, gref_copy(72, kD1, 4000, 71, kD2, 0, 10)), st(GrantStatus::GeneralError));
  EXPECT_EQ(h.gt->pin_raw(kD1, GrantRef{72}), 0u);
  EXPECT_EQ(h.status_bits(kD1, 72), 0);
}

TEST_P(GrantOps, CopyThroughTransitiveGrant) {
  if (!v2()) GTEST_SKIP() << "transitive grants are v2";
  // d2 grants frame 7 to d1; d1 passes it on transitively to d0; d0 copies into it.
  grant(kD2, 80, kD1, Mfn{7});
  h.grant_v2_trans(kD1, 81, kD0, kD2, 80);
  h.platform.give_frame(Mfn{11}, kD0);
  std::memcpy(h.platform.bytes(Mfn{11}), "via d1", 6);
  xen::GnttabCopy c = gref_copy(0, kDomidSelf, 0, 81, kD1, 20, 6);
  c.flags = xen::kGntcopyDestGref;
  c.source.u.gmfn = 11;
  EXPECT_EQ(h.copy(kD0, c), kOkay);
  EXPECT_EQ(std::memcmp(h.platform.bytes(Mfn{7}) + 20, "via d1", 6), 0);
  EXPECT_EQ(h.gt->pin_raw(kD1, GrantRef{81}), 0u);
  EXPECT_EQ(h.gt->pin_raw(kD2, GrantRef{80}), 0u);
  EXPECT_EQ(h.status_bits(kD1, 81), 0);
  EXPECT_EQ(h.status_bits(kD2, 80), 0);
  EXPECT_EQ(h.platform.frame(Mfn{7}).refs, 0);
}

// ---- transfer -------------------------------------------------------------------------------

xen::GnttabTransfer xfer(std::uint64_t mfn, DomId to, std::uint32_t ref) {
  xen::GnttabTransfer t{};
  t.mfn = mfn;
  t.domid = to.value();
  t.ref = ref;
  t.status = 0x5555;
  return t;
}

TEST_P(GrantOps, TransferMovesOwnershipAndFillsEntry) {
  grant(kD2, 90, kD1, Mfn{0}, xen::kGtfAcceptTransfer);  // d2 accepts a page from d1
  std::vector<xen::GnttabTransfer> op{xfer(6, kD2, 90)};
  ASSERT_EQ(h.op(kD1, xen::kGnttabOpTransfer, op), 0);
  EXPECT_EQ(op[0].status, kOkay);
  EXPECT_EQ(h.platform.frame(Mfn{6}).owner, kD2);
  EXPECT_EQ(h.flags(kD2, 90), xen::kGtfAcceptTransfer | xen::kGtfTransferCommitted | xen::kGtfTransferCompleted);
  const std::uint64_t frame = v2() ? reinterpret_cast<xen::GrantEntryV2*>(h.entry(kD2, 90))->full_page.frame
                                   : reinterpret_cast<xen::GrantEntryV1*>(h.entry(kD2, 90))->frame;
  EXPECT_EQ(frame, 6u);
  // The entry is used up: a second transfer into it fails.
  op = {xfer(5, kD2, 90)};
  ASSERT_EQ(h.op(kD1, xen::kGnttabOpTransfer, op), 0);
  EXPECT_EQ(op[0].status, st(GrantStatus::GeneralError));
  EXPECT_EQ(h.platform.frame(Mfn{5}).owner, kD1);
}

TEST_P(GrantOps, TransferErrors) {
  grant(kD2, 91, kD1, Mfn{0}, xen::kGtfAcceptTransfer);
  grant(kD2, 92, kD0, Mfn{0}, xen::kGtfAcceptTransfer);  // accepts from d0 only
  grant(kD2, 93, kD1, Mfn{5});                           // not an accept_transfer entry
  std::vector<xen::GnttabTransfer> op{xfer(5, DomId{6}, 91), xfer(5, kD2, 92),  xfer(5, kD2, 93),
                                      xfer(7, kD2, 91),      xfer(5, kD2, 5000), xfer(5, kDomidSelf, 91)};
  ASSERT_EQ(h.op(kD1, xen::kGnttabOpTransfer, op), 0);
  EXPECT_EQ(op[0].status, st(GrantStatus::BadDomain));
  EXPECT_EQ(op[1].status, st(GrantStatus::GeneralError));
  EXPECT_EQ(op[2].status, st(GrantStatus::GeneralError));
  EXPECT_EQ(op[3].status, st(GrantStatus::BadPage));  // frame 7 is not d1's
  EXPECT_EQ(op[4].status, st(GrantStatus::GeneralError));
  EXPECT_EQ(op[5].status, st(GrantStatus::BadDomain));
  EXPECT_EQ(h.flags(kD2, 91), xen::kGtfAcceptTransfer);  // the failed commit was undone
  // A frame still in use (here: mapped through a grant) cannot be transferred.
  grant(kD1, 94, kD0, Mfn{5});
  auto m = h.map(kD0, kD1, 94, kHost, 0x4000);
  ASSERT_EQ(m.status, kOkay);
  op = {xfer(5, kD2, 91)};
  ASSERT_EQ(h.op(kD1, xen::kGnttabOpTransfer, op), 0);
  EXPECT_EQ(op[0].status, st(GrantStatus::GeneralError));
  EXPECT_EQ(h.platform.frame(Mfn{5}).owner, kD1);
  EXPECT_EQ(h.flags(kD2, 91), xen::kGtfAcceptTransfer);
  EXPECT_EQ(h.unmap(kD0, m.handle, 0x4000), kOkay);
  // The receiver refusing the page gives it back to the sender.
  h.platform.refuse_assign_to(kD2);
  ASSERT_EQ(h.op(kD1, xen::kGnttabOpTransfer, op), 0);
  EXPECT_EQ(op[0].status, st(GrantStatus::GeneralError));
  EXPECT_EQ(h.platform.frame(Mfn{5}).owner, kD1);
  EXPECT_TRUE(h.platform.frame(Mfn{5}).owned);
  EXPECT_EQ(h.flags(kD2, 91), xen::kGtfAcceptTransfer);
}

TEST(GrantOpsV1, TransferOfAFrameAboveFourGigaFramesIsAddressTooBig) {
  GrantHarness h;
  h.grant_v1(kD2, 9, kD1, Mfn{0}, xen::kGtfAcceptTransfer);
  std::vector<xen::GnttabTransfer> op{xfer(std::uint64_t{1} << 32, kD2, 9)};
  ASSERT_EQ(h.op(kD1, xen::kGnttabOpTransfer, op), 0);
  EXPECT_EQ(op[0].status, st(GrantStatus::AddressTooBig));
  EXPECT_EQ(h.flags(kD2, 9), xen::kGtfAcceptTransfer);
}

// ---- swap -----------------------------------------------------------------------------------

TEST_P(GrantOps, SwapGrantRef) {
  grant(kD1, 100, kD2, Mfn{5});
  grant(kD1, 101, kD0, Mfn{6}, xen::kGtfPermitAccess | xen::kGtfReadonly);
  std::vector<xen::GnttabSwapGrantRef> op(4);
  op[0] = {100, 101, 0x5555};
  op[1] = {100, 100, 0x5555};
  op[2] = {100, 5000, 0x5555};
  op[3] = {5000, 100, 0x5555};
  ASSERT_EQ(h.op(kD1, xen::kGnttabOpSwapGrantRef, op), 0);
  EXPECT_EQ(op[0].status, kOkay);
  EXPECT_EQ(op[1].status, kOkay);
  EXPECT_EQ(op[2].status, st(GrantStatus::BadGntref));
  EXPECT_EQ(op[3].status, st(GrantStatus::BadGntref));
  // Now ref 100 is d0's read-only grant of frame 6 and ref 101 d2's grant of frame 5.
  EXPECT_EQ(h.map(kD0, kD1, 100, kHost | kRo, 0x4000).status, kOkay);
  auto m = h.map(kD2, kD1, 101, kHost, 0x4000);
  ASSERT_EQ(m.status, kOkay);
  EXPECT_EQ(h.platform.pte(kD2, 0x4000)->frame, Mfn{5});
  op.resize(1);
  op[0] = {100, 101, 0x5555};
  ASSERT_EQ(h.op(kD1, xen::kGnttabOpSwapGrantRef, op), 0);
  EXPECT_EQ(op[0].status, st(GrantStatus::Eagain));  // pinned entries are never swapped
}

// ---- the hypercall itself -------------------------------------------------------------------

TEST_P(GrantOps, UnknownAndUnsupportedSubOpsAreEnosysWithoutSideEffect) {
  const std::uint64_t reads = h.mem[1]->reads(), writes = h.mem[1]->writes();
  for (std::uint32_t cmd : {xen::kGnttabOpDumpTable, xen::kGnttabOpUnmapAndReplace, xen::kGnttabOpCacheFlush, 13u,
                            0xFFFu}) {
    EXPECT_EQ(h.hypercall(kD1, cmd, GrantHarness::kOps.value(), 1), kEnosys) << cmd;
  }
  EXPECT_EQ(h.mem[1]->reads(), reads);
  EXPECT_EQ(h.mem[1]->writes(), writes);
}

TEST_P(GrantOps, ReservedCmdBitsAndNegativeCountAreEinval) {
  EXPECT_EQ(h.hypercall(kD1, xen::kGnttabOpMapGrantRef | (1u << 12), GrantHarness::kOps.value(), 1), kEinval);
  EXPECT_EQ(h.hypercall(kD1, 0xFFFFF000u | xen::kGnttabOpCopy, GrantHarness::kOps.value(), 1), kEinval);
  EXPECT_EQ(h.hypercall(kD1, xen::kGnttabOpCopy, GrantHarness::kOps.value(), 0x80000000u), kEinval);
  EXPECT_EQ(h.hypercall(kD1, xen::kGnttabOpCopy, GrantHarness::kOps.value(), 0), 0);  // empty batch
}

TEST_P(GrantOps, UnreadableBatchIsEfaultAfterEarlierElements) {
  grant(kD1, 110, kD2, Mfn{5});
  // Two map requests, the second one beyond the guest's mapping.
  const VirtAddr at{GrantHarness::kOps.value() + GrantHarness::kOpsBytes - sizeof(xen::GnttabMapGrantRef)};
  xen::GnttabMapGrantRef m{};
  m.host_addr = 0x4000;
  m.flags = kHost;
  m.ref = 110;
  m.dom = kD1.value();
  ASSERT_TRUE(h.mem[2]->copy_to_guest(at, &m, sizeof(m)));
  EXPECT_EQ(h.hypercall(kD2, xen::kGnttabOpMapGrantRef, at.value(), 2), kEfault);
  ASSERT_TRUE(h.mem[2]->copy_from_guest(&m, at, sizeof(m)));
  EXPECT_EQ(m.status, kOkay);
  EXPECT_EQ(h.unmap(kD2, m.handle, 0x4000), kOkay);
}

TEST_P(GrantOps, LongBatchesContinueWithEveryStatusWritten) {
  grant(kD1, 120, kD2, Mfn{5});
  std::vector<xen::GnttabMapGrantRef> maps(40);
  for (std::uint32_t i = 0; i < 40; ++i) {
    maps[i].host_addr = 0x100000 + i * 0x1000;
    maps[i].flags = kHost | kRo;
    maps[i].ref = i % 5 == 4 ? 9999 : 120;  // every fifth element is bad
    maps[i].dom = kD1.value();
    maps[i].status = 0x5555;
  }
  int restarts = 0;
  ASSERT_EQ(h.op(kD2, xen::kGnttabOpMapGrantRef, maps, &restarts), 0);
  EXPECT_EQ(restarts, 2);  // 16 + 16 + 8 elements
  for (std::uint32_t i = 0; i < 40; ++i) {
    EXPECT_EQ(maps[i].status, i % 5 == 4 ? st(GrantStatus::BadGntref) : kOkay) << i;
  }
  EXPECT_EQ(h.gt->pin_raw(kD1, GrantRef{120}), 32u * grant::PinCounts::kHostReadInc);
  std::vector<xen::GnttabUnmapGrantRef> un(40);
  for (std::uint32_t i = 0; i < 40; ++i) {
    un[i].host_addr = maps[i].host_addr;
    un[i].handle = maps[i].handle;
    un[i].status = 0x5555;
  }
  restarts = 0;
  ASSERT_EQ(h.op(kD2, xen::kGnttabOpUnmapGrantRef, un, &restarts, /*preempt_every=*/1), 0);
  EXPECT_GE(restarts, 4);
  for (std::uint32_t i = 0; i < 40; ++i) {
    EXPECT_EQ(un[i].status, i % 5 == 4 ? st(GrantStatus::BadHandle) : kOkay) << i;
  }
  EXPECT_EQ(h.gt->pin_raw(kD1, GrantRef{120}), 0u);
  EXPECT_EQ(h.status_bits(kD1, 120), 0);
}

// ---- lifecycle --------------------------------------------------------------------------------

TEST_P(GrantOps, ReleaseAndDestroyReturnEverything) {
  grant(kD1, 130, kD2, Mfn{5});
  grant(kD2, 131, kD1, Mfn{7});
  std::vector<std::uint32_t> handles;
  for (std::uint32_t i = 0; i < 20; ++i) {
    auto m = h.map(kD2, kD1, 130, kHost | (i % 2 ? kDev : 0u) | kRo, 0x100000 + i * 0x1000);
    ASSERT_EQ(m.status, kOkay);
  }
  ASSERT_EQ(h.map(kD1, kD2, 131, kHost, 0x4000).status, kOkay);
  // d1 cannot be destroyed while d2 maps its grants, nor before its own release.
  EXPECT_EQ(h.gt->destroy_domain(kD1).error(), Errno::Inval);
  int rounds = 0;
  Status s;
  while ((s = h.gt->release_domain(kD2)).is_restart()) ++rounds;
  ASSERT_TRUE(s);
  EXPECT_EQ(rounds, 2);  // 20 handles in batches of 8
  EXPECT_EQ(h.gt->handles_in_use(kD2), 0u);
  EXPECT_EQ(h.platform.grant_ptes(kD2), 0);
  EXPECT_EQ(h.platform.device_maps(), 0);
  EXPECT_EQ(h.platform.frame(Mfn{5}).refs, 0);
  EXPECT_EQ(h.gt->pin_raw(kD1, GrantRef{130}), 0u);
  EXPECT_EQ(h.status_bits(kD1, 130), 0);
  // d2 is dying: it can no longer be mapped from.
  EXPECT_EQ(h.map(kD0, kD2, 131, kHost, 0x4000).status, st(GrantStatus::BadDomain));
  // ... but d1 still maps d2's grant 131, so d2's table cannot go yet.
  EXPECT_EQ(h.gt->destroy_domain(kD2).error(), Errno::Busy);
  ASSERT_TRUE(h.gt->release_domain(kD1));
  EXPECT_TRUE(h.gt->destroy_domain(kD2));
  EXPECT_TRUE(h.gt->destroy_domain(kD1));
  ASSERT_TRUE(h.gt->release_domain(kD0));
  EXPECT_TRUE(h.gt->destroy_domain(kD0));
  EXPECT_EQ(h.platform.allocator().live_pages(), 0);
  EXPECT_EQ(h.platform.frame(Mfn{7}).refs, 0);
  // The slot can be reused.
  EXPECT_TRUE(h.gt->create_domain(kD1));
  EXPECT_EQ(h.gt->version(kD1), 1u);
}

TEST(GrantLifecycle, PerDomainLimits) {
  GrantHarness h(0);
  ASSERT_TRUE(h.gt->create_domain(kD1, /*max_frames=*/2, /*max_maptrack_frames=*/1));
  ASSERT_TRUE(h.gt->create_domain(kD2, /*max_frames=*/100));  // clamped to the limit (4)
  EXPECT_EQ(h.gt->create_domain(kD0, 0).error(), Errno::Inval);
  EXPECT_EQ(h.gt->create_domain(kD0, 1, 0).error(), Errno::Inval);
  std::vector<xen::GnttabQuerySize> q(1);
  q[0].dom = kDomidSelf.value();
  ASSERT_EQ(h.op(kD1, xen::kGnttabOpQuerySize, q), 0);
  EXPECT_EQ(q[0].max_nr_frames, 2u);
  ASSERT_EQ(h.op(kD2, xen::kGnttabOpQuerySize, q), 0);
  EXPECT_EQ(q[0].max_nr_frames, 4u);
  std::vector<xen::GnttabSetupTable> op(1);
  op[0].dom = kDomidSelf.value();
  op[0].nr_frames = 3;
  op[0].frame_list = GrantHarness::kList.value();
  ASSERT_EQ(h.op(kD1, xen::kGnttabOpSetupTable, op), 0);
  EXPECT_EQ(op[0].status, st(GrantStatus::GeneralError));
  op[0].nr_frames = 2;
  ASSERT_EQ(h.op(kD1, xen::kGnttabOpSetupTable, op), 0);
  EXPECT_EQ(op[0].status, kOkay);
  // One maptrack page for d1: its 171st simultaneous mapping is no_space.
  h.platform.give_frame(Mfn{5}, kD2);
  h.grant_v1(kD2, 10, kD1, Mfn{5}, xen::kGtfPermitAccess | xen::kGtfReadonly);
  h.grant_v1(kD2, 11, kD1, Mfn{5}, xen::kGtfPermitAccess | xen::kGtfReadonly);
  const std::uint32_t per_page = 4096 / sizeof(grant::MaptrackEntry);
  for (std::uint32_t i = 0; i < per_page; ++i) {
    ASSERT_EQ(h.map(kD1, kD2, i < 100 ? 10 : 11, kHost | kRo, 0x100000 + i * 0x1000).status, kOkay) << i;
  }
  EXPECT_EQ(h.map(kD1, kD2, 11, kHost | kRo, 0x900000).status, st(GrantStatus::NoSpace));
}

TEST(GrantLifecycle, DestroyWaitsUntilTheGuestNoLongerMapsItsGrantFrames_Inv23) {
  GrantHarness h(2);
  std::vector<xen::GnttabSetupTable> op(1);
  op[0].dom = kDomidSelf.value();
  op[0].nr_frames = 2;
  op[0].frame_list = GrantHarness::kList.value();
  ASSERT_EQ(h.op(kD1, xen::kGnttabOpSetupTable, op), 0);
  ASSERT_EQ(op[0].status, kOkay);
  const Mfn second{reinterpret_cast<std::uint64_t*>(h.mem[1]->host_ptr(GrantHarness::kList))[1]};
  h.platform.set_guest_maps_table_frame(second, true);
  ASSERT_TRUE(h.gt->release_domain(kD1));
  EXPECT_EQ(h.gt->destroy_domain(kD1).error(), Errno::Busy);
  EXPECT_TRUE(h.platform.is_shared(second));  // never freed while mapped
  h.platform.set_guest_maps_table_frame(second, false);
  EXPECT_TRUE(h.gt->destroy_domain(kD1));
  EXPECT_FALSE(h.platform.is_shared(second));
  EXPECT_EQ(h.platform.violations(), 0);
}

TEST(GrantLifecycle, CreateErrors) {
  GrantHarness h(1);
  EXPECT_EQ(h.gt->create_domain(kD0).error(), Errno::Exist);
  EXPECT_EQ(h.gt->create_domain(DomId{8}).error(), Errno::Srch);
  EXPECT_EQ(h.gt->create_domain(kDomidSelf).error(), Errno::Srch);
  const auto live = h.platform.allocator().live_pages();
  h.platform.allocator().set_limit(live + 2);  // the table frame needs 1 + 4 active pages
  EXPECT_EQ(h.gt->create_domain(kD1).error(), Errno::NoMem);
  EXPECT_EQ(h.platform.allocator().live_pages(), live);
  EXPECT_FALSE(h.gt->exists(kD1));
}

}  // namespace
}  // namespace pvkit
