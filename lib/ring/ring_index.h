// pvkit/ring/ring_index.h — the modular index arithmetic of io/ring.h, as pure functions.
//
// What it is: the notification rule (`need_notify`: the peer's event index lies in
// (old, new] modulo 2^32) and the plausibility check every consumer applies to a producer
// index it read from shared memory (`producer_index_plausible`), which is where a hostile
// peer's index "far ahead", "behind" or "moved backwards" is caught (invariant 26, XSA-155).
//
// How to use it: FrontRing and BackRing call these; tests call them directly to pin down the
// decisions around the 2^32 wrap-around.
//
// Concurrency: pure functions of their arguments.
#pragma once

#include <cstdint>

#include "pvkit/base/errno.h"
#include "pvkit/ring/xen_abi.h"

namespace pvkit::ring {

/// A free-running ring index (RING_IDX); only differences are meaningful.
using RingIdx = xen::RingIdx;

/// The error a ring reports once its peer has published an impossible producer index. The ring
/// then stays broken (every later call answers the same) until it is attached again.
inline constexpr Errno kRingProtocolError = Errno::Io;

/// RING_PUSH_*_AND_CHECK_NOTIFY's rule: after moving the producer index from `old_prod` to
/// `new_prod`, notify the peer iff its event index `event` lies in (old_prod, new_prod],
/// counted modulo 2^32. Nothing published (old == new) never notifies.
[[nodiscard]] constexpr bool need_notify(RingIdx old_prod, RingIdx new_prod, RingIdx event) {
  return static_cast<RingIdx>(new_prod - event) < static_cast<RingIdx>(new_prod - old_prod);
}

/// Whether a producer index `prod` read from shared memory can be true, measured from `base`
/// (the oldest index whose slot the producer may not yet reuse: the backend's private
/// rsp_prod, or the frontend's rsp_cons):
///   - it is at most `limit` ahead of base (the ring size for requests, RING_REQUEST_PROD_OVERFLOW;
///     the number of requests published and not yet answered, for responses), and
///   - it has not moved back behind `seen`, the last index this consumer accepted (so neither
///     "behind the consumer" nor "backwards" can make the consumer re-read stale slots).
[[nodiscard]] constexpr bool producer_index_plausible(RingIdx prod, RingIdx base, RingIdx seen,
                                                      RingIdx limit) {
  const RingIdx ahead = static_cast<RingIdx>(prod - base);
  return ahead >= static_cast<RingIdx>(seen - base) && ahead <= limit;
}

}  // namespace pvkit::ring
