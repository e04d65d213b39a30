// pvkit/event/event_core.h — the machinery under EventChannels: domains, ports, delivery.
//
// What it is: `EventCore<Platform, kMaxDomains, kMaxVcpus>`, the base of EventChannels
// (pvkit/event/event_channels.h). It owns the per-domain state (DomainEvents), creates and
// destroys it, finds and allocates ports (buckets from the platform's PageAllocator, published
// before the validity bound: invariant 15), closes ports (with the fixed two-domain /
// two-channel lock order and re-checks after re-locking), and delivers events through the
// domain's current ABI (2-level or FIFO), marking the vCPU's upcall and kicking it through
// the platform. EventChannels adds the EVTCHNOP_* sub-ops and the hypervisor's event sources.
//
// How to use it: through EventChannels. Lifecycle and inspection calls are public here:
//   ev.domain_create(DomId{1}, {.nr_vcpus = 2, .shared_info = si_page});
//   while (ev.domain_destroy(DomId{1}).is_restart()) {}   // bounded steps
//
// Concurrency: every call may run concurrently on any CPU. Lock order: domain event locks
// (two: lock_two by domain id) -> channel locks (two: lock_two by (domain, port)) -> one FIFO
// queue lock. Contract with the platform: domain_destroy(d) is called once d's own vCPUs can no
// longer make hypercalls, by one thread; other domains and the hypervisor may keep acting on d
// meanwhile (they get -ESRCH or are dropped once d is dying).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>

#include "pvkit/base/spinlock.h"
#include "pvkit/base/status.h"
#include "pvkit/base/types.h"
#include "pvkit/event/channel.h"
#include "pvkit/event/domain_events.h"
#include "pvkit/event/event_platform.h"
#include "pvkit/event/fifo.h"
#include "pvkit/event/shared_info_abi.h"
#include "pvkit/event/two_level.h"
#include "pvkit/event/xen_abi.h"

namespace pvkit::event {

/// Ports closed per step of EVTCHNOP_reset or domain_destroy before they yield (invariant 17).
inline constexpr std::uint32_t kTeardownChunk = 128;

/// The base of EventChannels: domains, port storage, locking and delivery.
template <EventPlatform P, std::size_t kMaxDomains, std::uint32_t kMaxVcpus>
class EventCore {
 public:
  using Platform = P;
  using Domain = DomainEvents<kMaxVcpus>;
  /// The domain capacity (DomIds 0 .. kMaxDomains-1).
  static constexpr std::size_t max_domains() { return kMaxDomains; }
  /// The vCPUs per domain the object can hold.
  static constexpr std::uint32_t max_vcpus() { return kMaxVcpus; }

  constexpr explicit EventCore(P& platform) : platform_(platform) {}
  EventCore(const EventCore&) = delete;
  EventCore& operator=(const EventCore&) = delete;

  // ------------------------------------------------------------------ domain lifecycle

  /// Creates domain `id`'s event state. -EINVAL for a bad id/config, -EEXIST if it exists.
  [[nodiscard]] Status domain_create(DomId id, const EventDomainConfig& cfg) {
    Domain* d = slot(id);
    if (d == nullptr || cfg.nr_vcpus == 0 || cfg.nr_vcpus > kMaxVcpus ||
        cfg.shared_info == nullptr) {
      return Errno::Inval;
    }
    LockGuard g(d->lock);
    if (d->life.load(std::memory_order_relaxed) != DomainLife::Absent) return Errno::Exist;
    d->id = id;
    d->config = cfg;
    if (d->config.nr_pirqs > kMaxPirqs) d->config.nr_pirqs = kMaxPirqs;
    d->active_ports = 0;
    d->free_hint = 1;
    d->next_reset_port = 0;
    d->next_destroy_port = 0;
    for (std::uint32_t v = 0; v < kMaxVcpus; ++v) {
      void* vi = nullptr;
      if (v < cfg.nr_vcpus && v < xen::kLegacyMaxVcpus) {
        vi = cfg.width == GuestWidth::Bits64
                 ? static_cast<void*>(&static_cast<xen::SharedInfo*>(cfg.shared_info)->vcpu_info[v])
                 : static_cast<void*>(
                       &static_cast<xen::CompatSharedInfo*>(cfg.shared_info)->vcpu_info[v]);
      }
      d->vcpu_info[v].store(vi, std::memory_order_relaxed);
      for (auto& p : d->virq_to_port[v]) p.store(0, std::memory_order_relaxed);
    }
    for (auto& p : d->pirq_to_port) p.store(0, std::memory_order_relaxed);
    d->abi.store(EventAbi::TwoLevel, std::memory_order_relaxed);
    d->life.store(DomainLife::Live, std::memory_order_release);
    return Status::ok();
  }

