// pingpong_back — the backend of the pingpong pair (protocol: pingpong_protocol.h).
//
// Maps the frontend's ring grant, binds to its advertised event channel, answers every Ping
// with value + 1 until Disconnect, then unmaps the grant and closes the port. Requests are
// copied out of the shared page before they are looked at (pvkit/ring does that), and a
// Connect port that does not fit is refused. Prints a summary with the number of requests
// served and events received; the last line is "pingpong_back: SUCCESS" or
// "pingpong_back: FAILURE (...)".
#include <cstdint>

#include "pingpong_protocol.h"
#include "pvkit/guest/console.h"
#include "pvkit/guest/errno_name.h"
#include "pvkit/guest/event_channel.h"
#include "pvkit/guest/events.h"
#include "pvkit/guest/grant_ops.h"
#include "pvkit/guest/ring_wait.h"
#include "pvkit/guest/runtime.h"
#include "pvkit/guest/sched.h"
#include "pvkit/guest/start_info.h"
#include "pvkit/ring/back_ring.h"

namespace g = pvkit::guest;
using pingpong::Op;
using pingpong::Request;
using pingpong::Response;
using Ring = pvkit::ring::BackRing<Request, Response>;

namespace {

constinit g::PageSlot g_ring_page{};
constinit std::uint64_t g_events = 0;
inline constexpr int kMaxPolls = 1 << 20;

void on_event(g::xen::EvtchnPort, void*) { ++g_events; }

int fail(const char* what, long rc) {
  g::print("pingpong_back: FAILURE (%s: %ld %s)\n", what, rc, g::errno_name(rc));
  return 1;
}
int fail(const char* what, pvkit::Status s) { return fail(what, s.guest_value()); }

pvkit::Status reply(Ring& ring, g::xen::EvtchnPort port, const Response& rsp) {
  if (auto s = ring.put_response(rsp); !s) return s;
  if (ring.push_responses_and_check_notify()) return g::evtchn_send(port);
  return pvkit::Status::ok();
}

}  // namespace

int guest_main(const g::xen::StartInfo& si) {
  if (!g::start_info_magic_ok(si)) return fail("start_info magic", -22);
  const auto peer =
      static_cast<g::xen::DomId>(g::cmdline_u64(si, "peer").value_or(pingpong::kDefaultBackPeer));
  g::print("pingpong_back: serving peer domain %u\n", peer);
  if (auto s = g::init_events(si); !s) return fail("init_events", s);

  // The frontend may not have granted the page yet: retry, yielding.
  g::GrantMapping map;
  for (int i = 0; i < kMaxPolls; ++i) {
    map = g::grant_map(peer, pingpong::kRingRef, &g_ring_page, false);
    if (map.ok() || map.rc < 0) break;
    (void)g::yield();
  }
  if (!map.ok()) {
    g::print("pingpong_back: map_grant_ref rc=%ld status=%d (%s)\n", map.rc, map.status,
             g::gntst_name(map.status));
    return fail("map ring grant", map.rc < 0 ? map.rc : -22);
  }
  Ring ring;
  if (auto s = ring.attach(&g_ring_page, sizeof(g_ring_page)); !s) return fail("ring attach", s);

  // No event channel until Connect arrives: poll for it.
  Request req{};
  bool connected = false;
  for (int i = 0; i < kMaxPolls && !connected; ++i) {
    auto got = ring.take_request(req);
    if (!got) return fail("ring", got.status());
    if (*got) {
      if (req.op != Op::Connect) return fail("first request is not Connect", -74);
      connected = true;
    } else {
      (void)g::yield();
    }
  }
  if (!connected) return fail("no Connect", -110);
  if (req.value == 0 || req.value > 0xFFFFFFFFull) return fail("bad Connect port", -22);
  auto port = g::evtchn_bind_interdomain(peer, static_cast<g::xen::EvtchnPort>(req.value));
  if (!port) return fail("bind_interdomain", port.status());
  if (auto s = g::events().bind(*port, &on_event, nullptr); !s) return fail("bind handler", s);
  g::events_enable();
  g::print("pingpong_back: ring mapped (handle %u), bound to port %lu as local port %u\n",
           map.handle, req.value, *port);
  if (auto s = reply(ring, *port, Response{Op::Connect, 0, 0, 0, 0}); !s) return fail("reply", s);

  std::uint64_t served = 0;
  for (;;) {
    if (auto s = g::next_request(ring, req); !s) return fail("request", s);
    if (req.op == Op::Disconnect) {
      if (auto s = reply(ring, *port, Response{Op::Disconnect, req.seq, 0, 0, 0}); !s) {
        return fail("reply", s);
      }
      break;
    }
    Response rsp{req.op, req.seq, 0, -22, 0};
    if (req.op == Op::Ping) {
      rsp.value = req.value + 1;
      rsp.status = 0;
      ++served;
    }
    if (auto s = reply(ring, *port, rsp); !s) return fail("reply", s);
  }

  const long unmap = g::grant_unmap(map.handle, &g_ring_page);
  if (unmap != 0) return fail("unmap ring grant", unmap);
  (void)g::evtchn_close(*port);
  g::print("pingpong_back: served %lu pings, %lu events received\n", served, g_events);
  g::print("pingpong_back: SUCCESS\n");
  return 0;
}
