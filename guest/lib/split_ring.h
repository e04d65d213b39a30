// pvkit/guest/split_ring.h — the two ends of a Xen split driver's shared ring, for guest
// kernels: one granted ring page plus one interdomain event channel.
//
// What it is:
//   RingFrontend<Req, Rsp>: initialises an io/ring.h ring (pvkit/ring FrontRing) on a page of
//     its own, grants that page read-write to the backend domain at a chosen reference,
//     allocates an unbound event channel for the backend and counts its events. `send` puts a
//     request and notifies when the ring's hold-off asks for it; `receive` sleeps until the
//     next response; `disconnect` revokes the grant (only once the backend has unmapped it:
//     retries while it is in use) and closes the port.
//   RingBackend<Req, Rsp>: maps the frontend's grant at a page slot (retrying while the
//     frontend has not granted it yet), attaches a BackRing, binds to the frontend's port;
//     `reply`, `receive` (sleeps), `poll` (does not), and `disconnect` (unmap, close).
// How the backend learns the reference and the port is the protocol's business (xenstore in
// Xen; the command line and a first request in guest/kernels/pingpong_protocol.h).
//
// How to use it:
//   RingFrontend<Req, Rsp> fe;
//   if (auto s = fe.connect(gnttab, PhysMap(si), &ring_page, peer, 8); !s) ...
//   (void)fe.send(req);  Rsp rsp;  (void)fe.receive(rsp);  (void)fe.disconnect(gnttab);
//
//   RingBackend<Req, Rsp> be;
//   if (auto m = be.map(peer, 8, &slot); !m.ok()) ...;  (void)be.bind(peer, port);
//   Req req;  (void)be.receive(req);  (void)be.reply(rsp);  (void)be.disconnect();
//
// Concurrency: vCPU 0 only, after init_events(); the event counter is written by the upcall.
#pragma once

#include <cstdint>

#include "pvkit/base/status.h"
#include "pvkit/guest/event_channel.h"
#include "pvkit/guest/events.h"
#include "pvkit/guest/grant_ops.h"
#include "pvkit/guest/grant_table.h"
#include "pvkit/guest/layout.h"
#include "pvkit/guest/memory.h"
#include "pvkit/guest/ring_wait.h"
#include "pvkit/guest/sched.h"
#include "pvkit/ring/back_ring.h"
#include "pvkit/ring/front_ring.h"

namespace pvkit::guest {

/// Tries a grant map or revoke this many times (yielding in between) before giving up.
inline constexpr std::uint32_t kSplitRingMaxTries = 1u << 20;

namespace detail {
inline void count_event(xen::EvtchnPort, void* counter) {
  ++*static_cast<std::uint64_t*>(counter);
}
}  // namespace detail

/// The frontend half of a split ring: grants a ring page and offers a port (undo on failure).
template <ring::RingMessage Req, ring::RingMessage Rsp>
class RingFrontend {
 public:
  RingFrontend() = default;
  RingFrontend(const RingFrontend&) = delete;
  RingFrontend& operator=(const RingFrontend&) = delete;

  /// Ring on `page`, granted RW to `peer` as `ref` of `gnttab`, and an unbound port for
  /// `peer` whose events are counted. On failure everything done so far is undone.
  template <std::uint32_t N>
  [[nodiscard]] Status connect(GrantTable<N>& gnttab, const PhysMap& p2m, PageSlot* page,
                               xen::DomId peer, xen::GrantRef ref) {
    if (auto s = ring_.init(page, sizeof(PageSlot)); !s) return s;
    auto mfn = p2m.virt_to_mfn(page);
    if (!mfn) return mfn.status();
    if (auto s = gnttab.grant_access(ref, peer, *mfn, false); !s) return s;
    auto port = evtchn_alloc_unbound(peer);
    if (!port) {
      (void)gnttab.end_access(ref);
      return port.status();
    }
    if (auto s = events().bind(*port, &detail::count_event, &events_); !s) {
      (void)evtchn_close(*port);
      (void)gnttab.end_access(ref);
      return s;
    }
    port_ = *port;
    ref_ = ref;
    connected_ = true;
    return Status::ok();
  }

  /// Puts `req` and publishes it without notifying (before the backend has bound the port).
  [[nodiscard]] Status publish(const Req& req) {
    if (auto s = ring_.put_request(req); !s) return s;
    ring_.push_requests();
    return Status::ok();
  }
  /// Puts `req`, publishes it, and notifies the backend if it asked to be.
  [[nodiscard]] Status send(const Req& req) {
    if (auto s = ring_.put_request(req); !s) return s;
    if (ring_.push_requests_and_check_notify()) return evtchn_send(port_);
    return Status::ok();
  }
  /// The next response (a private copy), sleeping until there is one.
  [[nodiscard]] Status receive(Rsp& out) { return next_response(ring_, out); }

