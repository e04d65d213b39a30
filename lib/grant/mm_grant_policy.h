// pvkit/grant/mm_grant_policy.h — grant tables over lib/mm's page-table verifier.
//
// What it is: `MmGrantPolicy<V, Domains, Pages>`, a complete GrantPlatform built from
//   V       — a PageTableVerifier (pvkit/mm/verifier.h) and its grant hooks
//             (pvkit/mm/grant_mapping.h): frame references (general + Writable type, refused
//             for page tables: invariant 7), grant PTEs installed by VA (in the calling vCPU's
//             page tables) or by PTE machine address, which mmu_update/update_va_mapping can
//             never overwrite (invariant 13), removed only after checking frame, presence and
//             RW (invariant 22), one flush per unmap batch, and steal/assign for transfer
//             (ownership change wipes type state: invariant 14);
//   Domains — the domain table (DomainDirectory: find(DomId) -> Domain*), for privilege
//             (Domain::can_act_on) and to name Domain objects to the verifier;
//   Pages   — GrantTablePages: hypervisor pages and sharing of grant/status frames.
// Status mapping (as agreed with lib/mm): get_frame Inval -> GNTST_bad_page, Again ->
// GNTST_eagain, others -> GNTST_general_error; every install/remove error ->
// GNTST_general_error (as Xen answers for "could not find L1 PTE"); steal/assign Inval ->
// GNTST_bad_page, others -> GNTST_general_error. Grant cache attributes (GTF_PWT/PCD/PAT) are
// refused (GNTST_general_error): the verifier does not accept guest cache bits either.
// There is no IOMMU: device mappings are identity (dev_bus_addr = frame << 12) and no-ops.
//
// How to use it:
//   MmGrantPolicy<PageTableVerifier<Machine>, DomainTable<8>, MyPages> p{mm, domains, pages};
//   GrantTables<decltype(p), 8> gt{p};
//
// Concurrency: every call takes the verifier's lock inside lib/mm (lock order: grant locks,
// then the verifier lock; nothing here calls back into grant tables).
#pragma once

#include <cstdint>

#include "pvkit/base/status.h"
#include "pvkit/base/types.h"
#include "pvkit/domain/domain.h"
#include "pvkit/grant/grant_mapping_policy.h"
#include "pvkit/grant/grant_status.h"
#include "pvkit/grant/grant_table_pages.h"
#include "pvkit/mm/grant_mapping.h"

namespace pvkit {

/// GrantFramePolicy + GrantMappingPolicy over lib/mm's page-table verifier `V` (see the file comment).
template <typename V, typename Domains, GrantTablePages Pages>
class MmGrantPolicy {
 public:
  MmGrantPolicy(V& mm, Domains& domains, Pages& pages) : mm_(mm), domains_(domains), pages_(pages) {}

  // ---- PageAllocator ---------------------------------------------------------------
  void* alloc_page() { return pages_.alloc_page(); }
  /// Returns a grant-table page to the platform.
  void free_page(void* p) { pages_.free_page(p); }

