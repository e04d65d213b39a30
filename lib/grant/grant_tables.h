// pvkit/grant/grant_tables.h — Xen-compatible grant tables (v1 and v2) for all domains.
//
// What it is: `GrantTables<Platform, kMaxDomains, Limits>`, the state and operations behind
// grant_table_op: per-domain tables created and destroyed with the domain, each sub-op as a
// member taking plain values (the hypercall handler in grant_table_op.h does the guest
// copies and continuations). Per-element results are GrantStatus (GNTST_*) values; table-
// wide sub-ops (set_version, get_version) answer Status (-errno). Domain ids index a fixed
// array of kMaxDomains slots; ids at or above it (and DOMID_SELF etc.) are "no such domain".
//
// How to use it:
//   GrantTables<MyPlatform, 16> gt{platform};
//   (void)gt.create_domain(DomId{1});              // version 1, kInitialGrantFrames frames
//   ... handlers call gt.map(...), gt.unmap_batch(...), gt.copy(...) ...
//   while (gt.release_domain(d).is_restart()) {}   // drops every mapping d holds, bounded
//   gt.destroy_domain(d);                          // Busy while others still pin d's grants
// The member definitions live in grant_map.h, grant_copy.h, grant_transfer.h and
// grant_table_admin.h (one sub-op family per file); this header includes them all.
//
// Concurrency: any member may be called from any vCPU concurrently. Each domain has a grant
// lock (its table, active entries, version) and a maptrack lock (leaf). No path holds two
// grant locks at once (a transitive copy pins the outer grant, drops that lock, then pins the
// inner one), so there is no lock-order cycle; the granter's guest-writable entries are only
// touched with single atomic accesses (shared_entry.h). A mapper racing the granter's revoke
// wins or loses the header compare-exchange; it never acts on a value it did not CAS.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "pvkit/base/spinlock.h"
#include "pvkit/base/status.h"
#include "pvkit/base/types.h"
#include "pvkit/grant/active_entry.h"
#include "pvkit/grant/domain_grants.h"
#include "pvkit/grant/grant_platform.h"
#include "pvkit/grant/grant_status.h"
#include "pvkit/grant/maptrack.h"
#include "pvkit/grant/shared_entry.h"
#include "pvkit/grant/xen_abi.h"

namespace pvkit {

/// Xen grant tables v1/v2 for up to kMaxDomains domains (docs/grants.md).
template <GrantPlatform P, std::size_t kMaxDomains, GrantLimits L = DefaultGrantLimits>
class GrantTables {
 public:
  using Platform = P;
  using Limits = L;
  using Domain = grant::DomainGrants<L>;
  static constexpr std::uint32_t kMaxHandles = Domain::kMaxHandles;

  explicit constexpr GrantTables(P& platform) : p_(platform) {}
  GrantTables(const GrantTables&) = delete;
  GrantTables& operator=(const GrantTables&) = delete;

  // ---- domain lifecycle --------------------------------------------------------------
  /// Creates `d`'s table: version 1, Limits::kInitialGrantFrames frames shared with d.
  /// `max_frames` / `max_maptrack_frames` are the domain's own limits (Xen's createdomain
  /// max_grant_frames / max_maptrack_frames), clamped to the compile-time Limits.
  /// Errors: Srch (id out of range), Exist, Inval (max_frames below the initial frames), NoMem.
  [[nodiscard]] Status create_domain(DomId d, std::uint32_t max_frames = L::kMaxGrantFrames,
                                     std::uint32_t max_maptrack_frames = L::kMaxMaptrackFrames);
  /// Marks `d` dying (no new maps of or by it) and releases the mappings d holds, at most
  /// Limits::kUnmapBatch per call with one TLB flush: returns Errno::Restart until done.
  [[nodiscard]] Status release_domain(DomId d);
  /// Frees `d`'s table after release_domain finished. Busy while another domain still pins
  /// one of d's entries, or while d still maps one of its grant/status frames.
  [[nodiscard]] Status destroy_domain(DomId d);

