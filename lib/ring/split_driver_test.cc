// The split-driver handshake (frontend grants its ring page and allocates an unbound port;
// backend maps the grant and binds the port), its error paths with hostile or wrong
// advertisements, teardown ordering, and a two-thread ping-pong driven by event notifications,
// all over pvkit::host::ring::FakeXenWorld.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "pvkit/platforms/host/ring/fake_xen_world.h"
#include "pvkit/ring/backend_channel.h"
#include "pvkit/ring/frontend_channel.h"
#include "pvkit/ring/grant_errno.h"

namespace pvkit::ring {
namespace {

using host::ring::FakeXenWorld;
using Ops = FakeXenWorld::DomainOps;

struct Req {
  std::uint64_t id;
  std::uint32_t op;
  std::uint32_t arg;
};
struct Rsp {
  std::uint64_t id;
  std::int32_t status;
  std::uint32_t value;
};
using FrontCh = FrontendChannel<Ops, Req, Rsp>;
using BackCh = BackendChannel<Ops, Req, Rsp>;

constexpr DomId kDom0{0};
constexpr DomId kFrontDom{1};
constexpr DomId kBackDom{2};
using std::chrono::milliseconds;

Rsp serve(const Req& r) { return Rsp{r.id, 0, r.arg * 3 + r.op}; }

class SplitDriver : public ::testing::Test {
 protected:
  SplitDriver() : world(4), fops(world.ops(kFrontDom)), bops(world.ops(kBackDom)) {}
  void ConnectFront() {
    frame = world.alloc_frame(kFrontDom);
    ASSERT_TRUE(front.connect(fops, kBackDom, world.frame_ptr(frame), frame));
  }
  void ExpectNoBackendResources() {
    EXPECT_EQ(world.active_mappings(), 0u);
    EXPECT_EQ(world.ports_in_use(kBackDom), 0u);
    EXPECT_FALSE(back.connected());
  }

  FakeXenWorld world;
  Ops fops;
  Ops bops;
  Mfn frame{};
  FrontCh front;
  BackCh back;
};

TEST(GrantErrno, EveryGntstCodeMapsToANonOkErrno) {
  EXPECT_EQ(errno_from_gntst(xen::GntStatus::Okay), Errno::Ok);
  for (int v = -1; v >= -13; --v) {
    EXPECT_NE(errno_from_gntst(static_cast<xen::GntStatus>(v)), Errno::Ok) << v;
  }
  EXPECT_EQ(errno_from_gntst(xen::GntStatus::BadDomain), Errno::Srch);
  EXPECT_EQ(errno_from_gntst(xen::GntStatus::BadGntref), Errno::Inval);
  EXPECT_EQ(errno_from_gntst(xen::GntStatus::PermissionDenied), Errno::Perm);
  EXPECT_EQ(errno_from_gntst(xen::GntStatus::Eagain), Errno::Again);
  // Not a GNTST code at all (a positive or out-of-range status from a broken peer).
  EXPECT_EQ(errno_from_gntst(static_cast<xen::GntStatus>(5)), Errno::Io);
  EXPECT_EQ(errno_from_gntst(static_cast<xen::GntStatus>(-200)), Errno::Io);
}

TEST_F(SplitDriver, HandshakeThenPingPong) {
  ConnectFront();
  const RingAdvertisement ad = front.advertisement();
  EXPECT_GE(ad.ring_ref.value(), FakeXenWorld::kReservedGrantEntries);
  EXPECT_EQ(world.grant_flags(kFrontDom, ad.ring_ref), FakeXenWorld::kGtfPermitAccess);
  EXPECT_EQ(world.port_state(kFrontDom, ad.port), FakeXenWorld::PortState::Unbound);

  ASSERT_TRUE(back.connect(bops, kFrontDom, ad));
  EXPECT_EQ(world.port_state(kFrontDom, ad.port), FakeXenWorld::PortState::Interdomain);
  EXPECT_EQ(world.port_state(kBackDom, back.local_port()), FakeXenWorld::PortState::Interdomain);
  EXPECT_EQ(world.active_mappings(), 1u);
  EXPECT_EQ(world.grant_flags(kFrontDom, ad.ring_ref),
            FakeXenWorld::kGtfPermitAccess | FakeXenWorld::kGtfReading | FakeXenWorld::kGtfWriting);
  EXPECT_TRUE(world.take_pending(kBackDom, back.local_port()));  // bind leaves it pending
  EXPECT_EQ(back.ring().size(), front.ring().size());

  for (std::uint32_t round = 0; round < 3; ++round) {
    for (std::uint32_t i = 0; i < 5; ++i) {
      ASSERT_TRUE(front.ring().put_request(Req{round * 10 + i, round, i}));
    }
    ASSERT_TRUE(front.push_requests_and_notify());
    ASSERT_TRUE(world.take_pending(kBackDom, back.local_port()));  // the upcall
    auto served = back.process_requests(serve, 64);
    ASSERT_TRUE(served.ok());
    EXPECT_EQ(*served, 5u);
    ASSERT_TRUE(world.take_pending(kFrontDom, ad.port));
    std::uint32_t seen = 0;
    auto got = front.process_responses(
        [&](const Rsp& r) {
          EXPECT_EQ(r.id, round * 10 + seen);
          EXPECT_EQ(r.value, seen * 3 + round);
          ++seen;
        },
        64);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, 5u);
  }
}

TEST_F(SplitDriver, ProcessingIsBoundedByBudget) {
  ConnectFront();
  ASSERT_TRUE(back.connect(bops, kFrontDom, front.advertisement()));
  for (std::uint64_t i = 0; i < 20; ++i) ASSERT_TRUE(front.ring().put_request(Req{i, 0, 0}));
  ASSERT_TRUE(front.push_requests_and_notify());
  auto a = back.process_requests(serve, 8);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, 8u);
  auto b = back.process_requests(serve, 100);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, 12u);
  auto c = front.process_responses([](const Rsp&) {}, 5);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, 5u);
}

