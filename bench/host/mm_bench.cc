// Page tables (PageTableVerifier over the host Machine, the real MmuUpdateOp / MmuextOp
// handlers reading their requests from guest memory):
//   BM_MmuUpdatePerPte/N: one mmu_update hypercall of N MMU_NORMAL_PT_UPDATE requests on N
//     entries of a pinned, loaded L1 (toggling RW on data pages); the figure is per PTE;
//   BM_PinUnpinL1Full: MMUEXT_PIN_L1_TABLE + MMUEXT_UNPIN_TABLE of an L1 with 512 present
//     entries (validation of every entry, then devalidation).
// Baseline: the null hypercall (the fixed cost every hypercall pays).
//   BM_DomainTeardown/F: destroying a domain of 256 data pages mapped by a pinned, loaded
//     4-level tree (260 frames) on a machine of F frames (F = 1,024, 16,384, 65,536: 4 to 256
//     MiB of RAM), timed with the thread's CPU clock from the first domain_teardown_step to
//     Dead; building the domain is untimed. Baseline: F = 1,024. Must stay flat in F: the
//     teardown walks the domain's list of owned frames, not the machine's frame table.
#include <benchmark/benchmark.h>

#include <time.h>

#include <cstdint>
#include <cstring>

#include "bench/host/bench_report.h"
#include "pvkit/mm/domain_teardown.h"
#include "pvkit/mm/hypercall_mmu_update.h"
#include "pvkit/mm/hypercall_mmuext_op.h"
#include "pvkit/platforms/host/machine/mm_fixture.h"

namespace pvkit {
namespace {

using host::invoke;
using host::make_pte;
constexpr std::uint64_t kReqs = 0x10000;  // two request arrays of 512 entries
constexpr std::uint64_t kDone = 0x30000;
constexpr VirtAddr kVa{0x400000};         // 2 MiB aligned: 512 pages share one L1

struct PtWorld {
  host::MmWorld w{1100, 4};
  Domain& d = w.domain(1, DomainConfig{.max_pages = 1024, .nr_vcpus = 1});
  host::FlatGuestMemory mem;
  host::MmCtx ctx{mem, w, DomId{1}};
  Mfn data[512];
  bool ok = false;

