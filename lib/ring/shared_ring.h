// pvkit/ring/shared_ring.h — a checked view of one shared ring area (header + slot array).
//
// What it is: `SharedRingView<Req, Rsp>` remembers where a shared ring lives and how many slots
// it has, after checking the area once (non-null, aligned, big enough for one slot, at most
// 2 GiB). It hands out pointers to the header's index fields and to the slot an index maps
// to; it never reads shared memory itself. FrontRing and BackRing are built on it.
//
// How to use it:
//   SharedRingView<Req, Rsp> v;
//   if (auto s = v.attach(page, 4096); !s) return s;   // Errno::Inval for a bad area
//   v.init_header(0);                                   // frontend only: SHARED_RING_INIT
//
// Concurrency: the view is private to one end; the memory it points at is shared.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "pvkit/base/status.h"
#include "pvkit/ring/ring_layout.h"
#include "pvkit/ring/shared_access.h"
#include "pvkit/ring/xen_abi.h"

namespace pvkit::ring {

/// Bounds-checked access to a shared ring page: header and slots.
template <RingMessage Req, RingMessage Rsp>
class SharedRingView {
 public:
  using Layout = RingLayout<Req, Rsp>;

  /// Points the view at `bytes` bytes of shared memory at `area`. Errno::Inval if the area is
  /// null, misaligned for the header or the slots, too small for one slot, or too large.
  [[nodiscard]] Status attach(void* area, std::size_t bytes) {
    if (area == nullptr) return Errno::Inval;
    if (reinterpret_cast<std::uintptr_t>(area) % Layout::kAreaAlign != 0) return Errno::Inval;
    const std::uint32_t n = Layout::slots(bytes);
    if (n == 0) return Errno::Inval;
    base_ = static_cast<unsigned char*>(area);
    nr_slots_ = n;
    return Status::ok();
  }
  /// Forgets the shared page.
  void detach() {
    base_ = nullptr;
    nr_slots_ = 0;
  }

  /// SHARED_RING_INIT, generalised to a start index: both producer indices = start, both
  /// event indices = start + 1 (notify on the first message), private bytes and padding zero.
  void init_header(RingIdx start) {
    xen::SharedRingHeader* h = header();
    std::memset(h->pvt, 0, sizeof(h->pvt));
    std::memset(h->pad, 0, sizeof(h->pad));
    store_index(&h->req_event, start + 1);
    store_index(&h->rsp_event, start + 1);
    store_index(&h->rsp_prod, start);
    store_index(&h->req_prod, start);
  }

  /// True while a page is attached.
  [[nodiscard]] bool attached() const { return base_ != nullptr; }
  /// RING_SIZE: the number of slots (a power of two), 0 when not attached.
  [[nodiscard]] std::uint32_t size() const { return nr_slots_; }
  /// The ring header (producer/consumer indices, event thresholds) in shared memory.
  [[nodiscard]] xen::SharedRingHeader* header() const {
    return reinterpret_cast<xen::SharedRingHeader*>(base_);
  }
  /// The shared bytes of the slot `idx` maps to (idx & (size - 1)).
  [[nodiscard]] unsigned char* slot(RingIdx idx) const {
    return base_ + Layout::slot_offset(idx, nr_slots_);
  }

 private:
  unsigned char* base_ = nullptr;
  std::uint32_t nr_slots_ = 0;
};

}  // namespace pvkit::ring
