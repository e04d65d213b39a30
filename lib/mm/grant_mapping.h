// pvkit/mm/grant_mapping.h — the hooks the grant table uses to install and remove host
// mappings of granted frames in a mapper's PV page tables.
//
// What it is: four functions over a PageTableVerifier, for GNTMAP_host_map:
//   grant_map_va / grant_unmap_va    — the L1 entry that maps a virtual address in the mapper
//                                       vCPU's current page tables (GNTMAP_host_map alone);
//   grant_map_pte / grant_unmap_pte  — the L1 entry at a machine address (GNTMAP_contains_pte),
//                                       which must be 8-byte aligned (invariant 13, XSA-227).
// A grant PTE holds the same references as an ordinary L1 entry (a general reference on the
// frame, plus a Writable type reference unless read-only), taken against the *granter* (the
// grant table has already checked the grant). The verifier remembers in hypervisor-private
// state (FrameInfo::grant_ptes, never a guest-writable PTE bit) which entries are grant PTEs:
//   - mmu_update / update_va_mapping refuse to overwrite or clear a grant PTE (Errno::Inval;
//     Xen instead crashes the guest that tries);
//   - a grant PTE is only removed by grant_unmap_*, which first checks that the entry is still
//     a grant PTE, present, maps `expected_frame` and has the expected RW bit (invariant 22,
//     XSA-234), and returns the removed PTE;
//   - if the mapper destroys the L1 table itself (unpin/teardown) the grant PTE's references
//     are dropped with the table ("implicit unmap", counted); a later grant_unmap_* then
//     answers Inval and the grant table only releases its own bookkeeping.
// Installing over a present ordinary entry replaces it and drops its references (as Xen does);
// installing over a grant PTE is refused (Inval).
//
// How to use it (grant engineer):
//   Result<std::uint64_t> pte = grant_map_va(mm, mapper, vcpu, va, frame, granter,
//                                            GrantPteFlags{.readonly = ro, .user = app_map});
//   ... later ...
//   Result<std::uint64_t> old = grant_unmap_va(mm, mapper, vcpu, va, frame, ro);
// Error mapping to GNTST: Inval -> GNTST_general_error (bad va / pte address / not an L1 of the
// mapper / entry already a grant PTE / unmap mismatch); Busy -> GNTST_general_error (frame not
// owned by the granter, or RW requested on a frame that is a page table or segment descriptor);
// Perm -> GNTST_general_error (frame is not RAM); Again -> GNTST_eagain (the frame is still
// being devalidated after this call's work budget: retry).
// After a successful unmap the mapper's vCPUs' TLBs are flushed (the hypervisor's duty), so the
// grant table may release the granter's GTF_reading/GTF_writing bits right away.
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
#include "pvkit/mm/verifier.h"

