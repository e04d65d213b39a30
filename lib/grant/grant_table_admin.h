// pvkit/grant/grant_table_admin.h — the table-wide sub-ops: setup_table, query_size,
// set_version, get_version, get_status_frames, swap_grant_ref.
//
// What it is: member definitions of GrantTables. setup_table grows a table up to the limit
// (frames come from the PageAllocator and are shared with the guest). set_version switches
// between the 8-byte v1 and 16-byte v2 formats: refused (-EBUSY) while any non-reserved
// entry is pinned; the 8 reserved entries are carried over; moving to v1 frees the status
// frames only when the guest no longer maps any of them (invariant 23). Sub-ops naming
// another domain need the platform's `controls(caller, target)`.
//
// How to use it: included by grant_tables.h.
//
// Concurrency: each takes the target domain's grant lock for its whole (bounded) work.
#pragma once

#include "pvkit/grant/grant_tables.h"

namespace pvkit {

template <GrantPlatform P, std::size_t N, GrantLimits L>
GrantStatus GrantTables<P, N, L>::setup_table(DomId caller, DomId dom, std::uint32_t nr_frames,
                                              std::span<Mfn> out) {
  DomId id{};
  Domain* d = resolve(caller, dom, id);
  if (d == nullptr) return GrantStatus::BadDomain;
  LockGuard g(d->lock);
  if (d->state != grant::DomainState::Live) return GrantStatus::BadDomain;
  if (id != caller && !p_.controls(caller, id)) return GrantStatus::PermissionDenied;
  if (nr_frames > d->max_frames || nr_frames > out.size()) return GrantStatus::GeneralError;
  if (Status s = grow(*d, id, nr_frames); !s) return GrantStatus::GeneralError;
  for (std::uint32_t i = 0; i < nr_frames; ++i) out[i] = d->shared_mfn[i];
  return GrantStatus::Okay;
}

template <GrantPlatform P, std::size_t N, GrantLimits L>
GrantStatus GrantTables<P, N, L>::query_size(DomId caller, DomId dom, std::uint32_t& nr,
                                             std::uint32_t& max) {
  DomId id{};
  Domain* d = resolve(caller, dom, id);
  if (d == nullptr) return GrantStatus::BadDomain;
  LockGuard g(d->lock);
  if (d->state != grant::DomainState::Live) return GrantStatus::BadDomain;
  if (id != caller && !p_.controls(caller, id)) return GrantStatus::PermissionDenied;
  nr = d->nr_frames;
  max = d->max_frames;
  return GrantStatus::Okay;
}

template <GrantPlatform P, std::size_t N, GrantLimits L>
GrantStatus GrantTables<P, N, L>::get_status_frames(DomId caller, DomId dom, std::uint32_t nr,
                                                    std::span<Mfn> out) {
  DomId id{};
  Domain* d = resolve(caller, dom, id);
  if (d == nullptr) return GrantStatus::BadDomain;
  LockGuard g(d->lock);
  if (d->state != grant::DomainState::Live) return GrantStatus::BadDomain;
  if (id != caller && !p_.controls(caller, id)) return GrantStatus::PermissionDenied;
  if (d->version != 2) return GrantStatus::GeneralError;
  if (nr > d->nr_status_frames || nr > out.size()) return GrantStatus::GeneralError;
  for (std::uint32_t i = 0; i < nr; ++i) out[i] = d->status_mfn[i];
  return GrantStatus::Okay;
}

template <GrantPlatform P, std::size_t N, GrantLimits L>
Result<std::uint32_t> GrantTables<P, N, L>::get_version(DomId caller, DomId dom) {
  DomId id{};
  Domain* d = resolve(caller, dom, id);
  if (d == nullptr) return Errno::Srch;
  LockGuard g(d->lock);
  if (d->state != grant::DomainState::Live) return Errno::Srch;
  if (id != caller && !p_.controls(caller, id)) return Errno::Perm;
  return static_cast<std::uint32_t>(d->version);
}

template <GrantPlatform P, std::size_t N, GrantLimits L>
Status GrantTables<P, N, L>::set_version(DomId id, std::uint32_t v) {
  if (v != 1 && v != 2) return Errno::Inval;
  if (v == 2 && L::kMaxVersion < 2) return Errno::NoSys;
  Domain* d = slot(id);
  if (d == nullptr) return Errno::Srch;
  LockGuard g(d->lock);
  if (d->state != grant::DomainState::Live) return Errno::Srch;
  if (d->version == v) return Status::ok();

  // Refused while any non-reserved entry is in use (invariant 23). Bounded by the limits.
  const std::uint32_t entries = d->nr_entries();
  for (std::uint32_t ref = xen::kGnttabNrReservedEntries; ref < entries; ++ref) {
    if (d->active_entry(ref).pin.any()) return Errno::Busy;
  }
  // Save the reserved entries in a version-neutral form.
  struct Reserved {
    std::uint16_t flags = 0;  // including GTF_reading/GTF_writing
    std::uint16_t domid = 0;
    std::uint64_t frame = 0;
  };
  std::array<Reserved, xen::kGnttabNrReservedEntries> saved{};
  const std::uint32_t nres = entries < xen::kGnttabNrReservedEntries ? entries : xen::kGnttabNrReservedEntries;
  // The GTF_reading/GTF_writing carried over come from the pins, never from a word the
  // granter can write: a pinned entry keeps them whatever its granter wrote, an unpinned one
  // does not inherit bits the granter set itself (invariant 20).
  constexpr std::uint16_t kStatusBits = xen::kGtfReading | xen::kGtfWriting;
  auto pin_bits = [&](std::uint32_t i) {
    const grant::PinCounts p = d->active_entry(i).pin;
    return static_cast<std::uint16_t>((p.any() ? xen::kGtfReading : 0) | (p.any_write() ? xen::kGtfWriting : 0));
  };
  for (std::uint32_t i = 0; i < nres; ++i) {
    const grant::HeaderWord w{grant::shared_load32(d->header_word(i))};
    if (d->version == 1) {
      std::uint16_t f = w.flags();
      if (w.type() != xen::kGtfAcceptTransfer) f = static_cast<std::uint16_t>((f & ~kStatusBits) | pin_bits(i));
      saved[i] = {f, w.domid().value(), grant::shared_load32(d->v1_frame(i))};
      continue;
    }
    const std::uint64_t frame = grant::shared_load64(d->v2_frame(i));
    if (w.type() == xen::kGtfTransitive || (w.type() == xen::kGtfPermitAccess && (frame >> 32) != 0)) {
      return Errno::Range;  // not representable in v1
    }
    if (w.type() == xen::kGtfPermitAccess) {
      saved[i] = {static_cast<std::uint16_t>((w.flags() & ~kStatusBits) | pin_bits(i)), w.domid().value(), frame};
    } else if (pin_bits(i) != 0) {
      saved[i] = {pin_bits(i), w.domid().value(), 0};  // rewritten while pinned: still in use
    }
  }
  if (v == 2) {
    if (Status s = ensure_status_frames(*d, id, d->nr_frames); !s) return s;
  } else {
    if (Status s = drop_status_frames(*d, id); !s) return s;  // Busy while mapped
  }
  // The guest may be writing these pages right now: cleared with atomic word stores.
  for (std::uint32_t i = 0; i < d->nr_frames; ++i) grant::shared_zero_page(d->shared[i]);
  for (std::uint32_t i = 0; i < d->nr_status_frames; ++i) grant::shared_zero_page(d->status[i]);
  d->version = static_cast<std::uint8_t>(v);
  for (std::uint32_t i = 0; i < nres; ++i) {
    const Reserved& r = saved[i];
    if (v == 1) {
      grant::shared_store32(d->v1_frame(i), static_cast<std::uint32_t>(r.frame));
      grant::shared_store32(d->header_word(i), grant::HeaderWord::make(r.flags, DomId{r.domid}).raw());
    } else {
      grant::shared_store64(d->v2_frame(i), r.frame);
      // In an accept_transfer entry bits 3-4 are transfer flags: they stay in the header.
      const bool xfer = (r.flags & xen::kGtfTypeMask) == xen::kGtfAcceptTransfer;
      grant::shared_store16(d->status_word(i), xfer ? std::uint16_t{0} : static_cast<std::uint16_t>(r.flags & kStatusBits));
      const std::uint16_t f = xfer ? r.flags : static_cast<std::uint16_t>(r.flags & ~kStatusBits);
      grant::shared_store32(d->header_word(i), grant::HeaderWord::make(f, DomId{r.domid}).raw());
    }
  }
  return Status::ok();
}

template <GrantPlatform P, std::size_t N, GrantLimits L>
GrantStatus GrantTables<P, N, L>::swap(DomId id, GrantRef a, GrantRef b) {
  Domain* d = slot(id);
  if (d == nullptr) return GrantStatus::BadDomain;
  LockGuard g(d->lock);
  if (d->state != grant::DomainState::Live) return GrantStatus::BadDomain;
  const std::uint32_t n = d->nr_entries();
  if (a.value() >= n || b.value() >= n) return GrantStatus::BadGntref;
  if (a == b) return GrantStatus::Okay;
  if (d->active_entry(a.value()).pin.any() || d->active_entry(b.value()).pin.any()) return GrantStatus::Eagain;
  const std::uint32_t words = d->version == 2 ? 2u : 1u;
  auto* pa = reinterpret_cast<std::uint64_t*>(d->entry_bytes(a.value()));
  auto* pb = reinterpret_cast<std::uint64_t*>(d->entry_bytes(b.value()));
  for (std::uint32_t i = 0; i < words; ++i) {
    const std::uint64_t x = grant::shared_load64(pa + i);
    const std::uint64_t y = grant::shared_load64(pb + i);
    grant::shared_store64(pa + i, y);
    grant::shared_store64(pb + i, x);
  }
  if (d->version == 2) {
    std::uint16_t* sa = d->status_word(a.value());
    std::uint16_t* sb = d->status_word(b.value());
    const std::uint16_t x = grant::shared_load16(sa);
    const std::uint16_t y = grant::shared_load16(sb);
    grant::shared_store16(sa, y);
    grant::shared_store16(sb, x);
  }
  return GrantStatus::Okay;
}

}  // namespace pvkit
