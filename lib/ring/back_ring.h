// pvkit/ring/back_ring.h — the backend half of an io/ring.h shared ring.
//
// What it is: `BackRing<Req, Rsp>` consumes the frontend's requests from a shared ring page and
// produces responses into the slots they occupied, with io/ring.h's layout, free-running u32
// indices and notification hold-off. It treats the frontend as hostile (invariant 26,
// XSA-155): each request is copied out of shared memory exactly once before the caller sees
// it (validate the copy, use the copy: the frontend can no longer change it), and a request
// producer index that could not be true (more than a ring's worth of unanswered requests
// — RING_REQUEST_PROD_OVERFLOW —, behind the consumer, or moved backwards) is reported as
// kRingProtocolError instead of making the backend loop over stale slots; the ring then stays
// broken until re-attached.
//
// How to use it:
//   BackRing<Req, Rsp> ring;
//   if (auto s = ring.attach(mapped_page, 4096); !s) return s;   // BACK_RING_INIT
//   Req req;                                                     // on the event upcall:
//   for (;;) {
//     auto got = ring.take_request(req);
//     if (!got) return disconnect(got.status());                 // hostile frontend
//     if (!*got) { auto more = ring.final_check_for_requests(); if (!more || !*more) break; continue; }
//     if (auto s = ring.put_response(handle(req)); !s) ...       // validate and use `req` only
//   }
//   if (ring.push_responses_and_check_notify()) notify(port);
//
// Concurrency: one BackRing per ring, used by one CPU at a time. The frontend runs
// concurrently on the shared page; the barriers sit exactly where io/ring.h puts them.
#pragma once

#include <cstddef>
#include <cstdint>

#include "pvkit/base/status.h"
#include "pvkit/ring/ring_index.h"
#include "pvkit/ring/ring_layout.h"
#include "pvkit/ring/shared_access.h"
#include "pvkit/ring/shared_ring.h"

namespace pvkit::ring {

/// The backend's view of a shared ring: consumes requests, produces responses (io/ring.h semantics).
template <RingMessage Req, RingMessage Rsp>
class BackRing {
 public:
  BackRing() = default;
  BackRing(const BackRing&) = delete;  // two consumers would corrupt the ring
  BackRing& operator=(const BackRing&) = delete;
  BackRing(BackRing&&) = default;
  BackRing& operator=(BackRing&&) = default;

  /// BACK_RING_ATTACH (BACK_RING_INIT for start 0): never writes shared memory; only the
  /// frontend initialises the header. Errno::Inval for a bad area.
  [[nodiscard]] Status attach(void* area, std::size_t bytes, RingIdx start = 0) {
    if (auto s = view_.attach(area, bytes); !s) return s;
    rsp_prod_pvt_ = req_cons_ = rsp_pushed_ = req_seen_ = start;
    broken_ = false;
    return Status::ok();
  }

  /// True while attached to a shared page.
  [[nodiscard]] bool attached() const { return view_.attached(); }
  /// RING_SIZE.
  [[nodiscard]] std::uint32_t size() const { return view_.size(); }
  /// True once the frontend published an impossible request index.
  [[nodiscard]] bool broken() const { return broken_; }
  /// The private request consumer index.
  [[nodiscard]] RingIdx req_cons() const { return req_cons_; }
  /// The private response producer index (not yet pushed).
  [[nodiscard]] RingIdx rsp_prod_pvt() const { return rsp_prod_pvt_; }

  /// RING_HAS_UNCONSUMED_REQUESTS, checked: reads req_prod once and answers how many requests
  /// wait (never more than the ring can hold), or kRingProtocolError.
  [[nodiscard]] Result<std::uint32_t> unconsumed_requests() {
    if (!attached()) return Errno::Inval;
    if (auto s = refresh(); !s) return s;
    return static_cast<std::uint32_t>(req_seen_ - req_cons_);
  }

