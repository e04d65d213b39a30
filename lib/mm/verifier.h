// pvkit/mm/verifier.h — the PV page-table verifier: type and reference counting for 4-level
// x86-64 guest page tables ("direct paging"), with preemptible validation and teardown.
//
// What it is: `PageTableVerifier<Platform, Pte>` owns the rules that make guest-owned page
// tables safe (xen-pv.md section 2, invariants 7-14):
//   - a present L1 entry holds a general reference on its frame, plus a Writable type reference
//     if it is RW; an L2/L3/L4 entry holds a general + type reference on the next-lower table;
//   - a frame's type changes only at type count 0, so a table is never mapped writable and a
//     writable page never becomes a table; after a type change is published, a full TLB flush
//     is issued if a translation valid under the old type may still be cached;
//   - validation of a table is preemptible: when the per-call work budget runs out, the table
//     is left "partial" at `next_index`, owning exactly one general and one type reference; the
//     next get of the same type takes that reference over and resumes;
//   - when a table's type count reaches 0 it is not torn down recursively: it goes on a
//     devalidation work list (holding one general reference) that `drain()` processes with the
//     same budget, so no guest-sized loop runs unbounded.
// Hypercall handlers (hypercall_*.h), the grant hooks (grant_mapping.h) and domain teardown
// (domain_teardown.h) are built on the operations below.
//
// How to use it:
//   PageTableVerifier<MyPlatform> v(frame_db, platform);
//   { LockGuard g(v.lock()); v.begin_call(); Status s = v.pin(dom, mfn, PageType::L4); }
// A `Status` of Errno::Restart means "budget exhausted, state saved, call again".
//
// Concurrency: one SpinLock (`lock()`) serialises every operation on the frame database and on
// guest page tables (simple and obviously race-free; Xen uses per-page locks and atomic type
// words). All member functions require the lock held, except those documented otherwise in
// grant_mapping.h and domain_teardown.h, which take it themselves. Entry words are read and
// written with atomic builtins because hardware sets A/D bits concurrently.
#pragma once

#include <cstdint>

#include "pvkit/base/spinlock.h"
#include "pvkit/base/status.h"
#include "pvkit/base/types.h"
#include "pvkit/domain/domain.h"
#include "pvkit/mm/frame_db.h"
#include "pvkit/mm/mm_platform.h"
#include "pvkit/mm/pte.h"
#include "pvkit/mm/xen_abi.h"

namespace pvkit {

/// Where an L1 entry lives: the L1 table's frame and the entry index.
struct L1Slot {
  Mfn table{};
  unsigned index = 0;
};

/// The PV page-table verifier: validates and type-counts guest page tables (docs/verifier.md).
template <MmPlatform Platform, PteFormat Pte = X86Pte>
class PageTableVerifier {
 public:
  using Format = Pte;
  static constexpr unsigned kEntries = Pte::kEntriesPerTable;

  PageTableVerifier(FrameDb& frames, Platform& platform, std::uint32_t budget_per_call = 2048)
      : frames_(frames), plat_(platform), per_call_(budget_per_call == 0 ? 1 : budget_per_call) {}
  PageTableVerifier(const PageTableVerifier&) = delete;
  PageTableVerifier& operator=(const PageTableVerifier&) = delete;

  /// The verifier's lock (handlers take it per request).
  SpinLock& lock() { return lock_; }
  /// The frame database.
  FrameDb& frames() { return frames_; }
  /// The platform policy object.
  Platform& platform() { return plat_; }

  // ---- work budget (invariant 6) --------------------------------------------------------

  /// Entries validated/devalidated (and requests processed) per hypercall invocation. Work is
  /// checked before and charged after each unit, so any budget >= 1 makes progress.
  void set_budget_per_call(std::uint32_t n) { per_call_ = n == 0 ? 1 : n; }
  /// Starts a new invocation's budget.
  void begin_call() { budget_ = per_call_; }
  /// True when the current call's work budget is used up (time to continue later).
  [[nodiscard]] bool budget_exhausted() const { return budget_ == 0; }
  /// Charges `n` units of work to the current call's budget.
  void consume(std::uint32_t n = 1) { budget_ = budget_ > n ? budget_ - n : 0; }

