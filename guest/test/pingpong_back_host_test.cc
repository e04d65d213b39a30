// Runs the real pingpong_back guest kernel (guest/kernels/pingpong_back.cc, its guest_main)
// on the host against the fake hypercall page, with the test playing the hypervisor and the
// frontend domain: the ring page is a memfd page that the fake maps over the backend's slot
// when it asks for grant 8 (mmap MAP_FIXED), events are raised in the guest's shared_info and
// delivered as real upcalls (Xen's bounce frame, upcall.S, HYPERVISOR_iret) on the return of
// the hypercall that unmasked or blocked. The frontend checks every Pong.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "fake_xen.h"
#include "guest/kernels/pingpong_protocol.h"
#include "pvkit/guest/events.h"
#include "pvkit/guest/runtime.h"
#include "pvkit/ring/front_ring.h"

namespace g = pvkit::guest;
namespace x = pvkit::guest::xen;
using fake_xen::Call;


namespace {

constexpr x::DomId kFrontDom = 1;
constexpr x::EvtchnPort kFrontPort = 5;
constexpr x::EvtchnPort kBackPort = 3;
constexpr std::uint32_t kRounds = 16;

template <typename T>
T* arg_ptr(std::uint64_t a) {
  return reinterpret_cast<T*>(a);
}

// The frontend domain and the hypervisor's view of the backend, played by the test.
struct World {
  int fd = -1;
  void* front_page = nullptr;
  pvkit::ring::FrontRing<pingpong::Request, pingpong::Response> ring;
  std::string console;
  bool bound = false, disconnected = false, unmapped = false, closed = false;
  std::uint32_t next_seq = 1;
  std::uint64_t value = 100;
  std::uint32_t pongs = 0, blocks = 0, raised = 0;
  std::uint64_t mapped_at = 0;

  // 2-level set_pending on the backend's port, then an upcall on return if unmasked.
  void raise_back_event() {
    x::SharedInfo& s = *g::shared_info();
    s.evtchn_pending[0] |= std::uint64_t{1} << kBackPort;
    s.vcpu_info[0].evtchn_pending_sel |= 1;
    s.vcpu_info[0].evtchn_upcall_pending = 1;
    ++raised;
    maybe_upcall();
  }
  void maybe_upcall() {
    const x::VcpuInfo& v = g::shared_info()->vcpu_info[0];
    if (v.evtchn_upcall_pending && !v.evtchn_upcall_mask) pvkit_test_upcall_on_return = 1;
  }
  void send_next() {
    pingpong::Request req{};
    if (next_seq <= kRounds) {
      req = pingpong::Request{pingpong::Op::Ping, next_seq++, value};
    } else {
      req = pingpong::Request{pingpong::Op::Disconnect, 0, 0};
    }
    EXPECT_TRUE(ring.put_request(req));
    ring.push_requests();
    raise_back_event();
  }
  // The backend notified us: consume its responses and answer with the next request.
  void on_notify() {
    pingpong::Response rsp{};
    for (;;) {
      auto got = ring.take_response(rsp);
      ASSERT_TRUE(got.ok());
      if (!*got) {
        // Re-arm rsp_event, as a real frontend does before it waits again.
        auto more = ring.final_check_for_responses();
        ASSERT_TRUE(more.ok());
        if (!*more) break;
        continue;
      }
      ASSERT_EQ(rsp.status, 0);
      switch (rsp.op) {
        case pingpong::Op::Connect:
          send_next();
          break;
        case pingpong::Op::Ping:
          EXPECT_EQ(rsp.seq, pongs + 1);
          EXPECT_EQ(rsp.value, value + 1);
          value = rsp.value + 1;
          ++pongs;
          send_next();
          break;
        case pingpong::Op::Disconnect:
          disconnected = true;
          break;
      }
    }
  }
};

class PingpongBackOnHost : public testing::Test {
 protected:
  void SetUp() override {
    xen_.reset();
    w_.fd = memfd_create("pingpong-ring", 0);
    ASSERT_GE(w_.fd, 0);
    ASSERT_EQ(ftruncate(w_.fd, 4096), 0);
    w_.front_page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, w_.fd, 0);
    ASSERT_NE(w_.front_page, MAP_FAILED);
    ASSERT_TRUE(w_.ring.init(w_.front_page, 4096));
    ASSERT_TRUE(w_.ring.put_request(pingpong::Request{pingpong::Op::Connect, 0, kFrontPort}));
    w_.ring.push_requests();
    install_handlers();
  }
  void TearDown() override {
    xen_.reset();
    munmap(w_.front_page, 4096);
    close(w_.fd);
  }