TEST_F(SplitDriver, BackendRejectsBadRingRef) {
  ConnectFront();
  RingAdvertisement ad = front.advertisement();
  ad.ring_ref = GrantRef{FakeXenWorld::kGrantEntries + 5};  // out of the table: GNTST_bad_gntref
  EXPECT_EQ(back.connect(bops, kFrontDom, ad).error(), errno_from_gntst(xen::GntStatus::BadGntref));
  ad.ring_ref = GrantRef{40};  // in range, but never granted: GNTST_general_error
  EXPECT_EQ(back.connect(bops, kFrontDom, ad).error(),
            errno_from_gntst(xen::GntStatus::GeneralError));
  ad.ring_ref = GrantRef{0};  // a reserved entry
  EXPECT_FALSE(back.connect(bops, kFrontDom, ad).is_ok());
  ExpectNoBackendResources();
  EXPECT_EQ(world.port_state(kFrontDom, front.advertisement().port),
            FakeXenWorld::PortState::Unbound);  // the frontend is untouched
}

TEST_F(SplitDriver, BackendOfTheWrongDomainCannotConnect) {
  ConnectFront();  // granted to, and port allocated for, kBackDom
  BackCh intruder;
  Ops iops = world.ops(DomId{3});
  EXPECT_EQ(intruder.connect(iops, kFrontDom, front.advertisement()).error(), Errno::Perm);
  // Naming the wrong frontend domain: the grant is looked up in that domain's table.
  EXPECT_EQ(back.connect(bops, kDom0, front.advertisement()).error(), Errno::Perm);
  EXPECT_EQ(back.connect(bops, DomId{77}, front.advertisement()).error(), Errno::Srch);
  ExpectNoBackendResources();
  EXPECT_EQ(world.ports_in_use(DomId{3}), 0u);
}

TEST_F(SplitDriver, PortUnboundForAnotherDomainIsRefusedAndMappingRolledBack) {
  ConnectFront();
  // A second frontend channel of the same domain, for a different backend (dom 3).
  FrontCh other;
  const Mfn f2 = world.alloc_frame(kFrontDom);
  ASSERT_TRUE(other.connect(fops, DomId{3}, world.frame_ptr(f2), f2));
  RingAdvertisement ad = front.advertisement();
  ad.port = other.advertisement().port;  // valid ring-ref for us, port meant for dom 3
  EXPECT_EQ(back.connect(bops, kFrontDom, ad).error(), Errno::Inval);
  ExpectNoBackendResources();
  EXPECT_EQ(world.grant_flags(kFrontDom, ad.ring_ref), FakeXenWorld::kGtfPermitAccess);
}

