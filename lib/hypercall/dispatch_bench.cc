// Micro-benchmark: a null hypercall through hypercall_entry<Table> versus a plain indirect
// call of the same handler. Goal: the entry costs within 2x of the indirect call.
// Run: bazel run -c opt //lib/hypercall:dispatch_bench
#include <cstdint>

#include <benchmark/benchmark.h>

#include "pvkit/hypercall/entry.h"
#include "pvkit/hypercall/multicall.h"
#include "pvkit/hypercall/stats.h"
#include "pvkit/hypercall/table.h"
#include "pvkit/platforms/host/flat_guest_memory.h"

namespace pvkit {
namespace {

struct BenchCtx {
  HypercallStats stats;
  host::FlatGuestMemory mem;
  bool guest_kernel_mode() { return true; }
  HypercallStats& hypercall_stats() { return stats; }
  host::FlatGuestMemory& guest_memory() { return mem; }
};

template <std::uint32_t N>
struct Null {
  static constexpr std::uint32_t kNumber = N;
  static constexpr const char* kName = "null";
  template <typename Ctx>
  static std::int64_t call(Ctx&, HypercallArgs& a) {
    return static_cast<std::int64_t>(a.a[0]);
  }
};

using Table = HypercallTable<Null<1>, Null<12>, Null<14>, Null<17>, Null<20>, Null<23>, Null<24>,
                             Null<26>, Null<29>, Null<32>, Multicall>;

using Fn = std::int64_t (*)(BenchCtx&, HypercallArgs&);
std::int64_t plain(BenchCtx& ctx, HypercallArgs& a) { return Null<32>::call(ctx, a); }

void BM_IndirectCall(benchmark::State& state) {
  BenchCtx ctx;
  HypercallArgs a;
  a.nr = 32;
  Fn fn = &plain;
  for (auto _ : state) {
    benchmark::DoNotOptimize(fn);
    benchmark::DoNotOptimize(a);
    benchmark::DoNotOptimize(fn(ctx, a));
  }
}
BENCHMARK(BM_IndirectCall);

void BM_HypercallEntry(benchmark::State& state) {
  BenchCtx ctx;
  HypercallArgs a;
  a.nr = 32;
  for (auto _ : state) {
    benchmark::DoNotOptimize(a);
    benchmark::DoNotOptimize(hypercall_entry<Table>(ctx, a));
  }
}
BENCHMARK(BM_HypercallEntry);

void BM_UnknownNumber(benchmark::State& state) {
  BenchCtx ctx;
  HypercallArgs a;
  a.nr = 1000;
  for (auto _ : state) {
    benchmark::DoNotOptimize(a);
    benchmark::DoNotOptimize(hypercall_entry<Table>(ctx, a));
  }
}
BENCHMARK(BM_UnknownNumber);

}  // namespace
}  // namespace pvkit
