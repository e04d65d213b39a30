// The PV ELF guest loader under libFuzzer: arbitrary bytes as a guest kernel image.
//
// What it is: the same body as lib/loader/fuzz_loader.cc (pvkit::loader::run_loader_pipeline:
// inspect the image, plan layouts for several domain shapes, build start_info, replay the
// segment loader through a bounds-checking writer), compiled here with the fuzzer's coverage
// instrumentation so that the header-only loader code is instrumented too. A broken loader
// invariant (entry or hypercall page outside the image, overlapping plan, a write outside its
// frame or region) traps; ASan/UBSan catch the rest.
//
// How to use it: `./pvkit fuzz loader_fuzzer 60`; seeds: lib/loader/corpus/ and
// tests/fuzz/corpus/loader/ (crash reproducers are kept there).
//
// Concurrency: single-threaded (libFuzzer's process).
#include <cstddef>
#include <cstdint>
#include <span>

#include "pvkit/loader/fuzz_entry.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const pvkit::loader::PipelineOutcome o =
      pvkit::loader::run_loader_pipeline(std::span<const std::uint8_t>(data, size));
  if (o.invariant_broken) __builtin_trap();
  return 0;
}