  // ---- sub-ops (grant_table_admin.h) -------------------------------------------------
  /// GNTTABOP_setup_table: grows `dom`'s table to nr_frames; on Okay out[0..nr) = frames.
  GrantStatus setup_table(DomId caller, DomId dom, std::uint32_t nr_frames, std::span<Mfn> out);
  /// GNTTABOP_query_size.
  GrantStatus query_size(DomId caller, DomId dom, std::uint32_t& nr_frames, std::uint32_t& max_frames);
  /// GNTTABOP_get_status_frames: on Okay out[0..nr) = status frames.
  GrantStatus get_status_frames(DomId caller, DomId dom, std::uint32_t nr, std::span<Mfn> out);
  /// GNTTABOP_set_version for the caller's own table. Inval, NoSys (v2 disabled), Busy
  /// (a non-reserved entry is pinned, or a status frame is still mapped), Range, NoMem.
  [[nodiscard]] Status set_version(DomId d, std::uint32_t version);
  /// GNTTABOP_get_version: Srch, Perm or the version.
  [[nodiscard]] Result<std::uint32_t> get_version(DomId caller, DomId dom);
  /// GNTTABOP_swap_grant_ref on the caller's own table.
  GrantStatus swap(DomId d, GrantRef a, GrantRef b);

  // ---- map / unmap (grant_map.h) -----------------------------------------------------
  /// GNTTABOP_map_grant_ref, one element. On Okay, `handle` and `dev_bus_addr` are set;
  /// otherwise handle = ~0 and dev_bus_addr = 0.
  /// `vcpu` is the calling vCPU: a host VA is looked up in its page tables.
  GrantStatus map(DomId mapper, const xen::GnttabMapGrantRef& op, GrantHandle& handle,
                  std::uint64_t& dev_bus_addr, VcpuId vcpu = VcpuId{0});
  /// GNTTABOP_unmap_grant_ref for up to Limits::kUnmapBatch elements with ONE TLB flush:
  /// PTEs removed, flush, then pins and references dropped. out[i] is each element's status.
  void unmap_batch(DomId mapper, std::span<const xen::GnttabUnmapGrantRef> ops, std::span<GrantStatus> out,
                   VcpuId vcpu = VcpuId{0});

  // ---- copy / transfer (grant_copy.h, grant_transfer.h) ------------------------------
  /// GNTTABOP_copy, one element.
  GrantStatus copy(DomId caller, const xen::GnttabCopy& op);
  /// GNTTABOP_transfer, one element: gives frame `mfn` of `caller` to `to` through its
  /// accept_transfer entry `ref`.
  GrantStatus transfer(DomId caller, std::uint64_t mfn, DomId to, GrantRef ref);

  // ---- introspection (toolstack, tests) ----------------------------------------------
  /// Host pointer of `d`'s grant frame i (the toolstack seeds reserved entries through it).
  [[nodiscard]] std::uint8_t* shared_frame(DomId d, std::uint32_t i);
  /// Test/introspection: status frame `i` of domain `d` (v2), or nullptr.
  [[nodiscard]] std::uint8_t* status_frame(DomId d, std::uint32_t i);
  /// Test/introspection: the raw pin word of `ref` in domain `d`.
  [[nodiscard]] std::uint32_t pin_raw(DomId d, GrantRef ref);
  /// Test/introspection: maptrack handles domain `d` holds.
  [[nodiscard]] std::uint32_t handles_in_use(DomId d);
  /// The grant-table version (1 or 2) of domain `d`.
  [[nodiscard]] std::uint32_t version(DomId d);
  /// Grant frames domain `d` has.
  [[nodiscard]] std::uint32_t nr_frames(DomId d);
  /// True if domain `d` has a grant table.
  [[nodiscard]] bool exists(DomId d);

