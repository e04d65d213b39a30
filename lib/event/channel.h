// pvkit/event/channel.h — one event channel's hypervisor-private state, and the page-sized
// buckets that hold them.
//
// What it is: `Channel` (state, binding, notified vCPU, FIFO priority and queue bookkeeping,
// its own spin lock) and `ChannelBucket` (kPortsPerBucket channels filling one 4 KiB page from
// the platform's PageAllocator). Port p of a domain is bucket p / kPortsPerBucket, slot
// p % kPortsPerBucket. Port 0 is Reserved forever.
//
// How to use it: only EventChannels touches these. Binding fields (remote_dom, remote_port,
// value) are written with BOTH the domain's lock and the channel's lock held, so holding either
// is enough to read them consistently. `state`, `notify_vcpu`, `priority` and `last_queue` are
// atomics because the hot send path of another domain reads them holding only its own
// channel's lock.
//
// Concurrency: see above; the lock order is domain lock(s) -> channel lock(s) -> FIFO queue lock.
#pragma once

#include <atomic>
#include <cstdint>

#include "pvkit/base/spinlock.h"
#include "pvkit/base/types.h"
#include "pvkit/event/xen_abi.h"

namespace pvkit::event {

/// The port states of Xen's ECS_*.
enum class ChannelState : std::uint8_t {
  Free = 0,
  Reserved,     ///< port 0: never usable
  Unbound,      ///< waiting for `remote_dom` to bind
  Interdomain,  ///< connected to (remote_dom, remote_port)
  Pirq,         ///< bound to physical IRQ `value`
  Virq,         ///< bound to virtual IRQ `value`
  Ipi,          ///< intra-domain IPI to `notify_vcpu`
};

/// FIFO queue identity of an event: (vcpu, priority) packed as vcpu * 16 + priority.
constexpr std::uint32_t fifo_queue_key(std::uint32_t vcpu, std::uint32_t priority) {
  return vcpu * xen::kEvtchnFifoMaxQueues + priority;
}

/// One event channel (port): its state, binding, notify vCPU, FIFO priority and lock.
struct Channel {
  std::atomic<ChannelState> state{ChannelState::Free};
  /// FIFO priority (0 highest .. 15); default 7.
  std::atomic<std::uint8_t> priority{xen::kEvtchnFifoPriorityDefault};
  /// FIFO: an event arrived while the port had no event word yet; delivered by expand_array.
  std::atomic<bool> deferred_pending{false};
  SpinLock lock;
  /// The vCPU this channel notifies.
  std::atomic<std::uint32_t> notify_vcpu{0};
  /// FIFO: the queue the event was last linked on (fifo_queue_key). Only FIFO linking changes
  /// it, so "queue Q's private tail is this port" implies "last_queue is Q" (a stale tail can
  /// never make the hypervisor link across queues).
  std::atomic<std::uint32_t> last_queue{fifo_queue_key(0, xen::kEvtchnFifoPriorityDefault)};
  /// Unbound: the domain allowed to bind. Interdomain: the peer domain.
  std::uint16_t remote_dom = 0;
  /// Interdomain: the peer's port.
  std::uint32_t remote_port = 0;
  /// Virq: the VIRQ number. Pirq: the physical IRQ number.
  std::uint32_t value = 0;
};

inline constexpr std::uint32_t kPortsPerBucket = 4096 / 32;
static_assert(sizeof(Channel) <= 32, "a bucket of channels fills one page");

/// One page of channels.
struct ChannelBucket {
  Channel ch[kPortsPerBucket];
};
static_assert(sizeof(ChannelBucket) <= 4096);

/// Enough buckets for the largest port space (the FIFO ABI's 2^17 ports).
inline constexpr std::uint32_t kMaxBuckets = xen::kEvtchnFifoNrChannels / kPortsPerBucket;

}  // namespace pvkit::event
