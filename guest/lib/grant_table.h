// pvkit/guest/grant_table.h — the granter side of a v1 grant table (a frontend's view of its
// own shared entries).
//
// What it is: `GrantTable<NrEntries>` attaches to the guest's own grant-table frames (mapped
// by grant_ops.h's setup_grant_table, or any array in tests), hands out free references above
// the 8 reserved ones, and implements the two operations whose ordering matters:
//   grant_access: write domid and frame, write barrier, then the flags (GTF_permit_access,
//                 + GTF_readonly) — the peer can never see a permitted entry with a stale
//                 frame;
//   end_access:   revoke only while neither GTF_reading nor GTF_writing is set, with a
//                 compare-exchange of the flags to 0, so a mapping that starts concurrently
//                 either wins (revoke answers Errno::Busy) or finds the entry gone.
// No hypercalls: host tests play the hypervisor on a plain array.
//
// How to use it:
//   GrantTable<512> gt;  (void)gt.attach(entries, 512);
//   auto ref = gt.grant(peer, mfn, /*readonly=*/false);        // Result<GrantRef>
//   ... peer maps, uses, unmaps ...
//   if (auto s = gt.revoke(*ref); s.error() == Errno::Busy) { /* still mapped: retry later */ }
//
// Concurrency: the table object is private to one vCPU (or externally locked); the entries
// are shared with the hypervisor, which sets and clears GTF_reading/GTF_writing at any time.
#pragma once

#include <array>
#include <cstdint>

#include "pvkit/base/status.h"
#include "pvkit/guest/xen_grant_abi.h"

namespace pvkit::guest {

/// The guest's own v1 grant table of NrEntries entries: grant and revoke access to its frames.
template <std::uint32_t NrEntries>
class GrantTable {
  static_assert(NrEntries > xen::kGnttabNrReservedEntries);

 public:
  constexpr GrantTable() = default;
  GrantTable(const GrantTable&) = delete;
  GrantTable& operator=(const GrantTable&) = delete;

  /// Uses `nr` shared entries at `entries` (nr <= NrEntries). Errno::Inval otherwise.
  [[nodiscard]] Status attach(xen::GrantEntryV1* entries, std::uint32_t nr) {
    if (entries == nullptr || nr <= xen::kGnttabNrReservedEntries || nr > NrEntries) {
      return Errno::Inval;
    }
    entries_ = entries;
    nr_ = nr;
    used_ = {};
    return Status::ok();
  }
  /// Number of entries.
  [[nodiscard]] std::uint32_t size() const { return nr_; }

  /// Reserves a free reference (>= 8). Errno::NoSpc when every entry is in use.
  [[nodiscard]] Result<xen::GrantRef> claim() {
    for (std::uint32_t r = xen::kGnttabNrReservedEntries; r < nr_; ++r) {
      if (!is_used(r)) {
        set_used(r, true);
        return r;
      }
    }
    return Errno::NoSpc;
  }
  /// Returns a reference claimed earlier (its entry must already be revoked).
  void release(xen::GrantRef ref) {
    if (ref < nr_) set_used(ref, false);
  }

  /// Permits `domid` to map machine frame `frame` through `ref`. Errno::Inval for a reserved
  /// or out-of-range ref, Errno::Busy if the entry is still in use, Errno::Overflow if the
  /// frame does not fit v1's 32-bit field.
  [[nodiscard]] Status grant_access(xen::GrantRef ref, xen::DomId domid, std::uint64_t frame,
                                    bool readonly) {
    if (entries_ == nullptr || ref < xen::kGnttabNrReservedEntries || ref >= nr_) {
      return Errno::Inval;
    }
    if (frame > 0xFFFF'FFFFull) return Errno::Overflow;
    xen::GrantEntryV1& e = entries_[ref];
    if (__atomic_load_n(&e.flags, __ATOMIC_ACQUIRE) != xen::kGtfInvalid) return Errno::Busy;
    __atomic_store_n(&e.domid, domid, __ATOMIC_RELAXED);
    __atomic_store_n(&e.frame, static_cast<std::uint32_t>(frame), __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);  // domid and frame before the flags
    const std::uint16_t flags =
        static_cast<std::uint16_t>(xen::kGtfPermitAccess | (readonly ? xen::kGtfReadonly : 0));
    __atomic_store_n(&e.flags, flags, __ATOMIC_RELEASE);
    return Status::ok();
  }

  /// Revokes `ref` if the peer does not have it mapped. Errno::Busy while GTF_reading or
  /// GTF_writing is set (or the entry keeps changing under us); Errno::Inval for a bad ref or
  /// an entry that grants nothing.
  [[nodiscard]] Status end_access(xen::GrantRef ref) {
    if (entries_ == nullptr || ref < xen::kGnttabNrReservedEntries || ref >= nr_) {
      return Errno::Inval;
    }
    std::uint16_t* flags = &entries_[ref].flags;
    std::uint16_t seen = __atomic_load_n(flags, __ATOMIC_ACQUIRE);
    for (int attempt = 0; attempt < kRevokeAttempts; ++attempt) {
      if ((seen & xen::kGtfTypeMask) == xen::kGtfInvalid) return Errno::Inval;
      if ((seen & (xen::kGtfReading | xen::kGtfWriting)) != 0) return Errno::Busy;
      // On failure `seen` is refreshed with what the hypervisor wrote meanwhile.
      if (__atomic_compare_exchange_n(flags, &seen, std::uint16_t{0}, false, __ATOMIC_ACQ_REL,
                                      __ATOMIC_ACQUIRE)) {
        return Status::ok();
      }
    }
    return Errno::Busy;
  }

  /// claim + grant_access.
  [[nodiscard]] Result<xen::GrantRef> grant(xen::DomId domid, std::uint64_t frame,
                                            bool readonly) {
    auto ref = claim();
    if (!ref) return ref.status();
    if (auto s = grant_access(*ref, domid, frame, readonly); !s) {
      release(*ref);
      return s;
    }
    return *ref;
  }

  /// end_access + release.
  [[nodiscard]] Status revoke(xen::GrantRef ref) {
    if (auto s = end_access(ref); !s) return s;
    release(ref);
    return Status::ok();
  }

  /// The entry's current flags (diagnostics, tests).
  [[nodiscard]] std::uint16_t flags(xen::GrantRef ref) const {
    return ref < nr_ ? __atomic_load_n(&entries_[ref].flags, __ATOMIC_ACQUIRE) : 0;
  }

 private:
  static constexpr int kRevokeAttempts = 16;
  [[nodiscard]] bool is_used(std::uint32_t r) const { return (used_[r / 64] >> (r % 64)) & 1; }
  void set_used(std::uint32_t r, bool v) {
    const std::uint64_t bit = std::uint64_t{1} << (r % 64);
    used_[r / 64] = v ? (used_[r / 64] | bit) : (used_[r / 64] & ~bit);
  }

  xen::GrantEntryV1* entries_ = nullptr;
  std::uint32_t nr_ = 0;
  std::array<std::uint64_t, (NrEntries + 63) / 64> used_{};
};

}  // namespace pvkit::guest
