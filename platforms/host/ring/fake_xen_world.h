// pvkit host platform: FakeXenWorld — a few domains sharing host memory through simulated
// grant tables and event channels, for testing split drivers on the host.
//
// What it is: a small model of what the split-driver helpers need from Xen, with Xen's rules
// and error codes: per-domain frames (4 KiB host pages), v1-style grant entries (8 reserved
// refs, permit_access / readonly / reading / writing flags, host-map pin counts), a maptrack
// per mapping domain, and per-domain event-channel ports (free, unbound for a named remote
// domain, interdomain), with a pending flag per port that tests can wait on.
// `ops(dom)` returns a `DomainOps` acting as that domain; it satisfies both
// pvkit::ring::FrontendOps and pvkit::ring::BackendOps.
//
//   map_grant errors (as GNTST, translated by errno_from_gntst): unknown granter -> bad_domain,
//   ref out of range -> bad_gntref, entry not permit_access or naming another domain, or a
//   write mapping of a read-only grant -> general_error, maptrack full -> no_device_space.
//   alloc_unbound records the remote domain without checking it exists (as Xen does);
//   bind_interdomain: unknown domain -> -ESRCH; port out of range, not unbound, or unbound for
//   somebody else -> -EINVAL. send on an unbound port is dropped silently; on a free port
//   -EINVAL. end_access of a mapped entry -> -EBUSY.
//
// How to use it:
//   FakeXenWorld world(3);                        // domains 0, 1, 2
//   Mfn f = world.alloc_frame(DomId{1});
//   auto front = world.ops(DomId{1});             // frontend domain's view
//   auto back = world.ops(DomId{2});
//   FrontendChannel<FakeXenWorld::DomainOps, Req, Rsp> fc;  fc.connect(front, DomId{2}, world.frame_ptr(f), f);
//   world.wait_pending(DomId{2}, port, timeout) / world.take_pending(...)  // the "upcall"
//
// Concurrency: every operation takes the world's mutex, so domains may run on different
// threads. Frame contents are plain shared memory, as in a real machine.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "pvkit/base/status.h"
#include "pvkit/base/types.h"
#include "pvkit/ring/backend_ops.h"
#include "pvkit/ring/frontend_ops.h"
#include "pvkit/ring/grant_errno.h"
#include "pvkit/ring/xen_abi.h"

namespace pvkit::host::ring {

class FakeXenWorld {
 public:
  static constexpr std::uint32_t kGrantEntries = 64;
  static constexpr std::uint32_t kReservedGrantEntries = 8;  // GNTTAB_NR_RESERVED_ENTRIES
  static constexpr std::uint32_t kPorts = 64;
  static constexpr std::uint32_t kMaptrackEntries = 16;
  static constexpr std::uint64_t kFirstMfn = 0x1000;
  // v1 grant entry flags (grant_table.h).
  static constexpr std::uint16_t kGtfPermitAccess = 1;
  static constexpr std::uint16_t kGtfTypeMask = 3;
  static constexpr std::uint16_t kGtfReadonly = 1 << 2;
  static constexpr std::uint16_t kGtfReading = 1 << 3;
  static constexpr std::uint16_t kGtfWriting = 1 << 4;

  enum class PortState : std::uint8_t { Free, Reserved, Unbound, Interdomain };

  /// One domain's view: every call acts as domain `self`.
  class DomainOps {
   public:
    DomainOps(FakeXenWorld* w, DomId self) : w_(w), self_(self) {}
    [[nodiscard]] DomId self() const { return self_; }

    Result<GrantRef> grant_access(DomId to, Mfn frame, bool readonly) {
      return w_->grant_access(self_, to, frame, readonly);
    }
    Status end_access(GrantRef ref) { return w_->end_access(self_, ref); }
    Result<EvtchnPort> alloc_unbound(DomId remote) { return w_->alloc_unbound(self_, remote); }
    Status notify(EvtchnPort port) { return w_->send(self_, port); }
    Status close(EvtchnPort port) { return w_->close(self_, port); }
    Result<pvkit::ring::MappedGrant> map_grant(DomId granter, GrantRef ref, bool readonly) {
      return w_->map_grant(self_, granter, ref, readonly);
    }
    Status unmap_grant(const pvkit::ring::MappedGrant& m) { return w_->unmap_grant(self_, m); }
    Result<EvtchnPort> bind_interdomain(DomId remote, EvtchnPort remote_port) {
      return w_->bind_interdomain(self_, remote, remote_port);
    }

