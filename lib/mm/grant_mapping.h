// pvkit/mm/grant_mapping.h — the hooks the grant table uses for granted frames: references,
// host mappings (grant PTEs) in the mapper's PV page tables, transfer and TLB flush.
//
// What it is: functions over a PageTableVerifier that a platform's grant adapter (the
// GrantFramePolicy / GrantMappingPolicy of pvkit/grant) forwards to:
//   grant_get_frame / grant_put_frame   — a general reference on a frame owned by the granter,
//       plus a Writable type reference for writable use (refused for page tables and segment
//       descriptor pages: invariant 7). The grant table holds these for each mapped part.
//   grant_install_va / grant_install_pte — write a grant PTE for a frame, in the L1 entry that
//       maps a virtual address in the mapper vCPU's current page tables (GNTMAP_host_map), or
//       at a PTE machine address (GNTMAP_contains_pte), which must be 8-byte aligned and lie
//       in a validated L1 table of the mapper (invariant 13, XSA-227). The PTE takes NO
//       references of its own: the caller must already hold grant_get_frame's references for
//       it (checked: the frame must be referenced, and Writable-typed for a writable PTE).
//       Installing over a present ordinary entry replaces it and drops that entry's references
//       (as Xen does); installing over a grant PTE is refused.
//   grant_remove_va / grant_remove_pte  — remove a grant PTE only if the entry is still a grant
//       PTE, present, maps `expected_frame` and has RW == !readonly (invariant 22, XSA-234);
//       returns the removed PTE; otherwise Inval and nothing changes. No flush, no reference
//       drop: the grant table flushes once per batch (grant_flush_tlb), then puts the frames.
//   grant_release_va / grant_release_pte — teardown: remove the grant PTE if it is still there
//       and still maps that frame; never fails.
//   grant_flush_tlb                     — flush every vCPU of the mapper.
//   grant_steal_frame / grant_assign_frame / grant_drop_stolen — GNTTABOP_transfer: ownership
//       moves only for a frame in no other use; all type state is wiped (invariant 14).
//   grant_share_xen_frame / grant_unshare_xen_frame — let a domain map a hypervisor frame
//       (grant-table frames writable, status frames read-only); unsharing is refused (Busy)
//       while the domain still maps it (invariant 23). Such frames never become page tables.
// Which entries are grant PTEs is remembered in hypervisor-private state (FrameInfo::
// grant_ptes), never in a guest-writable PTE bit. mmu_update / update_va_mapping refuse to
// overwrite or clear a grant PTE (Errno::Inval; Xen instead crashes the guest). If the mapper
// destroys the L1 table itself (unpin, teardown), the entry merely stops being a grant PTE
// ("implicit unmap", counted); the grant table still holds the frame references until its own
// unmap/release, whose remove then answers Inval (release: nothing to do).
//
// How to use it (GrantStatus mapping suggested for the adapter):
//   get_frame: Inval -> GNTST_bad_page, Busy -> GNTST_general_error, Again -> GNTST_eagain
//   install:   Inval on a va that is not mapped down to an L1 -> GNTST_bad_virt_addr,
//              every other error -> GNTST_general_error
//   remove:    Inval -> GNTST_general_error
//   steal/assign: Inval -> GNTST_bad_page, Busy/TooBig/Perm -> GNTST_general_error
//
// Concurrency: each function takes the verifier's lock itself (lock order: grant-table locks,
// then the verifier lock; the verifier never calls back into the grant table).
#pragma once

#include <cstdint>

#include "pvkit/base/spinlock.h"
#include "pvkit/base/status.h"
#include "pvkit/base/types.h"
#include "pvkit/domain/domain.h"
#include "pvkit/mm/frame_db.h"
#include "pvkit/mm/mm_platform.h"
#include "pvkit/mm/verifier.h"

