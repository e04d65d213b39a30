// Event channels on the host platform (EventChannels over HostEventPlatform, 2-level ABI,
// 64-bit shared_info), each figure paired with its floor from baselines_bench.cc:
//   BM_EventSendUpcall: EVTCHNOP_send D1->D2 then D2's guest upcall scan (same thread);
//   BM_EventPollingRoundTrip: D1 and D2 vCPUs on two threads, each spinning on its pending bit,
//     vs BM_RawAtomicPingPong;
//   BM_EventBlockingRoundTrip: the same with receivers that block until the platform's kick()
//     wakes them (HostEventPlatform::wait_for_kick: halt polling, 20 us by default as KVM does
//     for a halted vCPU, then a futex on the vCPU's kick counter), vs BM_FutexPingPong;
//   BM_EventBlockingRoundTripNoPoll: the same with halt polling off (every wait sleeps), vs
//     BM_FutexPingPong (which never polls either);
//   BM_EventBlockingRoundTripFutex: the same over FutexKickPlatform (below), whose kick() is a
//     futex wake of its own per-vCPU word and whose sleep never polls, vs BM_FutexPingPong;
//   BM_EventSendBoundPorts/N: one send when D1 has N ports bound (must not grow with N).
#include <benchmark/benchmark.h>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>

#include "bench/host/bench_report.h"
#include "pvkit/event/event_channels.h"
#include "pvkit/event/event_testutil.h"
#include "pvkit/event/guest_atomic.h"

