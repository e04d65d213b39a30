// Runs the real pingpong_front guest kernel (guest/kernels/pingpong_front.cc) on the host
// against the fake hypercall page, with the test playing the hypervisor and the backend
// domain: it reads the frontend's grant entry 8 from the grant frame the kernel set up, checks
// it (permit_access, domid, frame), marks it in use while "mapped", serves the ring from the
// granted page (the same process), and raises the frontend's port, delivered as a real upcall
// on hypercall return. The frontend must finish all rounds, revoke its grant only after the
// backend's unmap, and report SUCCESS.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "fake_xen.h"
#include "guest/kernels/pingpong_protocol.h"
#include "pvkit/guest/events.h"
#include "pvkit/guest/runtime.h"
#include "pvkit/ring/back_ring.h"

namespace g = pvkit::guest;
namespace x = pvkit::guest::xen;
using fake_xen::Call;

namespace {

constexpr x::DomId kBackDom = 2;
constexpr x::EvtchnPort kFrontPort = 5;
constexpr std::uint64_t kGrantFrameMfn = 0x4242;

template <typename T>
T* arg_ptr(std::uint64_t a) {
  return reinterpret_cast<T*>(a);
}

struct Backend {
  explicit Backend(const fake_xen::ProcessPhysMap& map) : pm(map) {}
  const fake_xen::ProcessPhysMap& pm;
  std::string console;
  std::uint64_t table_va = 0;
  x::GrantEntryV1* ring_entry = nullptr;
  pvkit::ring::BackRing<pingpong::Request, pingpong::Response> ring;
  bool connected = false, disconnected = false, port_allocated = false, closed = false;
  std::uint32_t pings = 0, raised = 0, blocks = 0;

  void raise_front_event() {
    x::SharedInfo& s = *g::shared_info();
    s.evtchn_pending[0] |= std::uint64_t{1} << kFrontPort;
    s.vcpu_info[0].evtchn_pending_sel |= 1;
    s.vcpu_info[0].evtchn_upcall_pending = 1;
    ++raised;
    maybe_upcall();
  }
  static void maybe_upcall() {
    const x::VcpuInfo& v = g::shared_info()->vcpu_info[0];
    if (v.evtchn_upcall_pending && !v.evtchn_upcall_mask) pvkit_test_upcall_on_return = 1;
  }

  // GNTTABOP_map_grant_ref of the frontend's ref 8, as the hypervisor would check it.
  bool map_ring() {
    auto* e = arg_ptr<x::GrantEntryV1>(table_va) + pingpong::kRingRef;
    if ((e->flags & x::kGtfTypeMask) != x::kGtfPermitAccess || e->domid != kBackDom ||
        (e->flags & x::kGtfReadonly)) {
      return false;
    }
    void* page = pm.ptr_of(e->frame);
    if (page == nullptr) return false;
    e->flags |= x::kGtfReading | x::kGtfWriting;
    ring_entry = e;
    return ring.attach(page, 4096).is_ok();
  }

  // Serves every request that is there, as a real backend (re-arming req_event at the end).
  void serve() {
    pingpong::Request req{};
    for (;;) {
      auto got = ring.take_request(req);
      ASSERT_TRUE(got.ok());
      if (!*got) {
        auto more = ring.final_check_for_requests();
        ASSERT_TRUE(more.ok());
        if (!*more) break;
        continue;
      }
      pingpong::Response rsp{req.op, req.seq, 0, 0, 0};
      switch (req.op) {
        case pingpong::Op::Connect:
          EXPECT_EQ(req.value, kFrontPort);
          connected = true;
          break;
        case pingpong::Op::Ping:
          rsp.value = req.value + 1;
          ++pings;
          break;
        case pingpong::Op::Disconnect:
          disconnected = true;
          break;
      }
      ASSERT_TRUE(ring.put_response(rsp));
    }
    if (ring.push_responses_and_check_notify()) raise_front_event();
    if (disconnected && ring_entry != nullptr) {  // unmap: the hypervisor drops the pins
      ring_entry->flags &= ~(x::kGtfReading | x::kGtfWriting);
      ring_entry = nullptr;
    }
  }

