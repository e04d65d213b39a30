// Adversarial suite for the event-channel invariants 15-19 of xen-pv.md (XSA numbers that
// broke each one in Xen). Every test feeds something hostile and checks exact answers and
// that the hypervisor's state stays intact.
#include <atomic>
#include <cstdint>
#include <thread>

#include <gtest/gtest.h>

#include "pvkit/event/event_channels.h"
#include "pvkit/event/event_testutil.h"

namespace pvkit::event {
namespace {

using testing::EventWorld;

constexpr DomId kD0{0}, kD1{1}, kD2{2};

// ---------------------------------------------------------------- invariant 15

TEST(EventAdversarial, Inv15_PortValidityIsMonotonic_XSA338_340) {
  EventWorld w;
  w.create_ok(kD1);
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> checks{0};
  std::atomic<bool> violated{false};
  // A reader that treats every port below the bound it saw as valid, while buckets are being
  // added, ports closed and the domain reset.
  std::thread reader([&] {
    std::uint32_t seen = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      const std::uint32_t v = w.ev->valid_ports(kD1);
      if (v < seen) violated = true;
      seen = v;
      if (v == 0) continue;
      if (!w.ev->status(kD1, kDomidSelf, EvtchnPort{v - 1}).ok()) violated = true;
      (void)w.ev->unmask(kD1, EvtchnPort{v - 1});
      (void)w.ev->is_pending(kD1, EvtchnPort{v - 1});
      checks.fetch_add(1, std::memory_order_relaxed);
    }
  });
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 600; ++i) ASSERT_TRUE(w.ev->bind_ipi(kD1, VcpuId{0}).ok());
    Status s = w.ev->reset(kD1, kDomidSelf, false);
    while (s.is_restart()) s = w.ev->reset(kD1, kDomidSelf, true);
    ASSERT_TRUE(s);
  }
  while (checks.load() < 100) std::this_thread::yield();
  stop = true;
  reader.join();
  EXPECT_FALSE(violated.load()) << "a port once valid turned invalid or a bound shrank";
  EXPECT_EQ(w.ev->valid_ports(kD1), 640u) << "reset keeps the buckets";
}

// ---------------------------------------------------------------- invariant 16

TEST(EventAdversarial, Inv16_TwoLevelLimitFor64BitGuests_XSA317_342) {
  EventWorld w;
  w.create_ok(kD1);
  std::uint32_t last = 0;
  for (int i = 0; i < 4095; ++i) {
    auto p = w.ev->bind_ipi(kD1, VcpuId{0});
    ASSERT_TRUE(p.ok()) << i;
    last = p->value();
  }
  EXPECT_EQ(last, 4095u);
  EXPECT_EQ(w.ev->bind_ipi(kD1, VcpuId{0}).status().error(), Errno::NoSpc);
  EXPECT_EQ(w.ev->alloc_unbound(kD1, kDomidSelf, kD1).status().error(), Errno::NoSpc);
  EXPECT_EQ(w.ev->bind_virq(kD1, xen::kVirqTimer, VcpuId{0}).status().error(), Errno::NoSpc);
  ASSERT_TRUE(w.ev->send(kD1, EvtchnPort{4095}));
  EXPECT_EQ(w.si(kD1)->evtchn_pending[63], std::uint64_t{1} << 63);
  EXPECT_EQ(w.ev->send(kD1, EvtchnPort{4096}).error(), Errno::Inval);
  EXPECT_EQ(w.ev->unmask(kD1, EvtchnPort{4096}).error(), Errno::Inval);
}