  void install_handlers() {
    xen_.handlers[x::hc::kConsoleIo] = [this](const Call& c) {
      w_.console.append(arg_ptr<const char>(c.a[2]), c.a[1]);
      return 0L;
    };
    xen_.handlers[x::hc::kUpdateVaMapping] = [](const Call&) { return 0L; };  // shared_info
    xen_.handlers[x::hc::kCallbackOp] = [](const Call& c) {
      const auto* reg = arg_ptr<const x::CallbackRegister>(c.a[1]);
      if (reg->type == x::kCallbackTypeEvent) {
        pvkit_test_upcall_callback = reinterpret_cast<void (*)()>(reg->address);
      }
      return 0L;
    };
    xen_.handlers[x::hc::kXenVersion] = [this](const Call&) {  // events_enable's nudge
      w_.maybe_upcall();
      return 0L;
    };
    xen_.handlers[x::hc::kSchedOp] = [this](const Call& c) -> long {
      if (c.a[0] == x::kSchedOpBlock) {
        if (++w_.blocks > 1000) {  // the guest would sleep forever
          auto* h = static_cast<pvkit::xen::SharedRingHeader*>(w_.front_page);
          fprintf(stderr, "ring req_prod=%u req_event=%u rsp_prod=%u rsp_event=%u\n", h->req_prod, h->req_event, h->rsp_prod, h->rsp_event);
          fprintf(stderr, "stuck: pongs=%u raised=%u bound=%d\n%s\n", w_.pongs, w_.raised,
                  w_.bound, w_.console.c_str());
          std::abort();
        }
        g::shared_info()->vcpu_info[0].evtchn_upcall_mask = 0;  // SCHEDOP_block unmasks
        w_.maybe_upcall();
      }
      return 0;
    };
    xen_.handlers[x::hc::kGrantTableOp] = [this](const Call& c) -> long {
      if (c.a[0] == x::kGnttabOpMapGrantRef) {
        auto* op = arg_ptr<x::GnttabMapGrantRef>(c.a[1]);
        if (op->dom != kFrontDom || op->ref != pingpong::kRingRef ||
            op->flags != x::kGntmapHostMap) {
          op->status = -8;
          return 0;
        }
        void* at = mmap(arg_ptr<void>(op->host_addr), 4096, PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_FIXED, w_.fd, 0);
        EXPECT_EQ(at, arg_ptr<void>(op->host_addr));
        w_.mapped_at = op->host_addr;
        op->status = 0;
        op->handle = 1;
        return 0;
      }
      if (c.a[0] == x::kGnttabOpUnmapGrantRef) {
        auto* op = arg_ptr<x::GnttabUnmapGrantRef>(c.a[1]);
        EXPECT_EQ(op->handle, 1u);
        EXPECT_EQ(op->host_addr, w_.mapped_at);
        // Put back a private page where the grant was (a real unmap leaves it unmapped).
        mmap(arg_ptr<void>(op->host_addr), 4096, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        w_.unmapped = true;
        op->status = 0;
        return 0;
      }
      return -38;
    };
    xen_.handlers[x::hc::kEventChannelOp] = [this](const Call& c) -> long {
      switch (c.a[0]) {
        case x::kEvtchnOpBindInterdomain: {
          auto* op = arg_ptr<x::EvtchnBindInterdomain>(c.a[1]);
          if (op->remote_dom != kFrontDom || op->remote_port != kFrontPort) return -22;
          op->local_port = kBackPort;
          w_.bound = true;
          w_.raise_back_event();  // Xen sets the new local port pending at once
          return 0;
        }
        case x::kEvtchnOpSend:
          if (arg_ptr<x::EvtchnSend>(c.a[1])->port != kBackPort) return -22;
          w_.on_notify();
          return 0;
        case x::kEvtchnOpClose:
          w_.closed = arg_ptr<x::EvtchnClose>(c.a[1])->port == kBackPort;
          return 0;
        default:
          return -38;
      }
    };
  }

  fake_xen::FakeXen& xen_ = fake_xen::instance();
  World w_;
};

TEST_F(PingpongBackOnHost, ServesEveryPingThroughRealUpcallsAndDisconnects) {
  x::StartInfo si{};
  std::memcpy(si.magic.data(), "xen-3.0-x86_64", 15);
  std::memcpy(si.cmd_line.data(), "peer=1", 7);
  si.shared_info = 0x5000;
  const auto upcalls_before = pvkit_test_upcalls_delivered;

  const int rc = guest_main(si);

  EXPECT_EQ(rc, 0) << w_.console;
  EXPECT_TRUE(w_.bound);
  EXPECT_EQ(w_.pongs, kRounds);
  EXPECT_TRUE(w_.disconnected);
  EXPECT_TRUE(w_.unmapped);
  EXPECT_TRUE(w_.closed);
  EXPECT_NE(w_.console.find("pingpong_back: served 16 pings"), std::string::npos) << w_.console;
  EXPECT_NE(w_.console.find("pingpong_back: SUCCESS"), std::string::npos) << w_.console;
  // Every event the frontend raised reached the guest as an upcall.
  EXPECT_GT(pvkit_test_upcalls_delivered, upcalls_before);
  EXPECT_EQ(g::shared_info()->evtchn_pending[0] & (1u << kBackPort), 0u);
  EXPECT_NE(w_.console.find(std::to_string(w_.raised) + " events received"), std::string::npos)
      << "raised " << w_.raised << "\n" << w_.console;
}

}  // namespace
