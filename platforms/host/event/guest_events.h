// pvkit host platform: guest-side event consumers, so host tests can "run upcalls".
//
// What it is: what a PV guest kernel does when its upcall fires, written against the same
// shared memory the hypervisor writes:
//   - guest_2l_upcall(shared_info, vcpu_info): clears upcall_pending, takes the selector,
//     collects every pending-and-unmasked port of the selected words and clears its PENDING
//     bit (as Linux's 2-level handler does).
//   - FifoGuest: a guest's FIFO consumer: takes the READY word, walks each ready queue from
//     the highest priority, clearing LINKED and following LINK with compare-exchange, and
//     collects (and clears) pending unmasked events. Walks are bounded, so tests can point
//     LINK anywhere.
//
// How to use it: after an operation, `auto ports = guest_2l_upcall(si, &si->vcpu_info[0]);`.
//
// Concurrency: each consumer acts as one guest vCPU; it may run concurrently with the
// hypervisor's deliveries (all guest words are accessed atomically).
#pragma once

#include <bit>
#include <cstdint>
#include <vector>

#include "pvkit/event/event_word.h"
#include "pvkit/event/guest_atomic.h"
#include "pvkit/event/shared_info_abi.h"
#include "pvkit/event/two_level.h"
#include "pvkit/event/xen_abi.h"

namespace pvkit::host {

/// One 2-level upcall of a guest vCPU: the ports it handles, in scan order.
template <typename Layout>
std::vector<std::uint32_t> guest_2l_upcall(Layout* s, event::TwoLevelVcpuInfo<Layout>* vi) {
  using W = event::TwoLevelWord<Layout>;
  constexpr std::uint32_t kBits = sizeof(W) * 8;
  std::vector<std::uint32_t> out;
  event::guest_store(&vi->evtchn_upcall_pending, std::uint8_t{0});
  W sel = event::guest_exchange(&vi->evtchn_pending_sel, W{0});
  while (sel != 0) {
    const unsigned i = static_cast<unsigned>(std::countr_zero(sel));
    sel = static_cast<W>(sel & (sel - 1));
    W pend = static_cast<W>(event::guest_load(&s->evtchn_pending[i]) &
                            ~event::guest_load(&s->evtchn_mask[i]));
    while (pend != 0) {
      const unsigned b = static_cast<unsigned>(std::countr_zero(pend));
      pend = static_cast<W>(pend & (pend - 1));
      event::guest_fetch_and(&s->evtchn_pending[i], static_cast<W>(~(W{1} << b)));
      out.push_back(i * kBits + b);
    }
  }
  return out;
}

/// Guest-side mask/unmask of a 2-level port (the guest owns MASK).
template <typename Layout>
void guest_2l_set_mask(Layout* s, std::uint32_t port, bool masked) {
  using W = event::TwoLevelWord<Layout>;
  constexpr std::uint32_t kBits = sizeof(W) * 8;
  const W bit = static_cast<W>(W{1} << (port % kBits));
  if (masked) {
    event::guest_fetch_or(&s->evtchn_mask[port / kBits], bit);
  } else {
    event::guest_fetch_and(&s->evtchn_mask[port / kBits], static_cast<W>(~bit));
  }
}

/// A guest vCPU's FIFO consumer over its control block and the domain's event array.
class FifoGuest {
 public:
  explicit FifoGuest(xen::EvtchnFifoControlBlock* cb) : cb_(cb) {}
  /// Adds an event-array page (as the guest's EVTCHNOP_expand_array would).
  void add_page(std::uint32_t* page) { pages_.push_back(page); }

  /// The event word of `port`, or nullptr beyond the pages added.
  [[nodiscard]] std::uint32_t* word(std::uint32_t port) const {
    const std::uint32_t p = port / xen::kEvtchnFifoWordsPerPage;
    return p < pages_.size() ? pages_[p] + port % xen::kEvtchnFifoWordsPerPage : nullptr;
  }
  /// Sets or clears MASKED of `port` as the guest would.
  void set_masked(std::uint32_t port, bool masked) {
    if (std::uint32_t* w = word(port)) {
      if (masked) {
        event::guest_fetch_or(w, event::EventWord::kMasked);
      } else {
        event::guest_fetch_and(w, ~event::EventWord::kMasked);
      }
    }
  }

  /// One upcall: clears upcall_pending (if `vi`), drains every ready queue, highest priority
  /// first. Returns the pending, unmasked ports it handled. At most `bound` steps.
  std::vector<std::uint32_t> upcall(xen::VcpuInfo* vi, std::uint32_t bound = 1u << 18) {
    std::vector<std::uint32_t> out;
    if (vi != nullptr) event::guest_store(&vi->evtchn_upcall_pending, std::uint8_t{0});
    std::uint32_t ready = event::guest_exchange(&cb_->ready, 0u);
    for (std::uint32_t steps = 0; ready != 0 && steps < bound; ++steps) consume_one(ready, out);
    return out;
  }

 private:
  void consume_one(std::uint32_t& ready, std::vector<std::uint32_t>& out) {
    const unsigned q = static_cast<unsigned>(std::countr_zero(ready));
    std::uint32_t port = local_head_[q];
    if (port == 0) port = event::guest_load(&cb_->head[q]);
    std::uint32_t* w = port == 0 ? nullptr : word(port);
    if (w == nullptr) {
      ready &= ~(1u << q);
      local_head_[q] = 0;
      return;
    }
    // Take the event off the queue: clear LINKED and LINK, remember where LINK pointed.
    std::uint32_t old = event::guest_load(w);
    while (!event::guest_cas(w, old, old & ~(event::EventWord::kLinked | event::EventWord::kLinkMask))) {
    }
    const event::EventWord ew{old};
    const std::uint32_t next = ew.link();
    if (next == 0) ready &= ~(1u << q);
    if (ew.pending() && !ew.masked()) {
      event::guest_fetch_and(w, ~event::EventWord::kPending);
      out.push_back(port);
    }
    local_head_[q] = next;
  }

  xen::EvtchnFifoControlBlock* cb_;
  std::vector<std::uint32_t*> pages_;
  std::uint32_t local_head_[xen::kEvtchnFifoMaxQueues] = {};
};

}  // namespace pvkit::host