  // ---- GrantFramePolicy ------------------------------------------------------------
  GrantStatus get_frame(Mfn m, DomId owner, bool writable) {
    Domain* d = domains_.find(owner);
    if (d == nullptr) return GrantStatus::BadPage;
    const Status s = grant_get_frame(mm_, m, *d, writable);
    if (s) return GrantStatus::Okay;
    if (s.error() == Errno::Inval) return GrantStatus::BadPage;
    if (s.error() == Errno::Again) return GrantStatus::Eagain;
    return GrantStatus::GeneralError;
  }
  /// Drops the references get_frame took.
  void put_frame(Mfn m, bool writable) { grant_put_frame(mm_, m, writable); }
  /// The frame's bytes through the platform's map (for GNTTABOP_copy).
  std::uint8_t* frame_bytes(Mfn m) {
    LockGuard g(mm_.lock());
    return reinterpret_cast<std::uint8_t*>(mm_.entries(m));
  }
  /// GNTTABOP_transfer: takes the frame from `owner` (BadPage if not its, GeneralError if in use).
  GrantStatus steal_frame(DomId owner, Mfn m) {
    Domain* d = domains_.find(owner);
    if (d == nullptr) return GrantStatus::BadPage;
    const Status s = grant_steal_frame(mm_, *d, m);
    if (s) return GrantStatus::Okay;
    return s.error() == Errno::Inval ? GrantStatus::BadPage : GrantStatus::GeneralError;
  }
  /// GNTTABOP_transfer: gives the ownerless frame to `to`, type state wiped.
  GrantStatus assign_frame(DomId to, Mfn m) {
    Domain* d = domains_.find(to);
    if (d == nullptr) return GrantStatus::GeneralError;
    const Status s = grant_assign_frame(mm_, *d, m);
    if (s) return GrantStatus::Okay;
    return s.error() == Errno::Inval ? GrantStatus::BadPage : GrantStatus::GeneralError;
  }
  /// Shares a grant/status page with domain `d`.
  Result<Mfn> share_table_page(DomId d, void* page, bool writable) { return pages_.share_table_page(d, page, writable); }
  /// Takes a shared grant/status page back (Busy while still mapped).
  Status unshare_table_page(DomId d, void* page) { return pages_.unshare_table_page(d, page); }
  /// True if `caller` may act on `target`'s grant table (itself, or privileged).
  bool controls(DomId caller, DomId target) {
    Domain* c = domains_.find(caller);
    Domain* t = domains_.find(target);
    return c != nullptr && t != nullptr && c->can_act_on(*t);
  }

  // ---- GrantMappingPolicy ----------------------------------------------------------
  GrantStatus install_host_mapping(DomId mapper, const GrantHostMapping& m, Mfn frame) {
    Domain* d = domains_.find(mapper);
    if (d == nullptr || m.cache_flags != 0) return GrantStatus::GeneralError;
    const GrantPteFlags fl{m.readonly, m.application};
    const auto r = m.contains_pte ? grant_install_pte(mm_, *d, MachAddr{m.addr}, frame, fl)
                                  : grant_install_va(mm_, *d, m.vcpu, VirtAddr{m.addr}, frame, fl);
    return r.ok() ? GrantStatus::Okay : GrantStatus::GeneralError;
  }
  /// Removes a grant PTE if it still maps exactly `frame` with the right RW bit.
  GrantStatus remove_host_mapping(DomId mapper, const GrantHostMapping& m, Mfn frame) {
    Domain* d = domains_.find(mapper);
    if (d == nullptr) return GrantStatus::GeneralError;
    const auto r = m.contains_pte ? grant_remove_pte(mm_, *d, MachAddr{m.addr}, frame, m.readonly)
                                  : grant_remove_va(mm_, *d, m.vcpu, VirtAddr{m.addr}, frame, m.readonly);
    return r.ok() ? GrantStatus::Okay : GrantStatus::GeneralError;
  }
  /// Teardown: removes the grant PTE if it is still there; never fails.
  void release_host_mapping(DomId mapper, const GrantHostMapping& m, Mfn frame) {
    Domain* d = domains_.find(mapper);
    if (d == nullptr) return;
    if (m.contains_pte) {
      grant_release_pte(mm_, *d, MachAddr{m.addr}, frame, m.readonly);
    } else {
      grant_release_va(mm_, *d, m.vcpu, VirtAddr{m.addr}, frame, m.readonly);
    }
  }
  /// No IOMMU: device mappings always succeed and map nothing.
  GrantStatus install_device_mapping(DomId, Mfn, bool) { return GrantStatus::Okay; }
  /// No IOMMU: nothing to remove.
  void remove_device_mapping(DomId, Mfn) {}
  /// Flushes the mapper's TLBs after an unmap batch.
  void flush_tlb(DomId mapper) {
    if (Domain* d = domains_.find(mapper)) grant_flush_tlb(mm_, *d);
  }

 private:
  V& mm_;
  Domains& domains_;
  Pages& pages_;
};

}  // namespace pvkit