TEST(EventAdversarial, Inv16_TwoLevelLimitFor32BitGuests_XSA317_342) {
  EventWorld w;
  w.create_ok(kD1, {.width = GuestWidth::Bits32});
  for (int i = 0; i < 1023; ++i) ASSERT_TRUE(w.ev->bind_ipi(kD1, VcpuId{0}).ok()) << i;
  EXPECT_EQ(w.ev->bind_ipi(kD1, VcpuId{0}).status().error(), Errno::NoSpc);
  EXPECT_EQ(w.ev->valid_ports(kD1), 1024u) << "no bucket beyond the compat limit";
  ASSERT_TRUE(w.ev->send(kD1, EvtchnPort{1023}));
  EXPECT_EQ(w.compat_si(kD1)->evtchn_pending[31], 1u << 31);
  // Nothing was written past the compat bitmaps (the 64-bit layout's would be elsewhere).
  EXPECT_EQ(w.compat_si(kD1)->wc_version, 0u);
}

TEST(EventAdversarial, Inv16_BackToTwoLevelWithHighPortsStaysInBounds_XSA342) {
  EventWorld w;
  w.create_ok(kD1);
  w.make_fifo(kD1, 1, 5);
  for (int i = 0; i < 4500; ++i) ASSERT_TRUE(w.ev->bind_ipi(kD1, VcpuId{0}).ok());
  Status s = w.ev->reset(kD1, kDomidSelf, false);
  while (s.is_restart()) s = w.ev->reset(kD1, kDomidSelf, true);
  ASSERT_TRUE(s);
  ASSERT_EQ(w.ev->abi(kD1), EventAbi::TwoLevel);
  // Buckets for ports >= 4096 still exist, but 2-level never uses them.
  EXPECT_EQ(w.ev->send(kD1, EvtchnPort{4400}).error(), Errno::Inval);
  EXPECT_TRUE(w.ev->unmask(kD1, EvtchnPort{4400}));  // valid, free: safe, no bitmap write
  EXPECT_FALSE(w.ev->is_pending(kD1, EvtchnPort{4400}));
  for (int i = 0; i < 4095; ++i) ASSERT_TRUE(w.ev->bind_ipi(kD1, VcpuId{0}).ok());
  EXPECT_EQ(w.ev->bind_ipi(kD1, VcpuId{0}).status().error(), Errno::NoSpc);
}

// ---------------------------------------------------------------- invariant 17

TEST(EventAdversarial, Inv17_ResetWorksInBoundedPreemptibleSteps_XSA344) {
  EventWorld w;
  w.create_ok(kD1);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(w.ev->bind_ipi(kD1, VcpuId{0}).ok());
  int steps = 1;
  Status s = w.ev->reset(kD1, kDomidSelf, false);
  while (s.is_restart() && steps < 1000) {
    ++steps;
    s = w.ev->reset(kD1, kDomidSelf, true);
  }
  EXPECT_TRUE(s);
  EXPECT_GE(steps, 1000 / static_cast<int>(kTeardownChunk));
  EXPECT_LE(steps, 1024 / static_cast<int>(kTeardownChunk) + 1);
}

TEST(EventAdversarial, Inv17_ResetInProgressRefusesASecondOne_XSA343) {
  EventWorld w;
  w.create_ok(kD0, {.privileged = true});
  w.create_ok(kD1);
  for (int i = 0; i < 400; ++i) ASSERT_TRUE(w.ev->bind_ipi(kD1, VcpuId{0}).ok());
  ASSERT_TRUE(w.ev->reset(kD1, kDomidSelf, false).is_restart());
  EXPECT_EQ(w.ev->reset(kD1, kDomidSelf, false).error(), Errno::Busy);
  EXPECT_EQ(w.ev->reset(kD0, kD1, false).error(), Errno::Busy);
  Status s = Errno::Restart;
  while (s.is_restart()) s = w.ev->reset(kD1, kDomidSelf, true);
  EXPECT_TRUE(s);
  EXPECT_EQ(w.ev->reset(kD1, kDomidSelf, true).error(), Errno::Busy) << "nothing to resume";
}

