// pvkit/mm/frame_db.h — the frame database: owner, references and type of every machine frame.
//
// What it is: one `FrameInfo` per machine frame (Xen's page_info) and `FrameDb`, the table of
// them over platform-provided storage. A frame has
//   - an owner (a Domain*, or none when free; hypervisor frames are marked `xen` and can never
//     be assigned to a guest),
//   - a general reference count (`refcount`: every use, including the one "allocation"
//     reference a domain's frame carries while it belongs to the domain),
//   - a type (`PageType`) with its own `type_count`; the type changes only at type_count 0,
//   - pinned / validated / partial (partially validated) / devalidating state and the
//     progress index of preemptible validation or devalidation,
//   - linear-page-table counters, the M2P entry, and which of its entries (if it is an L1) are
//     grant mappings (hypervisor-private, invariant 13).
// Every owned frame is on its owner's list of owned frames (Domain::owned_head, linked through
// FrameInfo::owned_prev/owned_next, Xen's d->page_list), and no other frame is: every change of
// `owner` goes through one private function that moves the frame between lists in O(1), so
// domain teardown walks the domain's frames, not the machine's.
// Invariants held here: refcount > 0 implies an owner (14); xen frames are never guest-owned
// (12); ownership transfer wipes type and validation state (14). Type references themselves are
// taken and dropped by the verifier (pvkit/mm/verifier.h), which knows how to validate.
//
// How to use it: the platform provides `std::span<FrameInfo>` storage (one per frame, at most
// kMaxFrames: frame numbers are 32-bit list links, 16 TiB of RAM) and
// calls `reserve_xen` for its own frames; `assign` gives a free frame to a domain (allocation
// reference), `release_allocation` takes it back, `get_page`/`put_page` count general uses.
//
// Concurrency: FrameDb is not synchronised by itself. Every call happens under the verifier's
// lock (PageTableVerifier::lock()); other areas go through the verifier's API.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>

#include "pvkit/base/status.h"
#include "pvkit/base/types.h"
#include "pvkit/domain/domain.h"

namespace pvkit {

/// Mutually exclusive frame types (Xen's PGT_*).
enum class PageType : std::uint8_t { None, L1, L2, L3, L4, SegDesc, Writable };

/// True for the four page-table types (L1..L4).
constexpr bool is_page_table(PageType t) {
  return t == PageType::L1 || t == PageType::L2 || t == PageType::L3 || t == PageType::L4;
}
/// The page type of a level-`level` page table (1..4).
constexpr PageType table_type(unsigned level) { return static_cast<PageType>(level); }
/// The level (1..4) of a page-table type.
constexpr unsigned table_level(PageType t) { return static_cast<unsigned>(t); }

inline constexpr std::uint64_t kNoFrame = ~std::uint64_t{0};

/// Per-frame bookkeeping (hypervisor-private; the guest can read none of it).
struct FrameInfo {
  Domain* owner = nullptr;
  std::uint32_t refcount = 0;
  std::uint32_t type_count = 0;
  PageType type = PageType::None;
  bool xen = false;         ///< a hypervisor frame: never guest-owned, never typed
  bool allocated = false;   ///< holds the allocation reference of its owner
  bool pinned = false;      ///< a pin holds one general + one type reference
  bool validated = false;   ///< every entry checked, references taken (table types)
  bool partial = false;     ///< validation preempted at `next_index`; owns 1 general + 1 type ref
  bool devalidating = false;///< type count hit 0; entries >= next_index still hold references
  bool in_transit = false;  ///< stolen for a grant transfer: ownerless, assignable only by
                            ///< assign_stolen (never handed out by assign)
  bool shared_xen = false;  ///< a hypervisor frame shared with `owner` (grant/status frames):
                            ///< mappable by it, never counted in tot_pages, never freed to it
  bool shared_ro = false;   ///< ...and only read-only
  std::uint16_t next_index = 0;
  std::uint16_t linear_out = 0;   ///< same-level entries this table contains (linear tables)
  std::uint32_t linear_in = 0;    ///< same-level entries of other tables pointing here
  /// Links of the owner's list of owned frames (frame numbers; kNoFrameLink = none). Only
  /// meaningful while `owner` is set; changed only by FrameDb.
  std::uint32_t owned_prev = kNoFrameLink;
  std::uint32_t owned_next = kNoFrameLink;
  std::uint32_t next_pending = kNoFrameLink;  ///< devalidation work list link (frame number)
  /// The flush epoch in which the type count last reached 0 (or the frame was reassigned):
  /// until a full flush ends that epoch, some TLB may still hold a translation that was only
  /// valid under the old type (Xen's tlbflush_timestamp).
  std::uint64_t tlb_epoch = 0;
  std::uint64_t m2p = ~std::uint64_t{0};   ///< guest pfn (MMU_MACHPHYS_UPDATE)
  std::array<std::uint64_t, 8> grant_ptes{};  ///< bit i: entry i is a grant mapping (L1)

