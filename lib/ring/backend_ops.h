// pvkit/ring/backend_ops.h — the operations a split-driver backend needs from its platform.
//
// What it is: the `BackendOps` concept and `MappedGrant`. A backend maps the page a frontend
// granted it, binds to the port the frontend allocated for it, notifies through that port,
// and undoes both. In a PV guest (a driver domain) the implementation issues grant_table_op
// map/unmap and event_channel_op hypercalls; on the host, pvkit::host::ring::FakeXenWorld
// implements it over shared host memory.
//
//   map_grant(granter, ref, readonly)   -> Result<MappedGrant>  GNTTABOP_map_grant_ref; a
//                                          failing GNTST code arrives via errno_from_gntst
//   unmap_grant(mapping)                -> Status               GNTTABOP_unmap_grant_ref
//   bind_interdomain(remote, rport)     -> Result<EvtchnPort>   EVTCHNOP_bind_interdomain
//   notify(port)                        -> Status               EVTCHNOP_send
//   close(port)                         -> Status               EVTCHNOP_close
//
// How to use it: constrain a template parameter with it; see backend_channel.h.
//
// Concurrency: implementations define their own; BackendChannel calls them from one CPU.
#pragma once

#include <concepts>

#include "pvkit/base/status.h"
#include "pvkit/base/types.h"

namespace pvkit::ring {

/// A granted frame as the mapping domain sees it: where it is mapped and the maptrack handle
/// that unmaps it.
struct MappedGrant {
  void* addr = nullptr;
  GrantHandle handle{};
};

/// What a split-driver backend needs from its platform (see the file comment).
template <typename O>
concept BackendOps = requires(O& o, DomId dom, GrantRef ref, bool readonly,
                              const MappedGrant& mapping, EvtchnPort port) {
  { o.map_grant(dom, ref, readonly) } -> std::same_as<Result<MappedGrant>>;
  { o.unmap_grant(mapping) } -> std::same_as<Status>;
  { o.bind_interdomain(dom, port) } -> std::same_as<Result<EvtchnPort>>;
  { o.notify(port) } -> std::same_as<Status>;
  { o.close(port) } -> std::same_as<Status>;
};

}  // namespace pvkit::ring
