// pvkit/event/event_channels.h — Xen-style event channels for up to kMaxDomains domains.
//
// What it is: `EventChannels<Platform, kMaxDomains, kMaxVcpus>`, the hypervisor's event
// channel object: every EVTCHNOP_* sub-op with Xen's semantics and error codes, on both
// delivery ABIs (2-level in shared_info, FIFO in guest-provided pages), and the hypervisor's
// own event sources (raise_virq, raise_pirq). Domain lifecycle, port storage, locking and
// delivery live in its base, EventCore (pvkit/event/event_core.h).
//
// How to use it:
//   EventChannels<MyPlatform, 16> ev{platform};
//   ev.domain_create(DomId{1}, {.nr_vcpus = 2, .shared_info = si_page});
//   auto port = ev.alloc_unbound(DomId{1}, kDomidSelf, DomId{0});
//   ev.send(DomId{1}, *port);
//   while (ev.domain_destroy(DomId{1}).is_restart()) {}   // bounded steps
// Domain ids index the table directly: an id >= kMaxDomains is refused. `caller` is always the
// domain whose vCPU made the hypercall (the EventChannelOp handler takes it from its context).
//
// Concurrency: every operation may run concurrently on any CPU, for any domains (see
// event_core.h for the lock order and the destruction contract). The send path takes one
// channel lock and no domain lock.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "pvkit/base/spinlock.h"
#include "pvkit/base/status.h"
#include "pvkit/base/types.h"
#include "pvkit/event/channel.h"
#include "pvkit/event/domain_events.h"
#include "pvkit/event/event_core.h"
#include "pvkit/event/event_platform.h"
#include "pvkit/event/two_level.h"
#include "pvkit/event/xen_abi.h"

namespace pvkit::event {

/// Xen's event channels for up to kMaxDomains domains (see the file comment).
template <EventPlatform P, std::size_t kMaxDomains, std::uint32_t kMaxVcpus = 8>
class EventChannels : public EventCore<P, kMaxDomains, kMaxVcpus> {
  using Base = EventCore<P, kMaxDomains, kMaxVcpus>;

 public:
  using typename Base::Domain;
  using typename Base::Platform;

  constexpr explicit EventChannels(P& platform) : Base(platform) {}

  // ------------------------------------------------------------------ EVTCHNOP_* sub-ops

  /// EVTCHNOP_alloc_unbound: a fresh port in `dom` accepting a binding from `remote_dom`.
  [[nodiscard]] Result<EvtchnPort> alloc_unbound(DomId caller, DomId dom, DomId remote_dom) {
    Domain* cd = live(caller);
    if (cd == nullptr) return Errno::Srch;
    const DomId target = dom == kDomidSelf ? caller : dom;
    const DomId remote = remote_dom == kDomidSelf ? caller : remote_dom;
    DomainRef ref(*this, target);
    if (!ref) return Errno::Srch;
    if (target != caller && !cd->config.privileged) return Errno::Perm;
    Domain& d = *ref;
    LockGuard g(d.lock);
    Result<std::uint32_t> port = get_free_port(d);
    if (!port) return port.status();
    commit(d, *port, ChannelState::Unbound, 0, remote.value(), 0, 0);
    return EvtchnPort{*port};
  }

  /// EVTCHNOP_bind_interdomain: connects a fresh local port to (remote_dom, remote_port),
  /// which must be unbound and name the caller. The new port is set pending at once.
  [[nodiscard]] Result<EvtchnPort> bind_interdomain(DomId caller, DomId remote_dom,
                                                    EvtchnPort remote_port) {
    Domain* ld = live(caller);
    if (ld == nullptr) return Errno::Srch;
    const DomId rid = remote_dom == kDomidSelf ? caller : remote_dom;
    DomainRef ref(*this, rid);
    if (!ref) return Errno::Srch;
    Domain& rd = *ref;
    lock_two(ld->lock, caller.value(), rd.lock, rid.value());
    Result<EvtchnPort> out = Errno::Inval;
    Result<std::uint32_t> lport = get_free_port(*ld);
    if (!lport) {
      out = lport.status();
    } else if (Channel* rc = rd.lookup(remote_port.value());
               rc != nullptr && rc->state.load(std::memory_order_relaxed) == ChannelState::Unbound &&
               rc->remote_dom == caller.value()) {
      Channel* lc = ld->lookup(*lport);
      lock_two(lc->lock, key(caller, *lport), rc->lock, key(rid, remote_port.value()));
      init_binding(*lc, ChannelState::Interdomain, 0, rid.value(), remote_port.value(), 0);
      rc->remote_dom = caller.value();
      rc->remote_port = *lport;
      rc->state.store(ChannelState::Interdomain, std::memory_order_release);
      unlock_two(lc->lock, rc->lock);
      ++ld->active_ports;
      // Notifications sent to the unbound remote port were dropped: always raise ours.
      deliver(*ld, *lport, *lc);
      out = EvtchnPort{*lport};
    }
    unlock_two(ld->lock, rd.lock);
    return out;
  }

