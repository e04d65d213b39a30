// Domain lifecycle across the areas a platform composes: the domain table (lib/domain), event
// channels (EventChannels over HostEventPlatform, with a shared_info frame), grant tables
// (GrantTables over FakeGrantPlatform, one initial frame) and the frame database's teardown
// (domain_teardown_step over the host Machine). The domain owns no guest memory, so the figures
// are the hypervisor's own per-domain bookkeeping.
//   BM_DomainCreateDestroy: create + full destroy of one small domain;
//   BM_NthDomainCreate/N: creating the N-th domain while N-1 others exist (the creates of
//     domains N..N+7 timed with the thread's CPU clock, per create; destroyed again untimed),
//     N up to 10,000; must stay flat;
//   BM_NthDomainFind/N: DomainTable::find of the N-th domain (what every foreign operation —
//     grant map, interdomain bind, foreign mmu_update — pays to resolve a DomId).
#include <benchmark/benchmark.h>

#include <time.h>

#include <chrono>
#include <cstdint>
#include <memory>

#include "bench/host/bench_report.h"
#include "pvkit/domain/domain_table.h"
#include "pvkit/event/event_channels.h"
#include "pvkit/grant/grant_tables.h"
#include "pvkit/mm/domain_teardown.h"
#include "pvkit/mm/verifier.h"
#include "pvkit/platforms/host/event/host_event_platform.h"
#include "pvkit/platforms/host/grant/grant_harness.h"
#include "pvkit/platforms/host/machine/machine.h"

namespace pvkit {
namespace {

constexpr std::size_t kCapacity = 10240;  // >= 10,000 + the batch below
constexpr Gfn kSharedInfo{0x10};

struct System {
  host::Machine machine{64, 4};
  PageTableVerifier<host::Machine> mm{machine.frame_db(), machine, 4096};
  DomainTable<kCapacity> domains;
  host::HostEventPlatform event_platform;
  event::EventChannels<host::HostEventPlatform, kCapacity, 1> events{event_platform};
  host::FakeGrantPlatform grant_platform;
  GrantTables<host::FakeGrantPlatform, kCapacity, host::SmallGrantLimits> grants{grant_platform};

