// pvkit/mm/domain_teardown.h — preemptible release of everything a dying domain holds in the
// frame database.
//
// What it is: `domain_teardown_step(mm, d)`: bounded work (the verifier's per-call budget)
// towards a Dead domain, in phases:
//   0 drop every vCPU's kernel and user root;
//   1 unpin every pinned frame the domain owns;
//   2 abandon partial validations of its frames (their entries' and own references);
//   3 finish queued devalidations (which drop every entry's references, cascading down);
//   4 drop the allocation reference of each of its frames (a frame no one else references is
//     free at once), and end the sharing of hypervisor frames shared with it (the grant
//     table's own later grant_unshare_xen_frame then answers Inval, to be ignored);
//   5 Dead once it owns no frame — none of its allocation and no shared hypervisor frame
//     (a frame's owner pointer never outlives the domain, whose slot may be reused).
// Phases 1, 2 and 4 walk the domain's own list of owned frames (Domain::owned_head, kept by the
// frame database), not the machine's frame table: a step's work and a whole teardown's cost
// are proportional to the domain's size, whatever the RAM. The walk's cursor
// (Domain::teardown_cursor, the next frame to visit) survives preemption and frames leaving
// the list meanwhile (freed by the visit itself — an abandoned partial table drops its
// entries' references — or by other domains between steps): the frame database moves the
// cursor on when it unlinks that frame. A dying domain gains no frames (assign, transfer and
// assign_stolen refuse it), so each walk ends after at most owned_count visits.
// Returns Errno::Restart while work remains ("more to do": call again, e.g. from the
// destroydomain continuation), ok once the domain is Dead, and Errno::Busy when only other
// domains' references keep some of its frames alive (a zombie: call again after they drop
// them; Xen behaves the same). The caller first moves the domain to Dying
// (DomainTable::begin_destroy), so no new references appear; other areas (event channels,
// grant tables) tear down their own state separately.
//
// How to use it:
//   while (domain_teardown_step(mm, d).is_restart()) { /* preemption point */ }
//
// Concurrency: takes the verifier's lock itself for each step.
#pragma once

#include <cstdint>

#include "pvkit/base/spinlock.h"
#include "pvkit/base/status.h"
#include "pvkit/domain/domain.h"
#include "pvkit/mm/frame_db.h"

namespace pvkit {

/// One bounded step of tearing down a Dying domain's memory: Errno::Restart while work remains, ok once the domain is Dead, Inval if it is not dying.
template <typename V>
[[nodiscard]] Status domain_teardown_step(V& mm, Domain& d) {
  if (d.state.load(std::memory_order_acquire) == DomainState::Dead) return Status::ok();
  if (d.state.load(std::memory_order_acquire) != DomainState::Dying) return Errno::Inval;
  LockGuard g(mm.lock());
  mm.begin_call();
  FrameDb& db = mm.frames();
  // Visits the frames on d's list from the cursor on; true when the walk reached the end.
  auto walk = [&](auto&& per_frame) -> bool {
    while (d.teardown_cursor != kNoFrameLink) {
      if (mm.budget_exhausted()) return false;
      mm.consume();
      const Mfn m{d.teardown_cursor};
      FrameInfo& f = *db.info(m);
      d.teardown_cursor = f.owned_next;  // before the visit, which may free m
      per_frame(m, f);
    }
    return true;
  };
  auto next_phase = [&](std::uint32_t phase) {
    d.teardown_phase = phase;
    d.teardown_cursor = d.owned_head;
  };
  for (;;) {
    switch (d.teardown_phase) {
      case 0:
        mm.drop_roots(d);
        next_phase(1);
        break;
      case 1:
        if (!walk([&](Mfn m, FrameInfo& f) {
              if (f.pinned) (void)mm.unpin(d, m);
            })) {
          return Errno::Restart;
        }
        next_phase(2);
        break;
      case 2:
        if (!walk([&](Mfn m, FrameInfo& f) {
              if (f.partial) mm.abandon_partial(m);
            })) {
          return Errno::Restart;
        }
        d.teardown_phase = 3;
        break;
      case 3:
        if (Status s = mm.drain(); !s) return s;
        next_phase(4);
        break;
      case 4:
        if (!walk([&](Mfn m, FrameInfo& f) {
              if (f.allocated) (void)db.release_allocation(m, d);
              if (f.owner == &d && f.shared_xen) (void)db.unshare_xen(m, d);  // no mapping of it is left now
            })) {
          return Errno::Restart;
        }
        d.teardown_phase = 5;
        d.teardown_cursor = kNoFrameLink;
        break;
      default:
        // Drops by others may queue more devalidation of our frames (e.g. their linear use).
        if (mm.has_pending()) {
          if (Status s = mm.drain(); !s) return s;
        }
        if (d.owned_count != 0) {
          // A zombie: others still reference some of its frames (or map a hypervisor frame
          // shared with it). The next call walks what is left again: frames whose last
          // reference went meanwhile have left the list; a shared frame that is no longer
          // mapped is unshared then.
          next_phase(4);
          return Errno::Busy;
        }
        d.state.store(DomainState::Dead, std::memory_order_release);
        return Status::ok();
    }
  }
}

}  // namespace pvkit
