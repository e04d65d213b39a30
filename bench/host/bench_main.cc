// pvkit's host benchmark driver: Google Benchmark plus the baseline-pairing reporter.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "bench/host/bench_report.h"

namespace pvkit::bench {

std::map<std::string, std::string>& baselines() {
  static std::map<std::string, std::string> m;
  return m;
}

namespace {

struct Figure {
  std::string name;
  double ns;
  bool wall;  ///< wall-clock (true) or CPU time of the benchmark thread (false)
};

class PairingReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      if (r.error_occurred || r.run_type != Run::RT_Iteration) continue;
      // Single-threaded figures use CPU time (robust on a shared, overloaded machine); figures
      // that involve another thread or measure their own time use wall-clock time.
      const std::string name = r.benchmark_name();
      // A manual-time figure that times itself with the thread's CPU clock says so with the
      // counter pvkit_thread_cpu (its value is still the manual time).
      const bool thread_cpu = r.counters.find("pvkit_thread_cpu") != r.counters.end();
      const bool wall = !thread_cpu && (name.find("/real_time") != std::string::npos ||
                                        name.find("/manual_time") != std::string::npos);
      double ns = (wall ? r.GetAdjustedRealTime() : r.GetAdjustedCPUTime()) * 1e9 /
                  benchmark::GetTimeUnitMultiplier(r.time_unit);
      // A benchmark doing several items per iteration reports per item (counter pvkit_items).
      auto items = r.counters.find("pvkit_items");
      if (items != r.counters.end() && items->second.value > 0) ns /= items->second.value;
      figures_.push_back({name, ns, wall});
    }
  }
  const std::vector<Figure>& figures() const { return figures_; }

 private:
  std::vector<Figure> figures_;
};

// "BM_Foo/16/real_time" -> base "BM_Foo", suffix "/16/real_time"
std::pair<std::string, std::string> split_name(const std::string& n) {
  auto slash = n.find('/');
  if (slash == std::string::npos) return {n, ""};
  return {n.substr(0, slash), n.substr(slash)};
}

const Figure* find(const std::vector<Figure>& f, const std::string& name) {
  for (const auto& x : f) {
    if (x.name == name) return &x;
  }
  // Baselines without arguments pair with every argument of the figure.
  for (const auto& x : f) {
    if (split_name(x.name).first == name) return &x;
  }
  return nullptr;
}

}  // namespace
}  // namespace pvkit::bench

int main(int argc, char** argv) {
  std::string json_out, md_out;
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--pvkit_json=", 13) == 0) {
      json_out = argv[i] + 13;
    } else if (std::strncmp(argv[i], "--pvkit_md=", 11) == 0) {
      md_out = argv[i] + 11;
    } else {
      rest.push_back(argv[i]);
    }
  }
  int n = static_cast<int>(rest.size());
  benchmark::Initialize(&n, rest.data());
  if (benchmark::ReportUnrecognizedArguments(n, rest.data())) return 1;
  pvkit::bench::PairingReporter rep;
  benchmark::RunSpecifiedBenchmarks(&rep);
  benchmark::Shutdown();

  using pvkit::bench::baselines;
  using pvkit::bench::split_name;
  std::string json = "[\n";
  std::string md = "| figure | ns/op | baseline | baseline ns/op | ratio |\n|---|---:|---|---:|---:|\n";
  bool first = true;
  for (const auto& f : rep.figures()) {
    auto [base, suffix] = split_name(f.name);
    std::string rec = absl::StrFormat("  {\"name\": \"%s\", \"value\": %.3f, \"unit\": \"ns\", \"clock\": \"%s\"",
                                      f.name, f.ns, f.wall ? "wall" : "cpu");
    auto it = baselines().find(base);
    if (it != baselines().end()) {
      const auto* b = pvkit::bench::find(rep.figures(), it->second + suffix);
      if (b == nullptr) b = pvkit::bench::find(rep.figures(), it->second);
      if (b != nullptr && b->ns > 0) {
        rec += absl::StrFormat(", \"baseline\": \"%s\", \"baseline_value\": %.3f, \"ratio\": %.3f", b->name,
                               b->ns, f.ns / b->ns);
        md += absl::StrFormat("| %s | %.1f | %s | %.1f | %.2f |\n", f.name, f.ns, b->name, b->ns, f.ns / b->ns);
      } else {
        md += absl::StrFormat("| %s | %.1f | %s | (not run) | |\n", f.name, f.ns, it->second);
      }
    } else {
      md += absl::StrFormat("| %s | %.1f | | | |\n", f.name, f.ns);
    }
    rec += "}";
    json += (first ? "" : ",\n") + rec;
    first = false;
  }
  json += "\n]\n";
  if (!json_out.empty()) std::ofstream(json_out) << json;
  if (!md_out.empty()) std::ofstream(md_out) << md;
  return 0;
}
