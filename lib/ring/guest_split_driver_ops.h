// pvkit/ring/guest_split_driver_ops.h — complete split-driver ops for a PV guest.
//
// What it is: `GuestSplitDriverOps<H, kMapSlots>` = GuestGrantOps (own grant table entries,
// GNTTABOP_map/unmap_grant_ref) + GuestEventOps (EVTCHNOP_alloc_unbound, _bind_interdomain,
// _send, _close), both issuing hypercalls through one HypercallInvoker. It satisfies
// FrontendOps and BackendOps, so a guest kernel can run FrontendChannel and BackendChannel
// with it unchanged.
//
// How to use it:
//   GuestSplitDriverOps<HypercallPage> ops{hcall, grant_table, nr_entries, map_window_va};
//   FrontendChannel<decltype(ops), Req, Rsp> ch;  ch.connect(ops, backend, page, page_mfn);
//
// Concurrency: as its two halves (one CPU at a time).
#pragma once

#include <cstdint>

#include "pvkit/base/status.h"
#include "pvkit/base/types.h"
#include "pvkit/grant/xen_abi.h"
#include "pvkit/ring/backend_ops.h"
#include "pvkit/ring/guest_event_ops.h"
#include "pvkit/ring/guest_grant_ops.h"
#include "pvkit/ring/hypercall_invoker.h"

namespace pvkit::ring {

/// FrontendOps and BackendOps for a PV guest: GuestGrantOps + GuestEventOps over one HypercallInvoker.
template <HypercallInvoker H, std::uint32_t kMapSlots = 4>
class GuestSplitDriverOps {
 public:
  GuestSplitDriverOps(H& h, xen::GrantEntryV1* table, std::uint32_t nr_entries,
                      std::uint64_t map_window)
      : grants_(h, table, nr_entries, map_window), events_(h) {}

  /// Grants `to` access to `frame`.
  [[nodiscard]] Result<GrantRef> grant_access(DomId to, Mfn frame, bool readonly) {
    return grants_.grant_access(to, frame, readonly);
  }
  /// Revokes a grant (Busy while the peer maps it).
  [[nodiscard]] Status end_access(GrantRef ref) { return grants_.end_access(ref); }
  /// Maps `granter`'s grant `ref`.
  [[nodiscard]] Result<MappedGrant> map_grant(DomId granter, GrantRef ref, bool readonly) {
    return grants_.map_grant(granter, ref, readonly);
  }
  /// Unmaps a mapping made by map_grant.
  [[nodiscard]] Status unmap_grant(const MappedGrant& m) { return grants_.unmap_grant(m); }
  /// EVTCHNOP_alloc_unbound for `remote`.
  [[nodiscard]] Result<EvtchnPort> alloc_unbound(DomId remote) { return events_.alloc_unbound(remote); }
  /// EVTCHNOP_bind_interdomain to `remote`'s `port`.
  [[nodiscard]] Result<EvtchnPort> bind_interdomain(DomId remote, EvtchnPort port) {
    return events_.bind_interdomain(remote, port);
  }
  /// EVTCHNOP_send.
  [[nodiscard]] Status notify(EvtchnPort port) { return events_.notify(port); }
  /// EVTCHNOP_close.
  [[nodiscard]] Status close(EvtchnPort port) { return events_.close(port); }

 private:
  GuestGrantOps<H, kMapSlots> grants_;
  GuestEventOps<H> events_;
};

}  // namespace pvkit::ring