  /// EVTCHNOP_bind_virq: per-vCPU VIRQs on any vCPU, global VIRQs on vCPU 0 only.
  [[nodiscard]] Result<EvtchnPort> bind_virq(DomId caller, std::uint32_t virq, VcpuId vcpu) {
    Domain* d = live(caller);
    if (d == nullptr) return Errno::Srch;
    if (virq >= xen::kNrVirqs) return Errno::Inval;
    if (xen::virq_is_global(virq) && vcpu.value() != 0) return Errno::Inval;
    if (!d->vcpu_exists(vcpu.value())) return Errno::NoEnt;
    LockGuard g(d->lock);
    auto& slot_port = d->virq_to_port[vcpu.value()][virq];
    if (slot_port.load(std::memory_order_relaxed) != 0) return Errno::Exist;
    Result<std::uint32_t> port = get_free_port(*d);
    if (!port) return port.status();
    commit(*d, *port, ChannelState::Virq, vcpu.value(), 0, 0, virq);
    slot_port.store(*port, std::memory_order_release);  // the channel is set up first
    return EvtchnPort{*port};
  }

  /// EVTCHNOP_bind_ipi: a port that notifies `vcpu` of the caller's own domain.
  [[nodiscard]] Result<EvtchnPort> bind_ipi(DomId caller, VcpuId vcpu) {
    Domain* d = live(caller);
    if (d == nullptr) return Errno::Srch;
    if (!d->vcpu_exists(vcpu.value())) return Errno::NoEnt;
    LockGuard g(d->lock);
    Result<std::uint32_t> port = get_free_port(*d);
    if (!port) return port.status();
    commit(*d, *port, ChannelState::Ipi, vcpu.value(), 0, 0, 0);
    return EvtchnPort{*port};
  }

  /// EVTCHNOP_bind_pirq: needs pirq < nr_pirqs (-EINVAL) and the platform's permission
  /// (-EPERM); one port per PIRQ (-EEXIST).
  [[nodiscard]] Result<EvtchnPort> bind_pirq(DomId caller, std::uint32_t pirq,
                                             std::uint32_t /*flags*/) {
    Domain* d = live(caller);
    if (d == nullptr) return Errno::Srch;
    if (pirq >= d->config.nr_pirqs) return Errno::Inval;
    if (!platform_.pirq_permitted(caller, pirq)) return Errno::Perm;
    LockGuard g(d->lock);
    auto& slot_port = d->pirq_to_port[pirq];
    if (slot_port.load(std::memory_order_relaxed) != 0) return Errno::Exist;
    Result<std::uint32_t> port = get_free_port(*d);
    if (!port) return port.status();
    commit(*d, *port, ChannelState::Pirq, 0, 0, 0, pirq);
    slot_port.store(*port, std::memory_order_release);
    return EvtchnPort{*port};
  }

  /// EVTCHNOP_close: frees the port; an interdomain peer reverts to unbound naming us.
  [[nodiscard]] Status close(DomId caller, EvtchnPort port) {
    Domain* d = live(caller);
    if (d == nullptr) return Errno::Srch;
    return close_port(*d, port.value());
  }

