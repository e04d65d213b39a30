// pingpong_front — the frontend of the pingpong pair (protocol: pingpong_protocol.h).
//
// Grants a ring page to its peer, offers an event channel, sends `rounds` Ping requests and
// checks each Pong (value + 1), then disconnects and revokes the grant. Prints one line per
// round trip and a summary with the number of events received; the last line is
// "pingpong_front: SUCCESS" or "pingpong_front: FAILURE (...)".
#include <cstdint>

#include "pingpong_protocol.h"
#include "pvkit/guest/console.h"
#include "pvkit/guest/errno_name.h"
#include "pvkit/guest/event_channel.h"
#include "pvkit/guest/events.h"
#include "pvkit/guest/grant_ops.h"
#include "pvkit/guest/grant_table.h"
#include "pvkit/guest/memory.h"
#include "pvkit/guest/ring_wait.h"
#include "pvkit/guest/runtime.h"
#include "pvkit/guest/sched.h"
#include "pvkit/guest/start_info.h"
#include "pvkit/ring/front_ring.h"

namespace g = pvkit::guest;
using pingpong::Op;
using pingpong::Request;
using pingpong::Response;
using Ring = pvkit::ring::FrontRing<Request, Response>;

namespace {

constinit g::PageSlot g_gnttab_frames[1]{};
constinit g::GrantTable<g::xen::kGrantEntriesPerFrameV1> g_gnttab;
constinit g::PageSlot g_ring_page{};
constinit std::uint64_t g_events = 0;

void on_event(g::xen::EvtchnPort, void*) { ++g_events; }

int fail(const char* what, pvkit::Status s) {
  g::print("pingpong_front: FAILURE (%s: %d %s)\n", what, s.guest_value(),
           g::errno_name(s.guest_value()));
  return 1;
}

pvkit::Status send(Ring& ring, g::xen::EvtchnPort port, const Request& req) {
  if (auto s = ring.put_request(req); !s) return s;
  if (ring.push_requests_and_check_notify()) return g::evtchn_send(port);
  return pvkit::Status::ok();
}

pvkit::Status receive(Ring& ring, Response& rsp) { return g::next_response(ring, rsp); }

}  // namespace

int guest_main(const g::xen::StartInfo& si) {
  if (!g::start_info_magic_ok(si)) return fail("start_info magic", pvkit::Errno::Inval);
  const auto peer =
      static_cast<g::xen::DomId>(g::cmdline_u64(si, "peer").value_or(pingpong::kDefaultFrontPeer));
  std::uint64_t rounds = g::cmdline_u64(si, "rounds").value_or(pingpong::kDefaultRounds);
  if (rounds == 0 || rounds > pingpong::kMaxRounds) rounds = pingpong::kDefaultRounds;
  g::print("pingpong_front: peer domain %u, %lu rounds\n", peer, rounds);

  if (auto s = g::init_events(si); !s) return fail("init_events", s);
  if (auto s = g::setup_grant_table(g_gnttab, g_gnttab_frames, 1); !s) {
    return fail("setup_grant_table", s);
  }
  Ring ring;
  if (auto s = ring.init(&g_ring_page, sizeof(g_ring_page)); !s) return fail("ring init", s);
  auto mfn = g::PhysMap(si).virt_to_mfn(&g_ring_page);
  if (!mfn) return fail("ring page mfn", mfn.status());
  if (auto s = g_gnttab.grant_access(pingpong::kRingRef, peer, *mfn, false); !s) {
    return fail("grant ring", s);
  }
  auto port = g::evtchn_alloc_unbound(peer);
  if (!port) return fail("alloc_unbound", port.status());
  if (auto s = g::events().bind(*port, &on_event, nullptr); !s) return fail("bind handler", s);
  g::events_enable();
  g::print("pingpong_front: ring mfn %#lx granted as ref %u, event channel %u\n", *mfn,
           pingpong::kRingRef, *port);

  // The backend has no port yet: publish Connect without notifying; it polls for it.
  if (auto s = ring.put_request(Request{Op::Connect, 0, *port}); !s) return fail("connect", s);
  ring.push_requests();
  Response rsp{};
  if (auto s = receive(ring, rsp); !s) return fail("connect response", s);
  if (rsp.op != Op::Connect || rsp.status != 0) return fail("connect refused", pvkit::Errno::ConnRefused);
  g::print("pingpong_front: connected\n");

  std::uint64_t value = 1;
  for (std::uint32_t seq = 1; seq <= rounds; ++seq) {
    if (auto s = send(ring, *port, Request{Op::Ping, seq, value}); !s) return fail("ping", s);
    if (auto s = receive(ring, rsp); !s) return fail("pong", s);
    if (rsp.op != Op::Ping || rsp.seq != seq || rsp.status != 0 || rsp.value != value + 1) {
      g::print("pingpong_front: bad pong op=%u seq=%u value=%lu status=%d\n",
               static_cast<std::uint32_t>(rsp.op), rsp.seq, rsp.value, rsp.status);
      return fail("pong check", pvkit::Errno::BadMsg);
    }
    g::print("pingpong_front: round %u: sent %lu, got %lu (events so far %lu)\n", seq, value,
             rsp.value, g_events);
    value = rsp.value + 1;
  }

  if (auto s = send(ring, *port, Request{Op::Disconnect, 0, 0}); !s) return fail("disconnect", s);
  if (auto s = receive(ring, rsp); !s) return fail("disconnect response", s);
  // The backend unmaps right after answering: revoke as soon as its mapping is gone.
  pvkit::Status revoked = pvkit::Errno::Busy;
  for (int i = 0; i < 100000 && revoked.error() == pvkit::Errno::Busy; ++i) {
    revoked = g_gnttab.end_access(pingpong::kRingRef);
    if (revoked.error() == pvkit::Errno::Busy) (void)g::yield();
  }
  if (!revoked) return fail("revoke ring grant", revoked);
  (void)g::evtchn_close(*port);

  g::print("pingpong_front: %lu round trips, final value %lu, %lu events received\n", rounds,
           value - 1, g_events);
  g::print("pingpong_front: SUCCESS\n");
  return 0;
}
