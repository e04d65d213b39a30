// appliance_platform.h — the appliance's own platform bundle for pvkit's primitives.
//
// What it is: the appliance's choices, made outside pvkit:
//   - limits: 2 domains, 1 vCPU each, at most 7 event-channel ports per guest (Xen allows
//     4095 with the 2-level ABI), 16 pages of guest memory, 4 pages for event buckets;
//   - `ApplianceEventPlatform`, its pvkit::event::EventPlatform: hypervisor pages from a
//     fixed pool in .bss, no guest frame mapping (the appliance offers only the 2-level ABI in
//     shared_info, so EVTCHNOP_init_control and expand_array answer -EINVAL), no PIRQs, and a
//     kick that only counts (one vCPU, it is running whenever an event is raised);
//   - `ApplianceTable`, its hypercall table: pvkit's standard handlers, minus console_io,
//     plus its own `appliance_op` (appliance_op.h), composed with pvkit's extension point.
// The per-call context that satisfies every handler's concept is in main.cc (it needs the
// CPU layer); the concepts are checked there with static_assert.
//
// How to use it: `Events ev{platform}; ev.domain_create(id, guest_event_config(si));`.
//
// Concurrency: the appliance runs on one CPU with interrupts off in hypervisor code.
#pragma once

#include <cstddef>
#include <cstdint>

#include "appliance/appliance_op.h"
#include "pvkit/arch/x86/mm/static_page_pool.h"
#include "pvkit/base/status.h"
#include "pvkit/base/types.h"
#include "pvkit/event/event_channels.h"
#include "pvkit/event/event_platform.h"
#include "pvkit/event/evtchn_op.h"
#include "pvkit/hypercall/console_io.h"
#include "pvkit/hypercall/table.h"
#include "pvkit/hypercall/vm_assist.h"
#include "pvkit/hypercall/xen_version.h"
#include "pvkit/xen/hypercall_numbers.h"

namespace appliance {

/// Domains the appliance can hold (domain 0 is the hypervisor's own slot, 1 the guest).
inline constexpr std::size_t kMaxDomains = 2;
/// vCPUs per domain.
inline constexpr std::uint32_t kMaxVcpus = 1;
/// Highest event-channel port a guest may use (Xen's max_evtchn_port): ports 1..7.
inline constexpr std::uint32_t kMaxEvtchnPort = 7;
/// Pages of guest memory (code, stack) and of hypervisor pages for event-channel buckets.
inline constexpr std::size_t kGuestPages = 16;
inline constexpr std::size_t kEventPages = 4;

/// The appliance's EventPlatform (see the file comment).
struct ApplianceEventPlatform {
  pvkit::x86::StaticPagePool<kEventPages> pages{};
  std::uint64_t kicks = 0;

  /// Hypervisor-private pages for port buckets (nullptr when the pool is exhausted).
  void* alloc_page() { return pages.alloc_page(); }
  /// Returns a page from alloc_page().
  void free_page(void* p) { pages.free_page(p); }
  /// The appliance maps no guest frames: FIFO control blocks are refused (-EINVAL to guests).
  pvkit::Result<void*> map_guest_frame(pvkit::DomId, pvkit::Gfn) { return pvkit::Errno::Inval; }
  /// Never called: nothing is ever mapped.
  void unmap_guest_frame(pvkit::DomId, void*) {}
  /// The single vCPU is running whenever an event is raised: counting is enough.
  void kick(pvkit::DomId, pvkit::VcpuId) { ++kicks; }
  /// No physical IRQs are passed through.
  bool pirq_permitted(pvkit::DomId, std::uint32_t) { return false; }
};
static_assert(pvkit::event::EventPlatform<ApplianceEventPlatform>);

/// The appliance's event channels: pvkit's EventChannels with the appliance's limits.
using Events = pvkit::event::EventChannels<ApplianceEventPlatform, kMaxDomains, kMaxVcpus>;

/// The guest's event-channel configuration: 2-level ABI in `shared_info`, the port limit.
inline pvkit::event::EventDomainConfig guest_event_config(void* shared_info) {
  return {.nr_vcpus = 1, .max_port = kMaxEvtchnPort, .shared_info = shared_info};
}

/// What pvkit offers off the shelf (the same handler types pvkit's own images use) ...
using StandardTable =
    pvkit::HypercallTable<pvkit::XenVersion, pvkit::ConsoleIo, pvkit::VmAssist, pvkit::EventChannelOp>;
/// ... and the appliance's table: console_io removed, appliance_op added. Each step is a new
/// type checked at compile time (`add` refuses a number that is taken).
using ApplianceTable = StandardTable::without<pvkit::xen::hc::kConsoleIo>::add<ApplianceOp>;

static_assert(StandardTable::contains(pvkit::xen::hc::kConsoleIo));
static_assert(!ApplianceTable::contains(pvkit::xen::hc::kConsoleIo));
static_assert(ApplianceTable::contains(kApplianceOpNumber));
static_assert(ApplianceTable::contains(pvkit::xen::hc::kEventChannelOp));

}  // namespace appliance