  /// EVTCHNOP_send: interdomain -> the peer's port; IPI -> our own port; unbound -> dropped;
  /// any other state -> -EINVAL. The hot path: one channel lock, no domain lock.
  [[nodiscard]] Status send(DomId caller, EvtchnPort port) {
    Domain* ld = live(caller);
    if (ld == nullptr) return Errno::Srch;
    Channel* lc = ld->lookup(port.value());
    if (lc == nullptr) return Errno::Inval;
    LockGuard g(lc->lock);
    switch (lc->state.load(std::memory_order_relaxed)) {
      case ChannelState::Interdomain: {
        // While lc is interdomain (we hold its lock) the peer channel cannot be closed,
        // so the peer domain's bucket stays allocated.
        Domain* rd = slot(DomId{lc->remote_dom});
        Channel* rc = rd == nullptr ? nullptr : rd->lookup(lc->remote_port);
        if (rc != nullptr) deliver(*rd, lc->remote_port, *rc);
        return Status::ok();
      }
      case ChannelState::Ipi:
        deliver(*ld, port.value(), *lc);
        return Status::ok();
      case ChannelState::Unbound:
        return Status::ok();
      default:
        return Errno::Inval;
    }
  }

  /// EVTCHNOP_status of (dom, port); another domain's only with privilege (-EPERM).
  [[nodiscard]] Result<xen::EvtchnStatus> status(DomId caller, DomId dom, EvtchnPort port) {
    Domain* cd = live(caller);
    if (cd == nullptr) return Errno::Srch;
    const DomId target = dom == kDomidSelf ? caller : dom;
    DomainRef ref(*this, target);
    if (!ref) return Errno::Srch;
    if (target != caller && !cd->config.privileged) return Errno::Perm;
    Domain& d = *ref;
    LockGuard g(d.lock);
    Channel* c = d.lookup(port.value());
    if (c == nullptr) return Errno::Inval;
    xen::EvtchnStatus s;
    std::memset(&s, 0, sizeof(s));  // padding and the unused union bytes too
    s.dom = dom.value();
    s.port = port.value();
    s.vcpu = c->notify_vcpu.load(std::memory_order_relaxed);
    switch (c->state.load(std::memory_order_relaxed)) {
      case ChannelState::Free:
      case ChannelState::Reserved:
        s.status = xen::kEvtchnStatClosed;
        break;
      case ChannelState::Unbound:
        s.status = xen::kEvtchnStatUnbound;
        s.u.unbound.dom = c->remote_dom;
        break;
      case ChannelState::Interdomain:
        s.status = xen::kEvtchnStatInterdomain;
        s.u.interdomain.dom = c->remote_dom;
        s.u.interdomain.port = c->remote_port;
        break;
      case ChannelState::Pirq:
        s.status = xen::kEvtchnStatPirq;
        s.u.pirq = c->value;
        break;
      case ChannelState::Virq:
        s.status = xen::kEvtchnStatVirq;
        s.u.virq = c->value;
        break;
      case ChannelState::Ipi:
        s.status = xen::kEvtchnStatIpi;
        break;
    }
    return s;
  }

  /// EVTCHNOP_bind_vcpu: re-targets unbound, interdomain, PIRQ and global-VIRQ ports.
  /// IPI and per-vCPU VIRQ ports (and free ones) -> -EINVAL; unknown vCPU -> -ENOENT.
  [[nodiscard]] Status bind_vcpu(DomId caller, EvtchnPort port, VcpuId vcpu) {
    Domain* d = live(caller);
    if (d == nullptr) return Errno::Srch;
    if (!d->vcpu_exists(vcpu.value())) return Errno::NoEnt;
    LockGuard g(d->lock);
    Channel* c = d->lookup(port.value());
    if (c == nullptr) return Errno::Inval;
    LockGuard cg(c->lock);
    switch (c->state.load(std::memory_order_relaxed)) {
      case ChannelState::Virq:
        if (!xen::virq_is_global(c->value)) return Errno::Inval;
        [[fallthrough]];
      case ChannelState::Unbound:
      case ChannelState::Interdomain:
      case ChannelState::Pirq:
        c->notify_vcpu.store(vcpu.value(), std::memory_order_release);
        return Status::ok();
      default:
        return Errno::Inval;
    }
  }