  /// Copies the next request out of shared memory into `out` exactly once
  /// (RING_COPY_REQUEST) and consumes it. True if one was taken, false if none waits.
  [[nodiscard]] Result<bool> take_request(Req& out) {
    if (!attached()) return Errno::Inval;
    if (broken_) return kRingProtocolError;
    if (req_seen_ == req_cons_) {
      if (auto s = refresh(); !s) return s;
      if (req_seen_ == req_cons_) return false;
    }
    snapshot_from_shared(&out, view_.slot(req_cons_), sizeof(Req));
    ++req_cons_;
    return true;
  }

  /// Writes `rsp` into the slot of the oldest consumed, unanswered request (not yet visible to
  /// the frontend: call push_responses*). Errno::NoSpc if every consumed request is answered
  /// (a response there would overwrite a request not yet read).
  [[nodiscard]] Status put_response(const Rsp& rsp) {
    if (!attached()) return Errno::Inval;
    if (rsp_prod_pvt_ == req_cons_) return Errno::NoSpc;
    copy_to_shared(view_.slot(rsp_prod_pvt_), &rsp, sizeof(Rsp));
    ++rsp_prod_pvt_;
    return Status::ok();
  }

  /// RING_PUSH_RESPONSES.
  void push_responses() {
    if (!attached()) return;
    write_barrier();  // the frontend sees the responses before the new producer index
    store_index(&view_.header()->rsp_prod, rsp_prod_pvt_);
    rsp_pushed_ = rsp_prod_pvt_;
  }

  /// RING_PUSH_RESPONSES_AND_CHECK_NOTIFY: publishes, then answers whether the frontend asked
  /// to be notified (its rsp_event lies in (previously published, now published]). The
  /// previous value is this end's own record, not re-read from shared memory.
  [[nodiscard]] bool push_responses_and_check_notify() {
    if (!attached()) return false;
    const RingIdx old_prod = rsp_pushed_;
    const RingIdx new_prod = rsp_prod_pvt_;
    write_barrier();  // the frontend sees the responses before the new producer index
    store_index(&view_.header()->rsp_prod, new_prod);
    full_barrier();   // the frontend sees the new index before we read rsp_event
    const RingIdx event = load_index(&view_.header()->rsp_event);
    rsp_pushed_ = new_prod;
    return need_notify(old_prod, new_prod, event);
  }

  /// RING_FINAL_CHECK_FOR_REQUESTS: if nothing waits, asks for a notification on the next
  /// request (req_event = req_cons + 1), full barrier, and checks again. True means "more work".
  [[nodiscard]] Result<bool> final_check_for_requests() {
    auto n = unconsumed_requests();
    if (!n) return n.status();
    if (*n != 0) return true;
    store_index(&view_.header()->req_event, req_cons_ + 1);
    full_barrier();  // req_event is visible before we look at req_prod again
    n = unconsumed_requests();
    if (!n) return n.status();
    return *n != 0;
  }

 private:
  // Reads req_prod once and accepts it only if it is possible: at most a ring's worth of
  // requests beyond the last response (RING_REQUEST_PROD_OVERFLOW), not behind what was
  // already accepted.
  Status refresh() {
    if (broken_) return kRingProtocolError;
    const RingIdx prod = load_index(&view_.header()->req_prod);
    read_barrier();  // the requests are read after the index that covers them
    if (!producer_index_plausible(prod, rsp_prod_pvt_, req_seen_, view_.size())) {
      broken_ = true;
      return kRingProtocolError;
    }
    req_seen_ = prod;
    return Status::ok();
  }

  SharedRingView<Req, Rsp> view_;
  RingIdx rsp_prod_pvt_ = 0;  // next response slot to fill
  RingIdx req_cons_ = 0;      // next request to consume
  RingIdx rsp_pushed_ = 0;    // rsp_prod as this end last published it
  RingIdx req_seen_ = 0;      // last req_prod accepted from the frontend
  bool broken_ = false;
};

}  // namespace pvkit::ring