  /// Tears domain `id` down: closes every port (peers revert to unbound), drops FIFO
  /// mappings, frees the buckets. Bounded work per call: returns Errno::Restart while work
  /// remains (call again), ok when done, -ESRCH/-EINVAL for an unknown id.
  [[nodiscard]] Status domain_destroy(DomId id) {
    Domain* d = slot(id);
    if (d == nullptr) return Errno::Inval;
    DomainLife life = d->life.load(std::memory_order_seq_cst);
    if (life == DomainLife::Absent) return Errno::Srch;
    if (life == DomainLife::Live) d->life.store(DomainLife::Dying, std::memory_order_seq_cst);
    // Wait for the short-lived references other CPUs hold (they never wait on us).
    while (d->refs.load(std::memory_order_seq_cst) != 0) cpu_relax();

    d->lock.lock();
    const std::uint32_t start = d->next_destroy_port == 0 ? 1 : d->next_destroy_port;
    d->lock.unlock();
    const std::uint32_t valid = d->valid_ports.load(std::memory_order_acquire);
    const std::uint32_t end = start + kTeardownChunk < valid ? start + kTeardownChunk : valid;
    for (std::uint32_t p = start; p < end; ++p) (void)close_port(*d, p);

    LockGuard g(d->lock);
    if (end < d->valid_ports.load(std::memory_order_relaxed)) {
      d->next_destroy_port = end;
      return Errno::Restart;
    }
    switch_to_two_level(*d);
    const std::uint32_t nb = d->valid_ports.load(std::memory_order_relaxed) / kPortsPerBucket;
    d->valid_ports.store(0, std::memory_order_release);
    for (std::uint32_t b = 0; b < nb; ++b) {
      ChannelBucket* bucket = d->buckets[b].exchange(nullptr, std::memory_order_acq_rel);
      if (bucket != nullptr) {
        bucket->~ChannelBucket();
        platform_.free_page(bucket);
      }
    }
    d->next_destroy_port = 0;
    d->next_reset_port = 0;
    d->active_ports = 0;
    d->life.store(DomainLife::Absent, std::memory_order_release);
    return Status::ok();
  }

  /// Moves vCPU `vcpu`'s vcpu_info (VCPUOP_register_vcpu_info). The previous mapping must stay
  /// valid until the domain is destroyed (a delivery may still be using it).
  [[nodiscard]] Status set_vcpu_info(DomId id, VcpuId vcpu, void* vcpu_info) {
    Domain* d = live(id);
    if (d == nullptr) return Errno::Srch;
    if (!d->vcpu_exists(vcpu.value()) || vcpu.value() >= kMaxVcpus) return Errno::NoEnt;
    d->vcpu_info[vcpu.value()].store(vcpu_info, std::memory_order_release);
    return Status::ok();
  }

  // ------------------------------------------------------------------ inspection

  /// Whether `port` of `dom` is pending under its current ABI (SCHEDOP_poll uses this).
  /// False for unknown domains and invalid ports (invariant 19).
  [[nodiscard]] bool is_pending(DomId dom, EvtchnPort port) {
    DomainRef ref(*this, dom);
    if (!ref) return false;
    Domain& d = *ref;
    if (d.lookup(port.value()) == nullptr) return false;
    bool pending = false;
    if (!with_fifo(d, [&] { pending = d.fifo.is_pending(port.value()); })) {
      pending = two_level_op(d, port.value(), [&](auto* s, auto*) {
        return two_level_is_pending(s, port.value());
      }, 0);
    }
    return pending;
  }