  /// EVTCHNOP_unmask: clears MASK and re-raises the upcall if the port is pending. Safe on
  /// any valid port, bound or not (invariant 19).
  [[nodiscard]] Status unmask(DomId caller, EvtchnPort port) {
    Domain* d = live(caller);
    if (d == nullptr) return Errno::Srch;
    Channel* c = d->lookup(port.value());
    if (c == nullptr) return Errno::Inval;
    const std::uint32_t v = c->notify_vcpu.load(std::memory_order_acquire);
    bool upcall = false;
    if (!with_fifo(*d, [&] { upcall = d->fifo.unmask(v, port.value(), *c); })) {
      upcall = two_level_op(*d, port.value(), [&](auto* s, auto* vi) {
        return two_level_unmask(s, vi, port.value());
      }, v);
    }
    if (upcall) notify(*d, v);
    return Status::ok();
  }

  /// EVTCHNOP_reset (resuming = EVTCHNOP_reset_cont): closes all of `dom`'s ports, at most
  /// kTeardownChunk per call (Errno::Restart: call again with resuming = true). -EBUSY when
  /// a reset is already in progress (or none is, for a resume); -EAGAIN when ports were bound
  /// meanwhile. When done, a FIFO domain returns to the 2-level ABI (invariant 17).
  [[nodiscard]] Status reset(DomId caller, DomId dom, bool resuming) {
    Domain* cd = live(caller);
    if (cd == nullptr) return Errno::Srch;
    const DomId target = dom == kDomidSelf ? caller : dom;
    DomainRef ref(*this, target);
    if (!ref) return Errno::Srch;
    if (target != caller && !cd->config.privileged) return Errno::Perm;
    Domain& d = *ref;
    std::uint32_t start;
    {
      LockGuard g(d.lock);
      if (!resuming) {
        if (d.next_reset_port != 0) return Errno::Busy;
        d.next_reset_port = 1;
      } else if (d.next_reset_port == 0) {
        return Errno::Busy;
      }
      start = d.next_reset_port;
    }
    const std::uint32_t valid = d.valid_ports.load(std::memory_order_acquire);
    const std::uint32_t end = start + kTeardownChunk < valid ? start + kTeardownChunk : valid;
    for (std::uint32_t p = start; p < end; ++p) (void)close_port(d, p);

    LockGuard g(d.lock);
    if (end < d.valid_ports.load(std::memory_order_relaxed)) {
      if (d.next_reset_port < end) d.next_reset_port = end;
      return Errno::Restart;
    }
    d.next_reset_port = 0;
    if (d.active_ports != 0) return Errno::Again;
    switch_to_two_level(d);
    return Status::ok();
  }

  /// EVTCHNOP_init_control: registers `vcpu`'s FIFO control block at (gfn, offset); the first
  /// call switches the domain to the FIFO ABI (bound ports keep their bindings; events pending
  /// under 2-level are re-raised once the event array reaches them).
  [[nodiscard]] Status init_control(DomId caller, Gfn gfn, std::uint32_t offset, VcpuId vcpu) {
    Domain* d = live(caller);
    if (d == nullptr) return Errno::Srch;
    if (offset > kPageSize - sizeof(xen::EvtchnFifoControlBlock)) return Errno::Inval;
    if ((offset & 7) != 0) return Errno::Inval;
    if (!d->vcpu_exists(vcpu.value())) return Errno::NoEnt;
    LockGuard g(d->lock);
    if (d->fifo.has_control_block(vcpu.value())) return Errno::Inval;
    Result<void*> page = platform_.map_guest_frame(caller, gfn);
    if (!page || *page == nullptr) return Errno::Inval;
    if (Status s = d->fifo.init_control(vcpu.value(), *page, offset); !s) {
      platform_.unmap_guest_frame(caller, *page);
      return s;
    }
    if (d->abi.load(std::memory_order_relaxed) == EventAbi::TwoLevel) migrate_to_fifo(*d);
    return Status::ok();
  }

