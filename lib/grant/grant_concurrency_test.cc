// Concurrency: mappers and copiers racing the granter's revokes, and racing set_version.
// Each test runs for a bounded time (well under 2 s, also under the thread sanitizer) and
// checks the invariants while racing and at the end: no pin, status bit, frame reference or
// handle survives, and no reference count ever went negative (platform violations).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "pvkit/grant/grant_table_op.h"
#include "pvkit/grant/xen_abi.h"
#include "pvkit/platforms/host/grant/grant_harness.h"

namespace pvkit {
namespace {

using host::GrantHarness;
constexpr DomId kD0{0}, kD1{1}, kD2{2};
constexpr std::uint32_t kHost = xen::kGntmapHostMap, kDev = xen::kGntmapDeviceMap, kRo = xen::kGntmapReadonly;
constexpr auto kRunFor = std::chrono::milliseconds(300);

bool time_left(std::chrono::steady_clock::time_point end) { return std::chrono::steady_clock::now() < end; }

/// Direct (non-hypercall) map/unmap/copy helpers: several threads share one harness, and
/// each domain's guest memory is used by one thread only.
GrantStatus map_one(GrantHarness& h, DomId mapper, DomId granter, std::uint32_t ref, std::uint32_t flags,
                    std::uint64_t addr, std::uint32_t& handle) {
  xen::GnttabMapGrantRef op{};
  op.host_addr = addr;
  op.flags = flags;
  op.ref = ref;
  op.dom = granter.value();
  GrantHandle hd{};
  std::uint64_t bus = 0;
  const GrantStatus s = h.gt->map(mapper, op, hd, bus);
  handle = hd.value();
  return s;
}
GrantStatus unmap_one(GrantHarness& h, DomId mapper, std::uint32_t handle, std::uint64_t addr, std::uint64_t dev) {
  std::array<xen::GnttabUnmapGrantRef, 1> op{};
  op[0].host_addr = addr;
  op[0].dev_bus_addr = dev;
  op[0].handle = handle;
  std::array<GrantStatus, 1> out{};
  h.gt->unmap_batch(mapper, op, out);
  return out[0];
}

/// The granter's side of revoking `ref` the way Linux does it. Returns true when revoked.
bool try_revoke(GrantHarness& h, DomId d, std::uint32_t ref) {
  if (h.gt->version(d) == 1) {
    auto* flags = reinterpret_cast<std::uint16_t*>(h.entry(d, ref));
    std::uint16_t cur = __atomic_load_n(flags, __ATOMIC_ACQUIRE);
    if (cur & (xen::kGtfReading | xen::kGtfWriting)) return false;
    return __atomic_compare_exchange_n(flags, &cur, std::uint16_t{0}, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
  }
  auto* hdr = reinterpret_cast<std::uint16_t*>(h.entry(d, ref));
  const std::uint16_t old = __atomic_exchange_n(hdr, std::uint16_t{0}, __ATOMIC_SEQ_CST);
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
  if (h.status_bits(d, ref) & (xen::kGtfReading | xen::kGtfWriting)) {
    __atomic_store_n(hdr, old, __ATOMIC_RELEASE);  // still in use: put the grant back
    return false;
  }
  return true;
}

class GrantConcurrency : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    for (std::uint64_t f = 1; f < 10; ++f) h.platform.give_frame(Mfn{f}, kD1);
    for (std::uint64_t f = 40; f < 45; ++f) h.platform.give_frame(Mfn{f}, kD0);
    if (GetParam() == 2) ASSERT_EQ(h.set_version(kD1, 2), 0);
  }
  void grant(DomId d, std::uint32_t ref, DomId to, Mfn f, std::uint16_t flags = xen::kGtfPermitAccess) {
    if (h.gt->version(d) == 2) {
      h.grant_v2(d, ref, to, f, flags);
    } else {
      h.grant_v1(d, ref, to, f, flags);
    }
  }
  void expect_quiescent(std::initializer_list<std::uint32_t> refs) {
    for (std::uint32_t r : refs) {
      EXPECT_EQ(h.gt->pin_raw(kD1, GrantRef{r}), 0u) << r;
      EXPECT_EQ(h.status_bits(kD1, r), 0) << r;
    }
    for (std::uint64_t f = 1; f < 10; ++f) EXPECT_EQ(h.platform.frame(Mfn{f}).refs, 0) << f;
    EXPECT_EQ(h.gt->handles_in_use(kD2), 0u);
    EXPECT_EQ(h.gt->handles_in_use(kD0), 0u);
    EXPECT_EQ(h.platform.grant_ptes(kD2), 0);
    EXPECT_EQ(h.platform.device_maps(), 0);
    EXPECT_EQ(h.platform.violations(), 0);
  }
  GrantHarness h;
};
INSTANTIATE_TEST_SUITE_P(BothVersions, GrantConcurrency, ::testing::Values(1, 2));

TEST_P(GrantConcurrency, MappersAndCopiersVersusRevokers) {
  grant(kD1, 10, kD2, Mfn{1});  // for the mapper d2
  grant(kD1, 11, kD0, Mfn{2});  // for the copier d0
  const auto end = std::chrono::steady_clock::now() + kRunFor;
  std::atomic<int> maps{0}, copies{0}, revokes{0}, pinned_after_revoke{0}, wrong_frame{0};
  std::atomic<int> mapped_while_revoked{0};
  std::atomic<bool> ref10_revoked{false};  // set by the revoker between revoke and re-grant
  std::thread mapper([&] {
    while (time_left(end)) {
      std::uint32_t hd = 0;
      const bool ro = maps.load() % 3 == 0;
      const std::uint32_t flags = kHost | (ro ? kRo : 0u) | (maps.load() % 4 == 1 ? kDev : 0u);
      if (map_one(h, kD2, kD1, 10, flags, 0x4000, hd) != GrantStatus::Okay) continue;
      ++maps;
      // While this mapping is held no revoke can have succeeded.
      if (ref10_revoked.load()) ++mapped_while_revoked;
      auto pte = h.platform.pte(kD2, 0x4000);
      if (!pte || pte->frame != Mfn{1}) ++wrong_frame;
      EXPECT_EQ(unmap_one(h, kD2, hd, 0x4000, (flags & kDev) ? (1u << 12) : 0), GrantStatus::Okay);
      if (maps.load() % 4 == 0) std::this_thread::sleep_for(std::chrono::microseconds(20));  // revoke windows
    }
  });
  std::thread copier([&] {
    xen::GnttabCopy c{};
    c.source.u.ref = 11;
    c.source.domid = kD1.value();
    c.dest.u.gmfn = 40;
    c.dest.domid = kDomidSelf.value();
    c.len = 64;
    c.flags = xen::kGntcopySourceGref;
    while (time_left(end)) {
      const GrantStatus s = h.gt->copy(kD0, c);
      if (s == GrantStatus::Okay) ++copies;
      else EXPECT_EQ(s, GrantStatus::GeneralError);
      if (copies.load() % 4 == 0) std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
  });
  std::thread revoker([&] {
    while (time_left(end)) {
      for (std::uint32_t ref : {10u, 11u}) {
        if (!try_revoke(h, kD1, ref)) continue;
        ++revokes;
        if (ref == 10) ref10_revoked = true;
        // Revoked: nobody may hold a pin, and nobody can take one until it is granted again
        // (a mapper that read the entry just before the revoke must notice and back off).
        std::this_thread::sleep_for(std::chrono::microseconds(30));
        if (h.gt->pin_raw(kD1, GrantRef{ref}) != 0 || h.status_bits(kD1, ref) != 0) ++pinned_after_revoke;
        if (ref == 10) ref10_revoked = false;
        grant(kD1, ref, ref == 10 ? kD2 : kD0, Mfn{ref == 10 ? 1u : 2u});
      }
    }
  });
  mapper.join();
  copier.join();
  revoker.join();
  EXPECT_EQ(pinned_after_revoke.load(), 0);
  EXPECT_EQ(mapped_while_revoked.load(), 0);
  EXPECT_EQ(wrong_frame.load(), 0);
  EXPECT_GT(maps.load() + copies.load(), 0);
  EXPECT_GT(revokes.load(), 0);
  expect_quiescent({10, 11});
}

TEST_P(GrantConcurrency, MappersVersusSetVersion) {
  std::atomic<std::uint32_t> generation{0};
  grant(kD1, 10, kD2, Mfn{3});
  grant(kD1, 11, kD0, Mfn{4});
  const auto end = std::chrono::steady_clock::now() + kRunFor;
  std::atomic<int> switches{0}, busy{0}, maps{0};
  std::thread mapper([&] {
    while (time_left(end)) {
      std::uint32_t hd = 0;
      if (map_one(h, kD2, kD1, 10, kHost, 0x4000, hd) != GrantStatus::Okay) continue;
      ++maps;
      EXPECT_EQ(h.platform.pte(kD2, 0x4000)->frame, Mfn{3});
      EXPECT_EQ(unmap_one(h, kD2, hd, 0x4000, 0), GrantStatus::Okay);
      // Leave the granter windows in which nothing is pinned.
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  });
  std::thread copier([&] {
    xen::GnttabCopy c{};
    c.source.u.ref = 11;
    c.source.domid = kD1.value();
    c.dest.u.gmfn = 41;
    c.dest.domid = kDomidSelf.value();
    c.len = 8;
    c.flags = xen::kGntcopySourceGref;
    while (time_left(end)) {
      const GrantStatus s = h.gt->copy(kD0, c);
      if (s != GrantStatus::Okay) EXPECT_TRUE(s == GrantStatus::GeneralError || s == GrantStatus::BadGntref);
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  });
  // The granter (d1's own vCPU) flips versions and re-grants in the new format.
  std::thread granter([&] {
    while (time_left(end)) {
      const std::uint32_t target = h.gt->version(kD1) == 1 ? 2 : 1;
      const Status s = h.gt->set_version(kD1, target);
      if (s) {
        ++switches;
        ++generation;
        EXPECT_EQ(h.gt->version(kD1), target);
        grant(kD1, 10, kD2, Mfn{3});
        grant(kD1, 11, kD0, Mfn{4});
      } else {
        EXPECT_EQ(s.error(), Errno::Busy);
        ++busy;
      }
    }
  });
  mapper.join();
  copier.join();
  granter.join();
  EXPECT_GT(switches.load(), 0);
  EXPECT_GT(maps.load(), 0);
  expect_quiescent({10, 11});
}

TEST_P(GrantConcurrency, ManyMappersOfOneGrantKeepExactCounts) {
  grant(kD1, 12, kD2, Mfn{5});
  grant(kD1, 13, kD0, Mfn{6}, xen::kGtfPermitAccess | xen::kGtfReadonly);
  const auto end = std::chrono::steady_clock::now() + kRunFor;
  // Two mapper domains on two entries of the same granter, each with two threads of its own.
  auto simple = [&](DomId me, std::uint32_t ref, bool ro, std::uint64_t base) {
    std::uint64_t i = 0;
    while (time_left(end)) {
      std::uint32_t hd = 0;
      const std::uint64_t addr = base + (i++ % 16) * 0x1000;
      if (map_one(h, me, kD1, ref, kHost | (i % 2 ? kDev : 0u) | (ro ? kRo : 0u), addr, hd) != GrantStatus::Okay) {
        continue;
      }
      const std::uint64_t bus = (i % 2) ? ((ref == 12 ? 5u : 6u) << 12) : 0;
      EXPECT_EQ(unmap_one(h, me, hd, addr, bus), GrantStatus::Okay);
    }
  };
  std::thread a(simple, kD2, 12u, false, 0x100000u);
  std::thread b(simple, kD2, 12u, true, 0x200000u);
  std::thread c(simple, kD0, 13u, true, 0x100000u);
  a.join();
  b.join();
  c.join();
  expect_quiescent({12, 13});
}

}  // namespace
}  // namespace pvkit
