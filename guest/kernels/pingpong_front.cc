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
#include "pvkit/guest/events.h"
#include "pvkit/guest/grant_ops.h"
#include "pvkit/guest/grant_table.h"
#include "pvkit/guest/memory.h"
#include "pvkit/guest/runtime.h"
#include "pvkit/guest/split_ring.h"
#include "pvkit/guest/start_info.h"

namespace g = pvkit::guest;
using pingpong::Op;
using pingpong::Request;
using pingpong::Response;

namespace {

constinit g::PageSlot g_gnttab_frames[1]{};
constinit g::GrantTable<g::xen::kGrantEntriesPerFrameV1> g_gnttab;
constinit g::PageSlot g_ring_page{};

int fail(const char* what, pvkit::Status s) {
  g::print("pingpong_front: FAILURE (%s: %d %s)\n", what, s.guest_value(),
           g::errno_name(s.guest_value()));
  return 1;
}

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
  g::RingFrontend<Request, Response> fe;
  if (auto s = fe.connect(g_gnttab, g::PhysMap(si), &g_ring_page, peer, pingpong::kRingRef); !s) {
    return fail("connect", s);
  }
  g::events_enable();
  g::print("pingpong_front: ring granted as ref %u, event channel %u\n", pingpong::kRingRef,
           fe.port());

  // The backend has no port yet: publish Connect without notifying; it polls for it.
  if (auto s = fe.publish(Request{Op::Connect, 0, fe.port()}); !s) return fail("connect", s);
  Response rsp{};
  if (auto s = fe.receive(rsp); !s) return fail("connect response", s);
  if (rsp.op != Op::Connect || rsp.status != 0) return fail("connect refused", pvkit::Errno::ConnRefused);
  g::print("pingpong_front: connected\n");

  std::uint64_t value = 1;
  for (std::uint32_t seq = 1; seq <= rounds; ++seq) {
    if (auto s = fe.send(Request{Op::Ping, seq, value}); !s) return fail("ping", s);
    if (auto s = fe.receive(rsp); !s) return fail("pong", s);
    if (rsp.op != Op::Ping || rsp.seq != seq || rsp.status != 0 || rsp.value != value + 1) {
      g::print("pingpong_front: bad pong op=%u seq=%u value=%lu status=%d\n",
               static_cast<std::uint32_t>(rsp.op), rsp.seq, rsp.value, rsp.status);
      return fail("pong check", pvkit::Errno::BadMsg);
    }
    g::print("pingpong_front: round %u: sent %lu, got %lu (events so far %lu)\n", seq, value,
             rsp.value, fe.events_received());
    value = rsp.value + 1;
  }

  if (auto s = fe.send(Request{Op::Disconnect, 0, 0}); !s) return fail("disconnect", s);
  if (auto s = fe.receive(rsp); !s) return fail("disconnect response", s);
  // The backend unmaps right after answering; disconnect revokes once its mapping is gone.
  if (auto s = fe.disconnect(g_gnttab); !s) return fail("revoke ring grant", s);

  g::print("pingpong_front: %lu round trips, final value %lu, %lu events received\n", rounds,
           value - 1, fe.events_received());
  g::print("pingpong_front: SUCCESS\n");
  return 0;
}