namespace pvkit {

/// How a grant PTE is built.
struct GrantPteFlags {
  bool readonly = false;  ///< GNTMAP_readonly: no RW bit
  bool user = false;      ///< GNTMAP_application_map: US bit set
  bool pwt = false;       ///< the granter's GTF_PWT: write-through
  bool pcd = false;       ///< the granter's GTF_PCD: cache disabled
  bool pat = false;       ///< the granter's GTF_PAT: PAT bit of the L1 entry
};

namespace grant_mapping_detail {

template <typename V>
Result<L1Slot> slot_at_maddr(V& mm, Domain& mapper, MachAddr pte) {
  if ((pte.value() & 7) != 0) return Errno::Inval;
  const Mfn table = to_mfn(pte);
  const FrameInfo* f = mm.frames().info(table);
  if (f == nullptr || f->owner != &mapper || f->type != PageType::L1 || !f->validated || f->type_count == 0) {
    return Errno::Inval;
  }
  return L1Slot{table, static_cast<unsigned>((pte.value() & (kPageSize - 1)) >> 3)};
}

template <typename V>
Result<std::uint64_t> install(V& mm, Domain& mapper, L1Slot slot, Mfn frame, GrantPteFlags fl) {
  using Pte = typename V::Format;
  if (!mapper.is_running()) return Errno::Inval;
  FrameInfo& tf = *mm.frames().info(slot.table);
  if (tf.is_grant_pte(slot.index)) return Errno::Inval;  // never silently overwritten
  const FrameInfo* g = mm.frames().info(frame);
  if (g == nullptr || mm.entries(frame) == nullptr) return Errno::Perm;
  // The caller's grant_get_frame references must cover this PTE.
  if (g->owner == nullptr || g->refcount < 2) return Errno::Inval;
  if (!fl.readonly && (g->type != PageType::Writable || g->type_count == 0)) return Errno::Inval;
  std::uint64_t val = 0;
  val = Pte::Present::set(val, 1);
  val = Pte::Accessed::set(val, 1);
  val = Pte::Nx::set(val, 1);
  if (!fl.readonly) val = Pte::Dirty::set(Pte::Rw::set(val, 1), 1);
  if (fl.user) val = Pte::User::set(val, 1);
  if (fl.pwt) val = Pte::Pwt::set(val, 1);
  if (fl.pcd) val = Pte::Pcd::set(val, 1);
  if (fl.pat) val = Pte::PsePat::set(val, 1);
  val = Pte::with_frame(val, frame);
  std::uint64_t* e = mm.entries(slot.table);
  const std::uint64_t old = V::load(&e[slot.index]);
  std::uint64_t replaced = 0;
  if (Status s = V::write_entry(&e[slot.index], old, val, false, replaced); !s) return s;
  tf.set_grant_pte(slot.index, true);
  mm.put_entry_refs(1, replaced, slot.table, tf);
  return val;
}

template <typename V>
Result<std::uint64_t> remove(V& mm, L1Slot slot, Mfn expected_frame, bool readonly) {
  using Pte = typename V::Format;
  FrameInfo& tf = *mm.frames().info(slot.table);
  if (!tf.is_grant_pte(slot.index)) return Errno::Inval;
  std::uint64_t* e = mm.entries(slot.table);
  const std::uint64_t old = V::load(&e[slot.index]);
  if (!Pte::Present::test(old) || Pte::frame(old) != expected_frame || Pte::Rw::test(old) == readonly) {
    return Errno::Inval;
  }
  std::uint64_t replaced = 0;
  if (Status s = V::write_entry(&e[slot.index], old, 0, false, replaced); !s) return s;
  tf.set_grant_pte(slot.index, false);
  return replaced;
}

}  // namespace grant_mapping_detail

/// A general reference on `frame` (owned by `owner`), plus a Writable type reference if
/// `writable`. Errors: Inval (not a frame of `owner`), Busy (cannot be writable), Again.
template <typename V>
[[nodiscard]] Status grant_get_frame(V& mm, Mfn frame, Domain& owner, bool writable) {
  LockGuard g(mm.lock());
  mm.begin_call();
  if (mm.entries(frame) == nullptr || !mm.frames().get_page(frame, &owner)) return Errno::Inval;
  if (writable) {
    Status s = mm.get_type(frame, PageType::Writable);
    if (!s) {
      mm.frames().put_page(frame);
      return s.is_restart() ? Errno::Again : Errno::Busy;
    }
  }
  return Status::ok();
}

/// Drops exactly what grant_get_frame(frame, _, writable) took.
template <typename V>
void grant_put_frame(V& mm, Mfn frame, bool writable) {
  LockGuard g(mm.lock());
  if (writable) mm.put_type(frame);
  mm.frames().put_page(frame);
}

/// Writes a grant PTE for `frame` in the L1 entry mapping `va` in vCPU `vcpu`'s current page
/// tables of `mapper`. Returns the installed PTE.
template <typename V>
[[nodiscard]] Result<std::uint64_t> grant_install_va(V& mm, Domain& mapper, VcpuId vcpu, VirtAddr va, Mfn frame,
                                                     GrantPteFlags flags) {
  LockGuard g(mm.lock());
  Result<L1Slot> slot = mm.find_l1_slot(mapper, vcpu, va);
  if (!slot) return slot.status();
  return grant_mapping_detail::install(mm, mapper, *slot, frame, flags);
}

/// Writes a grant PTE for `frame` at machine address `pte` (an L1 entry of `mapper`).
template <typename V>
[[nodiscard]] Result<std::uint64_t> grant_install_pte(V& mm, Domain& mapper, MachAddr pte, Mfn frame,
                                                      GrantPteFlags flags) {
  LockGuard g(mm.lock());
  Result<L1Slot> slot = grant_mapping_detail::slot_at_maddr(mm, mapper, pte);
  if (!slot) return slot.status();
  return grant_mapping_detail::install(mm, mapper, *slot, frame, flags);
}

/// Removes the grant PTE mapping `va` after checking frame, presence and RW. Returns it.
template <typename V>
[[nodiscard]] Result<std::uint64_t> grant_remove_va(V& mm, Domain& mapper, VcpuId vcpu, VirtAddr va,
                                                    Mfn expected_frame, bool readonly) {
  LockGuard g(mm.lock());
  Result<L1Slot> slot = mm.find_l1_slot(mapper, vcpu, va);
  if (!slot) return slot.status();
  return grant_mapping_detail::remove(mm, *slot, expected_frame, readonly);
}

/// Removes the grant PTE at machine address `pte` (8-byte aligned), with the same checks.
template <typename V>
[[nodiscard]] Result<std::uint64_t> grant_remove_pte(V& mm, Domain& mapper, MachAddr pte, Mfn expected_frame,
                                                     bool readonly) {
  LockGuard g(mm.lock());
  Result<L1Slot> slot = grant_mapping_detail::slot_at_maddr(mm, mapper, pte);
  if (!slot) return slot.status();
  return grant_mapping_detail::remove(mm, *slot, expected_frame, readonly);
}

/// Teardown: removes the grant PTE at `va` if it is still one and maps `frame`.
template <typename V>
void grant_release_va(V& mm, Domain& mapper, VcpuId vcpu, VirtAddr va, Mfn frame, bool readonly) {
  (void)grant_remove_va(mm, mapper, vcpu, va, frame, readonly);
}
/// Teardown: removes the grant PTE at machine address `pte` if it is still one and maps `frame`.
template <typename V>
void grant_release_pte(V& mm, Domain& mapper, MachAddr pte, Mfn frame, bool readonly) {
  (void)grant_remove_pte(mm, mapper, pte, frame, readonly);
}

/// Flushes every vCPU of `mapper` (after a batch of grant PTE removals).
template <typename V>
void grant_flush_tlb(V& mm, Domain& mapper) {
  LockGuard g(mm.lock());
  mm.platform().flush_tlb(mapper.id, VcpuMask::all(mapper.nr_vcpus));
}

/// GNTTABOP_transfer, first half: take `frame` away from `owner`. Errors: Inval, Busy.
template <typename V>
[[nodiscard]] Status grant_steal_frame(V& mm, Domain& owner, Mfn frame) {
  LockGuard g(mm.lock());
  return mm.frames().steal(frame, owner);
}
/// Second half: give a stolen frame to `to`. Errors: Inval, Perm, TooBig.
template <typename V>
[[nodiscard]] Status grant_assign_frame(V& mm, Domain& to, Mfn frame) {
  LockGuard g(mm.lock());
  return mm.frames().assign_stolen(frame, to);
}
/// A stolen frame nobody took goes back to the free pool.
template <typename V>
void grant_drop_stolen(V& mm, Mfn frame) {
  LockGuard g(mm.lock());
  (void)mm.frames().free_stolen(frame);
}

/// Shares a hypervisor frame (grant-table or status frame) with `d` so that it can map it,
/// read-only if `readonly`. Errors: Inval (not a hypervisor frame), Busy (already shared).
template <typename V>
[[nodiscard]] Status grant_share_xen_frame(V& mm, Domain& d, Mfn frame, bool readonly) {
  LockGuard g(mm.lock());
  return mm.frames().share_xen(frame, d, readonly);
}
/// Ends the sharing. Errors: Inval (not shared with d), Busy (still mapped: stays shared).
template <typename V>
[[nodiscard]] Status grant_unshare_xen_frame(V& mm, Domain& d, Mfn frame) {
  LockGuard g(mm.lock());
  return mm.frames().unshare_xen(frame, d);
}

/// Whether the L1 entry at `pte` is currently a grant PTE (for assertions and tests).
template <typename V>
[[nodiscard]] bool is_grant_pte(V& mm, MachAddr pte) {
  LockGuard g(mm.lock());
  const FrameInfo* f = mm.frames().info(to_mfn(pte));
  return f != nullptr && f->type == PageType::L1 &&
         f->is_grant_pte(static_cast<unsigned>((pte.value() & (kPageSize - 1)) >> 3));
}

}  // namespace pvkit
