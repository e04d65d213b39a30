// The split-driver helpers over pvkit's real hypervisor objects: the handshake and a ping-pong
// whose event channels are lib/event's EventChannels (2-level delivery into each domain's
// shared_info, upcalls run by the guest-side consumer of platforms/host/event), first called
// directly, then the way a guest calls them: GuestEventOps issuing event_channel_op
// hypercalls that lib/event's EventChannelOp handler serves. Grants come from the host
// FakeXenWorld here; guest_ops_test.cc runs everything, grants included, through the real
// handlers.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "pvkit/event/event_testutil.h"
#include "pvkit/event/evtchn_op.h"
#include "pvkit/hypercall/args.h"
#include "pvkit/platforms/host/ring/fake_xen_world.h"
#include "pvkit/ring/backend_channel.h"
#include "pvkit/ring/frontend_channel.h"
#include "pvkit/ring/grant_errno.h"
#include "pvkit/ring/guest_event_ops.h"
#include "pvkit/ring/hypercall_invoker.h"

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

// ---------------------------------------------------------------- through the hypercall ABI

// Guest virtual addresses are host addresses here: the "guest" is this test process.
struct IdentityGuestMemory {
  Status copy_from_guest(void* dst, VirtAddr va, std::size_t n) {
    if (va.value() == 0) return Errno::Fault;
    std::memcpy(dst, reinterpret_cast<const void*>(va.value()), n);
    return Status::ok();
  }
  Status copy_to_guest(VirtAddr va, const void* src, std::size_t n) {
    if (va.value() == 0) return Errno::Fault;
    std::memcpy(reinterpret_cast<void*>(va.value()), src, n);
    return Status::ok();
  }
};

// The hypervisor side of one domain's vCPU 0: an EvtchnHypercallContext and a hypercall
// invoker that dispatches event_channel_op to lib/event's real handler.
class DomainVcpu {
 public:
  DomainVcpu(EventWorld& w, DomId d) : w_(w), d_(d) {}
  IdentityGuestMemory& guest_memory() { return mem_; }
  DomId current_domain() { return d_; }
  VcpuId current_vcpu() { return VcpuId{0}; }
  auto& evtchn() { return *w_.ev; }

  std::int64_t hypercall(HypercallArgs& args) {
    ++calls;
    if (args.nr != event::EventChannelOp::kNumber) return Status{Errno::NoSys}.guest_value();
    return event::EventChannelOp::call(*this, args);
  }
  int calls = 0;

 private:
  EventWorld& w_;
  DomId d_;
  IdentityGuestMemory mem_;
};
static_assert(event::EvtchnHypercallContext<DomainVcpu>);
static_assert(HypercallInvoker<DomainVcpu>);

// A guest's complete ops: events by hypercall, grants from the host fake.
class GuestOps {
 public:
  GuestOps(DomainVcpu& vcpu, FakeXenWorld& grants, DomId self)
      : ev_(vcpu), grants_(grants.ops(self)) {}
  Result<GrantRef> grant_access(DomId to, Mfn f, bool ro) { return grants_.grant_access(to, f, ro); }
  Status end_access(GrantRef r) { return grants_.end_access(r); }
  Result<MappedGrant> map_grant(DomId g, GrantRef r, bool ro) { return grants_.map_grant(g, r, ro); }
  Status unmap_grant(const MappedGrant& m) { return grants_.unmap_grant(m); }
  Result<EvtchnPort> alloc_unbound(DomId remote) { return ev_.alloc_unbound(remote); }
  Result<EvtchnPort> bind_interdomain(DomId d, EvtchnPort p) { return ev_.bind_interdomain(d, p); }
  Status notify(EvtchnPort p) { return ev_.notify(p); }
  Status close(EvtchnPort p) { return ev_.close(p); }

 private:
  GuestEventOps<DomainVcpu> ev_;
  FakeXenWorld::DomainOps grants_;
};
static_assert(FrontendOps<GuestOps> && BackendOps<GuestOps>);

TEST(HypercallInvoker, StatusFromRax) {
  EXPECT_TRUE(status_from_rax(0));
  EXPECT_TRUE(status_from_rax(5));
  EXPECT_EQ(status_from_rax(-22).error(), Errno::Inval);
  EXPECT_EQ(status_from_rax(-38).error(), Errno::NoSys);
  EXPECT_EQ(status_from_rax(-100000).error(), Errno::Io);
}

TEST_F(SplitDriverRealEvents, GuestOpsThroughEventChannelOpHypercalls) {
  DomainVcpu fvcpu(ev, kFrontDom), bvcpu(ev, kBackDom);
  GuestOps gf(fvcpu, grants, kFrontDom), gb(bvcpu, grants, kBackDom);
  FrontendChannel<GuestOps, Req, Rsp> gfront;
  BackendChannel<GuestOps, Req, Rsp> gback;
  ASSERT_TRUE(gfront.connect(gf, kBackDom, grants.frame_ptr(frame), frame));
  EXPECT_EQ(fvcpu.calls, 1);  // alloc_unbound
  // Error paths come back through RAX: a port that is not unbound for us, a free port.
  RingAdvertisement ad = gfront.advertisement();
  EXPECT_EQ(gback.connect(gb, kFrontDom, RingAdvertisement{ad.ring_ref, EvtchnPort{ad.port.value() + 1}})
                .error(),
            Errno::Inval);
  EXPECT_EQ(grants.active_mappings(), 0u);
  ASSERT_TRUE(gback.connect(gb, kFrontDom, ad));
  EXPECT_TRUE(has_port(ev.upcall_2l(kBackDom), gback.local_port()));

  std::uint64_t answered = 0;
  for (std::uint64_t i = 0; i < 40; ++i) {
    ASSERT_TRUE(gfront.ring().put_request(Req{i, static_cast<std::uint32_t>(i), 1}));
    ASSERT_TRUE(gfront.push_requests_and_notify());
    ASSERT_TRUE(has_port(ev.upcall_2l(kBackDom), gback.local_port()));
    auto served = gback.process_requests([](const Req& r) { return Rsp{r.id, r.a + r.b, 0}; }, 8);
    ASSERT_TRUE(served.ok());
    ASSERT_EQ(*served, 1u);
    ASSERT_TRUE(has_port(ev.upcall_2l(kFrontDom), ad.port));
    auto got = gfront.process_responses(
        [&](const Rsp& r) {
          EXPECT_EQ(r.id, answered);
          EXPECT_EQ(r.sum, static_cast<std::uint32_t>(answered) + 1);
          ++answered;
        },
        8);
    ASSERT_TRUE(got.ok());
  }
  EXPECT_EQ(answered, 40u);
  // One send per request in each direction, plus the binds and closes.
  EXPECT_EQ(fvcpu.calls, 1 + 40);
  EXPECT_EQ(bvcpu.calls, 2 + 40);  // failed bind, bind, sends
  ASSERT_TRUE(gback.disconnect());
  ASSERT_TRUE(gfront.disconnect());
  EXPECT_EQ(grants.active_mappings(), 0u);
  EXPECT_EQ(grants.grants_in_use(kFrontDom), 0u);
  // Both ports are closed: sending on the frontend's old port is refused by the real handler.
  EXPECT_EQ(gf.notify(ad.port).error(), Errno::Inval);
}

}  // namespace
}  // namespace pvkit::ring