  /// True if entry `i` of this L1 table is a grant PTE.
  [[nodiscard]] bool is_grant_pte(unsigned i) const { return (grant_ptes[i / 64] >> (i % 64)) & 1; }
  /// Marks or unmarks entry `i` of this L1 table as a grant PTE.
  void set_grant_pte(unsigned i, bool on) {
    const std::uint64_t bit = std::uint64_t{1} << (i % 64);
    grant_ptes[i / 64] = on ? (grant_ptes[i / 64] | bit) : (grant_ptes[i / 64] & ~bit);
  }
  /// True if any entry of this table is a grant PTE.
  [[nodiscard]] bool has_grant_ptes() const {
    for (auto w : grant_ptes) {
      if (w != 0) return true;
    }
    return false;
  }
  /// Back to the state of a free frame (keeps `xen`).
  void wipe_type_state() {
    type = PageType::None;
    type_count = 0;
    pinned = validated = partial = devalidating = false;
    next_index = 0;
    linear_out = 0;
    linear_in = 0;
    grant_ptes = {};
  }
};

// Two cache lines per frame (Xen's page_info is 32 bytes, but keeps most of this elsewhere).
static_assert(sizeof(FrameInfo) <= 128, "FrameInfo grew: keep the per-frame record small");

/// The table of FrameInfo for every machine frame.
class FrameDb {
 public:
  /// Most frames one database describes (the list links are 32-bit frame numbers).
  static constexpr std::uint64_t kMaxFrames = kNoFrameLink;

  /// Describes `frames` (beyond kMaxFrames, the rest is not used). The frames must be free.
  explicit FrameDb(std::span<FrameInfo> frames)
      : frames_(frames.first(frames.size() < kMaxFrames ? frames.size() : kMaxFrames)) {}
  FrameDb(const FrameDb&) = delete;
  FrameDb& operator=(const FrameDb&) = delete;

  /// Number of machine frames described.
  [[nodiscard]] std::uint64_t size() const { return frames_.size(); }
  /// True if `m` is a frame of this database.
  [[nodiscard]] bool valid(Mfn m) const { return m.value() < frames_.size(); }
  /// The frame's info, or nullptr if `m` is not a frame of this machine.
  [[nodiscard]] FrameInfo* info(Mfn m) { return valid(m) ? &frames_[m.value()] : nullptr; }
  /// The frame's record, or nullptr for an invalid frame.
  [[nodiscard]] const FrameInfo* info(Mfn m) const { return valid(m) ? &frames_[m.value()] : nullptr; }

  /// Marks a frame as the hypervisor's. Errors: Inval (no such frame), Busy (in use).
  [[nodiscard]] Status reserve_xen(Mfn m) {
    FrameInfo* f = info(m);
    if (f == nullptr) return Errno::Inval;
    if (f->owner != nullptr || f->refcount != 0) return Errno::Busy;
    f->xen = true;
    return Status::ok();
  }

  /// Gives a free frame to `d` with its allocation reference. Errors: Inval (no such frame),
  /// Busy (not free or a hypervisor frame), Perm (domain not running), TooBig (over max_pages).
  [[nodiscard]] Status assign(Mfn m, Domain& d) {
    FrameInfo* f = info(m);
    if (f == nullptr) return Errno::Inval;
    if (f->xen || f->in_transit || f->owner != nullptr || f->refcount != 0) return Errno::Busy;
    if (!d.is_running()) return Errno::Perm;
    if (d.tot_pages >= d.max_pages) return Errno::TooBig;
    f->wipe_type_state();
    join_owner(m, *f, d);
    f->allocated = true;
    f->refcount = 1;
    mark_stale(*f);  // whatever mapped it before may still be cached
    ++d.tot_pages;
    return Status::ok();
  }

  /// Takes a general reference if `m` is a frame owned by `owner`.
  [[nodiscard]] bool get_page(Mfn m, const Domain* owner) {
    FrameInfo* f = info(m);
    if (f == nullptr || f->owner == nullptr || f->owner != owner || (f->xen && !f->shared_xen)) return false;
    if (f->refcount == std::numeric_limits<std::uint32_t>::max()) return false;
    ++f->refcount;
    return true;
  }

  /// Drops a general reference; the last one frees the frame (owner none, tot_pages--).
  void put_page(Mfn m) {
    FrameInfo* f = info(m);
    if (f == nullptr || f->refcount == 0) return;  // defensive: never underflow
    if (--f->refcount == 0) free_frame(*f);
  }

