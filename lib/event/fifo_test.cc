// The FIFO event ABI: init_control, expand_array, set_priority, queueing, migration from the
// 2-level ABI, and a guest that rewrites its shared words while the hypervisor links events.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

#include <gtest/gtest.h>

#include "pvkit/event/event_channels.h"
#include "pvkit/event/event_testutil.h"
#include "pvkit/event/event_word.h"

namespace pvkit::event {
namespace {

using testing::EventWorld;
using testing::kArrayGfnBase;
using testing::kControlGfnBase;

constexpr DomId kD1{1}, kD2{2};

EventWord word_of(EventWorld& w, DomId d, std::uint32_t port) {
  return EventWord{guest_load(&w.event_word(d, port))};
}

TEST(FifoInitControl, ValidatesOffsetAlignmentVcpuAndFrame) {
  EventWorld w;
  w.create_ok(kD1, {.nr_vcpus = 2});
  w.create_ok(kD2);
  w.control_block(kD1, 0);
  w.control_block(kD2, 0);
  const Gfn cb{kControlGfnBase};
  EXPECT_EQ(w.ev->init_control(kD1, cb, 4096 - 72 + 8, VcpuId{0}).error(), Errno::Inval);
  EXPECT_EQ(w.ev->init_control(kD1, cb, 0xFFFFFFF8u, VcpuId{0}).error(), Errno::Inval);
  EXPECT_EQ(w.ev->init_control(kD1, cb, 4, VcpuId{0}).error(), Errno::Inval);
  EXPECT_EQ(w.ev->init_control(kD1, cb, 0, VcpuId{2}).error(), Errno::NoEnt);
  EXPECT_EQ(w.ev->init_control(kD1, Gfn{0x999}, 0, VcpuId{0}).error(), Errno::Inval);
  EXPECT_EQ(w.plat.mapped_frames(), 0);
  EXPECT_EQ(w.ev->abi(kD1), EventAbi::TwoLevel) << "failed calls change nothing";
  // The last possible offset is accepted.
  ASSERT_TRUE(w.ev->init_control(kD1, cb, 4096 - 72, VcpuId{0}));
  EXPECT_EQ(w.ev->abi(kD1), EventAbi::Fifo);
  EXPECT_EQ(w.ev->init_control(kD1, cb, 0, VcpuId{0}).error(), Errno::Inval) << "twice";
  w.control_block(kD1, 1);
  EXPECT_TRUE(w.ev->init_control(kD1, Gfn{kControlGfnBase + 1}, 0, VcpuId{1}));
}

TEST(FifoInitControl, AnotherDomainsFrameIsRefused) {
  EventWorld w;
  w.create_ok(kD1);
  w.create_ok(kD2);
  w.plat.add_guest_frame(kD2, Gfn{0x500});
  EXPECT_EQ(w.ev->init_control(kD1, Gfn{0x500}, 0, VcpuId{0}).error(), Errno::Inval);
  w.make_fifo(kD1, 1, 0);
  EXPECT_EQ(w.ev->expand_array(kD1, Gfn{0x500}).error(), Errno::Inval);
}

TEST(FifoExpandArray, AddsPagesUpToThePortLimit) {
  EventWorld w;
  w.create_ok(kD1, {.max_port = 2047});
  w.make_fifo(kD1, 1, 2);
  w.array_page(kD1, 2);
  EXPECT_EQ(w.ev->expand_array(kD1, Gfn{kArrayGfnBase + 2}).error(), Errno::NoSpc);
  EXPECT_EQ(w.plat.mapped_frames(), 3);
}

TEST(FifoDelivery, QueuesInOrderAndSetsReadyAndUpcall) {
  EventWorld w;
  w.create_ok(kD1);
  w.make_fifo(kD1);
  auto guest = w.fifo_guest(kD1, 0);
  auto p1 = w.ev->bind_ipi(kD1, VcpuId{0});
  auto p2 = w.ev->bind_ipi(kD1, VcpuId{0});
  ASSERT_TRUE(w.ev->send(kD1, *p1));
  ASSERT_TRUE(w.ev->send(kD1, *p2));
  auto* cb = w.control_block(kD1, 0);
  EXPECT_EQ(cb->ready, 1u << xen::kEvtchnFifoPriorityDefault);
  EXPECT_EQ(cb->head[xen::kEvtchnFifoPriorityDefault], p1->value());
  EventWord w1 = word_of(w, kD1, p1->value());
  EXPECT_TRUE(w1.pending());
  EXPECT_TRUE(w1.linked());
  EXPECT_EQ(w1.link(), p2->value());
  EXPECT_EQ(w.vi(kD1, 0)->evtchn_upcall_pending, 1);
  EXPECT_EQ(w.plat.kicks(kD1, VcpuId{0}), 1u);
  auto handled = guest.upcall(w.vi(kD1, 0));
  ASSERT_EQ(handled.size(), 2u);
  EXPECT_EQ(handled[0], p1->value());
  EXPECT_EQ(handled[1], p2->value());
  EXPECT_TRUE(w.ev->is_pending(kD1, *p1) == false);
  // A new event after the guest drained the queue restarts it at head.
  ASSERT_TRUE(w.ev->send(kD1, *p2));
  EXPECT_EQ(cb->head[xen::kEvtchnFifoPriorityDefault], p2->value());
  handled = guest.upcall(w.vi(kD1, 0));
  ASSERT_EQ(handled.size(), 1u);
  EXPECT_EQ(handled[0], p2->value());
}

TEST(FifoPriority, HigherPriorityQueueIsConsumedFirst) {
  EventWorld w;
  w.create_ok(kD1);
  w.make_fifo(kD1);
  auto guest = w.fifo_guest(kD1, 0);
  auto lo = w.ev->bind_ipi(kD1, VcpuId{0});
  auto hi = w.ev->bind_ipi(kD1, VcpuId{0});
  ASSERT_TRUE(w.ev->set_priority(kD1, *hi, 2));
  EXPECT_EQ(w.ev->set_priority(kD1, *hi, 16).error(), Errno::Inval);
  EXPECT_EQ(w.ev->set_priority(kD1, *hi, 0xFFFFFFFF).error(), Errno::Inval);
  ASSERT_TRUE(w.ev->send(kD1, *lo));
  ASSERT_TRUE(w.ev->send(kD1, *hi));
  EXPECT_EQ(w.control_block(kD1, 0)->ready, (1u << 2) | (1u << 7));
  auto handled = guest.upcall(w.vi(kD1, 0));
  ASSERT_EQ(handled.size(), 2u);
  EXPECT_EQ(handled[0], hi->value());
  EXPECT_EQ(handled[1], lo->value());
}

TEST(FifoMask, MaskedEventStaysPendingUntilUnmask) {
  EventWorld w;
  w.create_ok(kD1);
  w.make_fifo(kD1);
  auto guest = w.fifo_guest(kD1, 0);
  auto p = w.ev->bind_ipi(kD1, VcpuId{0});
  guest.set_masked(p->value(), true);
  ASSERT_TRUE(w.ev->send(kD1, *p));
  EventWord ew = word_of(w, kD1, p->value());
  EXPECT_TRUE(ew.pending());
  EXPECT_FALSE(ew.linked());
  EXPECT_TRUE(ew.masked()) << "the hypervisor never sets or clears MASKED on its own";
  EXPECT_EQ(w.plat.kicks(kD1, VcpuId{0}), 0u);
  ASSERT_TRUE(w.ev->unmask(kD1, *p));
  ew = word_of(w, kD1, p->value());
  EXPECT_FALSE(ew.masked());
  EXPECT_TRUE(ew.linked());
  EXPECT_EQ(w.plat.kicks(kD1, VcpuId{0}), 1u);
  auto handled = guest.upcall(w.vi(kD1, 0));
  ASSERT_EQ(handled.size(), 1u);
}

TEST(FifoDeferred, EventBeforeItsArrayPageIsDeliveredByExpandArray) {
  EventWorld w;
  w.create_ok(kD1);
  w.make_fifo(kD1, 1, 1);
  // Fill page 0 (ports 1..1023), then bind one on page 1.
  for (int i = 1; i < 1024; ++i) ASSERT_TRUE(w.ev->bind_ipi(kD1, VcpuId{0}).ok());
  auto far = w.ev->bind_ipi(kD1, VcpuId{0});
  ASSERT_EQ(far->value(), 1024u);
  ASSERT_TRUE(w.ev->send(kD1, *far));
  EXPECT_EQ(w.plat.kicks(kD1, VcpuId{0}), 0u);
  w.array_page(kD1, 1);
  ASSERT_TRUE(w.ev->expand_array(kD1, Gfn{kArrayGfnBase + 1}));
  EXPECT_TRUE(word_of(w, kD1, 1024).pending());
  EXPECT_EQ(w.control_block(kD1, 0)->head[7], 1024u);
  EXPECT_EQ(w.plat.kicks(kD1, VcpuId{0}), 1u);
}

TEST(FifoMigration, TwoLevelPendingEventsSurviveTheSwitch) {
  EventWorld w;
  w.create_ok(kD1);
  w.create_ok(kD2);
  auto [a, b] = w.connect(kD1, kD2);  // b pending in D2's 2-level bitmap
  auto quiet = w.ev->bind_ipi(kD2, VcpuId{0});
  w.make_fifo(kD2, 1, 1);
  EXPECT_TRUE(word_of(w, kD2, b).pending());
  EXPECT_TRUE(word_of(w, kD2, b).linked());
  EXPECT_FALSE(word_of(w, kD2, quiet->value()).pending());
  auto guest = w.fifo_guest(kD2, 0);
  auto handled = guest.upcall(w.vi(kD2, 0));
  ASSERT_EQ(handled.size(), 1u);
  EXPECT_EQ(handled[0], b);
  // Bindings survived: a send from D1 now arrives through FIFO.
  ASSERT_TRUE(w.ev->send(kD1, EvtchnPort{a}));
  handled = guest.upcall(w.vi(kD2, 0));
  ASSERT_EQ(handled.size(), 1u);
  EXPECT_EQ(handled[0], b);
}

TEST(FifoPortSpace, FifoAllowsPortsBeyondTheTwoLevelLimit) {
  EventWorld w;
  w.create_ok(kD1, {.max_port = 4200});
  w.make_fifo(kD1, 1, 5);
  std::uint32_t last = 0;
  for (int i = 0; i < 4200; ++i) {
    auto p = w.ev->bind_ipi(kD1, VcpuId{0});
    ASSERT_TRUE(p.ok()) << i;
    last = p->value();
  }
  EXPECT_EQ(last, 4200u);
  EXPECT_EQ(w.ev->bind_ipi(kD1, VcpuId{0}).status().error(), Errno::NoSpc);
  ASSERT_TRUE(w.ev->send(kD1, EvtchnPort{4200}));
  EXPECT_TRUE(word_of(w, kD1, 4200).pending());
}

TEST(FifoReset, ReturnsToTwoLevelAndUnmapsEveryFrame) {
  EventWorld w;
  w.create_ok(kD1, {.nr_vcpus = 2});
  w.make_fifo(kD1, 2, 2);
  auto p = w.ev->bind_ipi(kD1, VcpuId{1});
  ASSERT_TRUE(w.ev->send(kD1, *p));
  EXPECT_EQ(w.plat.mapped_frames(), 4);
  ASSERT_TRUE(w.ev->reset(kD1, kDomidSelf, false));
  EXPECT_EQ(w.ev->abi(kD1), EventAbi::TwoLevel);
  EXPECT_EQ(w.plat.mapped_frames(), 0);
  // Usable again under 2-level, and FIFO can be set up anew.
  auto q = w.ev->bind_ipi(kD1, VcpuId{0});
  ASSERT_TRUE(w.ev->send(kD1, *q));
  EXPECT_TRUE(two_level_is_pending(w.si(kD1), q->value()));
  w.make_fifo(kD1, 1, 1);
  EXPECT_EQ(w.ev->abi(kD1), EventAbi::Fifo);
}

TEST(FifoQueues, RetargetedEventStaysOnItsOldQueueUntilConsumed) {
  EventWorld w;
  w.create_ok(kD1, {.nr_vcpus = 2});
  w.create_ok(kD2);
  w.make_fifo(kD1, 2, 1);
  auto [a, b] = w.connect(kD2, kD1);
  auto g0 = w.fifo_guest(kD1, 0);
  auto g1 = w.fifo_guest(kD1, 1);
  ASSERT_TRUE(w.ev->send(kD2, EvtchnPort{a}));  // linked on vCPU 0's queue
  ASSERT_TRUE(w.ev->bind_vcpu(kD1, EvtchnPort{b}, VcpuId{1}));
  ASSERT_TRUE(w.ev->send(kD2, EvtchnPort{a}));  // still linked: nothing moves
  EXPECT_EQ(w.control_block(kD1, 1)->ready, 0u);
  auto h0 = g0.upcall(w.vi(kD1, 0));
  ASSERT_EQ(h0.size(), 1u);
  ASSERT_TRUE(w.ev->send(kD2, EvtchnPort{a}));  // now it goes to vCPU 1
  auto h1 = g1.upcall(w.vi(kD1, 1));
  ASSERT_EQ(h1.size(), 1u);
  EXPECT_EQ(h1[0], b);
  EXPECT_EQ(w.plat.kicks(kD1, VcpuId{1}), 1u);
}

// A port closed while still on a queue and re-bound to another vCPU: the queue it was on must
// forget it as its tail, or the next event on that queue would be linked behind it across
// queues.
TEST(FifoQueues, RebindingAPortStillOnAQueueNeverLinksAcrossQueues) {
  EventWorld w;
  w.create_ok(kD1, {.nr_vcpus = 2});
  w.make_fifo(kD1, 2, 1);
  auto g0 = w.fifo_guest(kD1, 0);
  auto g1 = w.fifo_guest(kD1, 1);
  auto p = w.ev->bind_ipi(kD1, VcpuId{1});
  ASSERT_TRUE(w.ev->send(kD1, *p));  // p is vCPU 1's tail, not consumed
  ASSERT_TRUE(w.ev->close(kD1, *p));
  auto p2 = w.ev->bind_ipi(kD1, VcpuId{0});  // the same port number, now for vCPU 0
  ASSERT_EQ(p2->value(), p->value());
  EXPECT_TRUE(g1.upcall(w.vi(kD1, 1)).empty()) << "closed: no longer pending, just unlinked";
  ASSERT_TRUE(w.ev->send(kD1, *p2));  // linked on vCPU 0's queue now
  auto r = w.ev->bind_ipi(kD1, VcpuId{1});
  ASSERT_TRUE(w.ev->send(kD1, *r));  // vCPU 1's queue must start afresh at head
  EXPECT_NE(word_of(w, kD1, p2->value()).link(), r->value());
  EXPECT_EQ(w.control_block(kD1, 1)->head[7], r->value());
  auto h0 = g0.upcall(w.vi(kD1, 0));
  auto h1 = g1.upcall(w.vi(kD1, 1));
  ASSERT_EQ(h0.size(), 1u);
  EXPECT_EQ(h0[0], p2->value());
  ASSERT_EQ(h1.size(), 1u);
  EXPECT_EQ(h1[0], r->value());
}

// Hostile shared memory: the guest writes nonsense LINK values into its event words and the
// control block; the hypervisor never follows LINK and never trusts a head it did not write.
TEST(FifoHostile, BogusLinkValuesAndHeadsNeverMisleadTheHypervisor) {
  EventWorld w;
  w.create_ok(kD1);
  w.make_fifo(kD1);
  auto p1 = w.ev->bind_ipi(kD1, VcpuId{0});
  auto p2 = w.ev->bind_ipi(kD1, VcpuId{0});
  ASSERT_TRUE(w.ev->send(kD1, *p1));
  // The guest corrupts p1's LINK (pointing far outside the array) and the head.
  guest_store(&w.event_word(kD1, p1->value()), EventWord::kPending | EventWord::kLinked | 0x1FFFFu);
  auto* cb = w.control_block(kD1, 0);
  guest_store(&cb->head[7], 0xFFFFFFFFu);
  guest_store(&cb->ready, 0xFFFFFFFFu);
  ASSERT_TRUE(w.ev->send(kD1, *p2));  // appends after p1 (still LINKED): rewrites its LINK
  EXPECT_EQ(word_of(w, kD1, p1->value()).link(), p2->value());
  EXPECT_FALSE(word_of(w, kD1, p1->value()).busy());
  // Words of ports that were never bound, filled with garbage: sends elsewhere are unaffected.
  for (std::uint32_t i = 100; i < 1024; ++i) w.event_word(kD1, i) = 0xFFFFFFFFu;
  ASSERT_TRUE(w.ev->unmask(kD1, EvtchnPort{3}));  // a free port inside the array: harmless
}

TEST(FifoHostile, GuestRewritingTheTailWordCannotStallTheHypervisor) {
  EventWorld w;
  w.create_ok(kD1);
  w.make_fifo(kD1);
  auto tail = w.ev->bind_ipi(kD1, VcpuId{0});
  auto next = w.ev->bind_ipi(kD1, VcpuId{0});
  ASSERT_TRUE(w.ev->send(kD1, *tail));  // tail is LINKED and the queue's tail
  std::atomic<bool> stop{false};
  std::uint32_t* tw = &w.event_word(kD1, tail->value());
  std::thread flipper([&] {
    std::uint32_t n = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      // Keep LINKED set but change LINK every time: every compare-exchange can fail.
      guest_store(tw, EventWord::kPending | EventWord::kLinked | (++n & EventWord::kLinkMask));
    }
  });
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(w.ev->send(kD1, *next));
    // Let the guest "consume" next so the following send links again.
    guest_fetch_and(&w.event_word(kD1, next->value()),
                    ~(EventWord::kPending | EventWord::kLinked));
  }
  stop = true;
  flipper.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  EXPECT_FALSE(word_of(w, kD1, next->value()).busy());
}

TEST(FifoHostile, HugeOrMisalignedControlBlockOffsetsAreRefused) {
  EventWorld w;
  w.create_ok(kD1);
  w.control_block(kD1, 0);
  for (std::uint32_t off : {4025u, 4032u, 4096u, 8192u, 0x80000000u, 0xFFFFFFFFu, 1u, 7u, 12u}) {
    EXPECT_EQ(w.ev->init_control(kD1, Gfn{kControlGfnBase}, off, VcpuId{0}).error(), Errno::Inval)
        << off;
  }
  EXPECT_EQ(w.plat.mapped_frames(), 0);
  ASSERT_TRUE(w.ev->init_control(kD1, Gfn{kControlGfnBase}, 4016, VcpuId{0}));
}

}  // namespace
}  // namespace pvkit::event