TEST_F(SplitDriver, PortNotUnboundIsRefused) {
  ConnectFront();
  RingAdvertisement ad = front.advertisement();
  RingAdvertisement bad = ad;
  bad.port = EvtchnPort{9999};  // out of range
  EXPECT_EQ(back.connect(bops, kFrontDom, bad).error(), Errno::Inval);
  bad.port = EvtchnPort{FakeXenWorld::kPorts - 1};  // free
  EXPECT_EQ(back.connect(bops, kFrontDom, bad).error(), Errno::Inval);
  bad.port = EvtchnPort{0};  // reserved
  EXPECT_EQ(back.connect(bops, kFrontDom, bad).error(), Errno::Inval);
  ExpectNoBackendResources();
  // Already bound: a second backend channel of the same domain maps fine but cannot bind.
  ASSERT_TRUE(back.connect(bops, kFrontDom, ad));
  BackCh second;
  EXPECT_EQ(second.connect(bops, kFrontDom, ad).error(), Errno::Inval);
  EXPECT_EQ(world.active_mappings(), 1u);  // the second mapping was undone
  EXPECT_EQ(back.connect(bops, kFrontDom, ad).error(), Errno::IsConn);
}

TEST_F(SplitDriver, ReadOnlyGrantCannotBeMappedForWriting) {
  const Mfn f = world.alloc_frame(kFrontDom);
  auto ref = fops.grant_access(kBackDom, f, /*readonly=*/true);
  ASSERT_TRUE(ref.ok());
  auto port = fops.alloc_unbound(kBackDom);
  ASSERT_TRUE(port.ok());
  EXPECT_EQ(back.connect(bops, kFrontDom, RingAdvertisement{*ref, *port}).error(), Errno::Perm);
  ExpectNoBackendResources();
}

TEST_F(SplitDriver, FrontendConnectErrorsUndoEveryStep) {
  const Mfn mine = world.alloc_frame(kFrontDom);
  const Mfn theirs = world.alloc_frame(kBackDom);
  // A frame the frontend does not own cannot be granted.
  EXPECT_EQ(front.connect(fops, kBackDom, world.frame_ptr(theirs), theirs).error(), Errno::Inval);
  // No free port: the grant made first is revoked again.
  std::vector<EvtchnPort> hog;
  for (auto p = fops.alloc_unbound(kBackDom); p.ok(); p = fops.alloc_unbound(kBackDom))
    hog.push_back(*p);
  EXPECT_EQ(front.connect(fops, kBackDom, world.frame_ptr(mine), mine).error(), Errno::NoSpc);
  EXPECT_EQ(world.grants_in_use(kFrontDom), 0u);
  for (EvtchnPort p : hog) ASSERT_TRUE(fops.close(p));
  EXPECT_EQ(world.ports_in_use(kFrontDom), 0u);
  // A misaligned or missing page.
  auto* p = static_cast<unsigned char*>(world.frame_ptr(mine));
  EXPECT_EQ(front.connect(fops, kBackDom, p + 4, mine).error(), Errno::Inval);
  EXPECT_EQ(front.connect(fops, kBackDom, nullptr, mine).error(), Errno::Inval);
  EXPECT_FALSE(front.connected());
  // Not connected: nothing to notify or disconnect.
  EXPECT_EQ(front.notify().error(), Errno::NotConn);
  EXPECT_EQ(front.disconnect().error(), Errno::NotConn);
  EXPECT_EQ(back.disconnect().error(), Errno::NotConn);
  EXPECT_EQ(back.process_requests(serve, 1).status().error(), Errno::NotConn);
  // Success after the failures, and a second connect is refused.
  ASSERT_TRUE(front.connect(fops, kBackDom, p, mine));
  EXPECT_EQ(front.connect(fops, kBackDom, p, mine).error(), Errno::IsConn);
}

TEST_F(SplitDriver, GrantTableFullIsReported) {
  const Mfn f = world.alloc_frame(kFrontDom);
  for (std::uint32_t i = FakeXenWorld::kReservedGrantEntries; i < FakeXenWorld::kGrantEntries; ++i)
    ASSERT_TRUE(fops.grant_access(kBackDom, f, true).ok());
  EXPECT_EQ(front.connect(fops, kBackDom, world.frame_ptr(f), f).error(), Errno::NoSpc);
  EXPECT_EQ(world.ports_in_use(kFrontDom), 0u);
}