  /// The domain's current event ABI (TwoLevel for unknown domains).
  [[nodiscard]] EventAbi abi(DomId dom) const {
    const Domain* d = slot(dom);
    return d == nullptr ? EventAbi::TwoLevel : d->abi.load(std::memory_order_acquire);
  }
  /// Ports with buckets (the validity bound); 0 for unknown domains. For tests.
  [[nodiscard]] std::uint32_t valid_ports(DomId dom) const {
    const Domain* d = slot(dom);
    return d == nullptr ? 0 : d->valid_ports.load(std::memory_order_acquire);
  }
  /// Whether the domain exists and is not being destroyed.
  [[nodiscard]] bool domain_live(DomId dom) const {
    const Domain* d = slot(dom);
    return d != nullptr && d->life.load(std::memory_order_acquire) == DomainLife::Live;
  }

 protected:
  /// A short-lived reference that keeps a live domain from being torn down.
  class DomainRef {
   public:
    DomainRef(EventCore& ec, DomId id) {
      Domain* d = ec.slot(id);
      if (d == nullptr) return;
      d->refs.fetch_add(1, std::memory_order_seq_cst);
      if (d->life.load(std::memory_order_seq_cst) == DomainLife::Live) {
        d_ = d;
      } else {
        d->refs.fetch_sub(1, std::memory_order_release);
      }
    }
    ~DomainRef() {
      if (d_ != nullptr) d_->refs.fetch_sub(1, std::memory_order_release);
    }
    DomainRef(const DomainRef&) = delete;
    DomainRef& operator=(const DomainRef&) = delete;
    explicit operator bool() const { return d_ != nullptr; }
    Domain& operator*() const { return *d_; }

   private:
    Domain* d_ = nullptr;
  };

  static void cpu_relax() {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
  }

  static constexpr std::uint64_t key(DomId d, std::uint32_t port) {
    return (std::uint64_t{d.value()} << 32) | port;
  }

  Domain* slot(DomId id) { return id.value() < kMaxDomains ? &domains_[id.value()] : nullptr; }
  const Domain* slot(DomId id) const {
    return id.value() < kMaxDomains ? &domains_[id.value()] : nullptr;
  }
  /// The calling domain (its own vCPU is running, so it cannot be destroyed meanwhile).
  Domain* live(DomId id) {
    Domain* d = slot(id);
    return d != nullptr && d->life.load(std::memory_order_acquire) == DomainLife::Live ? d
                                                                                         : nullptr;
  }

  /// The lowest free port, allocating a bucket from the platform if needed. Domain lock held.
  Result<std::uint32_t> get_free_port(Domain& d) {
    if (d.life.load(std::memory_order_relaxed) != DomainLife::Live) return Errno::Inval;
    const std::uint32_t limit = d.port_limit();
    const std::uint32_t valid = d.valid_ports.load(std::memory_order_relaxed);
    for (std::uint32_t p = d.free_hint < 1 ? 1 : d.free_hint; p < valid; ++p) {
      if (p >= limit) return Errno::NoSpc;
      if (d.lookup(p)->state.load(std::memory_order_relaxed) == ChannelState::Free) {
        d.free_hint = p;  // everything below p is in use
        return p;
      }
    }
    d.free_hint = valid == 0 ? 1 : valid;
    const std::uint32_t first = valid == 0 ? 1 : valid;
    if (first >= limit || valid / kPortsPerBucket >= kMaxBuckets) return Errno::NoSpc;
    void* page = platform_.alloc_page();
    if (page == nullptr) return Errno::NoMem;
    auto* bucket = ::new (page) ChannelBucket;
    if (valid == 0) bucket->ch[0].state.store(ChannelState::Reserved, std::memory_order_relaxed);
    // Invariant 15: the bucket is published before the bound that makes it reachable.
    d.buckets[valid / kPortsPerBucket].store(bucket, std::memory_order_release);
    d.valid_ports.store(valid + kPortsPerBucket, std::memory_order_release);
    return first;
  }

  /// Fills in a channel's binding (channel lock held by the caller or channel not yet live).
  static void init_binding(Channel& c, ChannelState st, std::uint32_t vcpu, std::uint16_t rdom,
                           std::uint32_t rport, std::uint32_t value) {
    c.remote_dom = rdom;
    c.remote_port = rport;
    c.value = value;
    c.notify_vcpu.store(vcpu, std::memory_order_relaxed);
    c.priority.store(xen::kEvtchnFifoPriorityDefault, std::memory_order_relaxed);
    // last_queue is deliberately kept: if the event is still on the queue it was last linked
    // on (the guest has not consumed it), only that queue may forget it as its tail.
    c.deferred_pending.store(false, std::memory_order_relaxed);
    c.state.store(st, std::memory_order_release);
  }

