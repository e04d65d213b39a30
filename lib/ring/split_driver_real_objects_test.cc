// The split-driver helpers over pvkit's real hypervisor objects: the handshake and a ping-pong
// whose event channels are lib/event's EventChannels (2-level delivery into each domain's
// shared_info, upcalls run by the guest-side consumer of platforms/host/event). Grants come
// from the host FakeXenWorld until lib/grant provides a host test harness.
#include <algorithm>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "pvkit/event/event_testutil.h"
#include "pvkit/platforms/host/ring/fake_xen_world.h"
#include "pvkit/ring/backend_channel.h"
#include "pvkit/ring/frontend_channel.h"
#include "pvkit/ring/grant_errno.h"

namespace pvkit::ring {
namespace {

using event::testing::EventWorld;
using host::ring::FakeXenWorld;

// FrontendOps + BackendOps for domain `self`: event-channel calls go to the hypervisor's
// EventChannels exactly as the event_channel_op handler would make them for that domain.
class RealEventOps {
 public:
  RealEventOps(EventWorld& ev, FakeXenWorld& grants, DomId self)
      : ev_(ev), grants_(grants.ops(self)), self_(self) {}

  Result<GrantRef> grant_access(DomId to, Mfn frame, bool ro) {
    return grants_.grant_access(to, frame, ro);
  }
  Status end_access(GrantRef ref) { return grants_.end_access(ref); }
  Result<MappedGrant> map_grant(DomId granter, GrantRef ref, bool ro) {
    return grants_.map_grant(granter, ref, ro);
  }
  Status unmap_grant(const MappedGrant& m) { return grants_.unmap_grant(m); }

  Result<EvtchnPort> alloc_unbound(DomId remote) {
    return ev_.ev->alloc_unbound(self_, kDomidSelf, remote);
  }
  Result<EvtchnPort> bind_interdomain(DomId remote, EvtchnPort rport) {
    return ev_.ev->bind_interdomain(self_, remote, rport);
  }
  Status notify(EvtchnPort p) { return ev_.ev->send(self_, p); }
  Status close(EvtchnPort p) { return ev_.ev->close(self_, p); }

 private:
  EventWorld& ev_;
  FakeXenWorld::DomainOps grants_;
  DomId self_;
};
static_assert(FrontendOps<RealEventOps> && BackendOps<RealEventOps>);

struct Req {
  std::uint64_t id;
  std::uint32_t a, b;
};
struct Rsp {
  std::uint64_t id;
  std::uint32_t sum;
  std::int32_t status;
};

constexpr DomId kFrontDom{1};
constexpr DomId kBackDom{2};

bool has_port(const std::vector<std::uint32_t>& v, EvtchnPort p) {
  return std::find(v.begin(), v.end(), p.value()) != v.end();
}

class SplitDriverRealEvents : public ::testing::Test {
 protected:
  SplitDriverRealEvents()
      : grants(4), fops(ev, grants, kFrontDom), bops(ev, grants, kBackDom) {}
  void SetUp() override {
    ev.create_ok(kFrontDom);
    ev.create_ok(kBackDom);
    ev.create_ok(DomId{3});
    frame = grants.alloc_frame(kFrontDom);
  }