namespace pvkit {

/// How a grant PTE is built.
struct GrantPteFlags {
  bool readonly = false;  ///< GNTMAP_readonly: no RW bit, no Writable type reference
  bool user = false;      ///< GNTMAP_application_map: US bit set
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
Result<std::uint64_t> install(V& mm, Domain& mapper, L1Slot slot, Mfn frame, Domain& granter, GrantPteFlags fl) {
  using Pte = typename V::Format;
  FrameDb& db = mm.frames();
  if (!mapper.is_running()) return Errno::Inval;
  FrameInfo& tf = *db.info(slot.table);
  if (tf.is_grant_pte(slot.index)) return Errno::Inval;  // never silently overwritten
  if (mm.entries(frame) == nullptr) return Errno::Perm;
  if (!db.get_page(frame, &granter)) return Errno::Busy;
  if (!fl.readonly) {
    Status s = mm.get_type(frame, PageType::Writable);
    if (!s) {
      db.put_page(frame);
      return s.is_restart() ? Errno::Again : Errno::Busy;
    }
  }
  std::uint64_t val = 0;
  val = Pte::Present::set(val, 1);
  val = Pte::Accessed::set(val, 1);
  val = Pte::Nx::set(val, 1);
  if (!fl.readonly) val = Pte::Dirty::set(Pte::Rw::set(val, 1), 1);
  if (fl.user) val = Pte::User::set(val, 1);
  val = Pte::with_frame(val, frame);
  std::uint64_t* e = mm.entries(slot.table);
  const std::uint64_t old = V::load(&e[slot.index]);
  std::uint64_t replaced = 0;
  if (Status s = V::write_entry(&e[slot.index], old, val, false, replaced); !s) {
    if (!fl.readonly) mm.put_type(frame);
    db.put_page(frame);
    return s;
  }
  tf.set_grant_pte(slot.index, true);
  mm.put_entry_refs(1, replaced, slot.table, tf);
  return val;
}

template <typename V>
Result<std::uint64_t> remove(V& mm, Domain& mapper, L1Slot slot, Mfn expected_frame, bool readonly) {
  using Pte = typename V::Format;
  FrameDb& db = mm.frames();
  FrameInfo& tf = *db.info(slot.table);
  if (!tf.is_grant_pte(slot.index)) return Errno::Inval;
  std::uint64_t* e = mm.entries(slot.table);
  const std::uint64_t old = V::load(&e[slot.index]);
  if (!Pte::Present::test(old) || Pte::frame(old) != expected_frame || Pte::Rw::test(old) == readonly) {
    return Errno::Inval;
  }
  std::uint64_t replaced = 0;
  if (Status s = V::write_entry(&e[slot.index], old, 0, false, replaced); !s) return s;
  tf.set_grant_pte(slot.index, false);
  mm.put_entry_refs(1, replaced, slot.table, tf);
  mm.platform().flush_tlb(mapper.id, VcpuMask::all(mapper.nr_vcpus));
  return replaced;
}

}  // namespace grant_mapping_detail

/// Maps `frame` (owned by `granter`) at `va` in vCPU `vcpu`'s current page tables of `mapper`.
/// Returns the installed PTE.
template <typename V>
[[nodiscard]] Result<std::uint64_t> grant_map_va(V& mm, Domain& mapper, VcpuId vcpu, VirtAddr va, Mfn frame,
                                                 Domain& granter, GrantPteFlags flags) {
  LockGuard g(mm.lock());
  mm.begin_call();
  Result<L1Slot> slot = mm.find_l1_slot(mapper, vcpu, va);
  if (!slot) return slot.status();
  return grant_mapping_detail::install(mm, mapper, *slot, frame, granter, flags);
}

/// Maps `frame` into the L1 entry at machine address `pte` (an L1 table of `mapper`).
template <typename V>
[[nodiscard]] Result<std::uint64_t> grant_map_pte(V& mm, Domain& mapper, MachAddr pte, Mfn frame, Domain& granter,
                                                  GrantPteFlags flags) {
  LockGuard g(mm.lock());
  mm.begin_call();
  Result<L1Slot> slot = grant_mapping_detail::slot_at_maddr(mm, mapper, pte);
  if (!slot) return slot.status();
  return grant_mapping_detail::install(mm, mapper, *slot, frame, granter, flags);
}

/// Removes the grant PTE mapping `va`, after checking it maps `expected_frame` with the
/// expected RW bit. Returns the removed PTE.
template <typename V>
[[nodiscard]] Result<std::uint64_t> grant_unmap_va(V& mm, Domain& mapper, VcpuId vcpu, VirtAddr va,
                                                   Mfn expected_frame, bool readonly) {
  LockGuard g(mm.lock());
  mm.begin_call();
  Result<L1Slot> slot = mm.find_l1_slot(mapper, vcpu, va);
  if (!slot) return slot.status();
  return grant_mapping_detail::remove(mm, mapper, *slot, expected_frame, readonly);
}

/// Removes the grant PTE at machine address `pte` (8-byte aligned), with the same checks.
template <typename V>
[[nodiscard]] Result<std::uint64_t> grant_unmap_pte(V& mm, Domain& mapper, MachAddr pte, Mfn expected_frame,
                                                    bool readonly) {
  LockGuard g(mm.lock());
  mm.begin_call();
  Result<L1Slot> slot = grant_mapping_detail::slot_at_maddr(mm, mapper, pte);
  if (!slot) return slot.status();
  return grant_mapping_detail::remove(mm, mapper, *slot, expected_frame, readonly);
}

/// Whether the L1 entry at `pte` is currently a grant PTE (for assertions and tests).
template <typename V>
[[nodiscard]] bool is_grant_pte(V& mm, MachAddr pte) {
  LockGuard g(mm.lock());
  const FrameInfo* f = mm.frames().info(to_mfn(pte));
  return f != nullptr && f->type == PageType::L1 && f->is_grant_pte(static_cast<unsigned>((pte.value() & (kPageSize - 1)) >> 3));
}

}  // namespace pvkit
