// pvkit/guest/event_channel.h — event-channel operations of a guest kernel
// (HYPERVISOR_event_channel_op): allocate an unbound port for a peer, bind to a peer's port,
// send, unmask, close, query status.
//
// What it is: thin typed wrappers that fill the argument structs of xen_event_abi.h and map
// the result onto pvkit::Status / Result (the Xen errno, unchanged).
//
// How to use it:
//   auto port = evtchn_alloc_unbound(peer);           // frontend: advertise *port to peer
//   auto local = evtchn_bind_interdomain(peer, port);  // backend
//   (void)evtchn_send(*local);
//
// Concurrency: each call is one hypercall on the calling vCPU.
#pragma once

#include <cstdint>

#include "pvkit/base/status.h"
#include "pvkit/guest/hypercall.h"
#include "pvkit/guest/memory.h"
#include "pvkit/guest/xen_event_abi.h"

namespace pvkit::guest {

/// EVTCHNOP_alloc_unbound: a new local port that only `remote` may bind to.
inline Result<xen::EvtchnPort> evtchn_alloc_unbound(xen::DomId remote) {
  xen::EvtchnAllocUnbound op{xen::kDomIdSelf, remote, 0};
  const long rc = HYPERVISOR_event_channel_op(xen::kEvtchnOpAllocUnbound, &op);
  if (rc < 0) return status_from_rc(rc);
  return op.port;
}

/// EVTCHNOP_bind_interdomain: connects a new local port to `remote_port` of `remote`.
inline Result<xen::EvtchnPort> evtchn_bind_interdomain(xen::DomId remote,
                                                       xen::EvtchnPort remote_port) {
  xen::EvtchnBindInterdomain op{remote, remote_port, 0};
  const long rc = HYPERVISOR_event_channel_op(xen::kEvtchnOpBindInterdomain, &op);
  if (rc < 0) return status_from_rc(rc);
  return op.local_port;
}

/// EVTCHNOP_send.
inline Status evtchn_send(xen::EvtchnPort port) {
  xen::EvtchnSend op{port};
  return status_from_rc(HYPERVISOR_event_channel_op(xen::kEvtchnOpSend, &op));
}

/// EVTCHNOP_unmask: clears the mask bit and re-raises the upcall if the port is pending.
inline Status evtchn_unmask(xen::EvtchnPort port) {
  xen::EvtchnUnmask op{port};
  return status_from_rc(HYPERVISOR_event_channel_op(xen::kEvtchnOpUnmask, &op));
}

/// EVTCHNOP_close.
inline Status evtchn_close(xen::EvtchnPort port) {
  xen::EvtchnClose op{port};
  return status_from_rc(HYPERVISOR_event_channel_op(xen::kEvtchnOpClose, &op));
}

/// EVTCHNOP_status of one of our ports.
inline Result<xen::EvtchnStatus> evtchn_status(xen::EvtchnPort port) {
  xen::EvtchnStatus op{};
  op.dom = xen::kDomIdSelf;
  op.port = port;
  const long rc = HYPERVISOR_event_channel_op(xen::kEvtchnOpStatus, &op);
  if (rc < 0) return status_from_rc(rc);
  return op;
}

}  // namespace pvkit::guest
