// Benchmarks of the event-channel hot path on the host:
//   BM_SendInterdomain2L / BM_SendInterdomainFifo: one EVTCHNOP_send (the receiver's pending
//     bit is cleared between iterations, so every send does the full delivery with selector,
//     upcall and kick);
//   BM_PollingRoundTrip: two threads (a vCPU of each domain) bounce one event back and forth
//     through EventChannels, each polling its own pending bit in shared_info;
//   BM_RawAtomicPingPong: the same bounce over one raw std::atomic — the floor.
// Run: bazel run -c opt //lib/event:send_benchmark
#include <atomic>
#include <cstdint>
#include <thread>

#include <benchmark/benchmark.h>

#include "pvkit/event/event_channels.h"
#include "pvkit/event/event_testutil.h"

namespace pvkit::event {
namespace {

using testing::EventWorld;
constexpr DomId kD1{1}, kD2{2};

void BM_SendInterdomain2L(benchmark::State& state) {
  EventWorld w;
  w.create_ok(kD1);
  w.create_ok(kD2);
  auto [a, b] = w.connect(kD1, kD2);
  std::uint64_t* word = &w.si(kD2)->evtchn_pending[b / 64];
  for (auto _ : state) {
    benchmark::DoNotOptimize(w.ev->send(kD1, EvtchnPort{a}));
    guest_store(word, std::uint64_t{0});
    guest_store(&w.vi(kD2, 0)->evtchn_pending_sel, std::uint64_t{0});
    guest_store(&w.vi(kD2, 0)->evtchn_upcall_pending, std::uint8_t{0});
  }
}
BENCHMARK(BM_SendInterdomain2L);

void BM_SendInterdomainFifo(benchmark::State& state) {
  EventWorld w;
  w.create_ok(kD1);
  w.create_ok(kD2);
  w.make_fifo(kD2);
  auto [a, b] = w.connect(kD1, kD2);
  auto guest = w.fifo_guest(kD2, 0);
  guest.upcall(w.vi(kD2, 0));
  for (auto _ : state) {
    benchmark::DoNotOptimize(w.ev->send(kD1, EvtchnPort{a}));
    guest.upcall(w.vi(kD2, 0));
  }
}
BENCHMARK(BM_SendInterdomainFifo);

void BM_PollingRoundTrip(benchmark::State& state) {
  EventWorld w;
  w.create_ok(kD1);
  w.create_ok(kD2);
  const auto ends = w.connect(kD1, kD2);
  const std::uint32_t a = ends.first, b = ends.second;
  std::uint64_t* in1 = &w.si(kD1)->evtchn_pending[a / 64];
  std::uint64_t* in2 = &w.si(kD2)->evtchn_pending[b / 64];
  const std::uint64_t bit1 = std::uint64_t{1} << (a % 64), bit2 = std::uint64_t{1} << (b % 64);
  guest_fetch_and(in2, ~bit2);  // the bind-time event
  std::atomic<bool> stop{false};
  std::thread peer([&] {  // D2's vCPU: wait for the event, clear it, answer
    while (!stop.load(std::memory_order_relaxed)) {
      if ((guest_load(in2) & bit2) == 0) continue;
      guest_fetch_and(in2, ~bit2);
      (void)w.ev->send(kD2, EvtchnPort{b});
    }
  });
  for (auto _ : state) {
    (void)w.ev->send(kD1, EvtchnPort{a});
    while ((guest_load(in1) & bit1) == 0) {
    }
    guest_fetch_and(in1, ~bit1);
  }
  stop = true;
  peer.join();
}
BENCHMARK(BM_PollingRoundTrip)->UseRealTime();

void BM_RawAtomicPingPong(benchmark::State& state) {
  std::atomic<std::uint64_t> ball{0};
  std::atomic<bool> stop{false};
  std::thread peer([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      std::uint64_t v = ball.load(std::memory_order_acquire);
      if ((v & 1) == 1) ball.store(v + 1, std::memory_order_release);
    }
  });
  std::uint64_t v = 0;
  for (auto _ : state) {
    ball.store(v + 1, std::memory_order_release);
    while (ball.load(std::memory_order_acquire) != v + 2) {
    }
    v += 2;
  }
  stop = true;
  peer.join();
}
BENCHMARK(BM_RawAtomicPingPong)->UseRealTime();

}  // namespace
}  // namespace pvkit::event

BENCHMARK_MAIN();
