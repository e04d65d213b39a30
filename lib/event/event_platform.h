// pvkit/event/event_platform.h — what event channels need from a platform.
//
// What it is: the `EventPlatform` concept. Besides hypervisor-private pages (PageAllocator:
// port buckets), event channels need to
//   - map a guest frame that the guest named (FIFO control blocks, event-array pages):
//       map_guest_frame(DomId, Gfn) -> Result<void*>: a hypervisor pointer to the whole 4 KiB
//       frame, or an error (any Errno; reported to the guest as -EINVAL, as Xen does) when the
//       frame is not the domain's own ordinary RAM. The mapping holds whatever reference
//       keeps the frame alive until unmap_guest_frame(DomId, void*) drops it.
//   - kick(DomId, VcpuId): make the vCPU notice its new upcall_pending (an IPI, a wake-up).
//   - pirq_permitted(DomId, pirq) -> bool: whether the domain may bind that physical IRQ.
//
// How to use it: a platform passes one object satisfying this concept to EventChannels.
// The host platform's is pvkit::host::HostEventPlatform (platforms/host/event/).
//
// Concurrency: all calls may come from several CPUs at once, with event-channel spin locks
// held; kick() must not block or call back into event channels.
#pragma once

#include <concepts>
#include <cstdint>

#include "pvkit/base/page_allocator.h"
#include "pvkit/base/status.h"
#include "pvkit/base/types.h"

namespace pvkit::event {

/// What event channels need from a platform (see the file comment).
template <typename P>
concept EventPlatform =
    PageAllocator<P> && requires(P& p, DomId d, VcpuId v, Gfn g, void* page, std::uint32_t irq) {
      { p.map_guest_frame(d, g) } -> std::same_as<Result<void*>>;
      { p.unmap_guest_frame(d, page) } -> std::same_as<void>;
      { p.kick(d, v) } -> std::same_as<void>;
      { p.pirq_permitted(d, irq) } -> std::same_as<bool>;
    };

}  // namespace pvkit::event