  EventWorld ev;
  FakeXenWorld grants;
  RealEventOps fops;
  RealEventOps bops;
  Mfn frame{};
  FrontendChannel<RealEventOps, Req, Rsp> front;
  BackendChannel<RealEventOps, Req, Rsp> back;
};

TEST_F(SplitDriverRealEvents, HandshakeAndPingPongThroughUpcalls) {
  ASSERT_TRUE(front.connect(fops, kBackDom, grants.frame_ptr(frame), frame));
  ASSERT_TRUE(back.connect(bops, kFrontDom, front.advertisement()));
  const EvtchnPort fport = front.advertisement().port;
  const EvtchnPort bport = back.local_port();
  // bind_interdomain leaves the backend's new port pending: its first upcall sees it.
  EXPECT_TRUE(has_port(ev.upcall_2l(kBackDom), bport));

  std::uint64_t next = 0, answered = 0;
  for (int round = 0; round < 50; ++round) {
    const int batch = 1 + round % 6;
    for (int i = 0; i < batch; ++i) {
      ASSERT_TRUE(front.ring().put_request(Req{next, static_cast<std::uint32_t>(next), 7}));
      ++next;
    }
    ASSERT_TRUE(front.push_requests_and_notify());
    // The backend was idle with req_event re-armed, so every batch raises its upcall.
    ASSERT_TRUE(has_port(ev.upcall_2l(kBackDom), bport)) << round;
    auto served = back.process_requests(
        [](const Req& r) { return Rsp{r.id, r.a + r.b, 0}; }, 64);
    ASSERT_TRUE(served.ok());
    EXPECT_EQ(*served, static_cast<std::uint32_t>(batch));
    ASSERT_TRUE(has_port(ev.upcall_2l(kFrontDom), fport)) << round;
    auto got = front.process_responses(
        [&](const Rsp& r) {
          EXPECT_EQ(r.id, answered);
          EXPECT_EQ(r.sum, static_cast<std::uint32_t>(answered) + 7);
          ++answered;
        },
        64);
    ASSERT_TRUE(got.ok());
    // No event is left over: the hold-off sent exactly one per direction per round.
    EXPECT_TRUE(ev.upcall_2l(kBackDom).empty());
    EXPECT_TRUE(ev.upcall_2l(kFrontDom).empty());
  }
  EXPECT_EQ(answered, next);

  // Teardown over the real channels: the frontend's close makes the backend's port unbound.
  EXPECT_EQ(front.disconnect().error(), Errno::Busy);  // page still mapped by the backend
  ASSERT_TRUE(back.disconnect());
  ASSERT_TRUE(front.disconnect());
  EXPECT_EQ(grants.active_mappings(), 0u);
}

TEST_F(SplitDriverRealEvents, RealEventChannelsRefuseWrongBindings) {
  ASSERT_TRUE(front.connect(fops, kBackDom, grants.frame_ptr(frame), frame));
  RingAdvertisement ad = front.advertisement();
  // Domain 3 has the grant refused first; with a grant of its own it still cannot bind a port
  // that is unbound for domain 2.
  RealEventOps intruder(ev, grants, DomId{3});
  const Mfn f3 = grants.alloc_frame(kFrontDom);
  auto ref3 = fops.grant_access(DomId{3}, f3, false);
  ASSERT_TRUE(ref3.ok());
  BackendChannel<RealEventOps, Req, Rsp> other;
  EXPECT_EQ(other.connect(intruder, kFrontDom, RingAdvertisement{*ref3, ad.port}).error(),
            Errno::Inval);
  EXPECT_EQ(grants.active_mappings(), 0u);  // the mapping made before the bind was undone
  // A free port number, and port 0.
  EXPECT_EQ(back.connect(bops, kFrontDom, RingAdvertisement{ad.ring_ref, EvtchnPort{60}}).error(),
            Errno::Inval);
  EXPECT_EQ(back.connect(bops, kFrontDom, RingAdvertisement{ad.ring_ref, EvtchnPort{0}}).error(),
            Errno::Inval);
  // A frontend that names a domain which does not exist (yet): as in Xen, alloc_unbound
  // only records the id, and a backend naming an absent frontend gets -ESRCH from the bind.
  ASSERT_TRUE(front.disconnect());
  FrontendChannel<RealEventOps, Req, Rsp> f2;
  ASSERT_TRUE(f2.connect(fops, DomId{6}, grants.frame_ptr(frame), frame));
  ASSERT_TRUE(f2.disconnect());
  EXPECT_EQ(grants.grants_in_use(kFrontDom), 1u);  // only ref3
  // The proper backend still connects.
  ASSERT_TRUE(front.connect(fops, kBackDom, grants.frame_ptr(frame), frame));
  EXPECT_EQ(back.connect(bops, DomId{5}, front.advertisement()).error(),
            errno_from_gntst(xen::GntStatus::BadDomain));  // unknown to the grant tables first
  ASSERT_TRUE(back.connect(bops, kFrontDom, front.advertisement()));
  EXPECT_EQ(back.connect(bops, kFrontDom, front.advertisement()).error(), Errno::IsConn);
}

}  // namespace
}  // namespace pvkit::ring
