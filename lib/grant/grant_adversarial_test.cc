// Adversarial tests for invariants 20-25 (and the generic 3/4/5/6/13/14 as they apply to
// grants): hostile granters flipping entries, counter overflow, double unmaps, handle reuse,
// PTEs that no longer match, version changes while pinned, transitive chains, page-crossing
// copies, continuation statuses.
#include <atomic>
#include <cstdint>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "pvkit/grant/grant_table_op.h"
#include "pvkit/grant/xen_abi.h"
#include "pvkit/platforms/host/grant/grant_harness.h"

namespace pvkit {
namespace {

using host::FakeGrantPlatform;
using host::GrantHarness;
constexpr DomId kD0{0}, kD1{1}, kD2{2};
constexpr std::int16_t kOkay = 0;
constexpr std::uint32_t kHost = xen::kGntmapHostMap, kDev = xen::kGntmapDeviceMap, kRo = xen::kGntmapReadonly;
std::int16_t st(GrantStatus s) { return guest_value(s); }

class GrantAdversarial : public ::testing::Test {
 protected:
  void SetUp() override {
    for (std::uint64_t f = 1; f < 20; ++f) h.platform.give_frame(Mfn{f}, kD1);
    for (std::uint64_t f = 20; f < 40; ++f) h.platform.give_frame(Mfn{f}, kD2);
    for (std::uint64_t f = 40; f < 50; ++f) h.platform.give_frame(Mfn{f}, kD0);
  }
  void TearDown() override { EXPECT_EQ(h.platform.violations(), 0); }
  GrantHarness h;
};

// ---- invariant 20: status bits by bounded compare-exchange, cleared only at zero pins -------

TEST_F(GrantAdversarial, Inv20_UnstableEntryThatFlipsUnderCasIsBoundedAndLeavesNoTrace_XSA218) {
  h.grant_v1(kD1, 10, kD2, Mfn{1});
  auto* flags = reinterpret_cast<std::uint16_t*>(h.entry(kD1, 10));
  std::atomic<bool> stop{false};
  // The hostile granter toggles a harmless bit as fast as it can: the entry stays acceptable,
  // but the combined flags+domid word keeps changing under the hypervisor's CAS.
  std::thread flipper([&] {
    while (!stop.load(std::memory_order_relaxed)) __atomic_fetch_xor(flags, xen::kGtfPwt, __ATOMIC_ACQ_REL);
  });
  int ok = 0, unstable = 0;
  for (int i = 0; i < 300; ++i) {
    auto m = h.map(kD2, kD1, 10, kHost, 0x4000);
    if (m.status == kOkay) {
      ++ok;
      ASSERT_NE(h.flags(kD1, 10) & xen::kGtfReading, 0);
      ASSERT_EQ(h.gt->pin_raw(kD1, GrantRef{10}), grant::PinCounts::kHostWriteInc);
      ASSERT_EQ(h.unmap(kD2, m.handle, 0x4000), kOkay);
    } else {
      ++unstable;
      ASSERT_EQ(m.status, st(GrantStatus::GeneralError));
    }
    ASSERT_EQ(h.flags(kD1, 10) & (xen::kGtfReading | xen::kGtfWriting), 0);
    ASSERT_EQ(h.gt->pin_raw(kD1, GrantRef{10}), 0u);
  }
  stop = true;
  flipper.join();
  EXPECT_EQ(ok + unstable, 300);
  EXPECT_EQ(h.platform.frame(Mfn{1}).refs, 0);
  EXPECT_EQ(h.gt->handles_in_use(kD2), 0u);
}

TEST_F(GrantAdversarial, Inv20_V2HeaderChangedWhileSettingStatusIsUndone_XSA218) {
  ASSERT_EQ(h.set_version(kD1, 2), 0);
  h.grant_v2(kD1, 10, kD2, Mfn{1});
  auto* hdr = reinterpret_cast<std::uint32_t*>(h.entry(kD1, 10));
  const std::uint32_t good = *hdr;
  std::atomic<bool> stop{false};
  // The granter alternates between granting to d2 and to d0.
  std::thread flipper([&] {
    const std::uint32_t other = (good & 0xFFFFu) | (std::uint32_t{kD0.value()} << 16);
    while (!stop.load(std::memory_order_relaxed)) {
      __atomic_store_n(hdr, other, __ATOMIC_RELEASE);
      __atomic_store_n(hdr, good, __ATOMIC_RELEASE);
    }
  });
  for (int i = 0; i < 300; ++i) {
    auto m = h.map(kD2, kD1, 10, kHost, 0x4000);
    if (m.status == kOkay) {
      ASSERT_EQ(h.status_bits(kD1, 10), xen::kGtfReading | xen::kGtfWriting);
      ASSERT_EQ(h.unmap(kD2, m.handle, 0x4000), kOkay);
    } else {
      ASSERT_EQ(m.status, st(GrantStatus::GeneralError));
    }
    ASSERT_EQ(h.status_bits(kD1, 10), 0);
    ASSERT_EQ(h.gt->pin_raw(kD1, GrantRef{10}), 0u);
  }
  stop = true;
  flipper.join();
  EXPECT_EQ(h.platform.frame(Mfn{1}).refs, 0);
}

TEST_F(GrantAdversarial, Inv20_WritingClearedWithLastWritePinReadingWithLastPin_XSA230) {
  h.grant_v1(kD1, 11, kD2, Mfn{2});
  auto ro = h.map(kD2, kD1, 11, kHost | kRo, 0x4000);
  auto rw = h.map(kD2, kD1, 11, kHost, 0x5000);
  auto dev = h.map(kD2, kD1, 11, kDev, 0);
  ASSERT_EQ(ro.status, kOkay);
  ASSERT_EQ(rw.status, kOkay);
  ASSERT_EQ(dev.status, kOkay);
  EXPECT_EQ(h.status_bits(kD1, 11), xen::kGtfReading | xen::kGtfWriting);
  ASSERT_EQ(h.unmap(kD2, rw.handle, 0x5000), kOkay);
  // The device write pin still needs GTF_writing.
  EXPECT_EQ(h.status_bits(kD1, 11), xen::kGtfReading | xen::kGtfWriting);
  ASSERT_EQ(h.unmap(kD2, dev.handle, 0, 2u << 12), kOkay);
  EXPECT_EQ(h.status_bits(kD1, 11), xen::kGtfReading);
  ASSERT_EQ(h.unmap(kD2, ro.handle, 0x4000), kOkay);
  EXPECT_EQ(h.status_bits(kD1, 11), 0);
}

TEST_F(GrantAdversarial, Inv20_GranterRevokingOrCorruptingAPinnedEntryChangesNothingHeld) {
  h.grant_v1(kD1, 12, kD2, Mfn{3});
  auto m = h.map(kD2, kD1, 12, kHost, 0x4000);
  ASSERT_EQ(m.status, kOkay);
  // A hostile granter wipes the entry and points it elsewhere while it is mapped.
  h.grant_v1(kD1, 12, kD0, Mfn{4}, xen::kGtfInvalid);
  EXPECT_EQ(h.platform.pte(kD2, 0x4000)->frame, Mfn{3});
  // Another map by d2 reuses the pinned state (frame 3), never the new guest values.
  auto m2 = h.map(kD2, kD1, 12, kHost | kRo, 0x5000);
  ASSERT_EQ(m2.status, kOkay);
  EXPECT_EQ(h.platform.pte(kD2, 0x5000)->frame, Mfn{3});
  // d0, named by the corrupted entry, cannot ride on d2's pin.
  EXPECT_EQ(h.map(kD0, kD1, 12, kHost, 0x4000).status, st(GrantStatus::GeneralError));
  EXPECT_EQ(h.unmap(kD2, m.handle, 0x4000), kOkay);
  EXPECT_EQ(h.unmap(kD2, m2.handle, 0x5000), kOkay);
  EXPECT_EQ(h.platform.frame(Mfn{3}).refs, 0);
  EXPECT_EQ(h.platform.frame(Mfn{4}).refs, 0);
}

TEST_F(GrantAdversarial, Inv20_PinCounterOverflowIsRefused_XSA218) {
  h.grant_v1(kD1, 13, kD2, Mfn{5}, xen::kGtfPermitAccess | xen::kGtfReadonly);
  std::vector<std::uint32_t> handles;
  for (int i = 0; i < 128; ++i) {
    auto m = h.map(kD2, kD1, 13, kHost | kRo, 0x100000 + i * 0x1000);
    ASSERT_EQ(m.status, kOkay) << i;
    handles.push_back(m.handle);
  }
  EXPECT_EQ(h.gt->pin_raw(kD1, GrantRef{13}), 128u * grant::PinCounts::kHostReadInc);
  // The host-read counter's top bit is set: every further pin is refused, of any kind.
  EXPECT_EQ(h.map(kD2, kD1, 13, kHost | kRo, 0x900000).status, st(GrantStatus::GeneralError));
  EXPECT_EQ(h.map(kD2, kD1, 13, kDev | kRo, 0).status, st(GrantStatus::GeneralError));
  xen::GnttabCopy c{};
  c.source.u.ref = 13;
  c.source.domid = kD1.value();
  c.dest.u.gmfn = 20;
  c.dest.domid = kDomidSelf.value();
  c.len = 4;
  c.flags = xen::kGntcopySourceGref;
  EXPECT_EQ(h.copy(kD2, c), st(GrantStatus::GeneralError));
  EXPECT_EQ(h.gt->pin_raw(kD1, GrantRef{13}), 128u * grant::PinCounts::kHostReadInc);
  for (int i = 0; i < 128; ++i) ASSERT_EQ(h.unmap(kD2, handles[i], 0x100000 + i * 0x1000), kOkay);
  EXPECT_EQ(h.gt->pin_raw(kD1, GrantRef{13}), 0u);
  EXPECT_EQ(h.platform.frame(Mfn{5}).refs, 0);
}

// ---- invariant 21: parts independent, handles freed once, no underflow ----------------------

TEST_F(GrantAdversarial, Inv21_HostAndDevicePartsAreDroppedIndependentlyAndOnce_XSA224) {
  h.grant_v1(kD1, 20, kD2, Mfn{6});
  auto m = h.map(kD2, kD1, 20, kHost | kDev, 0x4000);
  ASSERT_EQ(m.status, kOkay);
  EXPECT_EQ(h.gt->pin_raw(kD1, GrantRef{20}), grant::PinCounts::kHostWriteInc + grant::PinCounts::kDevWriteInc);
  EXPECT_EQ(h.platform.frame(Mfn{6}).refs, 2);
  // Host part only.
  ASSERT_EQ(h.unmap(kD2, m.handle, 0x4000, 0), kOkay);
  EXPECT_EQ(h.gt->pin_raw(kD1, GrantRef{20}), grant::PinCounts::kDevWriteInc);
  EXPECT_EQ(h.gt->handles_in_use(kD2), 1u);
  // Host part again: silently nothing (the part is gone), never a second drop.
  ASSERT_EQ(h.unmap(kD2, m.handle, 0x4000, 0), kOkay);
  EXPECT_EQ(h.gt->pin_raw(kD1, GrantRef{20}), grant::PinCounts::kDevWriteInc);
  EXPECT_EQ(h.platform.frame(Mfn{6}).refs, 1);
  // Device part: last part, the handle is freed.
  ASSERT_EQ(h.unmap(kD2, m.handle, 0x4000, 6u << 12), kOkay);
  EXPECT_EQ(h.gt->pin_raw(kD1, GrantRef{20}), 0u);
  EXPECT_EQ(h.gt->handles_in_use(kD2), 0u);
  EXPECT_EQ(h.unmap(kD2, m.handle, 0x4000, 6u << 12), st(GrantStatus::BadHandle));
  EXPECT_EQ(h.platform.frame(Mfn{6}).refs, 0);
  EXPECT_EQ(h.status_bits(kD1, 20), 0);
}

TEST_F(GrantAdversarial, Inv21_DoubleUnmapInOneBatchDropsOnce_XSA394) {
  h.grant_v1(kD1, 21, kD2, Mfn{7});
  auto keep = h.map(kD2, kD1, 21, kHost, 0x5000);  // a second pin that must survive
  auto m = h.map(kD2, kD1, 21, kHost, 0x4000);
  ASSERT_EQ(m.status, kOkay);
  std::vector<xen::GnttabUnmapGrantRef> un(3);
  for (auto& u : un) {
    u.host_addr = 0x4000;
    u.handle = m.handle;
  }
  ASSERT_EQ(h.op(kD2, xen::kGnttabOpUnmapGrantRef, un), 0);
  EXPECT_EQ(un[0].status, kOkay);
  EXPECT_EQ(un[1].status, st(GrantStatus::BadHandle));
  EXPECT_EQ(un[2].status, st(GrantStatus::BadHandle));
  EXPECT_EQ(h.gt->pin_raw(kD1, GrantRef{21}), grant::PinCounts::kHostWriteInc);
  EXPECT_EQ(h.platform.frame(Mfn{7}).refs, 1);
  EXPECT_EQ(h.status_bits(kD1, 21), xen::kGtfReading | xen::kGtfWriting);
  EXPECT_EQ(h.unmap(kD2, keep.handle, 0x5000), kOkay);
}

TEST_F(GrantAdversarial, Inv21_FreedHandleIsNotReusedNextAndStaleUnmapCannotHitANewMapping) {
  h.grant_v1(kD1, 22, kD2, Mfn{8});
  h.grant_v1(kD1, 23, kD2, Mfn{9});
  auto a = h.map(kD2, kD1, 22, kHost, 0x4000);
  ASSERT_EQ(a.status, kOkay);
  ASSERT_EQ(h.unmap(kD2, a.handle, 0x4000), kOkay);
  auto b = h.map(kD2, kD1, 23, kHost, 0x6000);
  ASSERT_EQ(b.status, kOkay);
  EXPECT_NE(b.handle, a.handle);  // FIFO reuse
  // A stale unmap with the old handle (and the old address) touches nothing.
  EXPECT_EQ(h.unmap(kD2, a.handle, 0x4000), st(GrantStatus::BadHandle));
  EXPECT_EQ(h.gt->pin_raw(kD1, GrantRef{23}), grant::PinCounts::kHostWriteInc);
  EXPECT_EQ(h.unmap(kD2, b.handle, 0x6000), kOkay);
}

TEST_F(GrantAdversarial, Inv21_ConcurrentUnmapsOfOneHandleSucceedExactlyOnce_XSA224) {
  h.grant_v1(kD1, 24, kD2, Mfn{10});
  for (int round = 0; round < 50; ++round) {
    auto m = h.map(kD2, kD1, 24, kHost | kDev, 0x4000);
    ASSERT_EQ(m.status, kOkay);
    std::atomic<int> ok{0}, bad{0};
    auto unmapper = [&] {
      std::array<xen::GnttabUnmapGrantRef, 1> op{};
      op[0].host_addr = 0x4000;
      op[0].dev_bus_addr = 10u << 12;
      op[0].handle = m.handle;
      std::array<GrantStatus, 1> out{};
      h.gt->unmap_batch(kD2, op, out);
      (out[0] == GrantStatus::Okay ? ok : bad)++;
    };
    std::thread t1(unmapper), t2(unmapper);
    t1.join();
    t2.join();
    ASSERT_EQ(ok.load(), 1);
    ASSERT_EQ(bad.load(), 1);
    ASSERT_EQ(h.gt->pin_raw(kD1, GrantRef{24}), 0u);
    ASSERT_EQ(h.gt->handles_in_use(kD2), 0u);
  }
  EXPECT_EQ(h.platform.frame(Mfn{10}).refs, 0);
}

// ---- invariant 22: unmap validates the PTE it removes -----------------------------------------

TEST_F(GrantAdversarial, Inv22_UnmapOfAPteThatNoLongerMatchesIsRefusedAndChangesNothing_XSA234) {
  h.grant_v1(kD1, 30, kD2, Mfn{11});
  h.grant_v1(kD1, 31, kD2, Mfn{12});
  auto m = h.map(kD2, kD1, 30, kHost, 0x4000);
  auto other = h.map(kD2, kD1, 31, kHost, 0x5000);
  ASSERT_EQ(m.status, kOkay);
  ASSERT_EQ(other.status, kOkay);
  const FakeGrantPlatform::Pte good = *h.platform.pte(kD2, 0x4000);
  // The right handle with the address of a different grant's PTE: wrong frame.
  EXPECT_EQ(h.unmap(kD2, m.handle, 0x5000), st(GrantStatus::GeneralError));
  // The PTE changed under the grant table: not present, read-only, other frame.
  for (FakeGrantPlatform::Pte bad : {FakeGrantPlatform::Pte{Mfn{11}, false, true, false, true},
                                      FakeGrantPlatform::Pte{Mfn{11}, true, false, false, true},
                                      FakeGrantPlatform::Pte{Mfn{13}, true, true, false, true}}) {
    h.platform.force_pte(kD2, 0x4000, bad);
    EXPECT_EQ(h.unmap(kD2, m.handle, 0x4000), st(GrantStatus::GeneralError));
    EXPECT_EQ(h.gt->pin_raw(kD1, GrantRef{30}), grant::PinCounts::kHostWriteInc);
    EXPECT_EQ(h.platform.frame(Mfn{11}).refs, 1);
    EXPECT_EQ(h.gt->handles_in_use(kD2), 2u);
  }
  h.platform.force_pte(kD2, 0x4000, good);
  EXPECT_EQ(h.unmap(kD2, m.handle, 0x4000), kOkay);
  EXPECT_EQ(h.unmap(kD2, other.handle, 0x5000), kOkay);
  EXPECT_EQ(h.platform.frame(Mfn{11}).refs, 0);
}

TEST_F(GrantAdversarial, Inv13_AGrantPteIsNeverSilentlyOverwritten_XSA227) {
  h.grant_v1(kD1, 32, kD2, Mfn{14});
  auto m = h.map(kD2, kD1, 32, kHost | xen::kGntmapContainsPte, 0x7008);
  ASSERT_EQ(m.status, kOkay);
  // An ordinary page-table update of that PTE is refused; a second grant map onto it too.
  EXPECT_EQ(h.platform.guest_write_pte(kD2, 0x7008, {Mfn{20}, true, true, false, false}).error(), Errno::Inval);
  EXPECT_EQ(h.map(kD2, kD1, 32, kHost | xen::kGntmapContainsPte, 0x7008).status, st(GrantStatus::GeneralError));
  // Misaligned PTE addresses are refused before anything happens.
  for (std::uint64_t a : {0x7001u, 0x7004u, 0x700Fu}) {
    EXPECT_EQ(h.map(kD2, kD1, 32, kHost | xen::kGntmapContainsPte, a).status, st(GrantStatus::GeneralError));
  }
  EXPECT_EQ(h.gt->pin_raw(kD1, GrantRef{32}), grant::PinCounts::kHostWriteInc);
  EXPECT_EQ(h.unmap(kD2, m.handle, 0x7008), kOkay);
  EXPECT_TRUE(h.platform.guest_write_pte(kD2, 0x7008, {Mfn{20}, true, true, false, false}));
}

// ---- invariant 23: set_version while pinned; status frames freed only when unmapped ------------

TEST_F(GrantAdversarial, Inv23_SetVersionRefusedWhileANonReservedEntryIsPinned_XSA255) {
  h.grant_v1(kD1, 40, kD2, Mfn{15});
  auto m = h.map(kD2, kD1, 40, kHost, 0x4000);
  ASSERT_EQ(m.status, kOkay);
  std::uint32_t v = 0;
  EXPECT_EQ(h.set_version(kD1, 2, &v), -16);
  EXPECT_EQ(v, 1u);
  EXPECT_EQ(h.flags(kD1, 40), xen::kGtfPermitAccess | xen::kGtfReading | xen::kGtfWriting);  // untouched
  ASSERT_EQ(h.unmap(kD2, m.handle, 0x4000), kOkay);
  EXPECT_EQ(h.set_version(kD1, 2, &v), 0);
  EXPECT_EQ(v, 2u);
}

TEST_F(GrantAdversarial, Inv23_ReservedEntriesMayStayPinnedAndAreCarriedAcrossVersions) {
  h.grant_v1(kD1, xen::kGnttabReservedXenstore, kD0, Mfn{16});
  h.grant_v1(kD1, 50, kD2, Mfn{17});  // an ordinary, unpinned grant: wiped by the switch
  auto m = h.map(kD0, kD1, xen::kGnttabReservedXenstore, kHost, 0x4000);
  ASSERT_EQ(m.status, kOkay);
  ASSERT_EQ(h.set_version(kD1, 2), 0);
  auto* e = reinterpret_cast<xen::GrantEntryV2*>(h.entry(kD1, 1));
  EXPECT_EQ(e->full_page.hdr.flags, xen::kGtfPermitAccess);
  EXPECT_EQ(e->full_page.hdr.domid, kD0.value());
  EXPECT_EQ(e->full_page.frame, 16u);
  EXPECT_EQ(h.status_bits(kD1, 1), xen::kGtfReading | xen::kGtfWriting);
  EXPECT_EQ(reinterpret_cast<xen::GrantEntryV2*>(h.entry(kD1, 50))->hdr.flags, 0);
  ASSERT_EQ(h.set_version(kD1, 1), 0);
  EXPECT_EQ(h.flags(kD1, 1), xen::kGtfPermitAccess | xen::kGtfReading | xen::kGtfWriting);
  // The mapping made under v1 unmaps cleanly after two switches.
  EXPECT_EQ(h.unmap(kD0, m.handle, 0x4000), kOkay);
  EXPECT_EQ(h.flags(kD1, 1), xen::kGtfPermitAccess);
  EXPECT_EQ(h.platform.frame(Mfn{16}).refs, 0);
}

TEST_F(GrantAdversarial, Inv23_StatusFramesAreFreedOnlyWhenTheGuestNoLongerMapsThem_XSA379) {
  ASSERT_EQ(h.set_version(kD1, 2), 0);
  std::vector<xen::GnttabGetStatusFrames> op(1);
  op[0].dom = kDomidSelf.value();
  op[0].nr_frames = 1;
  op[0].frame_list = GrantHarness::kList.value();
  ASSERT_EQ(h.op(kD1, xen::kGnttabOpGetStatusFrames, op), 0);
  ASSERT_EQ(op[0].status, kOkay);
  const Mfn status_mfn{*reinterpret_cast<std::uint64_t*>(h.mem[1]->host_ptr(GrantHarness::kList))};
  h.platform.set_guest_maps_table_frame(status_mfn, true);
  const auto pages = h.platform.allocator().live_pages();
  std::uint32_t v = 0;
  EXPECT_EQ(h.set_version(kD1, 1, &v), -16);
  EXPECT_EQ(v, 2u);
  EXPECT_TRUE(h.platform.is_shared(status_mfn));
  EXPECT_EQ(h.platform.allocator().live_pages(), pages);
  h.platform.set_guest_maps_table_frame(status_mfn, false);
  EXPECT_EQ(h.set_version(kD1, 1, &v), 0);
  EXPECT_EQ(v, 1u);
  EXPECT_EQ(h.platform.allocator().live_pages(), pages - 1);
}

TEST_F(GrantAdversarial, Inv23_V2EntriesNotRepresentableInV1BlockTheSwitch) {
  ASSERT_EQ(h.set_version(kD1, 2), 0);
  h.grant_v2(kD1, 2, kD0, Mfn{std::uint64_t{1} << 33});
  EXPECT_EQ(h.set_version(kD1, 1), -34);  // -ERANGE
  h.grant_v2_trans(kD1, 2, kD0, kD2, 5);
  EXPECT_EQ(h.set_version(kD1, 1), -34);
  EXPECT_EQ(h.gt->version(kD1), 2u);
}

// ---- invariant 24: transitive grants one level, copy only ---------------------------------------

TEST_F(GrantAdversarial, Inv24_TransitiveChainsAreFollowedOneLevelOnlyAndNeverMapped_XSA226) {
  ASSERT_EQ(h.set_version(kD1, 2), 0);
  ASSERT_EQ(h.set_version(kD2, 2), 0);
  ASSERT_EQ(h.set_version(kD0, 2), 0);
  // d2 grants frame 20 to d1 (ref 5); d1 passes it on to d0 (ref 6) and also builds a
  // two-level chain: d1 ref 7 -> d2 ref 8 -> d1 ref 9 (transitive again).
  h.grant_v2(kD2, 5, kD1, Mfn{20});
  h.grant_v2_trans(kD1, 6, kD0, kD2, 5);
  h.grant_v2_trans(kD2, 8, kD1, kD1, 9);
  h.grant_v2(kD1, 9, kD2, Mfn{1});
  h.grant_v2_trans(kD1, 7, kD0, kD2, 8);
  h.grant_v2_trans(kD1, 10, kD0, kD1, 9);  // self-referential
  xen::GnttabCopy c{};
  c.source.u.ref = 6;
  c.source.domid = kD1.value();
  c.dest.u.gmfn = 40;
  c.dest.domid = kDomidSelf.value();
  c.len = 8;
  c.flags = xen::kGntcopySourceGref;
  EXPECT_EQ(h.copy(kD0, c), kOkay);  // one level: fine
  c.source.u.ref = 7;
  EXPECT_EQ(h.copy(kD0, c), st(GrantStatus::GeneralError));  // two levels: refused
  c.source.u.ref = 10;
  EXPECT_EQ(h.copy(kD0, c), st(GrantStatus::GeneralError));  // self-referential: refused
  EXPECT_EQ(h.map(kD0, kD1, 6, kHost | kRo, 0x4000).status, st(GrantStatus::GeneralError));  // never mapped
  for (auto [d, r] : {std::pair{kD1, 6u}, {kD1, 7u}, {kD1, 9u}, {kD1, 10u}, {kD2, 5u}, {kD2, 8u}}) {
    EXPECT_EQ(h.gt->pin_raw(d, GrantRef{r}), 0u) << d.value() << ":" << r;
    EXPECT_EQ(h.status_bits(d, r), 0) << d.value() << ":" << r;
  }
  EXPECT_EQ(h.platform.frame(Mfn{20}).refs, 0);
  EXPECT_EQ(h.platform.frame(Mfn{1}).refs, 0);
}

TEST_F(GrantAdversarial, Inv24_InnerGrantMustNameTheMiddleDomain_XSA411) {
  ASSERT_EQ(h.set_version(kD1, 2), 0);
  h.grant_v1(kD2, 5, kD0, Mfn{21});  // d2 grants to d0 directly, not to d1
  h.grant_v2_trans(kD1, 6, kD0, kD2, 5);
  xen::GnttabCopy c{};
  c.source.u.ref = 6;
  c.source.domid = kD1.value();
  c.dest.u.gmfn = 41;
  c.dest.domid = kDomidSelf.value();
  c.len = 8;
  c.flags = xen::kGntcopySourceGref;
  EXPECT_EQ(h.copy(kD0, c), st(GrantStatus::GeneralError));
  EXPECT_EQ(h.gt->pin_raw(kD1, GrantRef{6}), 0u);
  EXPECT_EQ(h.status_bits(kD1, 6), 0);
  EXPECT_EQ(h.status_bits(kD2, 5), 0);
}

// ---- invariant 25: negative statuses, every status written -------------------------------------

TEST_F(GrantAdversarial, Inv25_CopyCrossingAPageIsBadCopyArgWithoutSideEffect_XSA316) {
  h.grant_v1(kD1, 60, kD0, Mfn{2});
  for (auto [soff, doff, len] : {std::tuple{4095, 0, 2}, {0, 4095, 2}, {0, 0, 4097}, {65535, 0, 65535}}) {
    xen::GnttabCopy c{};
    c.source.u.ref = 60;
    c.source.domid = kD1.value();
    c.source.offset = static_cast<std::uint16_t>(soff);
    c.dest.u.gmfn = 42;
    c.dest.domid = kDomidSelf.value();
    c.dest.offset = static_cast<std::uint16_t>(doff);
    c.len = static_cast<std::uint16_t>(len);
    c.flags = xen::kGntcopySourceGref;
    EXPECT_EQ(h.copy(kD0, c), st(GrantStatus::BadCopyArg));
  }
  EXPECT_EQ(h.flags(kD1, 60), xen::kGtfPermitAccess);
  EXPECT_EQ(h.platform.frame(Mfn{2}).refs, 0);
}

TEST_F(GrantAdversarial, Inv25_CopyContinuationWritesEveryStatus_XSA318) {
  h.grant_v1(kD1, 61, kD0, Mfn{3});
  std::vector<xen::GnttabCopy> ops(37);
  for (std::uint32_t i = 0; i < ops.size(); ++i) {
    ops[i].source.u.ref = 61;
    ops[i].source.domid = kD1.value();
    ops[i].source.offset = static_cast<std::uint16_t>(i % 3 == 2 ? 4090 : i * 8);  // every third crosses
    ops[i].dest.u.gmfn = i % 7 == 6 ? 1 : 43;                                  // every seventh not ours
    ops[i].dest.domid = kDomidSelf.value();
    ops[i].len = 8;
    ops[i].flags = xen::kGntcopySourceGref;
    ops[i].status = 0x5555;
  }
  int restarts = 0;
  ASSERT_EQ(h.op(kD0, xen::kGnttabOpCopy, ops, &restarts, /*preempt_every=*/3), 0);
  EXPECT_GE(restarts, 10);
  for (std::uint32_t i = 0; i < ops.size(); ++i) {
    const std::int16_t want = i % 3 == 2 ? st(GrantStatus::BadCopyArg)
                              : i % 7 == 6 ? st(GrantStatus::BadPage)
                                           : kOkay;
    EXPECT_EQ(ops[i].status, want) << i;
    EXPECT_LE(ops[i].status, 0) << i;
  }
  EXPECT_EQ(h.gt->pin_raw(kD1, GrantRef{61}), 0u);
}

// ---- generic invariants as they apply to grant_table_op -----------------------------------------

TEST_F(GrantAdversarial, Inv6_WorkPerInvocationIsBoundedAndProgressLivesInTheArguments) {
  h.grant_v1(kD1, 70, kD0, Mfn{4});
  std::vector<xen::GnttabCopy> ops(100);
  for (auto& c : ops) {
    c.source.u.ref = 70;
    c.source.domid = kD1.value();
    c.dest.u.gmfn = 44;
    c.dest.domid = kDomidSelf.value();
    c.len = 1;
    c.flags = xen::kGntcopySourceGref;
    c.status = 0x5555;
  }
  h.write_ops(kD0, ops);
  HypercallArgs args{};
  const std::int64_t rc = h.call_once(kD0, xen::kGnttabOpCopy, GrantHarness::kOps.value(), 100, args);
  EXPECT_EQ(rc, -85);  // continuation, handled by the dispatcher
  EXPECT_EQ(args.a[0], xen::kGnttabOpCopy);
  EXPECT_EQ(args.a[1], GrantHarness::kOps.value() + 16 * sizeof(xen::GnttabCopy));
  EXPECT_EQ(args.a[2], 84u);
  h.read_ops(kD0, ops);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(ops[i].status, i < 16 ? kOkay : 0x5555) << i;
}

TEST_F(GrantAdversarial, Inv3_MalformedProgressCannotCrash_XSA296) {
  HypercallArgs args{};
  // Continuation field set by a guest, count bits beyond 32, handles into nowhere.
  EXPECT_EQ(h.call_once(kD0, (5u << 12) | xen::kGnttabOpMapGrantRef, GrantHarness::kOps.value(), 1, args), -22);
  EXPECT_EQ(h.call_once(kD0, xen::kGnttabOpUnmapGrantRef, 0xFFFFFFFFFFFFFFF0ull, 3, args), -14);
  EXPECT_EQ(h.call_once(kD0, xen::kGnttabOpCopy, 0xFFFFFFFFFFFFFFF0ull, 0x7FFFFFFF, args), -14);
  EXPECT_EQ(h.call_once(kD0, xen::kGnttabOpTransfer, 0, 1, args), -14);
  EXPECT_EQ(h.call_once(kD0, xen::kGnttabOpSwapGrantRef, 0, 0x100000000ull, args), 0);  // count is 32-bit: 0
}

TEST_F(GrantAdversarial, Inv3_RandomRegistersAndRequestBytesNeverCrash_XSA296) {
  // Hostile guests: random sub-ops, handles, counts and request bytes (with a few real grants
  // around so that some requests succeed). Every answer is a known errno, 0 or a continuation,
  // and teardown afterwards returns every reference (checked by TearDown and the harness).
  h.grant_v1(kD1, 9, kD2, Mfn{1});
  h.grant_v1(kD1, 10, kD2, Mfn{2}, xen::kGtfPermitAccess | xen::kGtfReadonly);
  h.grant_v1(kD2, 11, kD1, Mfn{0}, xen::kGtfAcceptTransfer);
  std::mt19937_64 rng(20261124);
  const std::set<std::int64_t> allowed{0, -1, -3, -14, -16, -22, -28, -34, -38, -85};
  auto* ops = h.mem[2]->host_ptr(GrantHarness::kOps);
  for (int i = 0; i < 3000; ++i) {
    // Mostly small, plausible values in the request bytes, sometimes pure noise.
    for (std::size_t b = 0; b < 512; b += 8) {
      std::uint64_t v = rng();
      if (rng() % 4 != 0) v &= 0x0000000F0000000Full;
      std::memcpy(ops + b, &v, 8);
    }
    const std::uint64_t cmd = rng() % 8 == 0 ? rng() : rng() % 14;
    const std::uint64_t uop = rng() % 8 == 0 ? rng() : GrantHarness::kOps.value() + (rng() % 64) * 8;
    const std::uint64_t count = rng() % 8 == 0 ? rng() : rng() % 12;
    HypercallArgs args{};
    const std::int64_t rc = h.call_once(rng() % 2 ? kD2 : kD1, cmd, uop, count, args);
    ASSERT_TRUE(allowed.count(rc)) << "rc " << rc << " cmd " << cmd << " count " << count;
  }
  EXPECT_EQ(h.platform.violations(), 0);
}

TEST_F(GrantAdversarial, Inv5_FailedMapWritesAFullyInitialisedResult_XSA122) {
  auto m = h.map(kD2, kD1, 5000, kHost, 0x4000);
  EXPECT_EQ(m.status, st(GrantStatus::BadGntref));
  EXPECT_EQ(m.handle, 0xFFFFFFFFu);
  EXPECT_EQ(m.dev_bus_addr, 0u);
}

TEST_F(GrantAdversarial, Inv14_TransferWipesTypeStateAndOwnershipMovesOnce_XSA214) {
  h.grant_v1(kD2, 80, kD1, Mfn{0}, xen::kGtfAcceptTransfer);
  // A frame that is typed (mapped writable through a grant) cannot be transferred ...
  h.grant_v1(kD1, 81, kD0, Mfn{18});
  auto m = h.map(kD0, kD1, 81, kHost, 0x4000);
  ASSERT_EQ(m.status, kOkay);
  std::vector<xen::GnttabTransfer> op(1);
  op[0] = {18, kD2.value(), 80, 0x5555};
  ASSERT_EQ(h.op(kD1, xen::kGnttabOpTransfer, op), 0);
  EXPECT_EQ(op[0].status, st(GrantStatus::GeneralError));
  ASSERT_EQ(h.unmap(kD0, m.handle, 0x4000), kOkay);
  // ... once unused it moves, with no type state left, and only once.
  op[0] = {18, kD2.value(), 80, 0x5555};
  std::vector<xen::GnttabTransfer> twice{op[0], op[0]};
  ASSERT_EQ(h.op(kD1, xen::kGnttabOpTransfer, twice), 0);
  EXPECT_EQ(twice[0].status, kOkay);
  EXPECT_EQ(twice[1].status, st(GrantStatus::GeneralError));
  const auto f = h.platform.frame(Mfn{18});
  EXPECT_EQ(f.owner, kD2);
  EXPECT_EQ(f.type, FakeGrantPlatform::Type::None);
  EXPECT_EQ(f.refs, 0);
  // d1's old grant of frame 18 is now worthless: the frame is no longer d1's.
  EXPECT_EQ(h.map(kD0, kD1, 81, kHost, 0x4000).status, st(GrantStatus::BadPage));
}

}  // namespace
}  // namespace pvkit
