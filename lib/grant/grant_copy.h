// pvkit/grant/grant_copy.h — GNTTABOP_copy: hypervisor-performed copies between grants/frames.
//
// What it is: the member definitions of GrantTables for one copy element. Each side is a
// grant (GNTCOPY_*_gref: pinned like a host mapping for the duration of the copy, status bits
// set by compare-exchange, frame reference taken) or a frame, which only DOMID_SELF may name
// and which must be owned by the caller. Byte ranges stay within one page: an offset + len
// beyond 4096 on either side is GNTST_bad_copy_arg before anything is touched; a range outside
// a sub-page grant is GNTST_general_error. Transitive grants (v2) are followed one level deep
// and only here (invariant 24): the outer grant is pinned, its lock dropped, then the inner
// grant (which must name the outer granter) is pinned with transitivity disallowed.
//
// How to use it: included by grant_tables.h; call GrantTables::copy per element.
//
// Concurrency: never holds two grant locks; every pin taken is dropped before returning.
#pragma once

#include "pvkit/grant/grant_tables.h"

namespace pvkit {

template <GrantPlatform P, std::size_t N, GrantLimits L>
GrantStatus GrantTables<P, N, L>::acquire_for_copy(Domain& rd, DomId rid, std::uint32_t ref, DomId grantee,
                                                   bool readonly, bool allow_transitive, CopyBuf& buf) {
  const std::uint32_t inc = grant::PinCounts::increment(false, readonly);
  grant::ActiveKind kind;
  DomId tdid{};
  std::uint32_t tref = 0;
  {
    LockGuard g(rd.lock);
    if (rd.state != grant::DomainState::Live) return GrantStatus::BadDomain;
    if (ref >= rd.nr_entries()) return GrantStatus::BadGntref;
    grant::ActiveEntry& act = rd.active_entry(ref);
    const grant::PinCounts before = act.pin;
    if (before.any() && (act.domid != grantee.value() || before.would_overflow())) {
      return GrantStatus::GeneralError;
    }
    if (before.any() && act.kind == grant::ActiveKind::Transitive && !allow_transitive) {
      return GrantStatus::GeneralError;  // one level only (invariant 24)
    }
    const bool need_status = !before.any() || (!readonly && !before.any_write());
    Snapshot snap{};
    if (need_status) {
      GrantStatus st = acquire_status(rd, ref, before.any(), grantee, readonly, /*map=*/false,
                                      allow_transitive, snap);
      if (st != GrantStatus::Okay) return st;
    }
    if (!before.any()) {
      act.domid = grantee.value();
      act.frame = snap.frame;
      act.trans_domid = snap.trans_domid;
      act.trans_gref = snap.trans_gref;
      if (snap.type == xen::kGtfTransitive) {
        act.kind = grant::ActiveKind::Transitive;
        act.start = 0;
        act.length = 0;
        if (snap.trans_domid == rid.value()) {  // self-referential
          release_status(rd, ref, before);
          return GrantStatus::GeneralError;
        }
      } else if (snap.sub_page) {
        if (static_cast<std::uint32_t>(snap.page_off) + snap.length > kPageSize) {
          release_status(rd, ref, before);
          return GrantStatus::GeneralError;
        }
        act.kind = grant::ActiveKind::SubPage;
        act.start = snap.page_off;
        act.length = snap.length;
      } else {
        act.kind = grant::ActiveKind::Full;
        act.start = 0;
        act.length = static_cast<std::uint16_t>(kPageSize);
      }
    }
    kind = act.kind;
    tdid = DomId{act.trans_domid};
    tref = act.trans_gref;
    if (kind != grant::ActiveKind::Transitive) {
      GrantStatus st = p_.get_frame(Mfn{act.frame}, rid, !readonly);
      if (st != GrantStatus::Okay) {
        release_status(rd, ref, before);
        return st;
      }
      buf.frame = Mfn{act.frame};
      buf.start = act.start;
      buf.length = act.length;
    }
    act.pin.raw += inc;
  }
  buf.dom = &rd;
  buf.id = rid;
  buf.ref = ref;
  buf.is_gref = true;
  buf.readonly = readonly;
  buf.transitive = false;
  if (kind != grant::ActiveKind::Transitive) return GrantStatus::Okay;

  // Transitive: pin the inner grant in tdid, which must name `rid` as its grantee.
  Domain* td = slot(tdid);
  GrantStatus st = GrantStatus::GeneralError;
  CopyBuf inner{};
  if (td != nullptr) st = acquire_for_copy(*td, tdid, tref, rid, readonly, /*allow_transitive=*/false, inner);
  if (st != GrantStatus::Okay) {
    unpin_copy(rd, ref, readonly);
    buf.dom = nullptr;
    return st == GrantStatus::BadDomain ? GrantStatus::GeneralError : st;
  }
  buf.transitive = true;
  buf.inner_dom = td;
  buf.inner_id = tdid;
  buf.inner_ref = tref;
  buf.frame = inner.frame;
  buf.start = inner.start;
  buf.length = inner.length;
  return GrantStatus::Okay;
}

template <GrantPlatform P, std::size_t N, GrantLimits L>
void GrantTables<P, N, L>::unpin_copy(Domain& rd, std::uint32_t ref, bool readonly) {
  LockGuard g(rd.lock);
  grant::ActiveEntry& act = rd.active_entry(ref);
  const std::uint32_t inc = grant::PinCounts::increment(false, readonly);
  if (act.pin.holds(inc)) act.pin.raw -= inc;
  release_status(rd, ref, act.pin);
}

template <GrantPlatform P, std::size_t N, GrantLimits L>
void GrantTables<P, N, L>::release_for_copy(CopyBuf& buf) {
  if (buf.dom == nullptr) return;
  if (!buf.is_gref) {
    p_.put_frame(buf.frame, !buf.readonly);
  } else if (buf.transitive) {
    p_.put_frame(buf.frame, !buf.readonly);
    unpin_copy(*buf.inner_dom, buf.inner_ref, buf.readonly);
    unpin_copy(*buf.dom, buf.ref, buf.readonly);
  } else {
    p_.put_frame(buf.frame, !buf.readonly);
    unpin_copy(*buf.dom, buf.ref, buf.readonly);
  }
  buf.dom = nullptr;
}

template <GrantPlatform P, std::size_t N, GrantLimits L>
GrantStatus GrantTables<P, N, L>::claim_copy_side(DomId caller, const xen::GnttabCopyPtr& ptr, bool is_gref,
                                                  bool readonly, CopyBuf& buf) {
  // Only DOMID_SELF may name a frame directly.
  if (!is_gref && DomId{ptr.domid} != kDomidSelf) return GrantStatus::PermissionDenied;
  DomId id{};
  Domain* d = resolve(caller, DomId{ptr.domid}, id);
  if (d == nullptr) return GrantStatus::BadDomain;
  if (is_gref) return acquire_for_copy(*d, id, ptr.u.ref, caller, readonly, /*allow_transitive=*/true, buf);
  // A snapshot of the state is all this needs (the lock would be dropped right after reading
  // it anyway); the frame reference below is what keeps the frame usable during the copy.
  if (d->state.load(std::memory_order_acquire) != grant::DomainState::Live) return GrantStatus::BadDomain;
  const Mfn frame{ptr.u.gmfn};
  GrantStatus st = p_.get_frame(frame, caller, !readonly);  // frames must be the caller's own
  if (st != GrantStatus::Okay) return GrantStatus::BadPage;
  buf.dom = d;
  buf.id = id;
  buf.is_gref = false;
  buf.readonly = readonly;
  buf.frame = frame;
  buf.start = 0;
  buf.length = static_cast<std::uint16_t>(kPageSize);
  return GrantStatus::Okay;
}

template <GrantPlatform P, std::size_t N, GrantLimits L>
GrantStatus GrantTables<P, N, L>::copy(DomId caller, const xen::GnttabCopy& op) {
  // Never cross a page: checked before any side effect.
  if (static_cast<std::uint32_t>(op.source.offset) + op.len > kPageSize ||
      static_cast<std::uint32_t>(op.dest.offset) + op.len > kPageSize) {
    return GrantStatus::BadCopyArg;
  }
  CopyBuf src{}, dst{};
  GrantStatus st = claim_copy_side(caller, op.source, (op.flags & xen::kGntcopySourceGref) != 0, true, src);
  if (st != GrantStatus::Okay) return st;
  st = claim_copy_side(caller, op.dest, (op.flags & xen::kGntcopyDestGref) != 0, false, dst);
  if (st != GrantStatus::Okay) {
    release_for_copy(src);
    return st;
  }
  auto inside = [&](const CopyBuf& b, std::uint16_t off) {
    return off >= b.start && static_cast<std::uint32_t>(off) + op.len <= static_cast<std::uint32_t>(b.start) + b.length;
  };
  if (!inside(src, op.source.offset) || !inside(dst, op.dest.offset)) {
    st = GrantStatus::GeneralError;
  } else if (op.len != 0) {
    std::uint8_t* s = p_.frame_bytes(src.frame);
    std::uint8_t* d = p_.frame_bytes(dst.frame);
    if (s == nullptr || d == nullptr) {
      st = GrantStatus::GeneralError;
    } else {
      std::memmove(d + op.dest.offset, s + op.source.offset, op.len);
    }
  }
  release_for_copy(dst);
  release_for_copy(src);
  return st;
}

}  // namespace pvkit