   private:
    FakeXenWorld* w_;
    DomId self_;
  };

  explicit FakeXenWorld(std::uint16_t nr_domains) : domains_(nr_domains) {
    for (auto& d : domains_) d.ports[0].state = PortState::Reserved;  // port 0 is never usable
  }

  DomainOps ops(DomId self) { return DomainOps(this, self); }

  /// A zeroed 4 KiB frame owned by `owner`.
  Mfn alloc_frame(DomId owner) {
    std::lock_guard<std::mutex> g(m_);
    frames_.push_back(Frame{std::make_unique<PageBuf>(), owner});
    return Mfn{kFirstMfn + frames_.size() - 1};
  }
  /// The host memory behind a frame (what its owner maps), nullptr for an unknown frame.
  void* frame_ptr(Mfn f) {
    std::lock_guard<std::mutex> g(m_);
    Frame* fr = find_frame(f);
    return fr ? fr->page->bytes : nullptr;
  }

  /// Test-and-clear the pending flag of `dom`'s `port` (what an upcall handler does).
  bool take_pending(DomId dom, EvtchnPort port) {
    std::lock_guard<std::mutex> g(m_);
    Port* p = find_port(dom, port);
    if (p == nullptr || !p->pending) return false;
    p->pending = false;
    return true;
  }
  /// Blocks until `dom`'s `port` is pending (then clears it) or the timeout expires.
  bool wait_pending(DomId dom, EvtchnPort port, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> g(m_);
    const bool ok = cv_.wait_for(g, timeout, [&] {
      Port* p = find_port(dom, port);
      return p != nullptr && p->pending;
    });
    if (ok) find_port(dom, port)->pending = false;
    return ok;
  }
  /// How many events were delivered (set pending) to `dom` in total.
  std::uint64_t events_delivered(DomId dom) {
    std::lock_guard<std::mutex> g(m_);
    return dom.value() < domains_.size() ? domains_[dom.value()].delivered : 0;
  }

  // Inspection for tests.
  std::uint32_t active_mappings() {
    std::lock_guard<std::mutex> g(m_);
    std::uint32_t n = 0;
    for (auto& d : domains_)
      for (auto& mt : d.maptrack) n += mt.in_use ? 1 : 0;
    return n;
  }
  std::uint16_t grant_flags(DomId dom, GrantRef ref) {
    std::lock_guard<std::mutex> g(m_);
    if (dom.value() >= domains_.size() || ref.value() >= kGrantEntries) return 0;
    return domains_[dom.value()].grants[ref.value()].flags;
  }
  PortState port_state(DomId dom, EvtchnPort port) {
    std::lock_guard<std::mutex> g(m_);
    Port* p = find_port(dom, port);
    return p ? p->state : PortState::Free;
  }
  std::uint32_t ports_in_use(DomId dom) {
    std::lock_guard<std::mutex> g(m_);
    std::uint32_t n = 0;
    for (std::uint32_t i = 1; i < kPorts; ++i)
      n += domains_[dom.value()].ports[i].state != PortState::Free ? 1 : 0;
    return n;
  }
  std::uint32_t grants_in_use(DomId dom) {
    std::lock_guard<std::mutex> g(m_);
    std::uint32_t n = 0;
    for (auto& e : domains_[dom.value()].grants) n += e.flags != 0 ? 1 : 0;
    return n;
  }

 private:
  struct alignas(4096) PageBuf {
    unsigned char bytes[4096] = {};
  };
  struct Frame {
    std::unique_ptr<PageBuf> page;
    DomId owner;
  };
  struct GrantEntry {
    std::uint16_t flags = 0;
    std::uint16_t domid = 0;
    std::uint32_t frame = 0;
    std::uint8_t host_read_pins = 0;
    std::uint8_t host_write_pins = 0;
  };
  struct Maptrack {
    bool in_use = false;
    DomId granter{};
    GrantRef ref{};
    bool readonly = false;
    void* addr = nullptr;
  };
  struct Port {
    PortState state = PortState::Free;
    DomId remote{};
    EvtchnPort remote_port{};
    bool pending = false;
  };
  struct Domain {
    GrantEntry grants[kGrantEntries];
    Maptrack maptrack[kMaptrackEntries];
    Port ports[kPorts];
    std::uint64_t delivered = 0;
  };

