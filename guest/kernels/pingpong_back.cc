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
#include "pvkit/guest/events.h"
#include "pvkit/guest/runtime.h"
#include "pvkit/guest/sched.h"
#include "pvkit/guest/split_ring.h"
#include "pvkit/guest/start_info.h"

namespace g = pvkit::guest;
using pingpong::Op;
using pingpong::Request;
using pingpong::Response;

namespace {

constinit g::PageSlot g_ring_page{};
inline constexpr int kMaxPolls = 1 << 20;

int fail(const char* what, long rc) {
  g::print("pingpong_back: FAILURE (%s: %ld %s)\n", what, rc, g::errno_name(rc));
  return 1;
}
int fail(const char* what, pvkit::Status s) { return fail(what, s.guest_value()); }

}  // namespace

int guest_main(const g::xen::StartInfo& si) {
  if (!g::start_info_magic_ok(si)) return fail("start_info magic", -22);
  const auto peer =
      static_cast<g::xen::DomId>(g::cmdline_u64(si, "peer").value_or(pingpong::kDefaultBackPeer));
  g::print("pingpong_back: serving peer domain %u\n", peer);
  if (auto s = g::init_events(si); !s) return fail("init_events", s);

  // The frontend may not have granted the page yet: map retries, yielding.
  g::RingBackend<Request, Response> be;
  const g::GrantMapping map = be.map(peer, pingpong::kRingRef, &g_ring_page);
  if (!map.ok()) {
    g::print("pingpong_back: map_grant_ref rc=%ld status=%d (%s)\n", map.rc, map.status,
             g::gntst_name(map.status));
    return fail("map ring grant", map.rc < 0 ? map.rc : -22);
  }

  // No event channel until Connect arrives: poll for it.
  Request req{};
  bool connected = false;
  for (int i = 0; i < kMaxPolls && !connected; ++i) {
    auto got = be.poll(req);
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
  if (auto s = be.bind(peer, static_cast<g::xen::EvtchnPort>(req.value)); !s) {
    return fail("bind_interdomain", s);
  }
  g::events_enable();
  g::print("pingpong_back: ring mapped (handle %u), bound to port %lu as local port %u\n",
           be.handle(), req.value, be.port());
  if (auto s = be.reply(Response{Op::Connect, 0, 0, 0, 0}); !s) return fail("reply", s);

  std::uint64_t served = 0;
  for (;;) {
    if (auto s = be.receive(req); !s) return fail("request", s);
    if (req.op == Op::Disconnect) {
      if (auto s = be.reply(Response{Op::Disconnect, req.seq, 0, 0, 0}); !s) {
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
    if (auto s = be.reply(rsp); !s) return fail("reply", s);
  }

  if (auto s = be.disconnect(); !s) return fail("unmap ring grant / close", s);
  g::print("pingpong_back: served %lu pings, %lu events received\n", served, be.events_received());
  g::print("pingpong_back: SUCCESS\n");
  return 0;
}