  /// Drops the allocation reference of a frame owned by `d` (domain teardown or balloon).
  /// The frame becomes free when its last other reference goes. Errors: Inval.
  [[nodiscard]] Status release_allocation(Mfn m, const Domain& d) {
    FrameInfo* f = info(m);
    if (f == nullptr || f->owner != &d || !f->allocated) return Errno::Inval;
    f->allocated = false;
    put_page(m);
    return Status::ok();
  }

  /// Moves a frame from `from` to `to` (grant transfer). The frame must be in no use other
  /// than its allocation reference. Type and validation state are wiped (invariant 14).
  /// Errors: Inval (not owned by `from`), Busy (in use), Perm (`to` not running),
  /// TooBig (`to` over max_pages).
  [[nodiscard]] Status transfer(Mfn m, Domain& from, Domain& to) {
    FrameInfo* f = info(m);
    if (f == nullptr || f->owner != &from || !f->allocated) return Errno::Inval;
    if (f->refcount != 1 || f->type_count != 0 || f->pinned || f->partial || f->devalidating) {
      return Errno::Busy;
    }
    if (!to.is_running()) return Errno::Perm;
    if (&to != &from && to.tot_pages >= to.max_pages) return Errno::TooBig;
    f->wipe_type_state();
    mark_stale(*f);
    f->m2p = ~std::uint64_t{0};
    --from.tot_pages;
    if (&to != &from) {
      leave_owner(m, *f);
      join_owner(m, *f, to);
    }
    ++to.tot_pages;
    return Status::ok();
  }

  /// Grant transfer, first half (Xen's steal_page): takes a frame away from `from`, which must
  /// hold nothing but its allocation reference. The frame is ownerless and `in_transit` until
  /// `assign_stolen`. Type state is wiped. Errors: Inval (not owned by `from`), Busy (in use).
  [[nodiscard]] Status steal(Mfn m, Domain& from) {
    FrameInfo* f = info(m);
    if (f == nullptr || f->owner != &from || !f->allocated) return Errno::Inval;
    if (f->refcount != 1 || f->type_count != 0 || f->pinned || f->partial || f->devalidating) {
      return Errno::Busy;
    }
    f->wipe_type_state();
    f->m2p = ~std::uint64_t{0};
    f->refcount = 0;
    f->allocated = false;
    leave_owner(m, *f);
    f->in_transit = true;
    if (from.tot_pages > 0) --from.tot_pages;
    mark_stale(*f);
    return Status::ok();
  }

  /// Grant transfer, second half: gives a stolen frame to `to` (allocation reference, type
  /// wiped). Errors: Inval (not in transit), Perm (`to` not running), TooBig (over max_pages).
  [[nodiscard]] Status assign_stolen(Mfn m, Domain& to) {
    FrameInfo* f = info(m);
    if (f == nullptr || !f->in_transit) return Errno::Inval;
    if (!to.is_running()) return Errno::Perm;
    if (to.tot_pages >= to.max_pages) return Errno::TooBig;
    f->in_transit = false;
    f->wipe_type_state();
    join_owner(m, *f, to);
    f->allocated = true;
    f->refcount = 1;
    ++to.tot_pages;
    return Status::ok();
  }

  /// Frees a stolen frame that no receiver took (the transfer failed). Errors: Inval.
  [[nodiscard]] Status free_stolen(Mfn m) {
    FrameInfo* f = info(m);
    if (f == nullptr || !f->in_transit) return Errno::Inval;
    f->in_transit = false;
    return Status::ok();
  }

  /// Shares a hypervisor frame (reserved with reserve_xen) with `d` so that it can map it —
  /// Xen's share_xen_page_with_guest, for grant-table and status frames. The frame gets `d` as
  /// owner and one sharing reference; it is not part of d's allocation. Errors: Inval (not a
  /// hypervisor frame), Busy (already shared).
  [[nodiscard]] Status share_xen(Mfn m, Domain& d, bool readonly) {
    FrameInfo* f = info(m);
    if (f == nullptr || !f->xen) return Errno::Inval;
    if (f->shared_xen || f->refcount != 0) return Errno::Busy;
    f->wipe_type_state();
    f->shared_xen = true;
    f->shared_ro = readonly;
    join_owner(m, *f, d);
    f->refcount = 1;
    return Status::ok();
  }

