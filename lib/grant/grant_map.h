// pvkit/grant/grant_map.h — GNTTABOP_map_grant_ref and GNTTABOP_unmap_grant_ref.
//
// What it is: the member definitions of GrantTables for mapping a granted frame into the
// mapper's page tables (host part) and/or its IOMMU (device part), and for unmapping by
// maptrack handle. Map: allocate a handle, then under the granter's lock validate the entry
// (permit_access naming the mapper, not read-only for a writable map), set GTF_reading /
// GTF_writing by bounded compare-exchange (invariant 20), refuse when a pin counter's top bit
// is set, take the frame references, install the mappings through the platform policy,
// record the parts in the handle. Unmap is two-phase per batch: remove PTEs (the policy
// checks frame, presence and RW of the PTE it removes: invariant 22), ONE TLB flush for the
// whole batch, then drop pins and references and free handles whose last part went
// (each part once, never an underflow: invariant 21).
//
// How to use it: included by grant_tables.h; call through a GrantTables object.
//
// Concurrency: see grant_tables.h. The maptrack row is re-read under the granter's lock, so
// two concurrent unmaps of one handle drop each part exactly once.
#pragma once

#include "pvkit/grant/grant_tables.h"

namespace pvkit {

template <GrantPlatform P, std::size_t N, GrantLimits L>
GrantStatus GrantTables<P, N, L>::map(DomId lid, const xen::GnttabMapGrantRef& op, GrantHandle& handle,
                                      std::uint64_t& dev_bus_addr, VcpuId vcpu) {
  handle = GrantHandle{grant::kNoHandle};
  dev_bus_addr = 0;
  if ((op.flags & (xen::kGntmapHostMap | xen::kGntmapDeviceMap)) == 0) return GrantStatus::BadGntref;
  Domain* ld = slot(lid);
  if (ld == nullptr) return GrantStatus::GeneralError;
  {
    LockGuard g(ld->lock);
    if (ld->state != grant::DomainState::Live) return GrantStatus::GeneralError;
  }
  const DomId rid{op.dom};
  Domain* rd = slot(rid);  // DOMID_SELF is not accepted here, as in Xen
  if (rd == nullptr) return GrantStatus::BadDomain;
  // Invariant 13: a PTE address must be 8-byte aligned.
  if ((op.flags & xen::kGntmapHostMap) && (op.flags & xen::kGntmapContainsPte) && (op.host_addr & 7u) != 0) {
    return GrantStatus::GeneralError;
  }
  Result<std::uint32_t> h = alloc_handle(*ld);
  if (!h) return GrantStatus::NoSpace;
  GrantStatus st;
  {
    LockGuard g(rd->lock);
    st = map_locked(*rd, rid, *ld, lid, vcpu, op, *h, dev_bus_addr);
  }
  if (st != GrantStatus::Okay) {
    free_handle(*ld, *h);
    dev_bus_addr = 0;
    return st;
  }
  handle = GrantHandle{*h};
  return GrantStatus::Okay;
}

template <GrantPlatform P, std::size_t N, GrantLimits L>
GrantStatus GrantTables<P, N, L>::map_locked(Domain& rd, DomId rid, Domain& ld, DomId lid, VcpuId vcpu,
                                             const xen::GnttabMapGrantRef& op, std::uint32_t handle,
                                             std::uint64_t& dev_bus_addr) {
  if (rd.state != grant::DomainState::Live) return GrantStatus::BadDomain;
  if (op.ref >= rd.nr_entries()) return GrantStatus::BadGntref;
  grant::ActiveEntry& act = rd.active_entry(op.ref);
  const grant::PinCounts before = act.pin;
  if (before.any() &&
      (act.domid != lid.value() || before.would_overflow() || act.kind != grant::ActiveKind::Full)) {
    return GrantStatus::GeneralError;
  }
  const bool ro = (op.flags & xen::kGntmapReadonly) != 0;
  const bool host = (op.flags & xen::kGntmapHostMap) != 0;
  const bool dev = (op.flags & xen::kGntmapDeviceMap) != 0;

  Snapshot snap{};
  const bool need_status = !before.any() || (!ro && !before.any_write());
  if (need_status) {
    GrantStatus st = acquire_status(rd, op.ref, before.any(), lid, ro, /*map=*/true, false, snap);
    if (st != GrantStatus::Okay) return st;
  }
  if (!before.any()) {
    act.domid = lid.value();
    act.kind = grant::ActiveKind::Full;
    act.frame = snap.frame;
    act.start = 0;
    act.length = static_cast<std::uint16_t>(kPageSize);
    act.trans_domid = rid.value();
    act.trans_gref = op.ref;
  }
  const Mfn frame{act.frame};
  std::uint16_t cache = 0;
  if (host) cache = grant::HeaderWord{grant::shared_load32(rd.header_word(op.ref))}.cache_flags();

  // Undo for every failure below: drop what was taken, restore pins and status bits.
  std::uint32_t refs_taken = 0;
  auto undo = [&](GrantStatus st) {
    for (std::uint32_t i = 0; i < refs_taken; ++i) p_.put_frame(frame, !ro);
    act.pin = before;
    release_status(rd, op.ref, act.pin);
    return st;
  };
  const std::uint32_t parts = (host ? 1u : 0u) + (dev ? 1u : 0u);
  for (std::uint32_t i = 0; i < parts; ++i) {
    GrantStatus st = p_.get_frame(frame, rid, !ro);
    if (st != GrantStatus::Okay) return undo(st);
    ++refs_taken;
  }
  if (host) act.pin.raw += grant::PinCounts::increment(false, ro);
  if (dev) act.pin.raw += grant::PinCounts::increment(true, ro);

  if (dev) {
    GrantStatus st = p_.install_device_mapping(lid, frame, ro);
    if (st != GrantStatus::Okay) return undo(st);
  }
  GrantHostMapping hm{};
  if (host) {
    hm.addr = op.host_addr;
    hm.vcpu = vcpu;
    hm.contains_pte = (op.flags & xen::kGntmapContainsPte) != 0;
    hm.readonly = ro;
    hm.application = (op.flags & xen::kGntmapApplicationMap) != 0;
    hm.cache_flags = cache;
    GrantStatus st = p_.install_host_mapping(lid, hm, frame);
    if (st != GrantStatus::Okay) {
      if (dev) p_.remove_device_mapping(lid, frame);
      return undo(st);
    }
  }
  {
    LockGuard mg(ld.maptrack_lock);
    grant::MaptrackEntry& e = ld.maptrack_entry(handle);
    e.ref = op.ref;
    e.domid = rid.value();
    e.host_addr = host ? op.host_addr : 0;
    e.flags = static_cast<std::uint16_t>(grant::kMapInUse | (op.flags & grant::kMapKeptFlags));
    if (!host) e.flags &= static_cast<std::uint16_t>(~(xen::kGntmapContainsPte | xen::kGntmapApplicationMap));
  }
  dev_bus_addr = dev ? to_maddr(frame).value() : 0;
  return GrantStatus::Okay;
}

template <GrantPlatform P, std::size_t N, GrantLimits L>
void GrantTables<P, N, L>::unmap_batch(DomId lid, std::span<const xen::GnttabUnmapGrantRef> ops,
                                       std::span<GrantStatus> out, VcpuId vcpu) {
  std::array<PendingUnmap, L::kUnmapBatch> pending;  // written by unmap_phase1 before use
  std::uint32_t n = 0;
  Domain* ld = slot(lid);
  const std::size_t count = ops.size() < out.size() ? ops.size() : out.size();
  for (std::size_t i = 0; i < count; ++i) {
    if (ld == nullptr || i >= L::kUnmapBatch) {
      out[i] = GrantStatus::GeneralError;
      continue;
    }
    out[i] = unmap_phase1(*ld, lid, vcpu, ops[i], /*teardown=*/false, pending[n]);
    if (out[i] == GrantStatus::Okay && (pending[n].host || pending[n].device)) ++n;
  }
  if (n == 0) return;
  p_.flush_tlb(lid);  // one flush for the whole batch, before any reference is dropped
  for (std::uint32_t i = 0; i < n; ++i) unmap_phase2(*ld, pending[i]);
}

template <GrantPlatform P, std::size_t N, GrantLimits L>
GrantStatus GrantTables<P, N, L>::unmap_phase1(Domain& ld, DomId lid, VcpuId vcpu,
                                               const xen::GnttabUnmapGrantRef& op, bool teardown,
                                               PendingUnmap& out) {
  out = PendingUnmap{};
  const std::uint32_t h = op.handle;
  grant::MaptrackEntry seen{};
  {
    LockGuard mg(ld.maptrack_lock);
    if (h >= ld.nr_handles()) return GrantStatus::BadHandle;
    seen = ld.maptrack_entry(h);
  }
  if (!seen.in_use() || seen.parts() == 0) return GrantStatus::BadHandle;
  Domain* rd = slot(DomId{seen.domid});
  if (rd == nullptr) return GrantStatus::BadHandle;

  LockGuard g(rd->lock);
  grant::MaptrackEntry now{};
  {
    LockGuard mg(ld.maptrack_lock);
    now = ld.maptrack_entry(h);
  }
  // The row may have been unmapped (or freed and reused) since the unlocked look.
  if (!now.in_use() || now.parts() == 0 || now.domid != seen.domid || now.ref != seen.ref) {
    return GrantStatus::BadHandle;
  }
  grant::ActiveEntry& act = rd->active_entry(now.ref);
  const Mfn frame{act.frame};
  const bool has_host = (now.flags & xen::kGntmapHostMap) != 0;
  const bool has_dev = (now.flags & xen::kGntmapDeviceMap) != 0;
  // A zero address means "leave that part" (except at teardown, which drops everything).
  const bool do_host = has_host && (teardown || op.host_addr != 0);
  const bool do_dev = has_dev && (teardown || op.dev_bus_addr != 0);
  if (do_dev && !teardown && op.dev_bus_addr != to_maddr(frame).value()) return GrantStatus::BadDevAddr;

  if (do_host) {
    GrantHostMapping hm{};
    hm.vcpu = vcpu;
    hm.contains_pte = now.contains_pte();
    hm.readonly = now.readonly();
    hm.application = now.application();
    if (teardown) {
      hm.addr = now.host_addr;
      p_.release_host_mapping(lid, hm, frame);
    } else {
      hm.addr = op.host_addr;
      GrantStatus st = p_.remove_host_mapping(lid, hm, frame);
      if (st != GrantStatus::Okay) return st;  // nothing changed
    }
  }
  if (do_dev) p_.remove_device_mapping(lid, frame);

  std::uint16_t remaining = now.flags;
  if (do_host) remaining &= static_cast<std::uint16_t>(~xen::kGntmapHostMap);
  if (do_dev) remaining &= static_cast<std::uint16_t>(~xen::kGntmapDeviceMap);
  {
    LockGuard mg(ld.maptrack_lock);
    ld.maptrack_entry(h).flags = remaining;
  }
  out.rd = rd;
  out.ref = now.ref;
  out.frame = frame;
  out.host = do_host;
  out.device = do_dev;
  out.readonly = now.readonly();
  out.handle = h;
  // Exactly the operation that removed the last part frees the handle.
  out.free_handle = (do_host || do_dev) && (remaining & grant::kMapParts) == 0;
  return GrantStatus::Okay;
}

template <GrantPlatform P, std::size_t N, GrantLimits L>
void GrantTables<P, N, L>::unmap_phase2(Domain& ld, const PendingUnmap& pu) {
  if (pu.rd == nullptr) return;
  {
    LockGuard g(pu.rd->lock);
    grant::ActiveEntry& act = pu.rd->active_entry(pu.ref);
    auto drop = [&](bool device) {
      const std::uint32_t inc = grant::PinCounts::increment(device, pu.readonly);
      if (act.pin.holds(inc)) act.pin.raw -= inc;  // never underflows (invariant 21)
      p_.put_frame(pu.frame, !pu.readonly);
    };
    if (pu.host) drop(false);
    if (pu.device) drop(true);
    release_status(*pu.rd, pu.ref, act.pin);
  }
  if (pu.free_handle) free_handle(ld, pu.handle);
}

}  // namespace pvkit
