// pingpong_wait.h — sleeping until the peer has published something, for the pingpong guests.
//
// What it is: `take_next(ring, out, what)` returns the next message of a FrontRing (responses)
// or BackRing (requests): it takes what is there, otherwise re-arms the ring's event index
// (final_check) and sleeps in SCHEDOP_block with the check-then-block done with events masked,
// so a notification that arrives between the check and the block still wakes it. A hostile or
// broken ring (kRingProtocolError) or too many empty wake-ups end the wait with an error.
//
// Concurrency: vCPU 0 only; events are enabled again on return.
#pragma once

#include <cstdint>

#include "pvkit/base/status.h"
#include "pvkit/guest/console.h"
#include "pvkit/guest/events.h"
#include "pvkit/guest/sched.h"

namespace pingpong {

/// Empty wake-ups tolerated while waiting for one message.
inline constexpr std::uint32_t kMaxIdleWakeups = 1u << 20;

template <typename Ring, typename Msg, typename Take, typename Final>
pvkit::Status take_next(Ring& ring, Msg& out, Take take, Final final_check) {
  for (std::uint32_t idle = 0; idle < kMaxIdleWakeups; ++idle) {
    auto got = (ring.*take)(out);
    if (!got) return got.status();
    if (*got) return pvkit::Status::ok();
    pvkit::guest::events_disable();
    auto more = (ring.*final_check)();
    if (!more) {
      pvkit::guest::events_enable();
      return more.status();
    }
    if (!*more) {
      (void)pvkit::guest::block();  // unmasks events; returns once one is pending
    }
    pvkit::guest::events_enable();
  }
  return pvkit::Errno::TimedOut;
}

}  // namespace pingpong