 private:
  /// What a grant acquisition captured from the entry (after the status bits were set).
  struct Snapshot {
    std::uint16_t type = 0;
    bool sub_page = false;
    std::uint16_t cache_flags = 0;
    std::uint64_t frame = 0;
    std::uint16_t page_off = 0;
    std::uint16_t length = 0;
    std::uint16_t trans_domid = 0;
    std::uint32_t trans_gref = 0;
  };
  /// One pinned grant (or owned frame) used as a copy source or destination.
  struct CopyBuf {
    Domain* dom = nullptr;
    DomId id{};
    std::uint32_t ref = 0;
    bool is_gref = false;
    bool readonly = true;
    Mfn frame{};
    std::uint16_t start = 0;
    std::uint16_t length = 0;
    // Transitive: the inner grant pinned in trans_domid on behalf of `id`.
    bool transitive = false;
    Domain* inner_dom = nullptr;
    DomId inner_id{};
    std::uint32_t inner_ref = 0;
  };
  /// The second half of an unmap, run after the batch's TLB flush.
  /// Trivially default-constructible on purpose: the per-call arrays of these are not
  /// zero-filled; unmap_phase1 writes every field of an element before it is counted.
  struct PendingUnmap {
    Domain* rd;
    std::uint32_t ref;
    Mfn frame;
    bool host;
    bool device;
    bool readonly;
    std::uint32_t handle;
    bool free_handle;
  };

  Domain* slot(DomId d) {
    if (d.value() >= kMaxDomains || d.value() >= kDomidFirstReserved) return nullptr;
    return &doms_[d.value()];
  }
  /// DOMID_SELF -> caller; other ids as given. nullptr if out of range.
  Domain* resolve(DomId caller, DomId requested, DomId& out) {
    out = requested == kDomidSelf ? caller : requested;
    return slot(out);
  }

  Status grow(Domain& d, DomId id, std::uint32_t nr_frames);
  Status ensure_status_frames(Domain& d, DomId id, std::uint32_t nr_frames);
  Status drop_status_frames(Domain& d, DomId id);

  Result<std::uint32_t> alloc_handle(Domain& ld);
  void free_handle(Domain& ld, std::uint32_t h);

  // Inlined into its two callers (map_locked, acquire_for_copy): as a call it took 8 arguments
  // (two on the stack) and made the caller spill its live registers around it.
  [[gnu::always_inline]] GrantStatus acquire_status(Domain& rd, std::uint32_t ref, bool pinned, DomId grantee,
                                                    bool readonly, bool map, bool allow_transitive, Snapshot& snap);
  /// Clears GTF_writing / GTF_reading when the matching pins have reached zero (invariant 20).
  void release_status(Domain& rd, std::uint32_t ref, grant::PinCounts pins);

  GrantStatus map_locked(Domain& rd, DomId rid, Domain& ld, DomId lid, VcpuId vcpu,
                         const xen::GnttabMapGrantRef& op, std::uint32_t handle, std::uint64_t& dev_bus_addr);
  GrantStatus unmap_phase1(Domain& ld, DomId lid, VcpuId vcpu, const xen::GnttabUnmapGrantRef& op, bool teardown,
                           PendingUnmap& out);
  void unmap_phase2(Domain& ld, const PendingUnmap& pu);

  GrantStatus acquire_for_copy(Domain& rd, DomId rid, std::uint32_t ref, DomId grantee, bool readonly,
                               bool allow_transitive, CopyBuf& buf);
  void release_for_copy(CopyBuf& buf);
  void unpin_copy(Domain& rd, std::uint32_t ref, bool readonly);
  GrantStatus claim_copy_side(DomId caller, const xen::GnttabCopyPtr& ptr, bool is_gref, bool readonly,
                              CopyBuf& buf);

