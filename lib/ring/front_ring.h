// pvkit/ring/front_ring.h — the frontend half of an io/ring.h shared ring.
//
// What it is: `FrontRing<Req, Rsp>` produces requests into a shared ring page and consumes the
// backend's responses from it, with io/ring.h's layout, free-running u32 indices and
// notification hold-off. It treats the backend as hostile (invariant 26): every response is
// copied out of shared memory once before the caller sees it, and a response producer index
// that could not be true (more responses than requests outstanding, behind the consumer, or
// moved backwards) is reported as kRingProtocolError instead of being followed; the ring then
// stays broken until re-attached.
//
// How to use it:
//   FrontRing<Req, Rsp> ring;
//   if (auto s = ring.init(page, 4096); !s) return s;       // XEN_FRONT_RING_INIT
//   if (auto s = ring.put_request(req); !s) ...               // Errno::NoSpc when full
//   if (ring.push_requests_and_check_notify()) notify(port);
//   Rsp rsp;
//   for (;;) {                                                // on the event upcall:
//     auto got = ring.take_response(rsp);
//     if (!got) return got.status();                          // hostile backend
//     if (!*got) { auto more = ring.final_check_for_responses(); if (!more || !*more) break; continue; }
//     handle(rsp);                                            // a private copy
//   }
//
// Concurrency: one FrontRing per ring, used by one CPU at a time (callers serialise, as with
// io/ring.h's private front_ring). The backend runs concurrently on the shared page; the
// barriers sit exactly where io/ring.h puts xen_wmb / xen_rmb / xen_mb.
#pragma once

#include <cstddef>
#include <cstdint>

#include "pvkit/base/status.h"
#include "pvkit/ring/ring_index.h"
#include "pvkit/ring/ring_layout.h"
#include "pvkit/ring/shared_access.h"
#include "pvkit/ring/shared_ring.h"

namespace pvkit::ring {

/// The frontend's view of a shared ring: produces requests, consumes responses (io/ring.h semantics).
template <RingMessage Req, RingMessage Rsp>
class FrontRing {
 public:
  FrontRing() = default;
  FrontRing(const FrontRing&) = delete;             // two producers would corrupt the ring
  FrontRing& operator=(const FrontRing&) = delete;
  FrontRing(FrontRing&&) = default;
  FrontRing& operator=(FrontRing&&) = default;

  /// XEN_FRONT_RING_INIT: initialises the shared header (indices = start, events = start + 1)
  /// and attaches. `start` is 0 for a new ring; other values exist for tests of the wrap-around.
  [[nodiscard]] Status init(void* area, std::size_t bytes, RingIdx start = 0) {
    if (auto s = attach(area, bytes, start); !s) return s;
    view_.init_header(start);
    return Status::ok();
  }

  /// FRONT_RING_ATTACH: takes over a ring whose shared indices are already at `start`,
  /// without writing shared memory. Errno::Inval for a bad area (see SharedRingView::attach).
  [[nodiscard]] Status attach(void* area, std::size_t bytes, RingIdx start) {
    if (auto s = view_.attach(area, bytes); !s) return s;
    req_prod_pvt_ = rsp_cons_ = req_pushed_ = rsp_seen_ = start;
    broken_ = false;
    return Status::ok();
  }

  /// True while attached to a shared page.
  [[nodiscard]] bool attached() const { return view_.attached(); }
  /// RING_SIZE.
  [[nodiscard]] std::uint32_t size() const { return view_.size(); }
  /// RING_FREE_REQUESTS: slots the frontend may still fill before responses come back.
  [[nodiscard]] std::uint32_t free_requests() const {
    return view_.size() - static_cast<RingIdx>(req_prod_pvt_ - rsp_cons_);
  }
  /// RING_FULL.
  [[nodiscard]] bool full() const { return free_requests() == 0; }
  /// True once the backend published an impossible response index.
  [[nodiscard]] bool broken() const { return broken_; }
  /// The private request producer index (not yet pushed).
  [[nodiscard]] RingIdx req_prod_pvt() const { return req_prod_pvt_; }
  /// The private response consumer index.
  [[nodiscard]] RingIdx rsp_cons() const { return rsp_cons_; }

