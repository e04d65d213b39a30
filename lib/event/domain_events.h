// pvkit/event/domain_events.h — one domain's event-channel state inside EventChannels.
//
// What it is: `DomainEvents<kMaxVcpus>`: the domain's event lock, lifecycle, configuration
// (vCPUs, guest width, port limit, privilege), its port buckets (allocated page by page from
// the platform as ports are used; `valid_ports` only grows while the domain lives and is
// published after the bucket it covers, invariant 15), the 2-level shared_info/vcpu_info
// pointers, the VIRQ and PIRQ bindings, the current ABI and its FIFO state.
//
// How to use it: internal to EventChannels; tests read it only through EventChannels.
//
// Concurrency: `lock` (the domain's event lock) serialises allocation, binding, closing,
// reset and ABI changes. Lookups of a valid port need no lock. `refs` counts short-lived
// references taken by other domains and by the hypervisor (raise_virq); destruction waits for
// them. `fifo_users` counts deliveries inside the FIFO code; FIFO teardown waits for them.
#pragma once

#include <atomic>
#include <cstdint>

#include "pvkit/base/spinlock.h"
#include "pvkit/base/types.h"
#include "pvkit/event/channel.h"
#include "pvkit/event/fifo.h"
#include "pvkit/event/xen_abi.h"

namespace pvkit::event {

/// The guest's word size: it selects the 2-level layout and port limit (invariant 16).
enum class GuestWidth : std::uint8_t { Bits64 = 64, Bits32 = 32 };

/// The event ABI a domain currently uses.
enum class EventAbi : std::uint8_t { TwoLevel = 0, Fifo = 1 };

/// Where a domain is in the event-channel life cycle.
enum class DomainLife : std::uint8_t { Absent = 0, Live, Dying };

/// How many PIRQs a domain may have at most (nr_pirqs is clamped to this).
inline constexpr std::uint32_t kMaxPirqs = 256;

/// What domain_create needs to know about a domain.
struct EventDomainConfig {
  std::uint32_t nr_vcpus = 1;
  GuestWidth width = GuestWidth::Bits64;
  /// Highest port number the domain may use (Xen's max_evtchn_port); also capped by the ABI.
  std::uint32_t max_port = xen::kEvtchnFifoNrChannels - 1;
  /// PIRQs 0 .. nr_pirqs-1 may be bound (still subject to EventPlatform::pirq_permitted).
  std::uint32_t nr_pirqs = 0;
  /// May act on other domains (alloc_unbound/status/reset with dom != DOMID_SELF).
  bool privileged = false;
  /// The domain's shared_info page (xen::SharedInfo or xen::CompatSharedInfo by width).
  void* shared_info = nullptr;
};

/// A domain's event-channel state: configuration, port buckets, per-vCPU info pointers, FIFO state.
template <std::uint32_t kMaxVcpus>
struct DomainEvents {
  SpinLock lock;
  std::atomic<DomainLife> life{DomainLife::Absent};
  std::atomic<std::uint32_t> refs{0};
  DomId id{};
  EventDomainConfig config{};
  std::atomic<std::uint32_t> valid_ports{0};
  std::atomic<ChannelBucket*> buckets[kMaxBuckets]{};
  /// Bound ports (not Free, not Reserved); under `lock`.
  std::uint32_t active_ports = 0;
  /// Every port in [1, free_hint) is in use; the free-port search starts here. Under `lock`.
  std::uint32_t free_hint = 1;
  /// Reset/destroy progress: next port to close (0: no reset in progress); under `lock`.
  std::uint32_t next_reset_port = 0;
  std::uint32_t next_destroy_port = 0;
  std::atomic<void*> vcpu_info[kMaxVcpus]{};
  std::atomic<std::uint32_t> virq_to_port[kMaxVcpus][xen::kNrVirqs]{};
  std::atomic<std::uint32_t> pirq_to_port[kMaxPirqs]{};
  std::atomic<EventAbi> abi{EventAbi::TwoLevel};
  std::atomic<std::uint32_t> fifo_users{0};
  FifoDomain<kMaxVcpus> fifo;

  /// The channel of a valid port, or nullptr. Lock-free; never returns a freed bucket while
  /// the domain lives (buckets are only freed by domain destruction).
  [[nodiscard]] Channel* lookup(std::uint32_t port) const {
    if (port >= valid_ports.load(std::memory_order_acquire)) return nullptr;
    ChannelBucket* b = buckets[port / kPortsPerBucket].load(std::memory_order_acquire);
    return b == nullptr ? nullptr : &b->ch[port % kPortsPerBucket];
  }
  /// The most ports the current ABI and the configuration allow.
  [[nodiscard]] std::uint32_t port_limit() const {
    std::uint32_t abi_limit = xen::kEvtchnFifoNrChannels;
    if (abi.load(std::memory_order_relaxed) == EventAbi::TwoLevel) {
      abi_limit = config.width == GuestWidth::Bits64 ? xen::kEvtchn2lNrChannels
                                                     : xen::kEvtchn2lNrChannelsCompat;
    }
    const std::uint64_t cfg = std::uint64_t{config.max_port} + 1;
    return cfg < abi_limit ? static_cast<std::uint32_t>(cfg) : abi_limit;
  }
  /// True if `v` is one of the domain's configured vCPUs.
  [[nodiscard]] bool vcpu_exists(std::uint32_t v) const { return v < config.nr_vcpus; }
};

}  // namespace pvkit::event