  /// EVTCHNOP_expand_array: adds the guest frame `gfn` as the next event-array page.
  /// -EOPNOTSUPP before init_control; -ENOSPC when the array covers the port limit already.
  [[nodiscard]] Status expand_array(DomId caller, Gfn gfn) {
    Domain* d = live(caller);
    if (d == nullptr) return Errno::Srch;
    LockGuard g(d->lock);
    if (d->abi.load(std::memory_order_relaxed) != EventAbi::Fifo) return Errno::OpNotSupp;
    const std::uint32_t n = d->fifo.nr_pages();
    const std::uint32_t limit = d->port_limit();
    const std::uint32_t max_pages =
        (limit + xen::kEvtchnFifoWordsPerPage - 1) / xen::kEvtchnFifoWordsPerPage;
    if (n >= max_pages) return Errno::NoSpc;
    Result<void*> page = platform_.map_guest_frame(caller, gfn);
    if (!page || *page == nullptr) return Errno::Inval;
    if (Status s = d->fifo.add_page(static_cast<std::uint32_t*>(*page)); !s) {
      platform_.unmap_guest_frame(caller, *page);
      return s;
    }
    // Re-raise events that arrived before their event word existed.
    const std::uint32_t first = n * xen::kEvtchnFifoWordsPerPage;
    const std::uint32_t valid = d->valid_ports.load(std::memory_order_relaxed);
    for (std::uint32_t p = first; p < first + xen::kEvtchnFifoWordsPerPage && p < valid; ++p) {
      Channel* c = d->lookup(p);
      if (c != nullptr && c->deferred_pending.exchange(false, std::memory_order_acq_rel)) {
        LockGuard cg(c->lock);
        if (c->state.load(std::memory_order_relaxed) != ChannelState::Free) deliver(*d, p, *c);
      }
    }
    return Status::ok();
  }

  /// EVTCHNOP_set_priority: FIFO only (-ENOSYS under 2-level, as Xen); priority <= 15.
  [[nodiscard]] Status set_priority(DomId caller, EvtchnPort port, std::uint32_t priority) {
    Domain* d = live(caller);
    if (d == nullptr) return Errno::Srch;
    Channel* c = d->lookup(port.value());
    if (c == nullptr) return Errno::Inval;
    if (d->abi.load(std::memory_order_acquire) != EventAbi::Fifo) return Errno::NoSys;
    if (priority > xen::kEvtchnFifoPriorityMin) return Errno::Inval;
    c->priority.store(static_cast<std::uint8_t>(priority), std::memory_order_release);
    return Status::ok();
  }

  // ------------------------------------------------------------------ hypervisor sources

  /// Raises VIRQ `virq` for `vcpu` of `dom` (global VIRQs: wherever vCPU 0's binding
  /// points). Unbound VIRQs, unknown domains and dying domains are ignored.
  void raise_virq(DomId dom, VcpuId vcpu, std::uint32_t virq) {
    if (virq >= xen::kNrVirqs) return;
    DomainRef ref(*this, dom);
    if (!ref) return;
    Domain& d = *ref;
    const std::uint32_t v = xen::virq_is_global(virq) ? 0 : vcpu.value();
    if (!d.vcpu_exists(v) || v >= kMaxVcpus) return;
    const std::uint32_t port = d.virq_to_port[v][virq].load(std::memory_order_acquire);
    if (port == 0) return;
    Channel* c = d.lookup(port);
    if (c == nullptr) return;
    LockGuard g(c->lock);
    if (c->state.load(std::memory_order_relaxed) == ChannelState::Virq && c->value == virq) {
      deliver(d, port, *c);
    }
  }

  /// Raises physical IRQ `pirq` of `dom` (the platform's interrupt handler calls this).
  void raise_pirq(DomId dom, std::uint32_t pirq) {
    if (pirq >= kMaxPirqs) return;
    DomainRef ref(*this, dom);
    if (!ref) return;
    Domain& d = *ref;
    const std::uint32_t port = d.pirq_to_port[pirq].load(std::memory_order_acquire);
    if (port == 0) return;
    Channel* c = d.lookup(port);
    if (c == nullptr) return;
    LockGuard g(c->lock);
    if (c->state.load(std::memory_order_relaxed) == ChannelState::Pirq && c->value == pirq) {
      deliver(d, port, *c);
    }
  }


 private:
  using DomainRef = typename Base::DomainRef;
  using Base::close_port;
  using Base::commit;
  using Base::deliver;
  using Base::get_free_port;
  using Base::init_binding;
  using Base::key;
  using Base::live;
  using Base::migrate_to_fifo;
  using Base::notify;
  using Base::platform_;
  using Base::slot;
  using Base::switch_to_two_level;
  using Base::two_level_op;
  using Base::with_fifo;
};

}  // namespace pvkit::event