namespace pvkit::event {
namespace {

using testing::EventWorld;
constexpr DomId kD1{1}, kD2{2};

/// What a 2-level guest upcall does for one expected port, without allocating: clear
/// upcall_pending, take the selector, clear the port's pending bit. True if it was pending.
bool guest_consume(xen::SharedInfo* si, xen::VcpuInfo* vi, std::uint32_t port) {
  guest_store(&vi->evtchn_upcall_pending, std::uint8_t{0});
  (void)guest_exchange(&vi->evtchn_pending_sel, std::uint64_t{0});
  const std::uint64_t bit = std::uint64_t{1} << (port % 64);
  return (guest_fetch_and(&si->evtchn_pending[port / 64], ~bit) & bit) != 0;
}

void BM_EventSendUpcall(benchmark::State& state) {
  EventWorld w;
  w.create_ok(kD1);
  w.create_ok(kD2);
  auto [a, b] = w.connect(kD1, kD2);
  xen::SharedInfo* si2 = w.si(kD2);
  xen::VcpuInfo* vi2 = w.vi(kD2, 0);
  (void)guest_consume(si2, vi2, b);  // the bind-time event
  for (auto _ : state) {
    if (!w.ev->send(kD1, EvtchnPort{a}) || !guest_consume(si2, vi2, b)) [[unlikely]] {
      state.SkipWithError("send did not reach the receiver");
      break;
    }
  }
}
BENCHMARK(BM_EventSendUpcall);
PVKIT_BENCH_BASELINE(BM_EventSendUpcall, BM_IndirectCall);

void BM_EventPollingRoundTrip(benchmark::State& state) {
  EventWorld w;
  w.create_ok(kD1);
  w.create_ok(kD2);
  const auto [a, b] = w.connect(kD1, kD2);
  xen::SharedInfo *si1 = w.si(kD1), *si2 = w.si(kD2);
  xen::VcpuInfo *vi1 = w.vi(kD1, 0), *vi2 = w.vi(kD2, 0);
  (void)guest_consume(si2, vi2, b);
  std::atomic<bool> stop{false};
  std::thread peer([&, b = b] {  // D2's vCPU 0: poll, clear, answer
    while (!stop.load(std::memory_order_relaxed)) {
      if ((guest_load(&si2->evtchn_pending[b / 64]) >> (b % 64) & 1) == 0) continue;
      if (guest_consume(si2, vi2, b)) (void)w.ev->send(kD2, EvtchnPort{b});
    }
  });
  for (auto _ : state) {
    (void)w.ev->send(kD1, EvtchnPort{a});
    while ((guest_load(&si1->evtchn_pending[a / 64]) >> (a % 64) & 1) == 0) {
    }
    (void)guest_consume(si1, vi1, a);
  }
  stop = true;
  peer.join();
}
BENCHMARK(BM_EventPollingRoundTrip)->UseRealTime();
PVKIT_BENCH_BASELINE(BM_EventPollingRoundTrip, BM_RawAtomicPingPong);

/// A blocking vCPU: consume the event or sleep until the platform kicks this vCPU.
void block_for(EventWorld& w, DomId d, std::uint32_t port) {
  xen::SharedInfo* si = w.si(d);
  xen::VcpuInfo* vi = w.vi(d, 0);
  for (;;) {
    const std::uint64_t seen = w.plat.kicks(d, VcpuId{0});  // before clearing upcall_pending
    if (guest_consume(si, vi, port)) return;
    (void)w.plat.wait_for_kick(d, VcpuId{0}, seen, std::chrono::milliseconds(1000));
  }
}

/// Two vCPU threads answering each other's events, blocking between them.
void blocking_round_trips(benchmark::State& state, std::chrono::nanoseconds halt_poll) {
  EventWorld w;
  w.plat.set_halt_poll(halt_poll);
  w.create_ok(kD1);
  w.create_ok(kD2);
  const auto [a, b] = w.connect(kD1, kD2);
  (void)guest_consume(w.si(kD2), w.vi(kD2, 0), b);
  std::atomic<bool> stop{false};
  std::thread peer([&, b = b] {
    for (;;) {
      block_for(w, kD2, b);
      if (stop.load(std::memory_order_acquire)) return;
      (void)w.ev->send(kD2, EvtchnPort{b});
    }
  });
  for (auto _ : state) {
    (void)w.ev->send(kD1, EvtchnPort{a});
    block_for(w, kD1, a);
  }
  stop.store(true, std::memory_order_release);
  (void)w.ev->send(kD1, EvtchnPort{a});
  peer.join();
}

void BM_EventBlockingRoundTrip(benchmark::State& state) {
  blocking_round_trips(state, host::HostEventPlatform::kDefaultHaltPoll);
}
BENCHMARK(BM_EventBlockingRoundTrip)->UseRealTime();
PVKIT_BENCH_BASELINE(BM_EventBlockingRoundTrip, BM_FutexPingPong);

void BM_EventBlockingRoundTripNoPoll(benchmark::State& state) { blocking_round_trips(state, {}); }
BENCHMARK(BM_EventBlockingRoundTripNoPoll)->UseRealTime();
PVKIT_BENCH_BASELINE(BM_EventBlockingRoundTripNoPoll, BM_FutexPingPong);

/// HostEventPlatform whose kick() also bumps a per-vCPU word and FUTEX_WAKEs a vCPU thread
/// sleeping on it, and whose sleep never polls (a plain futex protocol, for comparison with
/// HostEventPlatform's own wait_for_kick).
class FutexKickPlatform : public host::HostEventPlatform {
 public:
  void kick(DomId d, VcpuId v) {
    host::HostEventPlatform::kick(d, v);
    auto& w = words_[d.value() % 4];
    w.count.fetch_add(1, std::memory_order_seq_cst);
    if (w.sleeping.load(std::memory_order_seq_cst) != 0) {
      syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&w.count), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
    }
  }
  std::uint32_t kick_count(DomId d) { return words_[d.value() % 4].count.load(std::memory_order_seq_cst); }
  /// Sleeps while vCPU 0 of d has not been kicked since `seen` was read.
  void sleep(DomId d, std::uint32_t seen) {
    auto& w = words_[d.value() % 4];
    w.sleeping.store(1, std::memory_order_seq_cst);
    if (w.count.load(std::memory_order_seq_cst) == seen) {
      syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&w.count), FUTEX_WAIT_PRIVATE, seen, nullptr, nullptr, 0);
    }
    w.sleeping.store(0, std::memory_order_seq_cst);
  }

 private:
  struct alignas(64) Word {
    std::atomic<std::uint32_t> count{0};
    std::atomic<std::uint32_t> sleeping{0};
  };
  Word words_[4];
};
static_assert(EventPlatform<FutexKickPlatform>);

