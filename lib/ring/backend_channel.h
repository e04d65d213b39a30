// pvkit/ring/backend_channel.h — the backend half of a split driver: map, bind, serve.
//
// What it is: `BackendChannel<Ops, Req, Rsp>` performs the backend's side of the Xen
// split-driver handshake over any `BackendOps` platform: given the frontend's advertised
// (ring-ref, port) — untrusted values — it maps the granted ring page, attaches a back ring
// to it and binds an interdomain event channel to the frontend's port. It then serves
// requests: each is copied out of shared memory once before the handler sees it, the number
// taken per call is bounded, and a hostile request index is reported, not followed
// (invariant 26; see back_ring.h).
//
// How to use it:
//   BackendChannel<DriverDomainOps, blkif_request, blkif_response> ch;
//   if (auto s = ch.connect(ops, frontend_dom, ad); !s) return s;   // ad from xenstore
//   // on the event upcall for ch.local_port():
//   auto n = ch.process_requests([](const blkif_request& r) { return serve(r); }, 64);
//   if (!n) { static_cast<void>(ch.disconnect()); }                  // hostile frontend
//
// Concurrency: one CPU at a time per channel. Ops must outlive the connection.
#pragma once

#include <cstdint>

#include "pvkit/base/status.h"
#include "pvkit/base/types.h"
#include "pvkit/ring/back_ring.h"
#include "pvkit/ring/backend_ops.h"
#include "pvkit/ring/ring_advertisement.h"
#include "pvkit/ring/xen_abi.h"

namespace pvkit::ring {

/// A split-driver backend: maps the frontend's ring, binds its port, serves requests.
template <BackendOps Ops, RingMessage Req, RingMessage Rsp>
class BackendChannel {
 public:
  BackendChannel() = default;
  BackendChannel(const BackendChannel&) = delete;
  BackendChannel& operator=(const BackendChannel&) = delete;

  /// Maps `ad.ring_ref` granted by `frontend` read-write, attaches the back ring and binds to
  /// `frontend`'s port `ad.port`. On failure every completed step is undone and the ops' error
  /// is returned (a bad ring-ref, a grant for another domain, a port that is not unbound for
  /// us, ...). Errno::IsConn if already connected.
  [[nodiscard]] Status connect(Ops& ops, DomId frontend, RingAdvertisement ad) {
    if (state_ != State::Idle) return Errno::IsConn;
    auto mapping = ops.map_grant(frontend, ad.ring_ref, /*readonly=*/false);
    if (!mapping) return mapping.status();
    if (auto s = ring_.attach(mapping->addr, xen::kXenPageSize); !s) {
      static_cast<void>(ops.unmap_grant(*mapping));
      return s;
    }
    auto port = ops.bind_interdomain(frontend, ad.port);
    if (!port) {
      static_cast<void>(ops.unmap_grant(*mapping));
      ring_ = BackRing<Req, Rsp>{};
      return port.status();
    }
    ops_ = &ops;
    frontend_ = frontend;
    mapping_ = *mapping;
    port_ = *port;
    state_ = State::Connected;
    return Status::ok();
  }

  /// True once the ring is mapped and the port bound.
  [[nodiscard]] bool connected() const { return state_ == State::Connected; }
  /// This end's port of the interdomain channel (the one its upcalls arrive on).
  [[nodiscard]] EvtchnPort local_port() const { return port_; }
  /// The frontend domain.
  [[nodiscard]] DomId frontend() const { return frontend_; }
  /// The ring (valid while connected).
  [[nodiscard]] BackRing<Req, Rsp>& ring() { return ring_; }

  /// Sends an event to the frontend unconditionally.
  [[nodiscard]] Status notify() {
    if (!connected()) return Errno::NotConn;
    return ops_->notify(port_);
  }

  /// Publishes the queued responses; notifies the frontend only if its rsp_event asks for it.
  [[nodiscard]] Status push_responses_and_notify() {
    if (!connected()) return Errno::NotConn;
    if (ring_.push_responses_and_check_notify()) return ops_->notify(port_);
    return Status::ok();
  }

  /// Serves up to `budget` requests: each is snapshotted, passed to `handle(const Req&)`
  /// which returns the Rsp to put in its slot; then responses are pushed (notifying if asked)
  /// and req_event is re-armed when the ring runs dry. Answers how many were served; call
  /// again if it equals `budget` (the loop is bounded: invariant 6). kRingProtocolError if
  /// the frontend published an impossible index (responses already made are still pushed).
  template <typename Handler>
  [[nodiscard]] Result<std::uint32_t> process_requests(Handler&& handle, std::uint32_t budget) {
    if (!connected()) return Errno::NotConn;
    std::uint32_t done = 0;
    Status failure = Status::ok();
    Req req;
    while (done < budget) {
      auto got = ring_.take_request(req);
      if (!got) {
        failure = got.status();
        break;
      }
      if (*got) {
        const Rsp rsp = handle(static_cast<const Req&>(req));
        // Cannot fail: exactly one response per request taken.
        static_cast<void>(ring_.put_response(rsp));
        ++done;
        continue;
      }
      auto more = ring_.final_check_for_requests();
      if (!more) {
        failure = more.status();
        break;
      }
      if (!*more) break;
    }
    if (auto s = push_responses_and_notify(); !s) return s;
    if (!failure) return failure;
    return done;
  }

  /// Closes the local port (the frontend's port turns unbound), then unmaps the ring page.
  /// A failing step is reported and disconnect() may be called again; it resumes there.
  [[nodiscard]] Status disconnect() {
    if (state_ == State::Idle) return Errno::NotConn;
    if (state_ == State::Connected) {
      if (auto s = ops_->close(port_); !s) return s;
      state_ = State::PortClosed;
    }
    if (auto s = ops_->unmap_grant(mapping_); !s) return s;
    ring_ = BackRing<Req, Rsp>{};
    ops_ = nullptr;
    mapping_ = MappedGrant{};
    port_ = EvtchnPort{};
    state_ = State::Idle;
    return Status::ok();
  }

 private:
  enum class State : std::uint8_t { Idle, Connected, PortClosed };

  BackRing<Req, Rsp> ring_;
  Ops* ops_ = nullptr;
  DomId frontend_{};
  MappedGrant mapping_{};
  EvtchnPort port_{};
  State state_ = State::Idle;
};

}  // namespace pvkit::ring