TEST(EventAdversarial, Inv17_PortsBoundDuringResetMakeItFail_XSA343) {
  EventWorld w;
  w.create_ok(kD1);
  for (int i = 0; i < 400; ++i) ASSERT_TRUE(w.ev->bind_ipi(kD1, VcpuId{0}).ok());
  ASSERT_TRUE(w.ev->reset(kD1, kDomidSelf, false).is_restart());
  auto sneaky = w.ev->bind_ipi(kD1, VcpuId{0});  // another vCPU binds meanwhile
  ASSERT_TRUE(sneaky.ok());
  Status s = Errno::Restart;
  while (s.is_restart()) s = w.ev->reset(kD1, kDomidSelf, true);
  EXPECT_EQ(s.error(), Errno::Again);
  s = w.ev->reset(kD1, kDomidSelf, false);
  while (s.is_restart()) s = w.ev->reset(kD1, kDomidSelf, true);
  EXPECT_TRUE(s) << "a fresh reset then succeeds";
}

TEST(EventAdversarial, Inv17_DestroyIsBoundedAndReturnsEveryPage_XSA344) {
  EventWorld w;
  w.create_ok(kD1);
  w.create_ok(kD2);
  w.make_fifo(kD2, 1, 1);
  for (int i = 0; i < 700; ++i) ASSERT_TRUE(w.ev->bind_ipi(kD2, VcpuId{0}).ok());
  auto [a, b] = w.connect(kD1, kD2);
  int steps = 0;
  Status s = Errno::Restart;
  while (s.is_restart() && steps < 100) {
    s = w.ev->domain_destroy(kD2);
    ++steps;
    EXPECT_FALSE(w.ev->domain_live(kD2)) << "dying from the first step";
    EXPECT_EQ(w.ev->bind_interdomain(kD1, kD2, EvtchnPort{1}).status().error(), Errno::Srch);
  }
  ASSERT_TRUE(s);
  EXPECT_GT(steps, 3);
  auto st = w.ev->status(kD1, kDomidSelf, EvtchnPort{a});
  EXPECT_EQ(st->status, xen::kEvtchnStatUnbound);
  EXPECT_EQ(st->u.unbound.dom, 2u);
  EXPECT_TRUE(w.ev->send(kD1, EvtchnPort{a})) << "sending to a dead peer is dropped";
  EXPECT_EQ(w.plat.mapped_frames(), 0);
  // The id can be reused.
  w.create_ok(kD2);
  EXPECT_EQ(w.ev->valid_ports(kD2), 0u);
  (void)b;
}

// ---------------------------------------------------------------- invariant 18

TEST(EventAdversarial, Inv18_NoControlBlockDropsTheEvent_XSA358) {
  EventWorld w;
  w.create_ok(kD1, {.nr_vcpus = 2});
  w.make_fifo(kD1, /*vcpus=*/1, 1);  // vCPU 1 never registers a control block
  auto p = w.ev->bind_ipi(kD1, VcpuId{1});
  ASSERT_TRUE(w.ev->send(kD1, *p));
  const std::uint32_t word = w.event_word(kD1, p->value());
  EXPECT_NE(word & (1u << xen::kEvtchnFifoPendingBit), 0u);
  EXPECT_EQ(word & (1u << xen::kEvtchnFifoLinkedBit), 0u) << "not queued anywhere";
  EXPECT_EQ(w.plat.kicks(kD1, VcpuId{1}), 0u);
  EXPECT_EQ(w.control_block(kD1, 0)->ready, 0u) << "never put on another vCPU's queue";
}

TEST(EventAdversarial, Inv18_NoEventArrayDropsTheEvent_XSA107) {
  EventWorld w;
  w.create_ok(kD1);
  w.make_fifo(kD1, 1, /*pages=*/0);
  auto p = w.ev->bind_ipi(kD1, VcpuId{0});
  ASSERT_TRUE(w.ev->send(kD1, *p));
  ASSERT_TRUE(w.ev->unmask(kD1, *p));
  EXPECT_FALSE(w.ev->is_pending(kD1, *p));
  EXPECT_EQ(w.plat.kicks(kD1, VcpuId{0}), 0u);
}

