// The whole PV system under libFuzzer: hostile guests of three domains against pvkit's
// hypercall dispatcher, page-table verifier, event channels and grant tables.
//
// What it is: each input builds a fresh PvSystem (pv_system.h: d0 privileged, d1, d2 sharing
// frames, grants and event channels) and is decoded (FuzzedDataProvider) into a sequence of
// guest actions (system_ops.h): for each, which domain and vCPU acts, then a hypercall of any
// family (or a multicall batch), its arguments and request arrays near-valid or arbitrary,
// with preemption requested at fuzzer-chosen points so continuations re-execute — or a write
// to memory the guest shares with the hypervisor (grant entries, shared_info, FIFO words).
// After every action:
//   - the guest never sees -ERESTART and no call livelocks (bounded re-executions);
//   - a negative RAX is an errno Xen defines (1..125);
//   - every global invariant holds (PvSystem::check: frame reference/type counts, no
//     writable mapping of a table, linear tables, foreign mappings only via grant or
//     privilege, hypervisor frames untouched, no stale writable TLB entry of a table, grant
//     pins vs status bits, port states and peers).
// Any violation prints the description and traps, so libFuzzer keeps the input as a crash.
//
// How to use it: `./pvkit fuzz system_fuzzer 300`; seeds and kept reproducers in
// tests/fuzz/corpus/system/ (replayed by //tests/fuzz:system_fuzzer_corpus_test).
//
// Concurrency: single-threaded.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/fuzz/pv_system.h"
#include "tests/fuzz/system_ops.h"

namespace {

using pvkit::robustness::PvSystem;

struct FdpSource {
  FuzzedDataProvider& p;
  std::uint32_t range(std::uint32_t lo, std::uint32_t hi) { return p.ConsumeIntegralInRange<std::uint32_t>(lo, hi); }
  std::uint64_t any64() { return p.ConsumeIntegral<std::uint64_t>(); }
  bool coin() { return p.ConsumeBool(); }
};

[[noreturn]] void violation(int step, const pvkit::robustness::StepResult& r, const std::string& what) {
  std::fprintf(stderr, "system_fuzzer: step %d (hypercall %llu -> %lld, %d restarts): %s\n", step,
               static_cast<unsigned long long>(r.nr), static_cast<long long>(r.rax), r.restarts, what.c_str());
  __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // PVKIT_FUZZ_TRACE=1: print every action (to understand a reproducer).
  static const bool trace = std::getenv("PVKIT_FUZZ_TRACE") != nullptr;
  FuzzedDataProvider in(data, size);
  FdpSource src{in};
  PvSystem sys;
  if (!sys.ok()) {
    std::fprintf(stderr, "system_fuzzer: the initial system is broken: %s\n", sys.check().c_str());
    __builtin_trap();
  }
  for (int step = 0; step < 64 && in.remaining_bytes() > 0; ++step) {
    const pvkit::DomId dom{static_cast<std::uint16_t>(in.ConsumeIntegralInRange<int>(0, PvSystem::kDomains - 1))};
    const pvkit::VcpuId vcpu{in.ConsumeIntegralInRange<std::uint32_t>(0, PvSystem::kVcpus - 1)};
    if (sys.destroyed(dom)) continue;  // a dead domain's vCPUs run no more
    if (in.ConsumeIntegralInRange<int>(0, 31) == 0) {  // the toolstack destroys this domain
      if (trace) std::fprintf(stderr, "step %d: destroy d%u\n", step, dom.value());
      if (std::string bad = sys.destroy_domain(dom); !bad.empty()) violation(step, {}, bad);
      continue;
    }
    pvkit::robustness::SystemOps<FdpSource> ops(sys, src, dom, vcpu);
    const pvkit::robustness::StepResult r = ops.step();
    if (trace) {
      std::fprintf(stderr, "step %d d%u v%u: ", step, dom.value(), vcpu.value());
      if (!r.hypercall) {
        std::fprintf(stderr, "shared-memory write\n");
      } else {
        std::fprintf(stderr, "hypercall %llu (%llx %llx %llx %llx %llx) -> %lld\n", static_cast<unsigned long long>(r.nr),
                     static_cast<unsigned long long>(r.args.a[0]), static_cast<unsigned long long>(r.args.a[1]),
                     static_cast<unsigned long long>(r.args.a[2]), static_cast<unsigned long long>(r.args.a[3]),
                     static_cast<unsigned long long>(r.args.a[4]), static_cast<long long>(r.rax));
      }
    }
    if (r.hypercall) {
      if (r.rax == pvkit::kRestartValue) violation(step, r, "Inv03/06: the call never completed (livelock)");
      if (r.rax == -9999) violation(step, r, "the entry answered neither return nor re-execute");
      if (r.rax < 0 && r.rax < -125) violation(step, r, "a negative RAX that is not a Xen errno");
    }
    if (std::string bad = sys.check(); !bad.empty()) violation(step, r, bad);
  }
  return 0;
}
