// pvkit/guest/xen_event_abi.h — the event_channel_op sub-ops a guest uses and their argument
// structs (event_channel.h).
//
// What it is: the guest library's names for pvkit's own definitions (pvkit/event/xen_abi.h,
// the structs the hypervisor's handler copies in and out); //guest/test:abi_conformance_test
// checks them against /usr/include/xen/event_channel.h.
//
// How to use it: through pvkit/guest/event_channel.h (alloc_unbound, bind_interdomain, send,
// unmask, close, status), which fills these and calls HYPERVISOR_event_channel_op.
//
// Concurrency: plain value types.
#pragma once

#include <cstdint>

#include "pvkit/event/xen_abi.h"
#include "pvkit/guest/xen_hypercall_abi.h"

namespace pvkit::guest::xen {

/// evtchn_port_t.
using EvtchnPort = pvkit::xen::EvtchnPortRaw;

/// EVTCHNOP_* (event_channel.h).
using pvkit::xen::kEvtchnOpAllocUnbound;
using pvkit::xen::kEvtchnOpBindInterdomain;
using pvkit::xen::kEvtchnOpBindIpi;
using pvkit::xen::kEvtchnOpBindVirq;
using pvkit::xen::kEvtchnOpClose;
using pvkit::xen::kEvtchnOpSend;
using pvkit::xen::kEvtchnOpStatus;
using pvkit::xen::kEvtchnOpUnmask;

/// EVTCHNSTAT_* (evtchn_status.status).
using pvkit::xen::kEvtchnStatClosed;
using pvkit::xen::kEvtchnStatInterdomain;
using pvkit::xen::kEvtchnStatIpi;
using pvkit::xen::kEvtchnStatPirq;
using pvkit::xen::kEvtchnStatUnbound;
using pvkit::xen::kEvtchnStatVirq;

/// Argument structs: alloc_unbound {dom, remote_dom, OUT port}, bind_interdomain
/// {remote_dom, remote_port, OUT local_port}, close/send/unmask {port}, status.
using pvkit::xen::EvtchnAllocUnbound;
using pvkit::xen::EvtchnBindInterdomain;
using pvkit::xen::EvtchnClose;
using pvkit::xen::EvtchnSend;
using pvkit::xen::EvtchnStatus;
using pvkit::xen::EvtchnUnmask;

}  // namespace pvkit::guest::xen