  void install(fake_xen::FakeXen& xen) {
    xen.handlers[x::hc::kConsoleIo] = [this](const Call& c) {
      console.append(arg_ptr<const char>(c.a[2]), c.a[1]);
      return 0L;
    };
    xen.handlers[x::hc::kCallbackOp] = [](const Call& c) {
      const auto* reg = arg_ptr<const x::CallbackRegister>(c.a[1]);
      if (reg->type == x::kCallbackTypeEvent) {
        pvkit_test_upcall_callback = reinterpret_cast<void (*)()>(reg->address);
      }
      return 0L;
    };
    xen.handlers[x::hc::kUpdateVaMapping] = [this](const Call& c) {
      if (x::Pte(c.a[1]).mfn() == kGrantFrameMfn) table_va = c.a[0];
      return 0L;  // shared_info and the grant frame: the slot memory stands in for them
    };
    xen.handlers[x::hc::kXenVersion] = [](const Call&) {
      maybe_upcall();
      return 0L;
    };
    xen.handlers[x::hc::kGrantTableOp] = [](const Call& c) -> long {
      if (c.a[0] != x::kGnttabOpSetupTable) return -38;
      auto* op = arg_ptr<x::GnttabSetupTable>(c.a[1]);
      EXPECT_EQ(op->nr_frames, 1u);
      *arg_ptr<std::uint64_t>(op->frame_list) = kGrantFrameMfn;
      op->status = 0;
      return 0;
    };
    xen.handlers[x::hc::kSchedOp] = [this](const Call& c) -> long {
      if (c.a[0] != x::kSchedOpBlock) return 0;
      if (++blocks > 1000) {
        std::fprintf(stderr, "frontend sleeps forever\n%s\n", console.c_str());
        std::abort();
      }
      g::shared_info()->vcpu_info[0].evtchn_upcall_mask = 0;  // SCHEDOP_block unmasks
      if (!connected) {  // the backend domain comes up while the frontend waits
        EXPECT_TRUE(map_ring()) << "grant 8 is not a valid RW grant to domain 2";
        serve();
      }
      maybe_upcall();
      return 0;
    };
    xen.handlers[x::hc::kEventChannelOp] = [this](const Call& c) -> long {
      switch (c.a[0]) {
        case x::kEvtchnOpAllocUnbound: {
          auto* op = arg_ptr<x::EvtchnAllocUnbound>(c.a[1]);
          if (op->dom != x::kDomIdSelf || op->remote_dom != kBackDom) return -22;
          op->port = kFrontPort;
          port_allocated = true;
          return 0;
        }
        case x::kEvtchnOpSend:
          if (arg_ptr<x::EvtchnSend>(c.a[1])->port != kFrontPort || !connected) return -22;
          serve();
          return 0;
        case x::kEvtchnOpClose:
          closed = arg_ptr<x::EvtchnClose>(c.a[1])->port == kFrontPort;
          return 0;
        default:
          return -38;
      }
    };
  }
};

TEST(PingpongFrontOnHost, CompletesEveryRoundAndRevokesAfterTheBackendUnmaps) {
  fake_xen::ProcessPhysMap pm;
  auto& xen = fake_xen::instance();
  xen.reset();
  Backend back(pm);
  back.install(xen);
  x::StartInfo si{};
  std::memcpy(si.magic.data(), "xen-3.0-x86_64", 15);
  std::memcpy(si.cmd_line.data(), "peer=2 rounds=16", 17);
  si.shared_info = 0x5000;
  si.mfn_list = reinterpret_cast<std::uint64_t>(pm.p2m.data());
  si.nr_pages = pm.p2m.size();

  const int rc = guest_main(si);
  std::printf("%s", back.console.c_str());

  EXPECT_EQ(rc, 0) << back.console;
  EXPECT_TRUE(back.port_allocated);
  EXPECT_TRUE(back.connected);
  EXPECT_EQ(back.pings, 16u);
  EXPECT_TRUE(back.disconnected);
  EXPECT_TRUE(back.closed);
  const auto* entry = arg_ptr<x::GrantEntryV1>(back.table_va) + pingpong::kRingRef;
  EXPECT_EQ(entry->flags, 0) << "the ring grant must be revoked at the end";
  EXPECT_NE(back.console.find("pingpong_front: round 16: sent 31, got 32"), std::string::npos);
  EXPECT_NE(back.console.find(std::to_string(back.raised) + " events received"), std::string::npos)
      << "raised " << back.raised;
  EXPECT_NE(back.console.find("pingpong_front: SUCCESS"), std::string::npos);
  xen.reset();
}

}  // namespace