TEST(EventAdversarial, Inv18_HeadsAreSetBeforeTheControlBlockIsPublished_XSA359) {
  EventWorld w;
  w.create_ok(kD1, {.nr_vcpus = 2});
  w.make_fifo(kD1, 1, 1);
  auto p = w.ev->bind_ipi(kD1, VcpuId{1});
  w.control_block(kD1, 1);
  std::atomic<bool> stop{false};
  std::thread sender([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      (void)w.ev->send(kD1, *p);
      // The "guest" keeps consuming so every send tries to link again.
      guest_fetch_and(&w.event_word(kD1, p->value()),
                      ~((1u << xen::kEvtchnFifoPendingBit) | (1u << xen::kEvtchnFifoLinkedBit)));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(w.ev->init_control(kD1, Gfn{testing::kControlGfnBase + 1}, 0, VcpuId{1}));
  while (w.plat.kicks(kD1, VcpuId{1}) == 0) std::this_thread::yield();
  stop = true;
  sender.join();
  // Once published, the queue wrote a real head into the guest's control block.
  EXPECT_EQ(w.control_block(kD1, 1)->head[7], p->value());
  EXPECT_NE(w.control_block(kD1, 1)->ready & (1u << 7), 0u);
}

// ---------------------------------------------------------------- invariant 19

TEST(EventAdversarial, Inv19_OperationsOnUnallocatedPortsAreSafe_XSA221) {
  for (bool fifo : {false, true}) {
    EventWorld w;
    w.create_ok(kD1);
    if (fifo) w.make_fifo(kD1, 1, 1);
    auto bound = w.ev->bind_ipi(kD1, VcpuId{0});
    ASSERT_TRUE(bound.ok());
    const std::uint32_t valid = w.ev->valid_ports(kD1);
    // Valid but free ports.
    for (std::uint32_t port : {2u, valid - 1}) {
      EXPECT_TRUE(w.ev->unmask(kD1, EvtchnPort{port})) << port;
      EXPECT_EQ(w.ev->status(kD1, kDomidSelf, EvtchnPort{port})->status, xen::kEvtchnStatClosed);
      EXPECT_FALSE(w.ev->is_pending(kD1, EvtchnPort{port}));
      EXPECT_EQ(w.ev->send(kD1, EvtchnPort{port}).error(), Errno::Inval);
      EXPECT_EQ(w.ev->close(kD1, EvtchnPort{port}).error(), Errno::Inval);
      EXPECT_EQ(w.ev->bind_vcpu(kD1, EvtchnPort{port}, VcpuId{0}).error(), Errno::Inval);
    }
    // Never-allocated ports, up to the largest values a guest can pass.
    for (std::uint32_t port : {valid, 4095u, 4096u, 131071u, 131072u, 0x80000000u, 0xFFFFFFFFu}) {
      EXPECT_EQ(w.ev->unmask(kD1, EvtchnPort{port}).error(), Errno::Inval) << port;
      EXPECT_EQ(w.ev->status(kD1, kDomidSelf, EvtchnPort{port}).status().error(), Errno::Inval);
      EXPECT_FALSE(w.ev->is_pending(kD1, EvtchnPort{port}));
      EXPECT_EQ(w.ev->send(kD1, EvtchnPort{port}).error(), Errno::Inval);
      EXPECT_EQ(w.ev->close(kD1, EvtchnPort{port}).error(), Errno::Inval);
      EXPECT_EQ(w.ev->bind_vcpu(kD1, EvtchnPort{port}, VcpuId{0}).error(), Errno::Inval);
      EXPECT_EQ(w.ev->set_priority(kD1, EvtchnPort{port}, 1).error(), Errno::Inval);
    }
    EXPECT_EQ(w.plat.total_kicks(), 0u);
    EXPECT_EQ(w.ev->status(kD1, kDomidSelf, *bound)->status, xen::kEvtchnStatIpi);
  }
}

}  // namespace
}  // namespace pvkit::event
