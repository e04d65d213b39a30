// Domain lifecycle across the areas a platform composes: the domain table (lib/domain), event
// channels (EventChannels over HostEventPlatform, with a shared_info frame), grant tables
// (GrantTables over FakeGrantPlatform, one initial frame) and the frame database's teardown
// (domain_teardown_step over the host Machine). The domain owns no guest memory, so the figures
// are the hypervisor's own per-domain bookkeeping.
//   BM_DomainCreateDestroy: create + full destroy of one small domain;
//   BM_NthDomainCreate/N: creating the N-th domain while N-1 others exist (manual timing of
//     the create only; the N-th is destroyed again, untimed), N up to 10,000; must stay flat;
//   BM_NthDomainFind/N: DomainTable::find of the N-th domain (what every foreign operation —
//     grant map, interdomain bind, foreign mmu_update — pays to resolve a DomId).
#include <benchmark/benchmark.h>

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

constexpr std::size_t kCapacity = 10240;
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

void BM_NthDomainCreate(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  if (!populate_to(n - 1)) {
    state.SkipWithError("populating the world failed");
    return;
  }
  System* sys = &world();
  const DomId id{static_cast<std::uint16_t>(n)};
  double parts[3] = {0, 0, 0};  // where the time goes: domain table, event channels, grants
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    const Status s = sys->create(id, parts);
    const auto t1 = std::chrono::steady_clock::now();
    if (!s || !sys->destroy(id)) [[unlikely]] {
      state.SkipWithError("create/destroy of the N-th domain failed");
      break;
    }
    state.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
  }
  const double it = static_cast<double>(state.iterations() > 0 ? state.iterations() : 1);
  state.counters["table_ns"] = parts[0] / it;
  state.counters["event_ns"] = parts[1] / it;
  state.counters["grant_ns"] = parts[2] / it;
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