  /// Takes the next free slot and copies `req` into it (not yet visible to the backend: call
  /// push_requests*). Errno::NoSpc when the ring is full, Errno::Inval when not attached.
  [[nodiscard]] Status put_request(const Req& req) {
    if (!attached()) return Errno::Inval;
    if (full()) return Errno::NoSpc;
    copy_to_shared(view_.slot(req_prod_pvt_), &req, sizeof(Req));
    ++req_prod_pvt_;
    return Status::ok();
  }

  /// RING_PUSH_REQUESTS: publishes every request put so far.
  void push_requests() {
    if (!attached()) return;
    write_barrier();  // the backend sees the requests before the new producer index
    store_index(&view_.header()->req_prod, req_prod_pvt_);
    req_pushed_ = req_prod_pvt_;
  }

  /// RING_PUSH_REQUESTS_AND_CHECK_NOTIFY: publishes, then answers whether the backend asked to
  /// be notified (its req_event lies in (previously published, now published]). The previous
  /// value is this end's own record, so a backend scribbling on req_prod cannot sway it.
  [[nodiscard]] bool push_requests_and_check_notify() {
    if (!attached()) return false;
    const RingIdx old_prod = req_pushed_;
    const RingIdx new_prod = req_prod_pvt_;
    write_barrier();  // the backend sees the requests before the new producer index
    store_index(&view_.header()->req_prod, new_prod);
    full_barrier();   // the backend sees the new index before we read req_event
    const RingIdx event = load_index(&view_.header()->req_event);
    req_pushed_ = new_prod;
    return need_notify(old_prod, new_prod, event);
  }

  /// RING_HAS_UNCONSUMED_RESPONSES, checked: reads rsp_prod once and answers how many
  /// responses wait, or kRingProtocolError if the backend's index is impossible.
  [[nodiscard]] Result<std::uint32_t> unconsumed_responses() {
    if (!attached()) return Errno::Inval;
    if (auto s = refresh(); !s) return s;
    return static_cast<std::uint32_t>(rsp_seen_ - rsp_cons_);
  }

  /// Copies the next response out of shared memory into `out` (once: RING_COPY_RESPONSE) and
  /// consumes it. Answers true if one was taken, false if none is waiting.
  [[nodiscard]] Result<bool> take_response(Rsp& out) {
    if (!attached()) return Errno::Inval;
    if (broken_) return kRingProtocolError;
    if (rsp_seen_ == rsp_cons_) {
      if (auto s = refresh(); !s) return s;
      if (rsp_seen_ == rsp_cons_) return false;
    }
    snapshot_from_shared(&out, view_.slot(rsp_cons_), sizeof(Rsp));
    ++rsp_cons_;
    return true;
  }

  /// RING_FINAL_CHECK_FOR_RESPONSES: if nothing waits, asks for a notification on the next
  /// response (rsp_event = rsp_cons + 1), full barrier, and checks again. True means "more
  /// work: do not sleep".
  [[nodiscard]] Result<bool> final_check_for_responses() {
    auto n = unconsumed_responses();
    if (!n) return n.status();
    if (*n != 0) return true;
    store_index(&view_.header()->rsp_event, rsp_cons_ + 1);
    full_barrier();  // rsp_event is visible before we look at rsp_prod again
    n = unconsumed_responses();
    if (!n) return n.status();
    return *n != 0;
  }

 private:
  // Reads rsp_prod once and accepts it only if the backend could have produced it: no more
  // responses than requests published and unanswered, never behind what we already accepted.
  Status refresh() {
    if (broken_) return kRingProtocolError;
    const RingIdx prod = load_index(&view_.header()->rsp_prod);
    read_barrier();  // the responses are read after the index that covers them
    if (!producer_index_plausible(prod, rsp_cons_, rsp_seen_,
                                  static_cast<RingIdx>(req_pushed_ - rsp_cons_))) {
      broken_ = true;
      return kRingProtocolError;
    }
    rsp_seen_ = prod;
    return Status::ok();
  }

  SharedRingView<Req, Rsp> view_;
  RingIdx req_prod_pvt_ = 0;  // next request slot to fill
  RingIdx rsp_cons_ = 0;      // next response to consume
  RingIdx req_pushed_ = 0;    // req_prod as this end last published it
  RingIdx rsp_seen_ = 0;      // last rsp_prod accepted from the backend
  bool broken_ = false;
};

}  // namespace pvkit::ring
