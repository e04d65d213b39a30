// pvkit/event/event_word.h — the FIFO ABI's 32-bit event word, as named fields.
//
// What it is: `EventWord`, a value view of event_word_t: PENDING (bit 31), MASKED (30),
// LINKED (29), BUSY (28) and LINK (bits 0-16, the next port in the queue). Accessors are
// constexpr; `with_link` builds the word the hypervisor stores when it appends to a queue.
//
// How to use it: `EventWord w{guest_load(word)}; if (w.masked() || w.linked()) return;`.
// The value is a snapshot: the guest may have changed the word since it was read.
//
// Concurrency: a value type; the shared word itself is accessed with guest_atomic.h.
#pragma once

#include <cstdint>

#include "pvkit/event/xen_abi.h"

namespace pvkit::event {

/// A FIFO event word (PENDING, MASKED, LINKED, BUSY, LINK) with named accessors.
class EventWord {
 public:
  static constexpr std::uint32_t kPending = 1u << xen::kEvtchnFifoPendingBit;
  static constexpr std::uint32_t kMasked = 1u << xen::kEvtchnFifoMaskedBit;
  static constexpr std::uint32_t kLinked = 1u << xen::kEvtchnFifoLinkedBit;
  static constexpr std::uint32_t kBusy = 1u << xen::kEvtchnFifoBusyBit;
  static constexpr std::uint32_t kLinkMask = xen::kEvtchnFifoLinkMask;

  constexpr EventWord() = default;
  constexpr explicit EventWord(std::uint32_t raw) : raw_(raw) {}

  /// The 32-bit word as stored in the guest's event array.
  [[nodiscard]] constexpr std::uint32_t raw() const { return raw_; }
  /// The event has fired and the guest has not yet handled it.
  [[nodiscard]] constexpr bool pending() const { return (raw_ & kPending) != 0; }
  /// Guest-owned: the event must not be queued.
  [[nodiscard]] constexpr bool masked() const { return (raw_ & kMasked) != 0; }
  /// The event is on a queue (LINK is meaningful).
  [[nodiscard]] constexpr bool linked() const { return (raw_ & kLinked) != 0; }
  /// The hypervisor is updating LINK; the guest must not unmask meanwhile.
  [[nodiscard]] constexpr bool busy() const { return (raw_ & kBusy) != 0; }
  /// The next port in the queue (0: none). Guest-writable: never trusted.
  [[nodiscard]] constexpr std::uint32_t link() const { return raw_ & kLinkMask; }

  /// This word with LINK replaced by `port` and BUSY cleared.
  [[nodiscard]] constexpr EventWord with_link(std::uint32_t port) const {
    return EventWord{(raw_ & ~(kBusy | kLinkMask)) | (port & kLinkMask)};
  }

  friend constexpr bool operator==(EventWord, EventWord) = default;

 private:
  std::uint32_t raw_ = 0;
};

}  // namespace pvkit::event
