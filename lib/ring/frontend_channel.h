// pvkit/ring/frontend_channel.h — the frontend half of a split driver: ring page, grant, port.
//
// What it is: `FrontendChannel<Ops, Req, Rsp>` performs the frontend's side of the Xen
// split-driver handshake over any `FrontendOps` platform: it initialises a shared ring on a
// page the frontend owns, grants that page to the backend domain, allocates an unbound event
// channel port for the backend, and offers the (ring-ref, port) pair to be advertised. Then it
// sends requests (notifying only when the backend asked for it) and takes responses (copied
// out of shared memory, checked against a hostile backend: see front_ring.h).
//
// How to use it:
//   FrontendChannel<GuestOps, blkif_request, blkif_response> ch;
//   if (auto s = ch.connect(ops, backend_dom, page, page_mfn); !s) return s;
//   xenstore_write("ring-ref", ch.advertisement().ring_ref); ... "event-channel" ...
//   ch.ring().put_request(req); ch.push_requests_and_notify();
//   // on the event upcall:
//   auto n = ch.process_responses([](const blkif_response& r) { complete(r); }, 64);
//   ch.disconnect();   // Errno::Busy while the backend still maps the page: retry later
//
// Concurrency: one CPU at a time per channel (callers serialise). Ops and the page must
// outlive the connection.
#pragma once

#include <cstdint>

#include "pvkit/base/status.h"
#include "pvkit/base/types.h"
#include "pvkit/ring/front_ring.h"
#include "pvkit/ring/frontend_ops.h"
#include "pvkit/ring/ring_advertisement.h"
#include "pvkit/ring/xen_abi.h"

namespace pvkit::ring {

/// A split-driver frontend: grants its ring page, allocates a port, sends requests.
template <FrontendOps Ops, RingMessage Req, RingMessage Rsp>
class FrontendChannel {
 public:
  FrontendChannel() = default;
  FrontendChannel(const FrontendChannel&) = delete;
  FrontendChannel& operator=(const FrontendChannel&) = delete;

  /// Initialises a fresh ring on `page` (one 4 KiB page at machine frame `frame`), grants it
  /// to `backend` read-write and allocates an unbound port for `backend`. On failure every
  /// completed step is undone and the ops' error is returned. Errno::IsConn if already
  /// connected; Errno::Inval for a bad page.
  [[nodiscard]] Status connect(Ops& ops, DomId backend, void* page, Mfn frame) {
    if (state_ != State::Idle) return Errno::IsConn;
    if (auto s = ring_.init(page, xen::kXenPageSize); !s) return s;
    auto ref = ops.grant_access(backend, frame, /*readonly=*/false);
    if (!ref) {
      ring_ = FrontRing<Req, Rsp>{};
      return ref.status();
    }
    auto port = ops.alloc_unbound(backend);
    if (!port) {
      // Nobody has seen the grant yet, so revoking cannot find it in use.
      static_cast<void>(ops.end_access(*ref));
      ring_ = FrontRing<Req, Rsp>{};
      return port.status();
    }
    ops_ = &ops;
    backend_ = backend;
    ad_ = RingAdvertisement{*ref, *port};
    state_ = State::Connected;
    return Status::ok();
  }

  /// True once the ring is granted and the port allocated.
  [[nodiscard]] bool connected() const { return state_ == State::Connected; }
  /// The (ring-ref, event-channel) pair to publish for the backend.
  [[nodiscard]] RingAdvertisement advertisement() const { return ad_; }
  /// The backend domain.
  [[nodiscard]] DomId backend() const { return backend_; }
  /// The ring (valid while connected).
  [[nodiscard]] FrontRing<Req, Rsp>& ring() { return ring_; }

  /// Sends an event to the backend unconditionally.
  [[nodiscard]] Status notify() {
    if (!connected()) return Errno::NotConn;
    return ops_->notify(ad_.port);
  }

  /// Publishes the queued requests; notifies the backend only if its req_event asks for it.
  [[nodiscard]] Status push_requests_and_notify() {
    if (!connected()) return Errno::NotConn;
    if (ring_.push_requests_and_check_notify()) return ops_->notify(ad_.port);
    return Status::ok();
  }

  /// Takes up to `budget` responses, calling `handle(const Rsp&)` on each private copy, and
  /// re-arms rsp_event when the ring runs dry (RING_FINAL_CHECK_FOR_RESPONSES). Answers how
  /// many were handled; call again later if it equals `budget`. kRingProtocolError if the
  /// backend published an impossible index (disconnect: the backend is broken or hostile).
  template <typename Handler>
  [[nodiscard]] Result<std::uint32_t> process_responses(Handler&& handle, std::uint32_t budget) {
    if (!connected()) return Errno::NotConn;
    std::uint32_t done = 0;
    Rsp rsp;
    while (done < budget) {
      auto got = ring_.take_response(rsp);
      if (!got) return got.status();
      if (*got) {
        handle(static_cast<const Rsp&>(rsp));
        ++done;
        continue;
      }
      auto more = ring_.final_check_for_responses();
      if (!more) return more.status();
      if (!*more) break;
    }
    return done;
  }

  /// Closes the port (the backend's port turns unbound), then revokes the grant. If the
  /// backend still has the page mapped the revoke answers Errno::Busy and the page must not
  /// be reused: call disconnect() again later; it resumes at the revoke.
  [[nodiscard]] Status disconnect() {
    if (state_ == State::Idle) return Errno::NotConn;
    if (state_ == State::Connected) {
      if (auto s = ops_->close(ad_.port); !s) return s;
      state_ = State::PortClosed;
    }
    if (auto s = ops_->end_access(ad_.ring_ref); !s) return s;
    ring_ = FrontRing<Req, Rsp>{};
    ops_ = nullptr;
    ad_ = RingAdvertisement{};
    state_ = State::Idle;
    return Status::ok();
  }

 private:
  enum class State : std::uint8_t { Idle, Connected, PortClosed };

  FrontRing<Req, Rsp> ring_;
  Ops* ops_ = nullptr;
  DomId backend_{};
  RingAdvertisement ad_{};
  State state_ = State::Idle;
};

}  // namespace pvkit::ring