void BM_EventBlockingRoundTripFutex(benchmark::State& state) {
  FutexKickPlatform plat;
  auto ev = std::make_unique<EventChannels<FutexKickPlatform, 4, 1>>(plat);
  for (DomId d : {kD1, kD2}) {
    EventDomainConfig cfg;
    cfg.shared_info = plat.add_guest_frame(d, Gfn{0x10});
    if (!ev->domain_create(d, cfg)) {
      state.SkipWithError("domain_create failed");
      return;
    }
  }
  auto pa = ev->alloc_unbound(kD1, kDomidSelf, kD2);
  auto pb = pa ? ev->bind_interdomain(kD2, kD1, *pa) : Result<EvtchnPort>{Errno::Inval};
  if (!pb) {
    state.SkipWithError("connect failed");
    return;
  }
  const std::uint32_t a = pa->value(), b = pb->value();
  auto si = [&](DomId d) { return plat.guest_frame_as<xen::SharedInfo>(d, Gfn{0x10}); };
  auto wait = [&](DomId d, std::uint32_t port) {
    for (;;) {
      const std::uint32_t seen = plat.kick_count(d);  // before clearing upcall_pending
      if (guest_consume(si(d), &si(d)->vcpu_info[0], port)) return;
      plat.sleep(d, seen);
    }
  };
  (void)guest_consume(si(kD2), &si(kD2)->vcpu_info[0], b);
  std::atomic<bool> stop{false};
  std::thread peer([&] {
    for (;;) {
      wait(kD2, b);
      if (stop.load(std::memory_order_acquire)) return;
      (void)ev->send(kD2, EvtchnPort{b});
    }
  });
  for (auto _ : state) {
    (void)ev->send(kD1, EvtchnPort{a});
    wait(kD1, a);
  }
  stop.store(true, std::memory_order_release);
  (void)ev->send(kD1, EvtchnPort{a});
  peer.join();
  for (DomId d : {kD1, kD2}) {
    Status s = Errno::Restart;
    while (s.is_restart()) s = ev->domain_destroy(d);
  }
}
BENCHMARK(BM_EventBlockingRoundTripFutex)->UseRealTime();
PVKIT_BENCH_BASELINE(BM_EventBlockingRoundTripFutex, BM_FutexPingPong);

void BM_EventSendBoundPorts(benchmark::State& state) {
  const auto n = static_cast<std::uint32_t>(state.range(0));
  EventWorld w;
  w.create_ok(kD1);
  w.create_ok(kD2);
  std::uint32_t a = 0, b = 0;
  for (std::uint32_t i = 0; i < n; ++i) std::tie(a, b) = w.connect(kD1, kD2);
  xen::SharedInfo* si2 = w.si(kD2);
  for (auto& word : si2->evtchn_pending) guest_store(&word, std::uint64_t{0});
  xen::VcpuInfo* vi2 = w.vi(kD2, 0);
  (void)guest_consume(si2, vi2, b);
  for (auto _ : state) {
    if (!w.ev->send(kD1, EvtchnPort{a}) || !guest_consume(si2, vi2, b)) [[unlikely]] {
      state.SkipWithError("send on the last bound port failed");
      break;
    }
  }
  state.counters["ports"] = n;
}
// 4,095 is the 2-level ABI's limit for a 64-bit guest (ports 1..4095; port 0 is reserved).
BENCHMARK(BM_EventSendBoundPorts)->Arg(1)->Arg(16)->Arg(256)->Arg(4095);
PVKIT_BENCH_BASELINE(BM_EventSendBoundPorts, BM_EventSendUpcall);

}  // namespace
}  // namespace pvkit::event
