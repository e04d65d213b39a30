// Test helpers for pvkit/event (host only, testonly target //lib/event:testutil).
//
// What it is: `EventWorld`, a HostEventPlatform plus an EventChannels<HostEventPlatform, 8, 4>
// and helpers to create domains with a shared_info page each (64- or 32-bit layout), switch a
// domain to FIFO with control blocks and event-array pages, and run guest upcalls. Its
// destructor destroys every domain and checks that every page and mapping was returned.
//
// Concurrency: the world itself is set up on one thread; the EventChannels inside may then be
// used from many.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "pvkit/base/types.h"
#include "pvkit/event/event_channels.h"
#include "pvkit/platforms/host/event/guest_events.h"
#include "pvkit/platforms/host/event/host_event_platform.h"

namespace pvkit::event::testing {

inline constexpr std::size_t kDomains = 8;
inline constexpr std::uint32_t kVcpus = 4;
using Events = EventChannels<host::HostEventPlatform, kDomains, kVcpus>;

/// Guest frame numbers the helpers use for each domain's pages.
inline constexpr std::uint64_t kSharedInfoGfn = 0x10;
inline constexpr std::uint64_t kControlGfnBase = 0x20;  // + vcpu
inline constexpr std::uint64_t kArrayGfnBase = 0x100;   // + page index

class EventWorld {
 public:
  EventWorld() : ev(std::make_unique<Events>(plat)) {}
  ~EventWorld() {
    for (std::uint16_t d = 0; d < kDomains; ++d) {
      if (ev->domain_live(DomId{d})) destroy(DomId{d});
    }
    EXPECT_EQ(plat.allocator().live_pages(), 0) << "event buckets leaked";
    EXPECT_EQ(plat.mapped_frames(), 0) << "guest frames left mapped";
    EXPECT_EQ(plat.bad_unmaps(), 0);
  }

  /// Creates domain `d` with its shared_info page. Returns the create status.
  Status create(DomId d, EventDomainConfig cfg = {}) {
    cfg.shared_info = plat.add_guest_frame(d, Gfn{kSharedInfoGfn});
    return ev->domain_create(d, cfg);
  }
  void create_ok(DomId d, EventDomainConfig cfg = {}) { ASSERT_TRUE(create(d, cfg)); }

  void destroy(DomId d) {
    Status s = Errno::Restart;
    for (int i = 0; i < 4096 && s.is_restart(); ++i) s = ev->domain_destroy(d);
    EXPECT_TRUE(s) << "destroy did not finish";
  }

  xen::SharedInfo* si(DomId d) {
    return plat.guest_frame_as<xen::SharedInfo>(d, Gfn{kSharedInfoGfn});
  }
  xen::CompatSharedInfo* compat_si(DomId d) {
    return plat.guest_frame_as<xen::CompatSharedInfo>(d, Gfn{kSharedInfoGfn});
  }
  xen::VcpuInfo* vi(DomId d, std::uint32_t v) { return &si(d)->vcpu_info[v]; }

  /// Guest frame for vCPU v's control block (offset 0) and the FifoGuest over it.
  xen::EvtchnFifoControlBlock* control_block(DomId d, std::uint32_t v) {
    return plat.guest_frame_as<xen::EvtchnFifoControlBlock>(d, Gfn{kControlGfnBase + v});
  }
  std::uint32_t* array_page(DomId d, std::uint32_t i) {
    return plat.guest_frame_as<std::uint32_t>(d, Gfn{kArrayGfnBase + i});
  }

  /// Switches `d` to FIFO: control blocks for `vcpus` vCPUs and `pages` event-array pages.
  void make_fifo(DomId d, std::uint32_t vcpus = 1, std::uint32_t pages = 1) {
    for (std::uint32_t v = 0; v < vcpus; ++v) {
      control_block(d, v);
      ASSERT_TRUE(ev->init_control(d, Gfn{kControlGfnBase + v}, 0, VcpuId{v}));
    }
    for (std::uint32_t i = 0; i < pages; ++i) {
      array_page(d, i);
      ASSERT_TRUE(ev->expand_array(d, Gfn{kArrayGfnBase + i}));
    }
  }
  host::FifoGuest fifo_guest(DomId d, std::uint32_t v, std::uint32_t pages = 1) {
    host::FifoGuest g(control_block(d, v));
    for (std::uint32_t i = 0; i < pages; ++i) g.add_page(array_page(d, i));
    return g;
  }
  std::uint32_t& event_word(DomId d, std::uint32_t port) {
    return array_page(d, port / xen::kEvtchnFifoWordsPerPage)[port % xen::kEvtchnFifoWordsPerPage];
  }

  /// 2-level upcall of a 64-bit domain's vCPU.
  std::vector<std::uint32_t> upcall_2l(DomId d, std::uint32_t v = 0) {
    return host::guest_2l_upcall(si(d), vi(d, v));
  }

  /// An interdomain channel a <-> b: returns {port in a, port in b}.
  std::pair<std::uint32_t, std::uint32_t> connect(DomId a, DomId b) {
    auto pa = ev->alloc_unbound(a, kDomidSelf, b);
    EXPECT_TRUE(pa.ok());
    auto pb = ev->bind_interdomain(b, a, *pa);
    EXPECT_TRUE(pb.ok());
    return {pa->value(), pb->value()};
  }

  host::HostEventPlatform plat;
  std::unique_ptr<Events> ev;
};

}  // namespace pvkit::event::testing