  /// Creates a domain in every area; `ns` (optional) receives the time each area took.
  Status create(DomId id, double* ns = nullptr) {
    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
    auto d = domains.create(id, DomainConfig{.max_pages = 16, .nr_vcpus = 1});
    if (!d.ok()) return d.status();
    const auto t1 = Clock::now();
    event::EventDomainConfig ec;
    ec.shared_info = event_platform.add_guest_frame(id, kSharedInfo);
    if (Status s = events.domain_create(id, ec); !s) return s;
    const auto t2 = Clock::now();
    Status s = grants.create_domain(id);
    const auto t3 = Clock::now();
    if (ns != nullptr) {
      ns[0] += std::chrono::duration<double, std::nano>(t1 - t0).count();
      ns[1] += std::chrono::duration<double, std::nano>(t2 - t1).count();
      ns[2] += std::chrono::duration<double, std::nano>(t3 - t2).count();
    }
    return s;
  }
  Status destroy(DomId id) {
    Domain* d = domains.find(id);
    if (d == nullptr) return Errno::Srch;
    if (Status s = domains.begin_destroy(id); !s) return s;
    Status s = Errno::Restart;
    while (s.is_restart()) s = events.domain_destroy(id);
    if (!s) return s;
    s = Errno::Restart;
    while (s.is_restart()) s = grants.release_domain(id);
    if (!s) return s;
    if (s = grants.destroy_domain(id); !s) return s;
    s = Errno::Restart;
    while (s.is_restart()) s = domain_teardown_step(mm, *d);
    if (!s) return s;
    return domains.release(id);
  }
};

/// One world for every domain benchmark: building (and zeroing) a 10,240-domain world is much
/// more expensive than anything measured here, so it is built once and populated as needed.
System& world() {
  static System* const s = new System();
  return *s;
}
std::int64_t g_populated = 0;  // domains 1..g_populated exist in world()

/// Makes exactly domains 1..n exist (ids = creation order).
bool populate_to(std::int64_t n) {
  System& sys = world();
  while (g_populated < n) {
    if (!sys.create(DomId{static_cast<std::uint16_t>(g_populated + 1)})) return false;
    ++g_populated;
  }
  while (g_populated > n) {
    if (!sys.destroy(DomId{static_cast<std::uint16_t>(g_populated)})) return false;
    --g_populated;
  }
  return true;
}

void BM_DomainCreateDestroy(benchmark::State& state) {
  if (!populate_to(0)) {
    state.SkipWithError("emptying the world failed");
    return;
  }
  System& sys = world();
  for (auto _ : state) {
    if (!sys.create(DomId{1}) || !sys.destroy(DomId{1})) [[unlikely]] {
      state.SkipWithError("create/destroy failed");
      break;
    }
  }
  state.counters["world_MiB"] = static_cast<double>(sizeof(System)) / (1 << 20);
}
BENCHMARK(BM_DomainCreateDestroy);
PVKIT_BENCH_BASELINE(BM_DomainCreateDestroy, BM_NullHypercall);

/// CPU time of the calling thread (excludes time the thread spent descheduled).
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Method: each iteration creates domains N .. N+kBatch-1 (N-1 others exist) and times that
// batch with the thread's CPU clock, then destroys them untimed. The batch amortises the clock
// read (a system call) over kBatch creates; CPU time keeps the time the thread is descheduled
// on a loaded machine out of the figure (wall time made the 10th domain look slower than the
// 100th). Only the creates run inside the timed region: the per-area breakdown (counters
// table_ns, event_ns, grant_ns) comes from a separate, untimed pass afterwards.
constexpr std::int64_t kNthBatch = 8;

void BM_NthDomainCreate(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  if (!populate_to(n - 1)) {
    state.SkipWithError("populating the world failed");
    return;
  }
  System* sys = &world();
  auto id_of = [&](std::int64_t k) { return DomId{static_cast<std::uint16_t>(n + k)}; };
  for (auto _ : state) {
    bool ok = true;
    const double t0 = thread_cpu_seconds();
    for (std::int64_t k = 0; k < kNthBatch; ++k) ok &= static_cast<bool>(sys->create(id_of(k)));
    const double t1 = thread_cpu_seconds();
    for (std::int64_t k = kNthBatch - 1; k >= 0; --k) ok &= static_cast<bool>(sys->destroy(id_of(k)));
    if (!ok) [[unlikely]] {
      state.SkipWithError("create/destroy of the N-th domain failed");
      break;
    }
    state.SetIterationTime(t1 - t0);
  }
  double parts[3] = {0, 0, 0};  // where the time goes: domain table, event channels, grants
  constexpr int kPartsRuns = 256;
  for (int i = 0; i < kPartsRuns; ++i) {
    if (!sys->create(id_of(0), parts) || !sys->destroy(id_of(0))) {
      state.SkipWithError("create/destroy of the N-th domain failed");
      return;
    }
  }
  state.counters["table_ns"] = parts[0] / kPartsRuns;
  state.counters["event_ns"] = parts[1] / kPartsRuns;
  state.counters["grant_ns"] = parts[2] / kPartsRuns;
  state.counters["pvkit_items"] = kNthBatch;  // the figure is per create
  state.counters["pvkit_thread_cpu"] = 1;     // and manual time is thread CPU time
}
BENCHMARK(BM_NthDomainCreate)->Arg(10)->Arg(100)->Arg(1000)->Arg(10000)->UseManualTime();
PVKIT_BENCH_BASELINE(BM_NthDomainCreate, BM_NthDomainCreate/10/manual_time);

void BM_NthDomainFind(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  if (!populate_to(n)) {
    state.SkipWithError("populating the world failed");
    return;
  }
  System* sys = &world();
  const DomId id{static_cast<std::uint16_t>(n)};
  for (auto _ : state) {
    Domain* d = sys->domains.find(id);
    if (d == nullptr) [[unlikely]] {
      state.SkipWithError("find failed");
      break;
    }
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_NthDomainFind)->Arg(10)->Arg(100)->Arg(1000)->Arg(10000);
PVKIT_BENCH_BASELINE(BM_NthDomainFind, BM_NthDomainFind/10);

}  // namespace
}  // namespace pvkit
