// pvkit/ring/ring_advertisement.h — what a frontend publishes so its backend can connect.
//
// What it is: `RingAdvertisement`, the pair a frontend writes to its xenstore directory as
// "ring-ref" and "event-channel": the grant reference of the shared ring page and the unbound
// port allocated for the backend. The backend reads it (as untrusted input: any value may be
// a lie) and hands it to BackendChannel::connect.
//
// How to use it: `auto ad = front.advertisement(); ... back.connect(ops, front_dom, ad);`
//
// Concurrency: a value type.
#pragma once

#include "pvkit/base/types.h"

namespace pvkit::ring {

/// What a frontend tells its backend: the ring's grant reference and event-channel port.
struct RingAdvertisement {
  GrantRef ring_ref{};    ///< xenstore "ring-ref"
  EvtchnPort port{};      ///< xenstore "event-channel"
  friend constexpr bool operator==(RingAdvertisement, RingAdvertisement) = default;
};

}  // namespace pvkit::ring
