// pvkit/ring/frontend_ops.h — the operations a split-driver frontend needs from its platform.
//
// What it is: the `FrontendOps` concept. A frontend shares one page with its backend and hands
// it an event channel: it grants the backend access to a frame, allocates an unbound port
// for the backend, notifies through it, and undoes both. In a PV guest the implementation
// writes the guest's own grant-table entries and issues event_channel_op hypercalls; on the
// host, pvkit::host::ring::FakeXenWorld implements it over shared host memory; an in-
// hypervisor adapter can call lib/grant and lib/event directly.
//
//   grant_access(backend, frame, readonly) -> Result<GrantRef>  permit `backend` to map `frame`
//   end_access(ref)                        -> Status            revoke (Errno::Busy while mapped)
//   alloc_unbound(remote)                  -> Result<EvtchnPort> EVTCHNOP_alloc_unbound
//   notify(port)                           -> Status            EVTCHNOP_send
//   close(port)                            -> Status            EVTCHNOP_close
//
// Frames are machine frames (`Mfn`): a PV guest's grant entries name MFNs.
//
// How to use it: constrain a template parameter with it; see frontend_channel.h.
//
// Concurrency: implementations define their own; FrontendChannel calls them from one CPU.
#pragma once

#include <concepts>

#include "pvkit/base/status.h"
#include "pvkit/base/types.h"

namespace pvkit::ring {

/// What a split-driver frontend needs from its platform (see the file comment).
template <typename O>
concept FrontendOps = requires(O& o, DomId dom, Mfn frame, bool readonly, GrantRef ref,
                               EvtchnPort port) {
  { o.grant_access(dom, frame, readonly) } -> std::same_as<Result<GrantRef>>;
  { o.end_access(ref) } -> std::same_as<Status>;
  { o.alloc_unbound(dom) } -> std::same_as<Result<EvtchnPort>>;
  { o.notify(port) } -> std::same_as<Status>;
  { o.close(port) } -> std::same_as<Status>;
};

}  // namespace pvkit::ring