  bool domain_exists(DomId d) const { return d.value() < domains_.size(); }
  Frame* find_frame(Mfn f) {
    if (f.value() < kFirstMfn || f.value() - kFirstMfn >= frames_.size()) return nullptr;
    return &frames_[f.value() - kFirstMfn];
  }
  Port* find_port(DomId d, EvtchnPort p) {
    if (!domain_exists(d) || p.value() >= kPorts) return nullptr;
    return &domains_[d.value()].ports[p.value()];
  }
  static Status gntst(xen::GntStatus s) { return pvkit::ring::errno_from_gntst(s); }
  void set_pending(DomId d, EvtchnPort p) {
    Port& port = domains_[d.value()].ports[p.value()];
    if (!port.pending) {
      port.pending = true;
      ++domains_[d.value()].delivered;
    }
    cv_.notify_all();
  }

  Result<GrantRef> grant_access(DomId self, DomId to, Mfn frame, bool readonly) {
    std::lock_guard<std::mutex> g(m_);
    if (!domain_exists(self)) return Errno::Srch;
    Frame* fr = find_frame(frame);
    if (fr == nullptr || fr->owner != self) return Errno::Inval;  // only one's own frames
    for (std::uint32_t r = kReservedGrantEntries; r < kGrantEntries; ++r) {
      GrantEntry& e = domains_[self.value()].grants[r];
      if (e.flags != 0) continue;
      e.domid = to.value();
      e.frame = static_cast<std::uint32_t>(frame.value());
      e.flags = static_cast<std::uint16_t>(kGtfPermitAccess | (readonly ? kGtfReadonly : 0));
      return GrantRef{r};
    }
    return Errno::NoSpc;
  }

  Status end_access(DomId self, GrantRef ref) {
    std::lock_guard<std::mutex> g(m_);
    if (!domain_exists(self) || ref.value() < kReservedGrantEntries || ref.value() >= kGrantEntries)
      return Errno::Inval;
    GrantEntry& e = domains_[self.value()].grants[ref.value()];
    if ((e.flags & kGtfTypeMask) != kGtfPermitAccess) return Errno::Inval;
    if (e.flags & (kGtfReading | kGtfWriting)) return Errno::Busy;  // still mapped
    e = GrantEntry{};
    return Status::ok();
  }

  Result<pvkit::ring::MappedGrant> map_grant(DomId self, DomId granter, GrantRef ref, bool readonly) {
    std::lock_guard<std::mutex> g(m_);
    if (!domain_exists(self) || !domain_exists(granter)) return gntst(xen::GntStatus::BadDomain);
    if (ref.value() >= kGrantEntries) return gntst(xen::GntStatus::BadGntref);
    GrantEntry& e = domains_[granter.value()].grants[ref.value()];
    if ((e.flags & kGtfTypeMask) != kGtfPermitAccess || e.domid != self.value())
      return gntst(xen::GntStatus::GeneralError);
    if (!readonly && (e.flags & kGtfReadonly)) return gntst(xen::GntStatus::GeneralError);
    Frame* fr = find_frame(Mfn{e.frame});
    if (fr == nullptr || fr->owner != granter) return gntst(xen::GntStatus::GeneralError);
    std::uint8_t& pins = readonly ? e.host_read_pins : e.host_write_pins;
    if (pins & 0x80) return gntst(xen::GntStatus::GeneralError);  // pin count would overflow
    Maptrack* slot = nullptr;
    std::uint32_t handle = 0;
    for (; handle < kMaptrackEntries; ++handle) {
      if (!domains_[self.value()].maptrack[handle].in_use) {
        slot = &domains_[self.value()].maptrack[handle];
        break;
      }
    }
    if (slot == nullptr) return gntst(xen::GntStatus::NoDeviceSpace);
    ++pins;
    e.flags |= kGtfReading;
    if (!readonly) e.flags |= kGtfWriting;
    *slot = Maptrack{true, granter, ref, readonly, fr->page->bytes};
    return pvkit::ring::MappedGrant{fr->page->bytes, GrantHandle{handle}};
  }

