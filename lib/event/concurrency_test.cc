// Concurrency: std::threads acting as vCPUs of several domains send while others close,
// re-bind, re-target (bind_vcpu), reset and destroy. Each test runs for a fixed short time
// (well under 2 s) and checks, once the threads stop, that every interdomain channel is
// consistent on both ends, that delivery still works, and (EventWorld) that teardown
// returns every page and mapping.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "pvkit/event/event_channels.h"
#include "pvkit/event/event_testutil.h"

namespace pvkit::event {
namespace {

using testing::EventWorld;

constexpr DomId kD0{0}, kD1{1}, kD2{2}, kD3{3}, kD4{4};
constexpr auto kRunFor = std::chrono::milliseconds(250);

/// Runs the bodies on their own threads until kRunFor has passed.
void run_threads(const std::vector<std::function<void(std::atomic<bool>&)>>& bodies) {
  std::atomic<bool> stop{false};
  std::vector<std::thread> ts;
  for (const auto& b : bodies) ts.emplace_back([&stop, &b] { b(stop); });
  std::this_thread::sleep_for(kRunFor);
  stop = true;
  for (auto& t : ts) t.join();
}

/// Every interdomain port's peer names it back; unbound ports name a domain.
void expect_consistent(EventWorld& w, std::initializer_list<DomId> doms) {
  for (DomId d : doms) {
    if (!w.ev->domain_live(d)) continue;
    const std::uint32_t valid = w.ev->valid_ports(d);
    for (std::uint32_t p = 1; p < valid; ++p) {
      auto s = w.ev->status(d, kDomidSelf, EvtchnPort{p});
      ASSERT_TRUE(s.ok());
      if (s->status != xen::kEvtchnStatInterdomain) continue;
      const DomId rd{s->u.interdomain.dom};
      auto r = w.ev->status(rd, kDomidSelf, EvtchnPort{s->u.interdomain.port});
      ASSERT_TRUE(r.ok());
      EXPECT_EQ(r->status, xen::kEvtchnStatInterdomain) << "dom " << d.value() << " port " << p;
      EXPECT_EQ(r->u.interdomain.dom, d.value());
      EXPECT_EQ(r->u.interdomain.port, p);
    }
  }
}

TEST(EventConcurrency, SendersAgainstCloseRebindAndBindVcpu) {
  EventWorld w;
  w.create_ok(kD1);
  w.create_ok(kD2, {.nr_vcpus = 3});
  const auto ends = w.connect(kD1, kD2);
  const std::uint32_t a = ends.first;
  std::atomic<std::uint32_t> b{ends.second};
  std::atomic<int> bad{0};
  run_threads({
      [&](std::atomic<bool>& stop) {  // D1 vCPU: sends must always succeed (interdomain/unbound)
        while (!stop) {
          if (!w.ev->send(kD1, EvtchnPort{a})) ++bad;
        }
      },
      [&](std::atomic<bool>& stop) {  // D2 vCPU 0: close and re-bind
        while (!stop) {
          if (!w.ev->close(kD2, EvtchnPort{b.load()})) ++bad;
          auto nb = w.ev->bind_interdomain(kD2, kD1, EvtchnPort{a});
          if (!nb) {
            ++bad;
            return;
          }
          b = nb->value();
        }
      },
      [&](std::atomic<bool>& stop) {  // D2 vCPU 1: sends back and re-targets the port
        std::uint32_t v = 0;
        while (!stop) {
          Status s = w.ev->send(kD2, EvtchnPort{b.load()});
          if (!s && s.error() != Errno::Inval) ++bad;
          s = w.ev->bind_vcpu(kD2, EvtchnPort{b.load()}, VcpuId{v++ % 3});
          if (!s && s.error() != Errno::Inval) ++bad;
        }
      },
      [&](std::atomic<bool>& stop) {  // D2's guest: handles upcalls on every vCPU
        while (!stop) {
          for (std::uint32_t v = 0; v < 3; ++v) w.upcall_2l(kD2, v);
        }
      },
  });
  EXPECT_EQ(bad.load(), 0);
  expect_consistent(w, {kD1, kD2});
  // Still delivers after the storm.
  for (std::uint32_t v = 0; v < 3; ++v) w.upcall_2l(kD2, v);
  ASSERT_TRUE(w.ev->bind_vcpu(kD2, EvtchnPort{b.load()}, VcpuId{0}));
  ASSERT_TRUE(w.ev->send(kD1, EvtchnPort{a}));
  auto handled = w.upcall_2l(kD2, 0);
  ASSERT_EQ(handled.size(), 1u);
  EXPECT_EQ(handled[0], b.load());
}

TEST(EventConcurrency, SendersAgainstPrivilegedReset) {
  EventWorld w;
  w.create_ok(kD0, {.privileged = true});
  w.create_ok(kD1);
  w.create_ok(kD2);
  std::vector<std::uint32_t> ours;
  for (int i = 0; i < 8; ++i) ours.push_back(w.connect(kD1, kD2).first);
  std::atomic<int> bad{0};
  std::atomic<int> resets{0};
  run_threads({
      [&](std::atomic<bool>& stop) {  // D1 sends on all its ports
        while (!stop) {
          for (auto p : ours) {
            if (!w.ev->send(kD1, EvtchnPort{p})) ++bad;
          }
        }
      },
      [&](std::atomic<bool>& stop) {  // D2 keeps re-binding whatever is unbound for it
        while (!stop) {
          for (auto p : ours) {
            auto r = w.ev->bind_interdomain(kD2, kD1, EvtchnPort{p});
            if (!r && r.status().error() != Errno::Inval && r.status().error() != Errno::NoSpc) ++bad;
          }
        }
      },
      [&](std::atomic<bool>& stop) {  // dom0 resets D2 over and over
        while (!stop) {
          Status s = w.ev->reset(kD0, kD2, false);
          while (s.is_restart()) s = w.ev->reset(kD0, kD2, true);
          if (!s && s.error() != Errno::Again && s.error() != Errno::Busy) ++bad;
          ++resets;
        }
      },
      [&](std::atomic<bool>& stop) {
        while (!stop) w.upcall_2l(kD2, 0);
      },
  });
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(resets.load(), 0);
  expect_consistent(w, {kD1, kD2});
  for (auto p : ours) {
    auto s = w.ev->status(kD1, kDomidSelf, EvtchnPort{p});
    EXPECT_TRUE(s->status == xen::kEvtchnStatUnbound || s->status == xen::kEvtchnStatInterdomain);
  }
}

TEST(EventConcurrency, FifoSendersConsumersMasksAndRetargeting) {
  EventWorld w;
  w.create_ok(kD1);
  w.create_ok(kD2, {.nr_vcpus = 2});
  w.make_fifo(kD2, 2, 1);
  std::vector<std::pair<std::uint32_t, std::uint32_t>> chans;
  for (int i = 0; i < 6; ++i) chans.push_back(w.connect(kD1, kD2));
  auto g0 = w.fifo_guest(kD2, 0);
  auto g1 = w.fifo_guest(kD2, 1);
  std::atomic<int> bad{0};
  std::atomic<std::uint64_t> handled{0};
  run_threads({
      [&](std::atomic<bool>& stop) {
        while (!stop) {
          for (auto [a, b] : chans) {
            if (!w.ev->send(kD1, EvtchnPort{a})) ++bad;
          }
        }
      },
      [&](std::atomic<bool>& stop) {  // re-targets and re-prioritises D2's ports
        std::uint32_t i = 0;
        while (!stop) {
          auto [a, b] = chans[i % chans.size()];
          if (!w.ev->bind_vcpu(kD2, EvtchnPort{b}, VcpuId{i % 2})) ++bad;
          if (!w.ev->set_priority(kD2, EvtchnPort{b}, i % 16)) ++bad;
          ++i;
        }
      },
      [&](std::atomic<bool>& stop) {  // vCPU 0's guest, masking and unmasking as it goes
        std::uint32_t i = 0;
        while (!stop) {
          handled += g0.upcall(w.vi(kD2, 0)).size();
          auto b = chans[i++ % chans.size()].second;
          g0.set_masked(b, true);
          if (!w.ev->unmask(kD2, EvtchnPort{b})) ++bad;
        }
      },
      [&](std::atomic<bool>& stop) {
        while (!stop) handled += g1.upcall(w.vi(kD2, 1)).size();
      },
  });
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(handled.load(), 0u);
  // Quiesce: drain both vCPUs; then each channel delivers exactly once more.
  for (auto [a, b] : chans) {
    g0.set_masked(b, false);
    ASSERT_TRUE(w.ev->bind_vcpu(kD2, EvtchnPort{b}, VcpuId{0}));
  }
  g0.upcall(w.vi(kD2, 0));
  g1.upcall(w.vi(kD2, 1));
  for (auto [a, b] : chans) {
    guest_fetch_and(&w.event_word(kD2, b), ~(1u << xen::kEvtchnFifoPendingBit));
  }
  g0.upcall(w.vi(kD2, 0));
  g1.upcall(w.vi(kD2, 1));
  for (auto [a, b] : chans) ASSERT_TRUE(w.ev->send(kD1, EvtchnPort{a}));
  auto got = g0.upcall(w.vi(kD2, 0));
  auto got1 = g1.upcall(w.vi(kD2, 1));
  got.insert(got.end(), got1.begin(), got1.end());
  EXPECT_EQ(got.size(), chans.size()) << "every channel still delivers after the storm";
  for (auto b : got) EXPECT_FALSE(w.event_word(kD2, b) & (1u << xen::kEvtchnFifoBusyBit));
}

// The guest owns MASK and clears PENDING whenever it likes; the hypervisor's set-pending,
// unmask and close race with it. Afterwards the bitmaps still follow the 2-level rules.
TEST(EventConcurrency, TwoLevelMasksFlippedWhileSendingAndUnmasking) {
  EventWorld w;
  w.create_ok(kD1);
  w.create_ok(kD2);
  std::vector<std::pair<std::uint32_t, std::uint32_t>> chans;
  for (int i = 0; i < 70; ++i) chans.push_back(w.connect(kD1, kD2));  // spans two words
  std::atomic<int> bad{0};
  run_threads({
      [&](std::atomic<bool>& stop) {
        while (!stop) {
          for (auto [a, b] : chans) {
            if (!w.ev->send(kD1, EvtchnPort{a})) ++bad;
          }
        }
      },
      [&](std::atomic<bool>& stop) {  // the guest: mask, unmask by hypercall, handle
        std::uint32_t i = 0;
        while (!stop) {
          auto b = chans[i++ % chans.size()].second;
          host::guest_2l_set_mask(w.si(kD2), b, true);
          if (!w.ev->unmask(kD2, EvtchnPort{b})) ++bad;
          w.upcall_2l(kD2, 0);
        }
      },
      [&](std::atomic<bool>& stop) {  // another guest vCPU masks and unmasks directly
        std::uint32_t i = 0;
        while (!stop) {
          auto b = chans[(i++ * 7) % chans.size()].second;
          host::guest_2l_set_mask(w.si(kD2), b, (i & 1) != 0);
        }
      },
  });
  EXPECT_EQ(bad.load(), 0);
  // Quiesce: unmask everything, drain, then each channel delivers exactly once.
  for (auto [a, b] : chans) {
    host::guest_2l_set_mask(w.si(kD2), b, false);
    two_level_clear_pending(w.si(kD2), b);
  }
  w.upcall_2l(kD2, 0);
  w.plat.reset_kicks();
  for (auto [a, b] : chans) ASSERT_TRUE(w.ev->send(kD1, EvtchnPort{a}));
  auto handled = w.upcall_2l(kD2, 0);
  EXPECT_EQ(handled.size(), chans.size());
  EXPECT_EQ(w.plat.kicks(kD2, VcpuId{0}), 1u) << "one upcall for the whole batch";
}

// Two vCPUs of two domains that block until kicked bounce one event back and forth: a lost
// wake-up (an event whose upcall is never signalled) would stall the exchange.
TEST(EventConcurrency, BlockingVcpusNeverLoseAWakeUp) {
  EventWorld w;
  w.create_ok(kD1);
  w.create_ok(kD2);
  const auto ends = w.connect(kD1, kD2);
  constexpr int kRounds = 500;
  std::atomic<int> timeouts{0};
  // One vCPU: handle upcalls; when there is nothing, block until kicked. The kick count is
  // read before the upcall clears upcall_pending, so an event arriving in between is seen.
  auto vcpu = [&](DomId me, std::uint32_t my_port, bool starts) {
    int received = 0;
    if (starts) (void)w.ev->send(me, EvtchnPort{my_port});
    while (received < kRounds) {
      const std::uint64_t seen = w.plat.kicks(me, VcpuId{0});
      bool got = false;
      for (auto p : w.upcall_2l(me, 0)) got |= p == my_port;
      if (got) {
        ++received;
        if (!(starts && received == kRounds)) (void)w.ev->send(me, EvtchnPort{my_port});
        continue;
      }
      if (w.plat.wait_for_kick(me, VcpuId{0}, seen, std::chrono::milliseconds(1000)) == seen) {
        ++timeouts;
        return;
      }
    }
  };
  w.upcall_2l(kD2, 0);  // the bind-time event
  const auto t0 = std::chrono::steady_clock::now();
  std::thread t1([&] { vcpu(kD1, ends.first, true); });
  std::thread t2([&] { vcpu(kD2, ends.second, false); });
  t1.join();
  t2.join();
  EXPECT_EQ(timeouts.load(), 0) << "a vCPU waited for a kick that never came";
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
}

TEST(EventConcurrency, DestroyWhileOthersSendAndRaiseVirqs) {
  EventWorld w;
  w.create_ok(kD1);
  w.create_ok(kD2);
  std::vector<std::uint32_t> ours;
  for (int i = 0; i < 16; ++i) ours.push_back(w.connect(kD1, kD2).first);
  ASSERT_TRUE(w.ev->bind_virq(kD2, xen::kVirqTimer, VcpuId{0}).ok());
  for (int i = 0; i < 500; ++i) ASSERT_TRUE(w.ev->bind_ipi(kD2, VcpuId{0}).ok());
  std::atomic<int> bad{0};
  std::atomic<bool> destroyed{false};
  run_threads({
      [&](std::atomic<bool>& stop) {
        while (!stop) {
          for (auto p : ours) {
            if (!w.ev->send(kD1, EvtchnPort{p})) ++bad;
          }
        }
      },
      [&](std::atomic<bool>& stop) {  // the hypervisor's timer
        while (!stop) w.ev->raise_virq(kD2, VcpuId{0}, xen::kVirqTimer);
      },
      [&](std::atomic<bool>& stop) {  // another domain tries to bind to the dying one
        while (!stop) {
          auto r = w.ev->bind_interdomain(kD1, kD2, EvtchnPort{1});
          if (r) ++bad;  // D2's port 1 never names D1 as unbound
        }
      },
      [&](std::atomic<bool>&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        Status s = Errno::Restart;
        while (s.is_restart()) s = w.ev->domain_destroy(kD2);
        if (!s) ++bad;
        destroyed = true;
      },
  });
  EXPECT_EQ(bad.load(), 0);
  ASSERT_TRUE(destroyed.load());
  EXPECT_FALSE(w.ev->domain_live(kD2));
  for (auto p : ours) {
    auto s = w.ev->status(kD1, kDomidSelf, EvtchnPort{p});
    EXPECT_EQ(s->status, xen::kEvtchnStatUnbound);
  }
}

TEST(EventConcurrency, ManyDomainsAllToAllWithCloseAndRebind) {
  EventWorld w;
  const std::vector<DomId> doms{kD1, kD2, kD3, kD4};
  for (DomId d : doms) w.create_ok(d, {.nr_vcpus = 2});
  struct Chan {
    DomId a, b;
    std::uint32_t pa;
    std::atomic<std::uint32_t> pb{0};
  };
  std::vector<std::unique_ptr<Chan>> chans;
  for (DomId x : doms)
    for (DomId y : doms)
      if (x.value() < y.value()) {
        auto [pa, pb] = w.connect(x, y);
        auto c = std::make_unique<Chan>();
        c->a = x;
        c->b = y;
        c->pa = pa;
        c->pb = pb;
        chans.push_back(std::move(c));
      }
  std::atomic<int> bad{0};
  std::vector<std::function<void(std::atomic<bool>&)>> bodies;
  for (DomId d : doms) {
    bodies.push_back([&, d](std::atomic<bool>& stop) {  // each domain sends on its ends
      while (!stop) {
        for (auto& c : chans) {
          if (c->a == d && !w.ev->send(d, EvtchnPort{c->pa})) ++bad;
          if (c->b == d) {
            Status s = w.ev->send(d, EvtchnPort{c->pb.load()});
            if (!s && s.error() != Errno::Inval) ++bad;
          }
        }
        w.upcall_2l(d, 0);
      }
    });
  }
  bodies.push_back([&](std::atomic<bool>& stop) {  // closes and re-binds the b ends
    std::mt19937 rng(7);
    while (!stop) {
      Chan& c = *chans[rng() % chans.size()];
      if (!w.ev->close(c.b, EvtchnPort{c.pb.load()})) ++bad;
      auto nb = w.ev->bind_interdomain(c.b, c.a, EvtchnPort{c.pa});
      if (!nb) {
        ++bad;
        return;
      }
      c.pb = nb->value();
    }
  });
  run_threads(bodies);
  EXPECT_EQ(bad.load(), 0);
  expect_consistent(w, {kD1, kD2, kD3, kD4});
  for (auto& c : chans) {
    auto s = w.ev->status(c->a, kDomidSelf, EvtchnPort{c->pa});
    EXPECT_EQ(s->status, xen::kEvtchnStatInterdomain);
    EXPECT_EQ(s->u.interdomain.port, c->pb.load());
  }
}

}  // namespace
}  // namespace pvkit::event
