// pvkit/grant/grant_transfer.h — GNTTABOP_transfer: giving a page to another domain.
//
// What it is: the member definition of GrantTables::transfer. The receiver must have an
// entry of exactly GTF_accept_transfer naming the sender; pvkit commits it by compare-exchange
// (GTF_transfer_committed), takes the frame from the sender through the frame database (it
// must be the sender's and otherwise unused), assigns it to the receiver (ownership change
// wipes all type state: invariant 14), writes the frame number into the entry, and only then
// sets GTF_transfer_completed. Any failure after the commit undoes it; a stolen frame whose
// assignment fails goes back to the sender, so no failure loses or leaks a page.
//
// How to use it: included by grant_tables.h; one call per gnttab_transfer element.
//
// Concurrency: holds only the receiver's grant lock; the frame database serialises frames.
#pragma once

#include "pvkit/grant/grant_tables.h"

namespace pvkit {

template <GrantPlatform P, std::size_t N, GrantLimits L>
GrantStatus GrantTables<P, N, L>::transfer(DomId caller, std::uint64_t mfn, DomId to, GrantRef ref) {
  Domain* sd = slot(caller);
  if (sd == nullptr) return GrantStatus::GeneralError;
  Domain* e = slot(to);  // DOMID_SELF is not accepted, as in Xen
  if (e == nullptr) return GrantStatus::BadDomain;
  LockGuard g(e->lock);
  if (e->state != grant::DomainState::Live) return GrantStatus::BadDomain;
  if (ref.value() >= e->nr_entries()) return GrantStatus::GeneralError;  // Xen: "bad ref" -> general
  if (e->version == 1 && mfn > 0xFFFFFFFFull) return GrantStatus::AddressTooBig;

  std::uint32_t* hw = e->header_word(ref.value());
  std::uint32_t cur = grant::shared_load32(hw);
  for (std::uint32_t tries = 0;; ++tries) {
    const grant::HeaderWord w{cur};
    if (w.flags() != xen::kGtfAcceptTransfer || w.domid() != caller) return GrantStatus::GeneralError;
    if (grant::shared_cas32(hw, cur, w.with_flags(xen::kGtfTransferCommitted).raw())) break;
    if (tries + 1 >= L::kCasRetries) return GrantStatus::GeneralError;
  }
  std::uint16_t* fw = e->flags_word(ref.value());
  GrantStatus st = p_.steal_frame(caller, Mfn{mfn});
  if (st != GrantStatus::Okay) {
    grant::shared_clear_bits16(fw, xen::kGtfTransferCommitted);
    return st;
  }
  st = p_.assign_frame(to, Mfn{mfn});
  if (st != GrantStatus::Okay) {
    static_cast<void>(p_.assign_frame(caller, Mfn{mfn}));  // give it back
    grant::shared_clear_bits16(fw, xen::kGtfTransferCommitted);
    return st;
  }
  if (e->version == 1) {
    grant::shared_store32(e->v1_frame(ref.value()), static_cast<std::uint32_t>(mfn));
  } else {
    grant::shared_store64(e->v2_frame(ref.value()), mfn);
  }
  grant::full_fence();  // frame visible before "completed"
  grant::shared_set_bits16(fw, xen::kGtfTransferCompleted);
  return GrantStatus::Okay;
}

}  // namespace pvkit
