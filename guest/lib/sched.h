// pvkit/guest/sched.h — scheduler operations of a guest kernel (HYPERVISOR_sched_op).
//
// What it is: `shutdown(reason)` (SCHEDOP_shutdown; never returns — if the hypervisor
// refuses, the vCPU spins on SCHEDOP_yield), `yield()` and `block()` (SCHEDOP_block: sleep
// until an event is pending; Xen unmasks upcalls on the way in, so call it with events masked
// after checking the wake-up condition, and the pending upcall runs as it returns).
//
// How to use it:
//   for (;;) { events_disable(); if (done) break; block(); }   // sleep until `done`
//   shutdown(xen::kShutdownPoweroff);
//
// Concurrency: affects the calling vCPU (shutdown: the whole domain).
#pragma once

#include <cstdint>

#include "pvkit/guest/hypercall.h"
#include "pvkit/guest/xen_hypercall_abi.h"

namespace pvkit::guest {

/// SCHEDOP_yield.
inline long yield() { return HYPERVISOR_sched_op(xen::kSchedOpYield, nullptr); }

/// SCHEDOP_block.
inline long block() { return HYPERVISOR_sched_op(xen::kSchedOpBlock, nullptr); }

/// SCHEDOP_shutdown(reason); does not return.
[[noreturn]] inline void shutdown(std::uint32_t reason) {
  xen::SchedShutdown arg{reason};
  for (;;) {
    (void)HYPERVISOR_sched_op(xen::kSchedOpShutdown, &arg);
    (void)yield();  // refused or not yet effective: never run on
  }
}

}  // namespace pvkit::guest
