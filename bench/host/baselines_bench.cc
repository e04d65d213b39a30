// Hardware and OS floors measured in the same run as pvkit's figures: an indirect call, a raw
// atomic ping-pong between two threads, futex / eventfd / pipe ping-pong, memcpy of 4 KiB.
#include <benchmark/benchmark.h>
#include <linux/futex.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

namespace {

// --- indirect call ---------------------------------------------------------------------------
[[gnu::noinline]] std::int64_t null_target(std::uint64_t a) { return static_cast<std::int64_t>(a); }
std::int64_t (*volatile g_target)(std::uint64_t) = &null_target;

void BM_IndirectCall(benchmark::State& state) {
  std::uint64_t x = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(g_target(x++));
  }
}
BENCHMARK(BM_IndirectCall);

// --- raw atomic ping-pong (polling), one round trip per iteration ---------------------------
void BM_RawAtomicPingPong(benchmark::State& state) {
  alignas(64) std::atomic<std::uint64_t> ping{0};
  alignas(64) std::atomic<std::uint64_t> pong{0};
  std::atomic<bool> stop{false};
  std::thread peer([&] {
    std::uint64_t seen = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      const std::uint64_t v = ping.load(std::memory_order_acquire);
      if (v != seen) {
        seen = v;
        pong.store(v, std::memory_order_release);
      }
    }
  });
  std::uint64_t i = 0;
  for (auto _ : state) {
    ping.store(++i, std::memory_order_release);
    while (pong.load(std::memory_order_acquire) != i) {
    }
  }
  stop = true;
  peer.join();
}
BENCHMARK(BM_RawAtomicPingPong)->UseRealTime();

// --- futex ping-pong (blocking) --------------------------------------------------------------
long futex(std::atomic<std::uint32_t>* addr, int op, std::uint32_t val) {
  return syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(addr), op, val, nullptr, nullptr, 0);
}

void BM_FutexPingPong(benchmark::State& state) {
  std::atomic<std::uint32_t> turn{0};  // 0: main's turn, 1: peer's turn, 2: stop
  std::thread peer([&] {
    for (;;) {
      std::uint32_t t;
      while ((t = turn.load(std::memory_order_acquire)) == 0) futex(&turn, FUTEX_WAIT_PRIVATE, 0);
      if (t == 2) return;
      turn.store(0, std::memory_order_release);
      futex(&turn, FUTEX_WAKE_PRIVATE, 1);
    }
  });
  for (auto _ : state) {
    turn.store(1, std::memory_order_release);
    futex(&turn, FUTEX_WAKE_PRIVATE, 1);
    while (turn.load(std::memory_order_acquire) == 1) futex(&turn, FUTEX_WAIT_PRIVATE, 1);
  }
  turn.store(2, std::memory_order_release);
  futex(&turn, FUTEX_WAKE_PRIVATE, 1);
  peer.join();
}
BENCHMARK(BM_FutexPingPong)->UseRealTime();

// --- eventfd ping-pong -----------------------------------------------------------------------
void BM_EventfdPingPong(benchmark::State& state) {
  const int a = eventfd(0, 0), b = eventfd(0, 0);
  std::atomic<bool> stop{false};
  std::thread peer([&] {
    std::uint64_t v;
    while (read(a, &v, sizeof v) == sizeof v) {
      if (stop.load()) return;
      v = 1;
      if (write(b, &v, sizeof v) != sizeof v) return;
    }
  });
  for (auto _ : state) {
    std::uint64_t v = 1;
    if (write(a, &v, sizeof v) != sizeof v) state.SkipWithError("eventfd write");
    if (read(b, &v, sizeof v) != sizeof v) state.SkipWithError("eventfd read");
  }
  stop = true;
  std::uint64_t v = 1;
  (void)!write(a, &v, sizeof v);
  peer.join();
  close(a);
  close(b);
}
BENCHMARK(BM_EventfdPingPong)->UseRealTime();

// --- pipe ping-pong --------------------------------------------------------------------------
void BM_PipePingPong(benchmark::State& state) {
  int p1[2], p2[2];
  if (pipe(p1) != 0 || pipe(p2) != 0) {
    state.SkipWithError("pipe");
    return;
  }
  std::thread peer([&] {
    char c;
    while (read(p1[0], &c, 1) == 1) {
      if (c == 'q') return;
      if (write(p2[1], &c, 1) != 1) return;
    }
  });
  for (auto _ : state) {
    char c = 'x';
    if (write(p1[1], &c, 1) != 1 || read(p2[0], &c, 1) != 1) state.SkipWithError("pipe io");
  }
  char q = 'q';
  (void)!write(p1[1], &q, 1);
  peer.join();
  for (int fd : {p1[0], p1[1], p2[0], p2[1]}) close(fd);
}
BENCHMARK(BM_PipePingPong)->UseRealTime();

// --- memcpy of one page ----------------------------------------------------------------------
void BM_Memcpy4K(benchmark::State& state) {
  std::vector<std::uint8_t> src(4096, 0x5a), dst(4096);
  std::uint8_t* d = dst.data();
  const std::uint8_t* s = src.data();
  for (auto _ : state) {
    benchmark::DoNotOptimize(d);  // the compiler must not see through the buffers
    benchmark::DoNotOptimize(s);
    std::memcpy(d, s, 4096);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 4096);
}
BENCHMARK(BM_Memcpy4K);

}  // namespace