  /// Binds a free port (domain lock held).
  void commit(Domain& d, std::uint32_t port, ChannelState st, std::uint32_t vcpu,
              std::uint16_t rdom, std::uint32_t rport, std::uint32_t value) {
    Channel* c = d.lookup(port);
    LockGuard g(c->lock);
    init_binding(*c, st, vcpu, rdom, rport, value);
    ++d.active_ports;
  }

  /// Frees a channel: domain lock and channel lock held.
  void free_channel(Domain& d, std::uint32_t port, Channel& c) {
    clear_pending(d, port, c);
    c.state.store(ChannelState::Free, std::memory_order_release);
    c.notify_vcpu.store(0, std::memory_order_relaxed);
    c.remote_dom = 0;
    c.remote_port = 0;
    c.value = 0;
    --d.active_ports;
    if (port < d.free_hint) d.free_hint = port;
  }

  /// Closes one port of d1 (used by close, reset and destroy).
  Status close_port(Domain& d1, std::uint32_t port1) {
    d1.lock.lock();
    Channel* c1 = d1.lookup(port1);
    if (c1 == nullptr) {
      d1.lock.unlock();
      return Errno::Inval;
    }
    Domain* d2 = nullptr;
    if (c1->state.load(std::memory_order_relaxed) == ChannelState::Interdomain) {
      const std::uint16_t rid = c1->remote_dom;
      d2 = slot(DomId{rid});
      if (d2 != &d1) {
        // Take both domain locks in the fixed order, then re-check what we saw.
        d1.lock.unlock();
        lock_two(d1.lock, d1.id.value(), d2->lock, rid);
        const ChannelState now = c1->state.load(std::memory_order_relaxed);
        if (now == ChannelState::Interdomain && c1->remote_dom != rid) {
          unlock_two(d1.lock, d2->lock);
          return Errno::Inval;  // closed and re-bound meanwhile, as Xen answers
        }
        if (now != ChannelState::Interdomain) {
          d2->lock.unlock();
          d2 = nullptr;
        }
      }
    }
    Status rc = close_locked(d1, port1, *c1, d2);
    if (d2 != nullptr && d2 != &d1) d2->lock.unlock();
    d1.lock.unlock();
    return rc;
  }

  /// Domain lock(s) held: d1's, and d2's for an interdomain channel.
  Status close_locked(Domain& d1, std::uint32_t port1, Channel& c1, Domain* d2) {
    switch (c1.state.load(std::memory_order_relaxed)) {
      case ChannelState::Free:
      case ChannelState::Reserved:
        return Errno::Inval;
      case ChannelState::Pirq: {
        if (c1.value < kMaxPirqs) d1.pirq_to_port[c1.value].store(0, std::memory_order_release);
        break;
      }
      case ChannelState::Virq: {
        for (std::uint32_t v = 0; v < kMaxVcpus; ++v) {
          auto& p = d1.virq_to_port[v][c1.value % xen::kNrVirqs];
          if (p.load(std::memory_order_relaxed) == port1) p.store(0, std::memory_order_release);
        }
        break;
      }
      case ChannelState::Interdomain: {
        Domain* peer = d2 != nullptr ? d2 : &d1;
        const std::uint32_t port2 = c1.remote_port;
        Channel* c2 = peer->lookup(port2);
        if (c2 != nullptr && c2 != &c1) {
          lock_two(c1.lock, key(d1.id, port1), c2->lock, key(peer->id, port2));
          c2->remote_dom = d1.id.value();
          c2->remote_port = 0;
          c2->state.store(ChannelState::Unbound, std::memory_order_release);
          free_channel(d1, port1, c1);
          unlock_two(c1.lock, c2->lock);
          return Status::ok();
        }
        break;
      }
      case ChannelState::Unbound:
      case ChannelState::Ipi:
        break;
    }
    LockGuard g(c1.lock);
    free_channel(d1, port1, c1);
    return Status::ok();
  }

