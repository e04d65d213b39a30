// pvkit/ring/guest_grant_ops.h — the grant half of a PV guest's split-driver ops.
//
// What it is: `GuestGrantOps<H, kMapSlots>`, the grant_access / end_access / map_grant /
// unmap_grant operations of FrontendOps and BackendOps done the way a PV guest kernel does
// them. Granting and revoking write the guest's own v1 grant table (the frames it obtained
// with GNTTABOP_setup_table and mapped): domid and frame first, then the flags with release
// order; revoking clears the flags by compare-exchange only while neither GTF_reading nor
// GTF_writing is set (otherwise Errno::Busy: the peer still maps the page). Mapping issues
// HYPERVISOR_grant_table_op(GNTTABOP_map_grant_ref, &op, 1) with GNTMAP_host_map at a free
// page of a virtual window the guest reserved for grant mappings; unmapping issues
// GNTTABOP_unmap_grant_ref. A failing element status arrives via errno_from_gntst, a failing
// hypercall as its -errno. Struct layouts are pvkit/grant/xen_abi.h's.
//
// How to use it:
//   GuestGrantOps<HypercallPage, 8> gnt{hcall, my_grant_table, nr_entries, window_va};
//   auto ref = gnt.grant_access(backend, ring_mfn, false);
//   auto m = gnt.map_grant(frontend, ref_from_xenstore, false);   // m->addr in the window
//
// Concurrency: one CPU at a time (callers serialise); the table is shared with the
// hypervisor, which only ever sets and clears the status bits of entries it maps.
#pragma once

#include <cstdint>

#include "pvkit/base/status.h"
#include "pvkit/base/types.h"
#include "pvkit/grant/xen_abi.h"
#include "pvkit/hypercall/args.h"
#include "pvkit/ring/backend_ops.h"
#include "pvkit/ring/grant_errno.h"
#include "pvkit/ring/hypercall_invoker.h"
#include "pvkit/ring/xen_abi.h"

namespace pvkit::ring {

/// Guest-side grant operations: the guest's own grant entries, plus map/unmap hypercalls (kMapSlots mapping addresses).
template <HypercallInvoker H, std::uint32_t kMapSlots = 4>
class GuestGrantOps {
 public:
  /// Compare-exchange attempts of end_access against concurrent status-bit updates.
  static constexpr int kRevokeRetries = 16;

  /// `table`: the guest's view of its own v1 grant table, `nr_entries` entries.
  /// `map_window`: virtual address of kMapSlots consecutive pages reserved for mappings.
  GuestGrantOps(H& h, xen::GrantEntryV1* table, std::uint32_t nr_entries, std::uint64_t map_window)
      : h_(&h), table_(table), nr_entries_(nr_entries), window_(map_window) {}

  /// Writes a permit_access entry for `to` and `frame` in the first free non-reserved slot.
  /// Errno::Inval if the frame does not fit v1's 32-bit field, Errno::NoSpc if the table is full.
  [[nodiscard]] Result<GrantRef> grant_access(DomId to, Mfn frame, bool readonly) {
    if (frame.value() > UINT32_MAX) return Errno::Inval;
    for (std::uint32_t r = xen::kGnttabNrReservedEntries; r < nr_entries_; ++r) {
      xen::GrantEntryV1& e = table_[r];
      if (__atomic_load_n(&e.flags, __ATOMIC_ACQUIRE) != 0) continue;
      __atomic_store_n(&e.domid, to.value(), __ATOMIC_RELAXED);
      __atomic_store_n(&e.frame, static_cast<std::uint32_t>(frame.value()), __ATOMIC_RELAXED);
      const auto flags =
          static_cast<std::uint16_t>(xen::kGtfPermitAccess | (readonly ? xen::kGtfReadonly : 0));
      __atomic_store_n(&e.flags, flags, __ATOMIC_RELEASE);  // domid and frame first
      return GrantRef{r};
    }
    return Errno::NoSpc;
  }

  /// Revokes `ref`: Errno::Busy while the peer maps it (reading/writing set), Errno::Inval for
  /// a reserved, out-of-range or unused entry, Errno::Again if the entry kept changing.
  [[nodiscard]] Status end_access(GrantRef ref) {
    if (ref.value() < xen::kGnttabNrReservedEntries || ref.value() >= nr_entries_) return Errno::Inval;
    std::uint16_t* flags = &table_[ref.value()].flags;
    std::uint16_t cur = __atomic_load_n(flags, __ATOMIC_ACQUIRE);
    for (int i = 0; i < kRevokeRetries; ++i) {
      if ((cur & xen::kGtfTypeMask) != xen::kGtfPermitAccess) return Errno::Inval;
      if (cur & (xen::kGtfReading | xen::kGtfWriting)) return Errno::Busy;
      if (__atomic_compare_exchange_n(flags, &cur, std::uint16_t{0}, false, __ATOMIC_ACQ_REL,
                                      __ATOMIC_ACQUIRE)) {
        return Status::ok();
      }
    }
    return Errno::Again;
  }

  /// GNTTABOP_map_grant_ref of (`granter`, `ref`) at a free page of the window.
  [[nodiscard]] Result<MappedGrant> map_grant(DomId granter, GrantRef ref, bool readonly) {
    std::uint32_t slot = 0;
    while (slot < kMapSlots && used_[slot]) ++slot;
    if (slot == kMapSlots) return Errno::NoSpc;
    xen::GnttabMapGrantRef op{};
    op.host_addr = window_ + std::uint64_t{slot} * xen::kXenPageSize;
    op.flags = xen::kGntmapHostMap | (readonly ? xen::kGntmapReadonly : 0);
    op.ref = ref.value();
    op.dom = granter.value();
    if (auto s = grant_table_op(xen::kGnttabOpMapGrantRef, &op); !s) return s;
    if (op.status != 0) return errno_from_gntst(static_cast<xen::GntStatus>(op.status));
    used_[slot] = true;
    handles_[slot] = op.handle;
    return MappedGrant{reinterpret_cast<void*>(static_cast<std::uintptr_t>(op.host_addr)),
                       GrantHandle{op.handle}};
  }

  /// GNTTABOP_unmap_grant_ref of a mapping this object made. Errno::Inval for anything else.
  [[nodiscard]] Status unmap_grant(const MappedGrant& m) {
    const auto addr = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(m.addr));
    if (addr < window_ || (addr - window_) % xen::kXenPageSize != 0) return Errno::Inval;
    const std::uint64_t slot = (addr - window_) / xen::kXenPageSize;
    if (slot >= kMapSlots || !used_[slot] || handles_[slot] != m.handle.value()) return Errno::Inval;
    xen::GnttabUnmapGrantRef op{};
    op.host_addr = addr;
    op.handle = m.handle.value();
    if (auto s = grant_table_op(xen::kGnttabOpUnmapGrantRef, &op); !s) return s;
    if (op.status != 0) return errno_from_gntst(static_cast<xen::GntStatus>(op.status));
    used_[slot] = false;
    return Status::ok();
  }

 private:
  Status grant_table_op(std::uint32_t cmd, void* op) {
    HypercallArgs a{};
    a.nr = xen::kHypervisorGrantTableOp;
    a.a[0] = cmd;
    a.a[1] = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(op));
    a.a[2] = 1;  // one element
    return status_from_rax(h_->hypercall(a));
  }

  H* h_;
  xen::GrantEntryV1* table_;
  std::uint32_t nr_entries_;
  std::uint64_t window_;
  bool used_[kMapSlots] = {};
  std::uint32_t handles_[kMapSlots] = {};
};

}  // namespace pvkit::ring
