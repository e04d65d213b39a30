// Runs every file of the loader fuzz seed corpus (lib/loader/corpus/) through the fuzz
// target's run_loader_pipeline(), and checks the checked-in corpus is the generated one.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "pvkit/loader/fuzz_entry.h"
#include "pvkit/loader/test_corpus.h"

namespace pvkit::loader {
namespace {

namespace fs = std::filesystem;

fs::path corpus_dir() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* ws = std::getenv("TEST_WORKSPACE");
  return fs::path(srcdir ? srcdir : ".") / (ws ? ws : "pvkit") / "lib/loader/corpus";
}

std::map<std::string, std::vector<std::uint8_t>> read_corpus() {
  std::map<std::string, std::vector<std::uint8_t>> files;
  for (const fs::directory_entry& e : fs::directory_iterator(corpus_dir())) {
    std::ifstream f(e.path(), std::ios::binary);
    files[e.path().filename().string()] =
        std::vector<std::uint8_t>(std::istreambuf_iterator<char>(f), {});
  }
  return files;
}

TEST(Corpus, EveryFileRunsThroughThePipelineWithoutBreakingAnInvariant) {
  const auto files = read_corpus();
  ASSERT_GE(files.size(), 10u);
  for (const auto& [name, bytes] : files) {
    const PipelineOutcome o = run_loader_pipeline(bytes);
    EXPECT_FALSE(o.invariant_broken) << name;
    if (name.rfind("valid_", 0) == 0) {
      EXPECT_EQ(o.image, LoadError::Ok) << name;
      EXPECT_GE(o.plans, 1u) << name;
    } else {
      EXPECT_NE(o.image, LoadError::Ok) << name;
      EXPECT_EQ(o.plans, 0u) << name;
    }
  }
}

TEST(Corpus, CheckedInFilesMatchTheGeneratorAndTheirVerdicts) {
  const auto files = read_corpus();
  const auto cases = testing::corpus_cases();
  EXPECT_EQ(files.size(), cases.size()) << "run: bazel run //lib/loader:make_corpus -- "
                                           "$PWD/lib/loader/corpus";
  for (const testing::CorpusCase& c : cases) {
    auto it = files.find(c.name);
    ASSERT_NE(it, files.end()) << c.name << " missing; regenerate the corpus";
    EXPECT_EQ(it->second, c.bytes) << c.name << " is stale; regenerate the corpus";
    EXPECT_EQ(inspect_pv_image(c.bytes, LoadLimits{}).error(), c.want) << c.name;
  }
}

// Every truncation of a valid kernel is handled (refused or accepted) without breaking an
// invariant: the same property the fuzzer checks, exhaustively on the short prefixes.
TEST(Corpus, EveryPrefixOfAValidKernelIsSafe) {
  const auto cases = testing::corpus_cases();
  const std::vector<std::uint8_t>& good = cases.front().bytes;
  for (std::size_t n = 0; n < good.size(); n += (n < 1024 ? 1 : 97)) {
    const std::vector<std::uint8_t> cut(good.begin(), good.begin() + n);
    EXPECT_FALSE(run_loader_pipeline(cut).invariant_broken) << n;
  }
}

}  // namespace
}  // namespace pvkit::loader
