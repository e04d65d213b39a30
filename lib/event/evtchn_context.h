// pvkit/event/evtchn_context.h — what the event_channel_op handler needs from its context.
//
// What it is: the `EvtchnHypercallContext` concept. The platform that composes the hypervisor
// defines a per-call context type; for HYPERVISOR_event_channel_op it must offer
//   ctx.guest_memory()    -> a GuestMemory& of the calling vCPU's address space,
//   ctx.current_domain()  -> DomId of the caller,
//   ctx.current_vcpu()    -> VcpuId of the caller,
//   ctx.evtchn()          -> the EventChannels object (any instantiation).
//
// How to use it: `static_assert(pvkit::event::EvtchnHypercallContext<MyCtx>);`.
//
// Concurrency: a context belongs to one vCPU's hypercall.
#pragma once

#include <concepts>
#include <type_traits>

#include "pvkit/base/guest_memory.h"
#include "pvkit/base/status.h"
#include "pvkit/base/types.h"

namespace pvkit::event {

/// What EventChannelOp needs from the per-call context (see the file comment).
template <typename C>
concept EvtchnHypercallContext = requires(C& c) {
  requires GuestMemory<std::remove_reference_t<decltype(c.guest_memory())>>;
  { c.current_domain() } -> std::same_as<DomId>;
  { c.current_vcpu() } -> std::same_as<VcpuId>;
  { c.evtchn().send(DomId{}, EvtchnPort{}) } -> std::same_as<Status>;
};

}  // namespace pvkit::event
