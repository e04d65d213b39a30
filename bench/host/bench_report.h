// pvkit/bench/host/bench_report.h — pairs each pvkit figure with its baseline from the same run.
//
// What it is: a Google Benchmark reporter that prints the usual console table and, at the end,
// writes one JSON record per figure (name, value, unit, and for figures with a baseline the
// baseline's name, value and the ratio) plus a markdown table. Machines are shared and noisy,
// so pvkit reports ratios against a baseline measured in the same binary and run.
//
// How to use it: `PVKIT_BENCH_BASELINE(BM_NullHypercall, BM_IndirectCall);` next to the
// benchmarks, and link bench_main.cc, which accepts `--pvkit_json=FILE --pvkit_md=FILE`.
//
// Concurrency: registration happens in static initialisers of the (host-only) bench binary.
#pragma once

#include <map>
#include <string>

namespace pvkit::bench {

/// figure name -> baseline name
std::map<std::string, std::string>& baselines();

struct BaselineRegistrar {
  BaselineRegistrar(const char* figure, const char* baseline) { baselines()[figure] = baseline; }
};

}  // namespace pvkit::bench

#define PVKIT_BENCH_CONCAT2(a, b) a##b
#define PVKIT_BENCH_CONCAT(a, b) PVKIT_BENCH_CONCAT2(a, b)
#define PVKIT_BENCH_BASELINE(figure, baseline)                                          \
  static ::pvkit::bench::BaselineRegistrar PVKIT_BENCH_CONCAT(pvkit_baseline_, __LINE__)( \
      #figure, #baseline)
