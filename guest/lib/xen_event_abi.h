// pvkit/guest/xen_event_abi.h — the event_channel_op sub-ops a guest uses and their argument
// structs (event_channel.h), with named fields.
//
// What it is: the guest library's own definitions; //guest/test:abi_conformance_test checks
// them against /usr/include/xen/event_channel.h.
//
// How to use it: through pvkit/guest/event_channel.h (alloc_unbound, bind_interdomain, send,
// unmask, close, status), which fills these and calls HYPERVISOR_event_channel_op.
//
// Concurrency: plain value types.
#pragma once

#include <cstdint>

#include "pvkit/guest/xen_hypercall_abi.h"

namespace pvkit::guest::xen {

/// evtchn_port_t.
using EvtchnPort = std::uint32_t;

/// EVTCHNOP_* (event_channel.h).
inline constexpr std::uint32_t kEvtchnOpBindInterdomain = 0;
inline constexpr std::uint32_t kEvtchnOpBindVirq = 1;
inline constexpr std::uint32_t kEvtchnOpClose = 3;
inline constexpr std::uint32_t kEvtchnOpSend = 4;
inline constexpr std::uint32_t kEvtchnOpStatus = 5;
inline constexpr std::uint32_t kEvtchnOpAllocUnbound = 6;
inline constexpr std::uint32_t kEvtchnOpBindIpi = 7;
inline constexpr std::uint32_t kEvtchnOpUnmask = 9;

/// EVTCHNSTAT_* (evtchn_status.status).
inline constexpr std::uint32_t kEvtchnStatClosed = 0;
inline constexpr std::uint32_t kEvtchnStatUnbound = 1;
inline constexpr std::uint32_t kEvtchnStatInterdomain = 2;
inline constexpr std::uint32_t kEvtchnStatPirq = 3;
inline constexpr std::uint32_t kEvtchnStatVirq = 4;
inline constexpr std::uint32_t kEvtchnStatIpi = 5;

/// struct evtchn_alloc_unbound.
struct EvtchnAllocUnbound {
  DomId dom;          ///< IN: owner of the new port (DOMID_SELF)
  DomId remote_dom;   ///< IN: the only domain allowed to bind to it
  EvtchnPort port;    ///< OUT
};

/// struct evtchn_bind_interdomain.
struct EvtchnBindInterdomain {
  DomId remote_dom;        ///< IN
  std::uint16_t pad;
  EvtchnPort remote_port;  ///< IN: an unbound port of remote_dom naming us
  EvtchnPort local_port;   ///< OUT
};

/// struct evtchn_close / evtchn_send / evtchn_unmask: one port.
struct EvtchnClose {
  EvtchnPort port;
};
struct EvtchnSend {
  EvtchnPort port;
};
struct EvtchnUnmask {
  EvtchnPort port;
};

/// struct evtchn_status (the union's largest view is two u32s).
struct EvtchnStatus {
  DomId dom;            ///< IN
  std::uint16_t pad;
  EvtchnPort port;      ///< IN
  std::uint32_t status; ///< OUT: EVTCHNSTAT_*
  std::uint32_t vcpu;   ///< OUT
  union {
    struct {
      DomId dom;  ///< unbound: the domain allowed to bind
    } unbound;
    struct {
      DomId dom;
      std::uint16_t pad;
      EvtchnPort port;
    } interdomain;
    std::uint32_t pirq;
    std::uint32_t virq;
  } u;
};

static_assert(sizeof(EvtchnAllocUnbound) == 8);
static_assert(sizeof(EvtchnBindInterdomain) == 12);
static_assert(sizeof(EvtchnStatus) == 24);

}  // namespace pvkit::guest::xen
