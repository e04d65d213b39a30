// Null hypercall through pvkit's full dispatch path: hypercall_entry<Table> (number check,
// guest-mode check, stats, table dispatch, continuation handling) into the real XenVersion
// handler answering XENVER_version — the operation Xen's own anchor figure measures.
// Baseline: a plain indirect call (BM_IndirectCall, baselines_bench.cc).
#include <benchmark/benchmark.h>

#include <cstdint>

#include "bench/host/bench_report.h"
#include "pvkit/hypercall/console_io.h"
#include "pvkit/hypercall/entry.h"
#include "pvkit/hypercall/multicall.h"
#include "pvkit/hypercall/sched_op.h"
#include "pvkit/hypercall/table.h"
#include "pvkit/hypercall/testing/test_context.h"
#include "pvkit/hypercall/vm_assist.h"
#include "pvkit/hypercall/xen_version.h"

namespace pvkit {
namespace {

// The lib/hypercall handlers a platform composes; the null hypercall is xen_version(0).
using Table = HypercallTable<XenVersion, BasicConsoleIo<256>, VmAssist, SchedOp, Multicall>;

void BM_NullHypercall(benchmark::State& state) {
  testing::TestCtx ctx;
  ctx.info.major = 4;
  ctx.info.minor = 17;
  HypercallArgs a = testing::make_args(xen::hc::kXenVersion, 0);
  std::int64_t expect = (4 << 16) | 17;
  for (auto _ : state) {
    benchmark::DoNotOptimize(a);
    const EntryResult r = hypercall_entry<Table>(ctx, a);
    const std::int64_t rax = r.action == EntryAction::kReturnToGuest ? r.rax : -1;
    if (rax != expect) [[unlikely]] {
      state.SkipWithError("xen_version answered the wrong value");
      break;
    }
    benchmark::DoNotOptimize(rax);
  }
}
BENCHMARK(BM_NullHypercall);
PVKIT_BENCH_BASELINE(BM_NullHypercall, BM_IndirectCall);

}  // namespace
}  // namespace pvkit
