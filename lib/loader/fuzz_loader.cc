// The loader fuzz target: `bazel build` compiles it as a plain library; a fuzzing build
// links it with -fsanitize=fuzzer. The corpus in lib/loader/corpus/ seeds it, and
// corpus_test runs every seed through the same run_loader_pipeline().
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