  PtWorld() {
    mem.map(VirtAddr{kReqs}, 0x20000);
    mem.map(VirtAddr{kDone}, 0x1000);
    auto& b = w.builder(d);
    for (unsigned i = 0; i < 512; ++i) {
      data[i] = b.alloc();
      b.map(VirtAddr{kVa.value() + i * 4096ull}, data[i], true);
    }
    ok = data[511].value() != 0 && b.pin_and_load(VcpuId{0}).is_ok();
  }
  std::int64_t mmu_update(std::uint64_t reqs, std::uint64_t n) {
    return invoke<MmuUpdateOp>(ctx, HypercallArgs{0, {reqs, n, kDone, kDomidSelf.value(), 0}});
  }
  std::int64_t mmuext(std::uint64_t n) {
    return invoke<MmuextOp>(ctx, HypercallArgs{0, {kReqs, n, kDone, kDomidSelf.value(), 0}});
  }
};

void BM_MmuUpdatePerPte(benchmark::State& state) {
  const auto n = static_cast<std::uint64_t>(state.range(0));
  PtWorld p;
  if (!p.ok) {
    state.SkipWithError("guest setup failed");
    return;
  }
  // Array 0 makes the N pages read-only, array 1 writable again.
  auto* reqs = reinterpret_cast<xen::MmuUpdate*>(p.mem.host_ptr(VirtAddr{kReqs}));
  auto& b = p.w.builder(p.d);
  for (std::uint64_t i = 0; i < n; ++i) {
    const std::uint64_t pte = b.pte_maddr(VirtAddr{kVa.value() + i * 4096}).value() | xen::kMmuNormalPtUpdate;
    reqs[i] = {pte, make_pte(p.data[i], false)};
    reqs[512 + i] = {pte, make_pte(p.data[i], true)};
  }
  std::uint64_t which = 0;
  for (auto _ : state) {
    if (p.mmu_update(kReqs + which * 512 * sizeof(xen::MmuUpdate), n) != 0) [[unlikely]] {
      state.SkipWithError("mmu_update failed");
      break;
    }
    which ^= 1;
  }
  state.counters["pvkit_items"] = static_cast<double>(n);  // report per PTE
}
BENCHMARK(BM_MmuUpdatePerPte)->Arg(1)->Arg(16)->Arg(512);
PVKIT_BENCH_BASELINE(BM_MmuUpdatePerPte, BM_NullHypercall);

void BM_PinUnpinL1Full(benchmark::State& state) {
  PtWorld p;
  if (!p.ok) {
    state.SkipWithError("guest setup failed");
    return;
  }
  // A fresh, unpinned L1 mapping the 512 data pages (written raw, as a guest builds tables).
  const Mfn l1 = p.w.builder(p.d).alloc();
  std::uint64_t* e = p.w.machine.frame_entries(l1);
  for (unsigned i = 0; i < 512; ++i) e[i] = make_pte(p.data[i], true);
  auto* ops = reinterpret_cast<xen::MmuextOp*>(p.mem.host_ptr(VirtAddr{kReqs}));
  ops[0] = {xen::kMmuextPinL1Table, 0, l1.value(), 0};
  ops[1] = {xen::kMmuextUnpinTable, 0, l1.value(), 0};
  for (auto _ : state) {
    if (p.mmuext(2) != 0) [[unlikely]] {
      state.SkipWithError("pin/unpin failed");
      break;
    }
  }
  p.w.settle();
}
BENCHMARK(BM_PinUnpinL1Full);
PVKIT_BENCH_BASELINE(BM_PinUnpinL1Full, BM_NullHypercall);

/// CPU time of the calling thread (excludes time the thread spent descheduled).
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

constexpr unsigned kTeardownPages = 256;

void BM_DomainTeardown(benchmark::State& state) {
  const auto frames = static_cast<std::uint64_t>(state.range(0));
  host::MmWorld w{frames, 4};
  constexpr std::uint16_t kId = 1;
  std::uint64_t owned = 0;
  for (auto _ : state) {
    Domain& d = w.domain(kId, DomainConfig{.max_pages = 2 * kTeardownPages, .nr_vcpus = 1});
    w.builders.erase(kId);
    auto& b = w.builder(d);
    for (unsigned i = 0; i < kTeardownPages; ++i) b.map(VirtAddr{kVa.value() + i * 4096ull}, b.alloc(), true);
    if (!b.pin_and_load(VcpuId{0}) || !w.domains.begin_destroy(d.id)) [[unlikely]] {
      state.SkipWithError("building the domain failed");
      break;
    }
    owned = d.owned_count;
    const double t0 = thread_cpu_seconds();
    Status s = Errno::Restart;
    while (s.is_restart()) s = domain_teardown_step(w.mm, d);
    const double t1 = thread_cpu_seconds();
    if (!s || !w.domains.release(DomId{kId})) [[unlikely]] {
      state.SkipWithError("teardown failed");
      break;
    }
    state.SetIterationTime(t1 - t0);
  }
  state.counters["domain_frames"] = static_cast<double>(owned);
  state.counters["ram_MiB"] = static_cast<double>(frames) * 4096 / (1 << 20);
  state.counters["pvkit_thread_cpu"] = 1;  // manual time is thread CPU time
}
BENCHMARK(BM_DomainTeardown)->Arg(1024)->Arg(16384)->Arg(65536)->UseManualTime();
PVKIT_BENCH_BASELINE(BM_DomainTeardown, BM_DomainTeardown/1024/manual_time);

}  // namespace
}  // namespace pvkit