  /// Revokes the ring grant once the backend no longer maps it, closes the port.
  template <std::uint32_t N>
  [[nodiscard]] Status disconnect(GrantTable<N>& gnttab, std::uint32_t max_tries = kSplitRingMaxTries) {
    if (!connected_) return Errno::NotConn;
    Status revoked = Errno::Busy;
    for (std::uint32_t i = 0; i < max_tries; ++i) {
      revoked = gnttab.end_access(ref_);
      if (revoked.error() != Errno::Busy) break;
      (void)yield();
    }
    if (!revoked) return revoked;
    events().unbind(port_);
    connected_ = false;
    return evtchn_close(port_);
  }

  /// The event-channel port offered to the backend.
  [[nodiscard]] xen::EvtchnPort port() const { return port_; }
  /// Events received on the port so far.
  [[nodiscard]] std::uint64_t events_received() const { return events_; }
  /// The frontend ring.
  [[nodiscard]] ring::FrontRing<Req, Rsp>& ring() { return ring_; }

 private:
  ring::FrontRing<Req, Rsp> ring_;
  xen::EvtchnPort port_ = 0;
  xen::GrantRef ref_ = 0;
  std::uint64_t events_ = 0;
  bool connected_ = false;
};

/// The backend half of a split ring: maps the granted ring, binds the port (undo on failure).
template <ring::RingMessage Req, ring::RingMessage Rsp>
class RingBackend {
 public:
  RingBackend() = default;
  RingBackend(const RingBackend&) = delete;
  RingBackend& operator=(const RingBackend&) = delete;

  /// Maps grant `ref` of `peer` at `slot` and attaches the ring there. Retries (yielding)
  /// while the map fails with a GNTST status, i.e. while the frontend has not granted yet;
  /// a failed hypercall ends at once. The answer is the last map_grant_ref outcome.
  [[nodiscard]] GrantMapping map(xen::DomId peer, xen::GrantRef ref, PageSlot* slot,
                                 std::uint32_t max_tries = kSplitRingMaxTries) {
    GrantMapping m;
    for (std::uint32_t i = 0; i < max_tries; ++i) {
      m = grant_map(peer, ref, slot, false);
      if (m.ok() || m.rc < 0) break;
      (void)yield();
    }
    if (!m.ok()) return m;
    if (auto s = ring_.attach(slot, sizeof(PageSlot)); !s) {
      (void)grant_unmap(m.handle, slot);
      m.rc = s.guest_value();
      return m;
    }
    slot_ = slot;
    handle_ = m.handle;
    mapped_ = true;
    return m;
  }

  /// Binds to the frontend's unbound `remote_port` and counts its events.
  [[nodiscard]] Status bind(xen::DomId peer, xen::EvtchnPort remote_port) {
    auto port = evtchn_bind_interdomain(peer, remote_port);
    if (!port) return port.status();
    if (auto s = events().bind(*port, &detail::count_event, &events_); !s) {
      (void)evtchn_close(*port);
      return s;
    }
    port_ = *port;
    bound_ = true;
    return Status::ok();
  }

  /// The next request if one is there (no sleeping): true when `out` was filled.
  [[nodiscard]] Result<bool> poll(Req& out) { return ring_.take_request(out); }
  /// The next request (a private copy), sleeping until there is one. Needs bind().
  [[nodiscard]] Status receive(Req& out) { return next_request(ring_, out); }
  /// Puts `rsp`, publishes it, and notifies the frontend if it asked to be.
  [[nodiscard]] Status reply(const Rsp& rsp) {
    if (auto s = ring_.put_response(rsp); !s) return s;
    if (ring_.push_responses_and_check_notify() && bound_) return evtchn_send(port_);
    return Status::ok();
  }

  /// Unmaps the ring (the slot is unmapped afterwards) and closes the port. Answers the
  /// unmap's failure (its errno, or Errno::Inval for a GNTST error) or the close's result.
  [[nodiscard]] Status disconnect() {
    Status unmapped = Status::ok();
    if (mapped_) {
      const GrantUnmapping u = grant_unmap(handle_, slot_);
      if (u.rc < 0) unmapped = status_from_rc(u.rc);
      else if (u.status != 0) unmapped = Errno::Inval;
      mapped_ = false;
    }
    Status closed = Status::ok();
    if (bound_) {
      events().unbind(port_);
      closed = evtchn_close(port_);
      bound_ = false;
    }
    return !unmapped ? unmapped : closed;
  }

  /// The bound local event-channel port.
  [[nodiscard]] xen::EvtchnPort port() const { return port_; }
  /// The grant handle of the mapped ring.
  [[nodiscard]] xen::GrantHandle handle() const { return handle_; }
  /// Events received on the port so far.
  [[nodiscard]] std::uint64_t events_received() const { return events_; }
  /// The backend ring.
  [[nodiscard]] ring::BackRing<Req, Rsp>& ring() { return ring_; }

 private:
  ring::BackRing<Req, Rsp> ring_;
  PageSlot* slot_ = nullptr;
  xen::GrantHandle handle_ = 0;
  xen::EvtchnPort port_ = 0;
  std::uint64_t events_ = 0;
  bool mapped_ = false;
  bool bound_ = false;
};

}  // namespace pvkit::guest