  Status unmap_grant(DomId self, const pvkit::ring::MappedGrant& m) {
    std::lock_guard<std::mutex> g(m_);
    if (!domain_exists(self) || m.handle.value() >= kMaptrackEntries)
      return gntst(xen::GntStatus::BadHandle);
    Maptrack& mt = domains_[self.value()].maptrack[m.handle.value()];
    if (!mt.in_use) return gntst(xen::GntStatus::BadHandle);
    if (mt.addr != m.addr) return gntst(xen::GntStatus::BadVirtAddr);
    GrantEntry& e = domains_[mt.granter.value()].grants[mt.ref.value()];
    std::uint8_t& pins = mt.readonly ? e.host_read_pins : e.host_write_pins;
    if (pins > 0) --pins;
    if (e.host_write_pins == 0) e.flags &= static_cast<std::uint16_t>(~kGtfWriting);
    if (e.host_write_pins == 0 && e.host_read_pins == 0)
      e.flags &= static_cast<std::uint16_t>(~kGtfReading);
    mt = Maptrack{};
    return Status::ok();
  }

  Result<EvtchnPort> alloc_port(DomId self) {
    for (std::uint32_t p = 1; p < kPorts; ++p) {
      if (domains_[self.value()].ports[p].state == PortState::Free) return EvtchnPort{p};
    }
    return Errno::NoSpc;
  }

  Result<EvtchnPort> alloc_unbound(DomId self, DomId remote) {
    std::lock_guard<std::mutex> g(m_);
    // As in Xen, the remote domain need not exist yet: it is only recorded.
    if (remote == kDomidSelf) remote = self;
    if (!domain_exists(self)) return Errno::Srch;
    auto p = alloc_port(self);
    if (!p) return p;
    Port& port = domains_[self.value()].ports[p->value()];
    port = Port{PortState::Unbound, remote, EvtchnPort{}, false};
    return p;
  }

  Result<EvtchnPort> bind_interdomain(DomId self, DomId remote, EvtchnPort remote_port) {
    std::lock_guard<std::mutex> g(m_);
    if (remote == kDomidSelf) remote = self;
    if (!domain_exists(self) || !domain_exists(remote)) return Errno::Srch;
    Port* rp = find_port(remote, remote_port);
    if (rp == nullptr || rp->state != PortState::Unbound || rp->remote != self) return Errno::Inval;
    auto lp = alloc_port(self);
    if (!lp) return lp;
    Port& local = domains_[self.value()].ports[lp->value()];
    local = Port{PortState::Interdomain, remote, remote_port, false};
    rp->state = PortState::Interdomain;
    rp->remote = self;
    rp->remote_port = *lp;
    set_pending(self, *lp);  // Xen marks the new local port pending at once
    return lp;
  }

  Status close(DomId self, EvtchnPort port) {
    std::lock_guard<std::mutex> g(m_);
    Port* p = find_port(self, port);
    if (p == nullptr || p->state == PortState::Free || p->state == PortState::Reserved)
      return Errno::Inval;
    if (p->state == PortState::Interdomain) {
      Port& peer = domains_[p->remote.value()].ports[p->remote_port.value()];
      peer.state = PortState::Unbound;  // the peer may be bound again by us
      peer.remote = self;
      peer.remote_port = EvtchnPort{};
    }
    *p = Port{};
    return Status::ok();
  }

  Status send(DomId self, EvtchnPort port) {
    std::lock_guard<std::mutex> g(m_);
    Port* p = find_port(self, port);
    if (p == nullptr || p->state == PortState::Free || p->state == PortState::Reserved)
      return Errno::Inval;
    if (p->state == PortState::Unbound) return Status::ok();  // dropped, as Xen does
    set_pending(p->remote, p->remote_port);
    return Status::ok();
  }

  std::mutex m_;
  std::condition_variable cv_;
  std::vector<Frame> frames_;
  std::vector<Domain> domains_;
};

static_assert(pvkit::ring::FrontendOps<FakeXenWorld::DomainOps>);
static_assert(pvkit::ring::BackendOps<FakeXenWorld::DomainOps>);

}  // namespace pvkit::host::ring