  /// Ends the sharing. Errors: Inval (not shared with d), Busy (d still maps or uses it; the
  /// frame stays shared, invariant 23).
  [[nodiscard]] Status unshare_xen(Mfn m, const Domain& d) {
    FrameInfo* f = info(m);
    if (f == nullptr || !f->shared_xen || f->owner != &d) return Errno::Inval;
    if (f->refcount != 1 || f->type_count != 0 || f->devalidating || f->partial) return Errno::Busy;
    f->wipe_type_state();
    f->shared_xen = false;
    f->shared_ro = false;
    leave_owner(m, *f);
    f->refcount = 0;
    mark_stale(*f);
    return Status::ok();
  }

  /// TLB epochs: a frame whose uses ended in the current epoch needs a full flush before it
  /// changes type; `note_full_flush` ends the epoch.
  void mark_stale(FrameInfo& f) const { f.tlb_epoch = epoch_; }
  /// True if the frame's last use ended in the current TLB epoch (a full flush is still due).
  [[nodiscard]] bool needs_flush(const FrameInfo& f) const { return f.tlb_epoch == epoch_; }
  /// Ends the current TLB epoch (a full flush happened).
  void note_full_flush() { ++epoch_; }

  /// Visits every frame: f(Mfn, FrameInfo&).
  template <typename F>
  void for_each(F&& fn) {
    for (std::uint64_t i = 0; i < frames_.size(); ++i) fn(Mfn{i}, frames_[i]);
  }

  // ---- the per-domain lists of owned frames ---------------------------------------------------

  /// The first frame `d` owns, or nullopt if it owns none.
  [[nodiscard]] std::optional<Mfn> first_owned(const Domain& d) const { return to_mfn_opt(d.owned_head); }
  /// The frame after `m` on its owner's list, or nullopt (last, or `m` is not owned).
  [[nodiscard]] std::optional<Mfn> next_owned(Mfn m) const {
    const FrameInfo* f = info(m);
    if (f == nullptr || f->owner == nullptr) return std::nullopt;
    return to_mfn_opt(f->owned_next);
  }
  /// Visits the frames `d` owns, in list order: fn(Mfn, FrameInfo&). `fn` must not change
  /// ownership (domain teardown has its own cursor for that).
  template <typename F>
  void for_each_owned(const Domain& d, F&& fn) {
    for (std::uint32_t i = d.owned_head; i != kNoFrameLink; i = frames_[i].owned_next) fn(Mfn{i}, frames_[i]);
  }

 private:
  static std::optional<Mfn> to_mfn_opt(std::uint32_t link) {
    if (link == kNoFrameLink) return std::nullopt;
    return Mfn{link};
  }

  // The only places `owner` changes: an ownerless frame joins `d` (appended to d's list),
  // an owned frame leaves its owner (unlinked; the owner's teardown cursor moves past it),
  // or both. O(1). Frame numbers fit the 32-bit links (constructor: < kMaxFrames).
  void join_owner(Mfn m, FrameInfo& f, Domain& d) {
    const auto self = static_cast<std::uint32_t>(m.value());
    f.owner = &d;
    f.owned_prev = d.owned_tail;
    f.owned_next = kNoFrameLink;
    if (d.owned_tail == kNoFrameLink) {
      d.owned_head = self;
    } else {
      frames_[d.owned_tail].owned_next = self;
    }
    d.owned_tail = self;
    ++d.owned_count;
  }
  void leave_owner(Mfn m, FrameInfo& f) {
    Domain& old = *f.owner;
    if (f.owned_prev == kNoFrameLink) {
      old.owned_head = f.owned_next;
    } else {
      frames_[f.owned_prev].owned_next = f.owned_next;
    }
    if (f.owned_next == kNoFrameLink) {
      old.owned_tail = f.owned_prev;
    } else {
      frames_[f.owned_next].owned_prev = f.owned_prev;
    }
    if (old.teardown_cursor == m.value()) old.teardown_cursor = f.owned_next;
    --old.owned_count;
    f.owner = nullptr;
    f.owned_prev = f.owned_next = kNoFrameLink;
  }

  [[nodiscard]] Mfn mfn_of(const FrameInfo& f) const {
    return Mfn{static_cast<std::uint64_t>(&f - frames_.data())};
  }

  void free_frame(FrameInfo& f) {
    if (f.shared_xen) {  // back to the hypervisor: unowned, still reserved
      f.shared_xen = false;
      f.shared_ro = false;
      if (f.owner != nullptr) leave_owner(mfn_of(f), f);
      f.wipe_type_state();
      mark_stale(f);
      return;
    }
    if (f.owner != nullptr) {
      if (f.owner->tot_pages > 0) --f.owner->tot_pages;
      leave_owner(mfn_of(f), f);
    }
    f.allocated = false;
    f.wipe_type_state();
    f.m2p = ~std::uint64_t{0};
    mark_stale(f);
  }
  std::span<FrameInfo> frames_;
  std::uint64_t epoch_ = 1;
};

}  // namespace pvkit
