// pingpong_protocol.h — the protocol between the pingpong_front and pingpong_back guests.
//
// Two domains exchange numbers through one shared io/ring.h ring (pvkit/ring FrontRing /
// BackRing) on a page the frontend grants, with an interdomain event channel for
// notifications. No xenstore: the rendezvous is fixed by convention.
//
//  1. Each side learns the other's domain id from its command line: `peer=<domid>` (defaults:
//     the frontend talks to domain 2, the backend to domain 1). `rounds=<n>` (frontend,
//     default 16, at most 1024) sets the number of round trips.
//  2. The frontend sets up its grant table, initialises the ring on a page of its own and
//     grants that page, read-write, to the peer at the fixed reference kRingRef (8, the first
//     non-reserved entry). It allocates an unbound event channel for the peer and puts a
//     Connect request carrying that port number on the ring.
//  3. The backend maps grant kRingRef of the peer (retrying while the frontend is not there
//     yet), attaches its BackRing, polls (yielding) for the Connect request, binds to the
//     advertised port with bind_interdomain, and answers Connect with status 0.
//  4. The frontend sends Ping{seq = i, value = v}; the backend answers Pong{seq = i,
//     value = v + 1}; the frontend checks seq and value and sends the next value + 1. Every
//     publication that the ring's hold-off asks for is followed by EVTCHNOP_send; both sides
//     sleep in SCHEDOP_block between messages and count the events they receive.
//  5. The frontend sends Disconnect; the backend answers, unmaps the grant and closes its port;
//     the frontend then revokes the grant (end_access succeeds only once the backend's mapping
//     is gone) and closes its port. Both print a summary line and "SUCCESS" and power off.
#pragma once

#include <cstdint>

namespace pingpong {

/// Grant reference of the ring page in the frontend's grant table.
inline constexpr std::uint32_t kRingRef = 8;
inline constexpr std::uint32_t kDefaultRounds = 16;
inline constexpr std::uint32_t kMaxRounds = 1024;
inline constexpr std::uint16_t kDefaultFrontPeer = 2;  // the backend's domain id
inline constexpr std::uint16_t kDefaultBackPeer = 1;   // the frontend's domain id

enum class Op : std::uint32_t { Connect = 1, Ping = 2, Disconnect = 3 };

/// Frontend -> backend.
struct Request {
  Op op;
  std::uint32_t seq;
  std::uint64_t value;  ///< Connect: the frontend's event channel port; Ping: the number
};

/// Backend -> frontend.
struct Response {
  Op op;
  std::uint32_t seq;
  std::uint64_t value;  ///< Pong: request value + 1
  std::int32_t status;  ///< 0 or -errno
  std::uint32_t pad;
};

}  // namespace pingpong