  P& p_;
  std::array<Domain, kMaxDomains> doms_{};
};

// ---- lifecycle -----------------------------------------------------------------------

template <GrantPlatform P, std::size_t N, GrantLimits L>
Status GrantTables<P, N, L>::create_domain(DomId id, std::uint32_t max_frames,
                                          std::uint32_t max_maptrack_frames) {
  Domain* d = slot(id);
  if (d == nullptr) return Errno::Srch;
  if (max_frames < L::kInitialGrantFrames || max_maptrack_frames == 0) return Errno::Inval;
  LockGuard g(d->lock);
  if (d->state != grant::DomainState::Free) return Errno::Exist;
  d->version = 1;
  d->max_frames = max_frames < L::kMaxGrantFrames ? max_frames : L::kMaxGrantFrames;
  if (Status s = grow(*d, id, L::kInitialGrantFrames); !s) {
    // Give back whatever was allocated; the slot stays free.
    for (std::uint32_t i = 0; i < d->nr_frames; ++i) {
      static_cast<void>(p_.unshare_table_page(id, d->shared[i]));
      p_.free_page(d->shared[i]);
      d->shared[i] = nullptr;
    }
    for (std::uint32_t i = 0; i < d->active_pages; ++i) {
      p_.free_page(d->active[i]);
      d->active[i] = nullptr;
    }
    d->nr_frames = 0;
    d->active_pages = 0;
    d->version = 0;
    return s;
  }
  {
    LockGuard mg(d->maptrack_lock);
    d->release_cursor = 0;
    d->max_maptrack_pages =
        max_maptrack_frames < L::kMaxMaptrackFrames ? max_maptrack_frames : L::kMaxMaptrackFrames;
  }
  d->state.store(grant::DomainState::Live, std::memory_order_release);
  return Status::ok();
}

template <GrantPlatform P, std::size_t N, GrantLimits L>
Status GrantTables<P, N, L>::release_domain(DomId id) {
  Domain* d = slot(id);
  if (d == nullptr) return Errno::Srch;
  {
    LockGuard g(d->lock);
    if (d->state == grant::DomainState::Free) return Errno::Srch;
    d->state.store(grant::DomainState::Dying, std::memory_order_release);
  }
  std::array<PendingUnmap, L::kUnmapBatch> pending;  // written by unmap_phase1 before use
  std::uint32_t n = 0;
  bool more = false;
  for (;;) {
    std::uint32_t h;
    {
      LockGuard mg(d->maptrack_lock);
      if (d->release_cursor >= d->nr_handles()) break;
      if (n == L::kUnmapBatch) {
        more = true;
        break;
      }
      h = d->release_cursor++;
      const grant::MaptrackEntry& e = d->maptrack_entry(h);
      if (!e.in_use() || e.parts() == 0) continue;
    }
    xen::GnttabUnmapGrantRef op{};
    op.handle = h;
    if (unmap_phase1(*d, id, VcpuId{0}, op, /*teardown=*/true, pending[n]) == GrantStatus::Okay) ++n;
  }
  if (n != 0) p_.flush_tlb(id);
  for (std::uint32_t i = 0; i < n; ++i) unmap_phase2(*d, pending[i]);
  return more ? Status{Errno::Restart} : Status::ok();
}

template <GrantPlatform P, std::size_t N, GrantLimits L>
Status GrantTables<P, N, L>::destroy_domain(DomId id) {
  Domain* d = slot(id);
  if (d == nullptr) return Errno::Srch;
  LockGuard g(d->lock);
  if (d->state == grant::DomainState::Free) return Errno::Srch;
  if (d->state != grant::DomainState::Dying) return Errno::Inval;  // release_domain first
  {
    LockGuard mg(d->maptrack_lock);
    if (d->release_cursor < d->nr_handles() || d->handles_in_use != 0) return Errno::Busy;
  }
  const std::uint32_t entries = d->nr_frames * grant::kEntriesPerFrameV1;
  for (std::uint32_t ref = 0; ref < entries && ref / Domain::kActivePerPage < d->active_pages; ++ref) {
    if (d->active_entry(ref).pin.any()) return Errno::Busy;
  }
  if (Status s = drop_status_frames(*d, id); !s) return s;
  while (d->nr_frames != 0) {
    const std::uint32_t i = d->nr_frames - 1;
    if (Status s = p_.unshare_table_page(id, d->shared[i]); !s) return s;  // still mapped
    p_.free_page(d->shared[i]);
    d->shared[i] = nullptr;
    d->shared_mfn[i] = Mfn{};
    d->nr_frames = i;
  }
  for (std::uint32_t i = 0; i < d->active_pages; ++i) {
    p_.free_page(d->active[i]);
    d->active[i] = nullptr;
  }
  d->active_pages = 0;
  {
    LockGuard mg(d->maptrack_lock);
    for (std::uint32_t i = 0; i < d->maptrack_pages; ++i) {
      p_.free_page(d->maptrack[i]);
      d->maptrack[i] = nullptr;
    }
    d->maptrack_pages = 0;
    d->free_head = d->free_tail = grant::kNoHandle;
    d->handles_in_use = 0;
    d->release_cursor = 0;
  }
  d->version = 0;
  d->state.store(grant::DomainState::Free, std::memory_order_release);
  return Status::ok();
}

// ---- table growth --------------------------------------------------------------------

template <GrantPlatform P, std::size_t N, GrantLimits L>
Status GrantTables<P, N, L>::grow(Domain& d, DomId id, std::uint32_t nr_frames) {
  while (d.nr_frames < nr_frames) {
    const std::uint32_t next = d.nr_frames + 1;
    // Active entries cover the v1 entry count (the larger one) of every frame.
    const std::uint32_t need_active =
        (next * grant::kEntriesPerFrameV1 + Domain::kActivePerPage - 1) / Domain::kActivePerPage;
    while (d.active_pages < need_active) {
      void* pg = p_.alloc_page();
      if (pg == nullptr) return Errno::NoMem;
      d.active[d.active_pages++] = pg;
    }
    if (d.version == 2) {
      if (Status s = ensure_status_frames(d, id, next); !s) return s;
    }
    void* pg = p_.alloc_page();
    if (pg == nullptr) return Errno::NoMem;
    Result<Mfn> m = p_.share_table_page(id, pg, true);
    if (!m) {
      p_.free_page(pg);
      return m.status();
    }
    d.shared[d.nr_frames] = pg;
    d.shared_mfn[d.nr_frames] = *m;
    d.nr_frames = next;
  }
  return Status::ok();
}

template <GrantPlatform P, std::size_t N, GrantLimits L>
Status GrantTables<P, N, L>::ensure_status_frames(Domain& d, DomId id, std::uint32_t nr_frames) {
  const std::uint32_t need = Domain::status_frames_for(nr_frames);
  while (d.nr_status_frames < need) {
    void* pg = p_.alloc_page();
    if (pg == nullptr) return Errno::NoMem;
    Result<Mfn> m = p_.share_table_page(id, pg, false);
    if (!m) {
      p_.free_page(pg);
      return m.status();
    }
    d.status[d.nr_status_frames] = pg;
    d.status_mfn[d.nr_status_frames] = *m;
    ++d.nr_status_frames;
  }
  return Status::ok();
}

template <GrantPlatform P, std::size_t N, GrantLimits L>
Status GrantTables<P, N, L>::drop_status_frames(Domain& d, DomId id) {
  // All or nothing: a status frame the guest still maps keeps all of them (invariant 23).
  for (std::uint32_t i = 0; i < d.nr_status_frames; ++i) {
    if (Status s = p_.unshare_table_page(id, d.status[i]); !s) {
      for (std::uint32_t j = 0; j < i; ++j) {
        Result<Mfn> m = p_.share_table_page(id, d.status[j], false);
        if (m) d.status_mfn[j] = *m;
      }
      return Errno::Busy;
    }
  }
  for (std::uint32_t i = 0; i < d.nr_status_frames; ++i) {
    p_.free_page(d.status[i]);
    d.status[i] = nullptr;
    d.status_mfn[i] = Mfn{};
  }
  d.nr_status_frames = 0;
  return Status::ok();
}

// ---- maptrack ------------------------------------------------------------------------

template <GrantPlatform P, std::size_t N, GrantLimits L>
Result<std::uint32_t> GrantTables<P, N, L>::alloc_handle(Domain& ld) {
  LockGuard g(ld.maptrack_lock);
  if (ld.free_head == grant::kNoHandle) {
    if (ld.maptrack_pages >= ld.max_maptrack_pages) return Errno::NoSpc;
    void* pg = p_.alloc_page();
    if (pg == nullptr) return Errno::NoMem;
    const std::uint32_t base = ld.maptrack_pages * Domain::kMaptrackPerPage;
    ld.maptrack[ld.maptrack_pages++] = pg;
    auto* rows = static_cast<grant::MaptrackEntry*>(pg);
    for (std::uint32_t i = 0; i < Domain::kMaptrackPerPage; ++i) {
      rows[i] = grant::MaptrackEntry{};
      rows[i].next_free = i + 1 < Domain::kMaptrackPerPage ? base + i + 1 : grant::kNoHandle;
    }
    ld.free_head = base;
    ld.free_tail = base + Domain::kMaptrackPerPage - 1;
  }
  const std::uint32_t h = ld.free_head;
  grant::MaptrackEntry& e = ld.maptrack_entry(h);
  ld.free_head = e.next_free;
  if (ld.free_head == grant::kNoHandle) ld.free_tail = grant::kNoHandle;
  e = grant::MaptrackEntry{};
  e.flags = grant::kMapInUse;
  ++ld.handles_in_use;
  return h;
}

template <GrantPlatform P, std::size_t N, GrantLimits L>
void GrantTables<P, N, L>::free_handle(Domain& ld, std::uint32_t h) {
  LockGuard g(ld.maptrack_lock);
  grant::MaptrackEntry& e = ld.maptrack_entry(h);
  if (!e.in_use()) return;  // never twice (invariant 21)
  e = grant::MaptrackEntry{};
  // FIFO reuse: a just-freed handle is the last to be handed out again.
  if (ld.free_tail == grant::kNoHandle) {
    ld.free_head = ld.free_tail = h;
  } else {
    ld.maptrack_entry(ld.free_tail).next_free = h;
    ld.free_tail = h;
  }
  --ld.handles_in_use;
}

// ---- status bits (invariant 20) ------------------------------------------------------

template <GrantPlatform P, std::size_t N, GrantLimits L>
GrantStatus GrantTables<P, N, L>::acquire_status(Domain& rd, std::uint32_t ref, bool pinned, DomId grantee,
                                                 bool readonly, bool map, bool allow_transitive,
                                                 Snapshot& snap) {
  auto acceptable = [&](grant::HeaderWord w) {
    if (!pinned) {
      const bool v2 = rd.version == 2;
      const bool permit = w.type() == xen::kGtfPermitAccess && !(map && w.sub_page());
      const bool trans = v2 && allow_transitive && !map && w.type() == xen::kGtfTransitive;
      if (!(permit || trans) || w.domid() != grantee) return false;
    }
    return readonly || !w.readonly();
  };
  const std::uint16_t want = static_cast<std::uint16_t>(xen::kGtfReading | (readonly ? 0 : xen::kGtfWriting));
  std::uint32_t* hw = rd.header_word(ref);
  std::uint32_t cur = grant::shared_load32(hw);
  if (rd.version == 1) {
    for (std::uint32_t tries = 0;; ++tries) {
      const grant::HeaderWord w{cur};
      if (!acceptable(w)) return GrantStatus::GeneralError;
      const grant::HeaderWord next = w.with_flags(want);
      if (next == w) break;
      if (grant::shared_cas32(hw, cur, next.raw())) {
        cur = next.raw();
        break;
      }
      if (tries + 1 >= L::kCasRetries) return GrantStatus::GeneralError;  // unstable entry
    }
    const grant::HeaderWord w{cur};
    snap.type = w.type();
    snap.sub_page = false;
    snap.cache_flags = w.cache_flags();
    snap.frame = grant::shared_load32(rd.v1_frame(ref));
    snap.page_off = 0;
    snap.length = static_cast<std::uint16_t>(kPageSize);
    return GrantStatus::Okay;
  }
  // v2: status bits live in the status frame; set them, then re-check the header.
  const grant::HeaderWord w{cur};
  if (!acceptable(w)) return GrantStatus::GeneralError;
  std::uint16_t* sw = rd.status_word(ref);
  const std::uint16_t before = grant::shared_set_bits16(sw, want);
  const std::uint16_t added = static_cast<std::uint16_t>(want & ~before);
  grant::full_fence();
  if (grant::shared_load32(hw) != cur) {
    if (added != 0) grant::shared_clear_bits16(sw, added);
    return GrantStatus::GeneralError;
  }
  snap.type = w.type();
  snap.sub_page = w.sub_page();
  snap.cache_flags = w.cache_flags();
  if (w.type() == xen::kGtfTransitive) {
    snap.trans_domid = grant::shared_load16(rd.v2_u16_at(ref, grant::kV2TransDomidOffset));
    snap.trans_gref = grant::shared_load32(rd.v2_u32_at(ref, grant::kV2TransGrefOffset));
  } else {
    snap.frame = grant::shared_load64(rd.v2_frame(ref));
    if (w.sub_page()) {
      snap.page_off = grant::shared_load16(rd.v2_u16_at(ref, grant::kV2PageOffOffset));
      snap.length = grant::shared_load16(rd.v2_u16_at(ref, grant::kV2LengthOffset));
    } else {
      snap.page_off = 0;
      snap.length = static_cast<std::uint16_t>(kPageSize);
    }
  }
  return GrantStatus::Okay;
}

template <GrantPlatform P, std::size_t N, GrantLimits L>
void GrantTables<P, N, L>::release_status(Domain& rd, std::uint32_t ref, grant::PinCounts pins) {
  std::uint16_t clear = 0;
  if (!pins.any_write()) clear |= xen::kGtfWriting;
  if (!pins.any()) clear |= xen::kGtfReading;
  if (clear != 0) grant::shared_clear_bits16(rd.status_word(ref), clear);
}

// ---- introspection -------------------------------------------------------------------

template <GrantPlatform P, std::size_t N, GrantLimits L>
std::uint8_t* GrantTables<P, N, L>::shared_frame(DomId id, std::uint32_t i) {
  Domain* d = slot(id);
  if (d == nullptr) return nullptr;
  LockGuard g(d->lock);
  return i < d->nr_frames ? static_cast<std::uint8_t*>(d->shared[i]) : nullptr;
}

template <GrantPlatform P, std::size_t N, GrantLimits L>
std::uint8_t* GrantTables<P, N, L>::status_frame(DomId id, std::uint32_t i) {
  Domain* d = slot(id);
  if (d == nullptr) return nullptr;
  LockGuard g(d->lock);
  return i < d->nr_status_frames ? static_cast<std::uint8_t*>(d->status[i]) : nullptr;
}

template <GrantPlatform P, std::size_t N, GrantLimits L>
std::uint32_t GrantTables<P, N, L>::pin_raw(DomId id, GrantRef ref) {
  Domain* d = slot(id);
  if (d == nullptr) return 0;
  LockGuard g(d->lock);
  if (ref.value() >= d->nr_frames * grant::kEntriesPerFrameV1) return 0;
  return d->active_entry(ref.value()).pin.raw;
}

template <GrantPlatform P, std::size_t N, GrantLimits L>
std::uint32_t GrantTables<P, N, L>::handles_in_use(DomId id) {
  Domain* d = slot(id);
  if (d == nullptr) return 0;
  LockGuard g(d->maptrack_lock);
  return d->handles_in_use;
}

template <GrantPlatform P, std::size_t N, GrantLimits L>
std::uint32_t GrantTables<P, N, L>::version(DomId id) {
  Domain* d = slot(id);
  if (d == nullptr) return 0;
  LockGuard g(d->lock);
  return d->version;
}

template <GrantPlatform P, std::size_t N, GrantLimits L>
std::uint32_t GrantTables<P, N, L>::nr_frames(DomId id) {
  Domain* d = slot(id);
  if (d == nullptr) return 0;
  LockGuard g(d->lock);
  return d->nr_frames;
}

template <GrantPlatform P, std::size_t N, GrantLimits L>
bool GrantTables<P, N, L>::exists(DomId id) {
  Domain* d = slot(id);
  if (d == nullptr) return false;
  LockGuard g(d->lock);
  return d->state == grant::DomainState::Live;
}

}  // namespace pvkit

#include "pvkit/grant/grant_copy.h"
#include "pvkit/grant/grant_map.h"
#include "pvkit/grant/grant_table_admin.h"
#include "pvkit/grant/grant_transfer.h"