  // ---- statistics for tests ------------------------------------------------------------
  [[nodiscard]] std::uint64_t full_flushes() const { return full_flushes_; }
  /// Grant PTEs removed implicitly (a table holding them was torn down).
  [[nodiscard]] std::uint64_t implicit_grant_unmaps() const { return implicit_grant_unmaps_; }
  /// True while devalidation work is queued.
  [[nodiscard]] bool has_pending() const { return pending_head_ != kNoFrameLink; }

  // ---- entry access ----------------------------------------------------------------------

  /// The frame's 512 entries (nullptr if it is not RAM).
  std::uint64_t* entries(Mfn m) { return frames_.valid(m) ? plat_.frame_entries(m) : nullptr; }
  /// Reads an entry word atomically (the guest may be writing it).
  static std::uint64_t load(const std::uint64_t* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }

  /// Replaces *p (expected to hold `old`) by `val` atomically. If only A/D bits changed under
  /// us (hardware), retries; with `preserve_ad` the current A/D bits are ORed into `val`.
  /// On success `replaced` is the value actually replaced. Errors: Again (entry changed).
  [[nodiscard]] static Status write_entry(std::uint64_t* p, std::uint64_t old, std::uint64_t val,
                                          bool preserve_ad, std::uint64_t& replaced) {
    for (int tries = 0; tries < 16; ++tries) {
      std::uint64_t want = preserve_ad ? (val | (old & Pte::kAdMask)) : val;
      std::uint64_t expected = old;
      if (__atomic_compare_exchange_n(p, &expected, want, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        replaced = old;
        return Status::ok();
      }
      if (((expected ^ old) & ~Pte::kAdMask) != 0) return Errno::Again;
      old = expected;
    }
    return Errno::Again;
  }

  /// True for the L4 slots reserved to the hypervisor (256..271).
  static constexpr bool is_xen_l4_slot(PtLevel level, unsigned i) {
    return level == 4 && i >= xen::kFirstXenL4Slot && i <= xen::kLastXenL4Slot;
  }

  // ---- flag rules ------------------------------------------------------------------------

  /// Checks a present entry's flags for `level`. Reserved bits, PSE (no PV superpages), G above
  /// L1 and, without privilege, cache attributes (PWT/PCD, PAT at L1) are refused: Inval.
  [[nodiscard]] static Status check_flags(PtLevel level, std::uint64_t e, bool privileged) {
    if (Pte::Reserved::test(e)) return Errno::Inval;
    if (level == 1) {
      if (!privileged && (e & Pte::kL1CacheMask) != 0) return Errno::Inval;
      return Status::ok();
    }
    if (Pte::PsePat::test(e) || Pte::Global::test(e)) return Errno::Inval;
    if (!privileged && (Pte::Pwt::test(e) || Pte::Pcd::test(e))) return Errno::Inval;
    return Status::ok();
  }

  // ---- type references ---------------------------------------------------------------------

  /// Takes a type reference of type `t` on `m`. The caller must hold a general reference.
  /// Changes the type if the count is 0, flushing TLBs after publishing the change if needed,
  /// then validates a table type (preemptibly). Takes over a partial validation of the same
  /// type. Errors: Inval (type conflict, count overflow), validation errors, Restart.
  [[nodiscard]] Status get_type(Mfn m, PageType t) {
    FrameInfo* f = frames_.info(m);
    if (f == nullptr) return Errno::Inval;
    if (f->devalidating) {
      Status s = drain();
      if (f->devalidating) return s.is_restart() ? s : Status{Errno::Restart};
    }
    if (f->shared_xen && is_page_table(t)) return Errno::Inval;  // hypervisor pages never become tables
    if (f->type_count == 0 && !f->partial) {
      const bool changed = f->type != t;
      f->type = t;
      f->type_count = 1;
      f->validated = !is_page_table(t);
      f->next_index = 0;
      f->linear_out = 0;
      f->grant_ptes = {};
      if (changed && frames_.needs_flush(*f)) {
        // Published first, then flushed: no new mapping of the old type can appear between.
        full_flush();
      }
      if (!is_page_table(t)) return Status::ok();
      return validate(m, *f);
    }
    if (f->type != t) return Errno::Inval;
    if (f->partial) {
      // Take over the partial state's type reference; its general reference goes back.
      f->partial = false;
      --f->refcount;
      return validate(m, *f);
    }
    if (!f->validated) return Errno::Inval;  // being validated further up this very call
    if (f->type_count == UINT32_MAX) return Errno::Inval;
    ++f->type_count;
    return Status::ok();
  }

  /// Drops a type reference. A table whose count reaches 0 is queued for devalidation.
  void put_type(Mfn m) {
    FrameInfo* f = frames_.info(m);
    if (f == nullptr || f->type_count == 0) return;  // defensive: never underflow
    if (--f->type_count > 0) return;
    frames_.mark_stale(*f);
    if (is_page_table(f->type) && f->validated) {
      f->validated = false;
      f->devalidating = true;
      f->next_index = 0;
      ++f->refcount;  // the work list's reference
      push_pending(m);
    }
  }

  /// General + type reference on a frame owned by `owner`. Errors: Inval (not owned), get_type's.
  [[nodiscard]] Status get_page_and_type(Mfn m, const Domain* owner, PageType t) {
    if (!frames_.get_page(m, owner)) return Errno::Inval;
    Status s = get_type(m, t);
    if (!s) frames_.put_page(m);
    return s;
  }
  /// Drops a type and a general reference taken by get_page_and_type.
  void put_page_and_type(Mfn m) {
    put_type(m);
    frames_.put_page(m);
  }

  /// Continues queued devalidations within the budget. Restart if work remains.
  [[nodiscard]] Status drain() {
    while (pending_head_ != kNoFrameLink) {
      const Mfn m{pending_head_};
      FrameInfo& f = *frames_.info(m);
      const PtLevel level = table_level(f.type);
      std::uint64_t* e = entries(m);
      for (unsigned i = f.next_index; i < kEntries; ++i) {
        if (is_xen_l4_slot(level, i)) continue;
        if (budget_ == 0) {
          f.next_index = static_cast<std::uint16_t>(i);
          return Errno::Restart;
        }
        --budget_;
        if (e != nullptr) {
          if (level == 1 && f.is_grant_pte(i)) {
            // The grant table holds this mapping's references; the PTE just stops being one.
            ++implicit_grant_unmaps_;
            f.set_grant_pte(i, false);
          } else {
            put_entry_refs(level, load(&e[i]), m, f);
          }
        }
      }
      pending_head_ = f.next_pending;
      if (pending_head_ == kNoFrameLink) pending_tail_ = kNoFrameLink;
      f.next_pending = kNoFrameLink;
      f.devalidating = false;
      f.next_index = 0;  // the type stays (count 0): re-use as the same type needs no flush
      frames_.put_page(m);  // the work list's reference
    }
    return Status::ok();
  }

  // ---- entries -------------------------------------------------------------------------------

  /// Takes the references a present entry `e` of a `level` table `table` needs. L1 frames must
  /// belong to `pg_owner`, upper-level targets to the table's owner.
  /// Errors: Inval (flags, type, owner at L2-L4, linear rules), Busy (L1 frame of another
  /// owner, or RW on a frame that cannot be writable), Perm (frame not RAM), Restart.
  [[nodiscard]] Status get_entry_refs(PtLevel level, std::uint64_t e, Mfn table, Domain& pg_owner) {
    if (!Pte::Present::test(e)) return Status::ok();
    FrameInfo& tf = *frames_.info(table);
    Domain* owner = tf.owner;
    if (Status s = check_flags(level, e, owner != nullptr && owner->privileged); !s) return s;
    const Mfn target = Pte::frame(e);
    if (entries(target) == nullptr) return Errno::Perm;  // no I/O-memory model: RAM only
    if (level == 1) {
      if (!frames_.get_page(target, &pg_owner)) return Errno::Busy;
      if (Pte::Rw::test(e) && frames_.info(target)->shared_ro) {
        frames_.put_page(target);
        return Errno::Busy;
      }
      if (Pte::Rw::test(e)) {
        Status s = get_type(target, PageType::Writable);
        if (!s) {
          frames_.put_page(target);
          return s.is_restart() ? s : Status{Errno::Busy};
        }
      }
      return Status::ok();
    }
    if (target == table) {  // self-referencing (recursive) slot: read-only, takes no reference
      return Pte::Rw::test(e) ? Status{Errno::Inval} : Status::ok();
    }
    if (!frames_.get_page(target, owner)) return Errno::Inval;
    FrameInfo& g = *frames_.info(target);
    const PageType same = table_type(level);
    if (g.type == same && g.type_count > 0) {
      // Linear page table: read-only, same owner (checked), validated, depth <= 1.
      if (Pte::Rw::test(e) || !g.validated || g.linear_out != 0 || tf.linear_in != 0 ||
          g.linear_in == UINT32_MAX) {
        frames_.put_page(target);
        return Errno::Inval;
      }
      Status s = get_type(target, same);
      if (!s) {
        frames_.put_page(target);
        return Errno::Inval;
      }
      ++tf.linear_out;
      ++g.linear_in;
      return Status::ok();
    }
    Status s = get_type(target, table_type(level - 1));
    if (!s) frames_.put_page(target);
    return s;
  }

  /// Drops the references a validated present entry holds.
  void put_entry_refs(PtLevel level, std::uint64_t e, Mfn table, FrameInfo& tf) {
    if (!Pte::Present::test(e)) return;
    const Mfn target = Pte::frame(e);
    FrameInfo* g = frames_.info(target);
    if (g == nullptr) return;
    if (level == 1) {
      if (Pte::Rw::test(e)) put_type(target);
      frames_.put_page(target);
      return;
    }
    if (target == table) return;
    if (g->type == table_type(level)) {
      if (tf.linear_out > 0) --tf.linear_out;
      if (g->linear_in > 0) --g->linear_in;
    }
    put_page_and_type(target);
  }

  /// Modifies entry `index` of the live table `m` (type count held by the caller). Refuses
  /// hypervisor L4 slots and grant PTEs (Inval; Xen would crash the guest for the latter).
  /// Fast path when only NX/AVAIL/G/D/A/US change; otherwise take new refs, write, drop old.
  [[nodiscard]] Status mod_table_entry(Mfn m, unsigned index, std::uint64_t val, Domain& pg_owner,
                                       bool preserve_ad) {
    FrameInfo& f = *frames_.info(m);
    const PtLevel level = table_level(f.type);
    if (index >= kEntries || is_xen_l4_slot(level, index)) return Errno::Inval;
    if (level == 1 && f.is_grant_pte(index)) return Errno::Inval;
    std::uint64_t* e = entries(m);
    if (e == nullptr) return Errno::Inval;
    const std::uint64_t old = load(&e[index]);
    std::uint64_t replaced = 0;
    if (Pte::Present::test(val)) {
      if (Status s = check_flags(level, val, f.owner != nullptr && f.owner->privileged); !s) return s;
      if (Pte::Present::test(old) && ((old ^ val) & ~Pte::kFastPathMask) == 0) {
        return write_entry(&e[index], old, val, preserve_ad, replaced);  // fast path
      }
      if (Status s = get_entry_refs(level, val, m, pg_owner); !s) return s;
    }
    if (Status s = write_entry(&e[index], old, val, preserve_ad, replaced); !s) {
      put_entry_refs(level, val, m, f);
      return s;
    }
    put_entry_refs(level, replaced, m, f);
    return Status::ok();
  }

  /// MMU_NORMAL_PT_UPDATE / MMU_PT_UPDATE_PRESERVE_AD on the entry at machine address `ptr`
  /// (8-byte aligned; the command bits already stripped). The frame must belong to `pt_owner`.
  /// A page-table frame is updated with validation; a frame that can be typed Writable is
  /// written directly. Errors: Inval, Busy, Perm, Again, Restart.
  [[nodiscard]] Status mod_entry(Domain& pt_owner, Domain& pg_owner, MachAddr ptr, std::uint64_t val,
                                 bool preserve_ad) {
    const Mfn m = to_mfn(ptr);
    const unsigned index = static_cast<unsigned>((ptr.value() & (kPageSize - 1)) >> 3);
    if (!frames_.get_page(m, &pt_owner)) return Errno::Inval;
    FrameInfo& f = *frames_.info(m);
    Status s;
    if (is_page_table(f.type) && (f.type_count > 0 || f.partial || f.devalidating)) {
      const PageType t = f.type;
      s = get_type(m, t);
      if (s) {
        s = mod_table_entry(m, index, val, pg_owner, preserve_ad);
        put_type(m);
      }
    } else {
      s = get_type(m, PageType::Writable);
      if (s) {
        __atomic_store_n(&entries(m)[index], val, __ATOMIC_RELEASE);
        put_type(m);
      } else if (!s.is_restart()) {
        s = Errno::Inval;
      }
    }
    frames_.put_page(m);
    return s;
  }

  /// MMU_MACHPHYS_UPDATE: the M2P entry of a frame of `pg_owner`. Errors: Inval.
  [[nodiscard]] Status set_m2p(Domain& pg_owner, Mfn m, std::uint64_t pfn) {
    if (!frames_.get_page(m, &pg_owner)) return Errno::Inval;
    frames_.info(m)->m2p = pfn;
    frames_.put_page(m);
    return Status::ok();
  }

  // ---- pinning and roots ---------------------------------------------------------------------

  /// MMUEXT_PIN_Lx_TABLE. Errors: Inval (not owned, type conflict, already pinned: not
  /// nestable), validation errors, Restart (partial: call again).
  [[nodiscard]] Status pin(Domain& owner, Mfn m, PageType t) {
    if (Status s = get_page_and_type(m, &owner, t); !s) return s;
    FrameInfo& f = *frames_.info(m);
    if (f.pinned) {
      put_page_and_type(m);
      return Errno::Inval;
    }
    f.pinned = true;  // the pin keeps the general and type reference
    return Status::ok();
  }

  /// MMUEXT_UNPIN_TABLE. Errors: Inval (not owned or not pinned).
  [[nodiscard]] Status unpin(Domain& owner, Mfn m) {
    if (!frames_.get_page(m, &owner)) return Errno::Inval;
    FrameInfo& f = *frames_.info(m);
    if (!f.pinned) {
      frames_.put_page(m);
      return Errno::Inval;
    }
    f.pinned = false;
    put_page_and_type(m);
    frames_.put_page(m);
    return Status::ok();
  }

  /// MMUEXT_NEW_BASEPTR: vCPU `v` of `d` loads L4 `m`. Errors: Inval, validation errors, Restart.
  [[nodiscard]] Status new_baseptr(Domain& d, VcpuId v, Mfn m) {
    if (!d.valid_vcpu(v)) return Errno::Inval;
    if (Status s = get_page_and_type(m, &d, PageType::L4); !s) return s;
    VcpuMmState& st = d.vcpu_mm[v.value()];
    const bool had = st.has_kernel_root;
    const Mfn old = st.kernel_root;
    st.kernel_root = m;
    st.has_kernel_root = true;
    plat_.load_root(d.id, v, m);
    if (had) put_page_and_type(old);
    return Status::ok();
  }

  /// MMUEXT_NEW_USER_BASEPTR: Mfn 0 clears the user root. Errors as new_baseptr.
  [[nodiscard]] Status new_user_baseptr(Domain& d, VcpuId v, Mfn m) {
    if (!d.valid_vcpu(v)) return Errno::Inval;
    if (m.value() != 0) {
      if (Status s = get_page_and_type(m, &d, PageType::L4); !s) return s;
    }
    VcpuMmState& st = d.vcpu_mm[v.value()];
    const bool had = st.has_user_root;
    const Mfn old = st.user_root;
    st.user_root = m;
    st.has_user_root = m.value() != 0;
    if (had) put_page_and_type(old);
    return Status::ok();
  }

  /// Drops both roots of every vCPU of `d` (teardown).
  void drop_roots(Domain& d) {
    for (std::uint32_t i = 0; i < d.nr_vcpus; ++i) {
      VcpuMmState& st = d.vcpu_mm[i];
      if (st.has_kernel_root) {
        st.has_kernel_root = false;
        put_page_and_type(st.kernel_root);
      }
      if (st.has_user_root) {
        st.has_user_root = false;
        put_page_and_type(st.user_root);
      }
    }
  }

  /// Abandons a partial validation: drops the references of entries [0, next_index) and the
  /// partial state's own general + type reference.
  void abandon_partial(Mfn m) {
    FrameInfo& f = *frames_.info(m);
    if (!f.partial) return;
    unwind(m, f, f.next_index);
    f.partial = false;
    frames_.put_page(m);
  }

  // ---- walking -----------------------------------------------------------------------------

  /// The L1 entry that maps `va` in vCPU `v`'s current (kernel) page tables. The L1 must be a
  /// validated L1 table of `d`. Errors: Inval (hypervisor or non-canonical va, no root,
  /// non-present or large intermediate entry, not an L1 of d).
  [[nodiscard]] Result<L1Slot> find_l1_slot(Domain& d, VcpuId v, VirtAddr va) {
    if (!is_canonical(va) || (va.value() >= xen::kHypervisorVirtStart && va.value() < xen::kHypervisorVirtEnd)) {
      return Errno::Inval;
    }
    if (!d.valid_vcpu(v) || !d.vcpu_mm[v.value()].has_kernel_root) return Errno::Inval;
    Mfn t = d.vcpu_mm[v.value()].kernel_root;
    for (PtLevel level = 4; level >= 2; --level) {
      std::uint64_t* e = entries(t);
      if (e == nullptr) return Errno::Inval;
      const std::uint64_t x = load(&e[pt_index(va, level)]);
      if (!Pte::Present::test(x) || Pte::PsePat::test(x)) return Errno::Inval;
      t = Pte::frame(x);
    }
    const FrameInfo* f = frames_.info(t);
    if (f == nullptr || f->type != PageType::L1 || !f->validated || f->type_count == 0 || f->owner != &d) {
      return Errno::Inval;
    }
    return L1Slot{t, pt_index(va, 1)};
  }

  /// update_va_mapping's update step: replace the L1 entry mapping `va`. Errors: Inval, Busy,
  /// Perm, Again, Restart (nothing written).
  [[nodiscard]] Status update_va(Domain& d, VcpuId v, VirtAddr va, std::uint64_t val) {
    Result<L1Slot> slot = find_l1_slot(d, v, va);
    if (!slot) return slot.status();
    if (!frames_.get_page(slot->table, &d)) return Errno::Inval;
    Status s = get_type(slot->table, PageType::L1);
    if (s) {
      s = mod_table_entry(slot->table, slot->index, val, d, false);
      put_type(slot->table);
    }
    frames_.put_page(slot->table);
    return s;
  }

  /// Full flush on every vCPU (hypervisor duty), ending the current TLB epoch.
  void full_flush() {
    plat_.flush_tlb_all();
    frames_.note_full_flush();
    ++full_flushes_;
  }

 private:
  /// Validates entries [f.next_index, 512) of a table whose type reference the caller holds.
  Status validate(Mfn m, FrameInfo& f) {
    const PtLevel level = table_level(f.type);
    std::uint64_t* e = entries(m);
    if (e == nullptr || f.owner == nullptr) {
      fail_validation(m, f, 0);
      return Errno::Inval;
    }
    for (unsigned i = f.next_index; i < kEntries; ++i) {
      if (is_xen_l4_slot(level, i)) continue;
      // The budget is checked before an entry and charged when it is done, so that a resumed
      // walk down to the partial frontier (at most 4 levels) costs nothing and every
      // invocation with a non-zero budget makes progress at the frontier.
      Status s = budget_ == 0 ? Status{Errno::Restart} : get_entry_refs(level, load(&e[i]), m, *f.owner);
      if (s) consume();
      if (s.is_restart()) {
        f.next_index = static_cast<std::uint16_t>(i);
        f.partial = true;  // owns the type reference the caller gives up, and a general one:
        ++f.refcount;
        return s;
      }
      if (!s) {
        fail_validation(m, f, i);
        return s;
      }
    }
    if (level == 4) plat_.fill_xen_l4_slots(m, e);
    f.next_index = 0;
    f.validated = true;
    return Status::ok();
  }

  /// Drops the references of entries [0, upto) of a table being validated (bounded by 512).
  void unwind(Mfn m, FrameInfo& f, unsigned upto) {
    const PtLevel level = table_level(f.type);
    std::uint64_t* e = entries(m);
    for (unsigned i = 0; e != nullptr && i < upto && i < kEntries; ++i) {
      if (is_xen_l4_slot(level, i)) continue;
      put_entry_refs(level, load(&e[i]), m, f);
    }
    f.type_count = 0;
    f.type = PageType::None;
    f.validated = false;
    f.next_index = 0;
    f.linear_out = 0;
  }

  void fail_validation(Mfn m, FrameInfo& f, unsigned upto) { unwind(m, f, upto); }

  void push_pending(Mfn m) {
    FrameInfo& f = *frames_.info(m);
    const auto link = static_cast<std::uint32_t>(m.value());  // < FrameDb::kMaxFrames
    f.next_pending = kNoFrameLink;
    if (pending_tail_ == kNoFrameLink) {
      pending_head_ = pending_tail_ = link;
    } else {
      frames_.info(Mfn{pending_tail_})->next_pending = link;
      pending_tail_ = link;
    }
  }

  FrameDb& frames_;
  Platform& plat_;
  SpinLock lock_;
  std::uint32_t per_call_;
  std::uint32_t budget_ = 0;
  std::uint32_t pending_head_ = kNoFrameLink;  ///< devalidation work list (frame numbers)
  std::uint32_t pending_tail_ = kNoFrameLink;
  std::uint64_t full_flushes_ = 0;
  std::uint64_t implicit_grant_unmaps_ = 0;
};

}  // namespace pvkit