// The frontend may not take its page back while the backend maps it; once the backend has
// unmapped, the retried disconnect completes, and nothing is left behind on either side.
TEST_F(SplitDriver, TeardownWaitsForTheBackendToUnmap) {
  ConnectFront();
  const RingAdvertisement ad = front.advertisement();
  ASSERT_TRUE(back.connect(bops, kFrontDom, ad));
  EXPECT_EQ(front.disconnect().error(), Errno::Busy);  // port closed, grant still mapped
  EXPECT_EQ(world.port_state(kBackDom, back.local_port()), FakeXenWorld::PortState::Unbound);
  EXPECT_FALSE(front.connected());
  // A notify from the backend now goes nowhere, harmlessly.
  EXPECT_TRUE(back.notify());
  ASSERT_TRUE(back.disconnect());
  ASSERT_TRUE(front.disconnect());
  EXPECT_EQ(world.grants_in_use(kFrontDom), 0u);
  EXPECT_EQ(world.ports_in_use(kFrontDom), 0u);
  ExpectNoBackendResources();
  // The page can be shared again.
  ASSERT_TRUE(front.connect(fops, kBackDom, world.frame_ptr(frame), frame));
  ASSERT_TRUE(back.connect(bops, kFrontDom, front.advertisement()));
}

// A hostile frontend behind a valid handshake: the backend reports it and can disconnect.
TEST_F(SplitDriver, Inv26_HostileFrontendIsReportedThroughTheChannel_XSA155) {
  ConnectFront();
  ASSERT_TRUE(back.connect(bops, kFrontDom, front.advertisement()));
  ASSERT_TRUE(front.ring().put_request(Req{1, 0, 0}));
  ASSERT_TRUE(front.push_requests_and_notify());
  auto* hdr = static_cast<xen::SharedRingHeader*>(world.frame_ptr(frame));
  hdr->req_prod = 0x7FFFFFFFu;
  auto n = back.process_requests(serve, 64);
  EXPECT_EQ(n.status().error(), kRingProtocolError);
  ASSERT_TRUE(back.disconnect());
  ExpectNoBackendResources();
}

// Frontend and backend on two threads, each sleeping until the other's event: a wrong
// notification decision in the helpers shows up as a timeout.
TEST_F(SplitDriver, TwoThreadPingPongDrivenByEvents) {
  ConnectFront();
  ASSERT_TRUE(back.connect(bops, kFrontDom, front.advertisement()));
  const EvtchnPort fport = front.advertisement().port;
  const EvtchnPort bport = back.local_port();
  constexpr std::uint64_t kCount = 4000;
  std::atomic<bool> stop{false}, failed{false};

  std::thread backend([&] {
    std::uint64_t served = 0;
    while (!stop && !failed) {
      if (!world.wait_pending(kBackDom, bport, milliseconds(200))) continue;
      for (;;) {
        auto n = back.process_requests(serve, 16);
        if (!n.ok()) { failed = true; return; }
        served += *n;
        if (*n < 16) break;  // ring dry and req_event re-armed: sleep until the next event
      }
    }
    (void)served;
  });

  std::uint64_t sent = 0, received = 0, timeouts = 0;
  while (received < kCount && !failed) {
    for (std::uint64_t k = 1 + (sent % 4); k > 0 && sent < kCount && !front.ring().full(); --k) {
      if (!front.ring().put_request(Req{sent, 1, static_cast<std::uint32_t>(sent)}).is_ok())
        failed = true;
      ++sent;
    }
    if (!front.push_requests_and_notify().is_ok()) failed = true;
    auto got = front.process_responses(
        [&](const Rsp& r) {
          if (r.id != received || r.value != static_cast<std::uint32_t>(received) * 3 + 1)
            failed = true;
          ++received;
        },
        1000);
    if (!got.ok()) {
      failed = true;
      break;
    }
    if (*got == 0 && received < sent && !world.wait_pending(kFrontDom, fport, milliseconds(2000)))
      ++timeouts;  // a lost notification
    if (timeouts > 0) break;
  }
  stop = true;
  backend.join();
  EXPECT_FALSE(failed);
  EXPECT_EQ(timeouts, 0u);
  EXPECT_EQ(received, kCount);
  EXPECT_LT(world.events_delivered(kBackDom), kCount);  // hold-off suppressed some events
}

}  // namespace
}  // namespace pvkit::ring