  /// Runs `f` inside the FIFO section if the domain uses FIFO; false if it does not.
  template <typename F>
  bool with_fifo(Domain& d, F&& f) {
    if (d.abi.load(std::memory_order_acquire) != EventAbi::Fifo) return false;
    d.fifo_users.fetch_add(1, std::memory_order_seq_cst);
    const bool fifo = d.abi.load(std::memory_order_seq_cst) == EventAbi::Fifo;
    if (fifo) f();
    d.fifo_users.fetch_sub(1, std::memory_order_release);
    return fifo;
  }

  /// Calls f(shared_info*, vcpu_info*) with the layout of the domain's width.
  template <typename F>
  bool two_level_op(Domain& d, std::uint32_t port, F&& f, std::uint32_t vcpu) {
    void* vi = vcpu < kMaxVcpus ? d.vcpu_info[vcpu].load(std::memory_order_acquire) : nullptr;
    if (d.config.width == GuestWidth::Bits64) {
      if (port >= xen::kEvtchn2lNrChannels) return false;
      return f(static_cast<xen::SharedInfo*>(d.config.shared_info), static_cast<xen::VcpuInfo*>(vi));
    }
    if (port >= xen::kEvtchn2lNrChannelsCompat) return false;
    return f(static_cast<xen::CompatSharedInfo*>(d.config.shared_info),
             static_cast<xen::CompatVcpuInfo*>(vi));
  }

  /// Sets `port` of `d` (channel `c`) pending and notifies its vCPU if needed.
  void deliver(Domain& d, std::uint32_t port, Channel& c) {
    const std::uint32_t v = c.notify_vcpu.load(std::memory_order_acquire);
    bool upcall = false;
    if (!with_fifo(d, [&] { upcall = d.fifo.set_pending(v, port, c); })) {
      upcall = two_level_op(d, port, [&](auto* s, auto* vi) {
        return two_level_set_pending(s, vi, port);
      }, v);
    }
    if (upcall) notify(d, v);
  }

  /// Marks vCPU v's upcall pending; kicks it on a 0->1 transition.
  void notify(Domain& d, std::uint32_t v) {
    if (v >= kMaxVcpus) return;
    if (mark_upcall_pending(d.vcpu_info[v].load(std::memory_order_acquire))) {
      platform_.kick(d.id, VcpuId{v});
    }
  }

  /// Domain lock held.
  void clear_pending(Domain& d, std::uint32_t port, Channel& c) {
    if (!with_fifo(d, [&] { d.fifo.clear_pending(port, c); })) {
      (void)two_level_op(d, port, [&](auto* s, auto*) {
        two_level_clear_pending(s, port);
        return false;
      }, 0);
    }
  }

  /// Domain lock held: switches to FIFO, keeping bindings; 2-level pending events are
  /// re-raised once the event array reaches their port.
  void migrate_to_fifo(Domain& d) {
    const std::uint32_t valid = d.valid_ports.load(std::memory_order_relaxed);
    for (std::uint32_t p = 1; p < valid; ++p) {
      Channel* c = d.lookup(p);
      LockGuard g(c->lock);
      const ChannelState st = c->state.load(std::memory_order_relaxed);
      if (st == ChannelState::Free || st == ChannelState::Reserved) continue;
      c->priority.store(xen::kEvtchnFifoPriorityDefault, std::memory_order_relaxed);
      const bool was_pending = two_level_op(d, p, [&](auto* s, auto*) {
        return two_level_is_pending(s, p);
      }, 0);
      c->deferred_pending.store(was_pending, std::memory_order_relaxed);
    }
    d.abi.store(EventAbi::Fifo, std::memory_order_seq_cst);
  }

  /// Domain lock held: back to 2-level, once no delivery is inside the FIFO code.
  void switch_to_two_level(Domain& d) {
    d.abi.store(EventAbi::TwoLevel, std::memory_order_seq_cst);
    while (d.fifo_users.load(std::memory_order_seq_cst) != 0) cpu_relax();
    d.fifo.teardown([&](void* page) { platform_.unmap_guest_frame(d.id, page); });
  }

  P& platform_;
  Domain domains_[kMaxDomains];
};

}  // namespace pvkit::event
