// pvkit/guest/ring_wait.h — sleeping until the other end of a shared ring has published
// something, for guest kernels using pvkit's io/ring.h rings (pvkit/ring).
//
// What it is: `next_response(front_ring, rsp)` and `next_request(back_ring, req)` return the
// next message of a FrontRing / BackRing. Each takes what is already there; otherwise it
// re-arms the ring's event index (RING_FINAL_CHECK_FOR_*) and sleeps in SCHEDOP_block, with
// the check-then-block done while events are masked, so a notification that arrives between
// the check and the block still wakes it (SCHEDOP_block unmasks and returns at once when an
// event is pending). A broken ring (kRingProtocolError from a hostile peer) is returned as is;
// more than `max_idle_wakeups` wake-ups without a message give Errno::TimedOut.
//
// How to use it:
//   if (auto s = next_response(ring, rsp); !s) return s;   // rsp is a private copy
//
// Concurrency: vCPU 0 only, after init_events(); events are enabled again on return.
#pragma once

#include <cstdint>

#include "pvkit/base/status.h"
#include "pvkit/guest/events.h"
#include "pvkit/guest/sched.h"
#include "pvkit/ring/back_ring.h"
#include "pvkit/ring/front_ring.h"

namespace pvkit::guest {

/// Default bound on empty wake-ups while waiting for one message.
inline constexpr std::uint32_t kRingMaxIdleWakeups = 1u << 20;

namespace detail {
template <typename Ring, typename Msg, typename Take, typename FinalCheck>
Status ring_wait(Ring& ring, Msg& out, Take take, FinalCheck final_check,
                 std::uint32_t max_idle_wakeups) {
  for (std::uint32_t idle = 0; idle < max_idle_wakeups; ++idle) {
    auto got = (ring.*take)(out);
    if (!got) return got.status();
    if (*got) return Status::ok();
    events_disable();
    auto more = (ring.*final_check)();
    if (!more) {
      events_enable();
      return more.status();
    }
    if (!*more) (void)block();  // unmasks events; returns once one is pending
    events_enable();
  }
  return Errno::TimedOut;
}
}  // namespace detail

/// The next response of a frontend ring, sleeping until the backend publishes one.
template <typename Req, typename Rsp>
Status next_response(ring::FrontRing<Req, Rsp>& ring, Rsp& out,
                     std::uint32_t max_idle_wakeups = kRingMaxIdleWakeups) {
  using R = ring::FrontRing<Req, Rsp>;
  return detail::ring_wait(ring, out, &R::take_response, &R::final_check_for_responses,
                           max_idle_wakeups);
}

/// The next request of a backend ring, sleeping until the frontend publishes one.
template <typename Req, typename Rsp>
Status next_request(ring::BackRing<Req, Rsp>& ring, Req& out,
                    std::uint32_t max_idle_wakeups = kRingMaxIdleWakeups) {
  using R = ring::BackRing<Req, Rsp>;
  return detail::ring_wait(ring, out, &R::take_request, &R::final_check_for_requests,
                           max_idle_wakeups);
}

}  // namespace pvkit::guest
