// Concurrency stress of the whole PV system: threads as vCPUs of three domains hammer event
// sends, binds and closes, grant maps, unmaps, copies, transfers and revokes, and page-table
// updates on shared frames, all through the real hypercall table (tests/fuzz/pv_system.h),
// for a bounded time. At quiescent points (every epoch all vCPU threads stop) the global
// invariants are recomputed from scratch (PvSystem::check: frame reference and type counts,
// no writable mapping of a table, foreign mappings only via grant or privilege, grant pins vs
// status bits, port states and peers). Every RAX is checked as it comes back (no -ERESTART
// leak, no livelock, only Xen errnos). Runs under ThreadSanitizer in `./pvkit test`.
//
// Knobs (environment): PVKIT_STRESS_SECONDS (default 3, split over the two tests),
// PVKIT_STRESS_SEED (default: fixed).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/fuzz/pv_system.h"
#include "tests/fuzz/system_ops.h"

namespace pvkit::robustness {
namespace {

struct RngSource {
  std::mt19937_64 r;
  std::uint32_t range(std::uint32_t lo, std::uint32_t hi) {
    return lo + static_cast<std::uint32_t>(r() % (std::uint64_t{hi} - lo + 1));
  }
  std::uint64_t any64() { return r(); }
  bool coin() { return (r() & 1) != 0; }
};

double env_seconds() {
  const char* s = std::getenv("PVKIT_STRESS_SECONDS");
  const double v = s != nullptr ? std::atof(s) : 3.0;
  return v > 0 ? v : 3.0;
}
std::uint64_t env_seed() {
  const char* s = std::getenv("PVKIT_STRESS_SEED");
  return s != nullptr ? std::strtoull(s, nullptr, 0) : 0x5eed;
}

struct Totals {
  std::atomic<std::uint64_t> calls{0}, ok_calls{0}, writes{0}, restarts{0};
  std::mutex mu;
  std::vector<std::string> violations;
  void fail(const std::string& s) {
    std::lock_guard g(mu);
    if (violations.size() < 8) violations.push_back(s);
  }
};

// One vCPU: random guest actions until `stop`.
void vcpu_thread(PvSystem& sys, DomId d, VcpuId v, std::uint64_t seed, bool hostile, const std::atomic<bool>& stop,
                 Totals& t) {
  RngSource src{std::mt19937_64(seed)};
  SystemOps<RngSource> ops(sys, src, d, v, hostile);
  while (!stop.load(std::memory_order_relaxed)) {
    const StepResult r = ops.step();
    if (!r.hypercall) {
      t.writes.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    t.calls.fetch_add(1, std::memory_order_relaxed);
    t.restarts.fetch_add(static_cast<std::uint64_t>(r.restarts), std::memory_order_relaxed);
    if (r.rax >= 0) t.ok_calls.fetch_add(1, std::memory_order_relaxed);
    if (r.rax == kRestartValue || r.rax == -9999 || r.rax < -125) {
      t.fail("d" + std::to_string(d.value()) + "v" + std::to_string(v.value()) + ": hypercall " +
             std::to_string(r.nr) + " answered " + std::to_string(r.rax));
    }
  }
}

// Runs every vCPU of every domain for env_seconds(); `hostile_dom` (if < kDomains) also
// scribbles over its grant entries and revokes entries in use.
void run_stress(std::uint16_t hostile_dom) {
  PvSystem sys;
  ASSERT_TRUE(sys.ok()) << sys.check();
  Totals t;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(env_seconds() / 2);
  const std::uint64_t seed = env_seed();
  int epochs = 0;
  while (std::chrono::steady_clock::now() < deadline && t.violations.empty()) {
    std::atomic<bool> stop{false};
    std::vector<std::thread> vcpus;
    for (std::uint16_t d = 0; d < PvSystem::kDomains; ++d) {
      for (std::uint32_t v = 0; v < PvSystem::kVcpus; ++v) {
        vcpus.emplace_back(vcpu_thread, std::ref(sys), DomId{d}, VcpuId{v}, seed * 1000003 + epochs * 97 + d * 8 + v,
                           d == hostile_dom, std::cref(stop), std::ref(t));
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    stop.store(true);
    for (auto& th : vcpus) th.join();
    ++epochs;
    // Quiescent point: no vCPU is inside the hypervisor.
    if (std::string bad = sys.check(); !bad.empty()) {
      t.fail("after epoch " + std::to_string(epochs) + ":\n" + bad);
    }
  }
  for (const auto& v : t.violations) ADD_FAILURE() << v;
  std::printf("stress: %d epochs, %llu hypercalls (%llu succeeded, %llu re-executions), %llu shared-memory writes\n",
              epochs, static_cast<unsigned long long>(t.calls.load()), static_cast<unsigned long long>(t.ok_calls.load()),
              static_cast<unsigned long long>(t.restarts.load()), static_cast<unsigned long long>(t.writes.load()));
  EXPECT_GT(epochs, 0);
  EXPECT_GT(t.ok_calls.load(), 100u) << "the stress made almost no successful calls: it tests nothing";
}

// Every guest behaves as an honest granter (grant entries are reused only when not in use);
// everything else they do is still hostile input (arguments, ports, frames, PTEs, FIFO words).
TEST(SystemStress, VcpusOfThreeDomainsHammerEventsGrantsAndPageTables) { run_stress(PvSystem::kDomains); }

// d2 also scribbles over its own grant entries and revokes entries in use while d0 and d1
// map them; the invariants (including Inv20 for d2's v2 status frame) must still hold.
TEST(SystemStress, HostileGranterRacingMappers) { run_stress(2); }

}  // namespace
}  // namespace pvkit::robustness
