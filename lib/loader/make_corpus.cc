// Writes the loader fuzz seed corpus: bazel run //lib/loader:make_corpus -- <dir>
#include <cstdio>
#include <fstream>
#include <string>

#include "pvkit/loader/test_corpus.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus <output-dir>\n");
    return 2;
  }
  for (const auto& c : pvkit::loader::testing::corpus_cases()) {
    const std::string path = std::string(argv[1]) + "/" + c.name;
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(c.bytes.data()),
            static_cast<std::streamsize>(c.bytes.size()));
    if (!f) {
      std::fprintf(stderr, "cannot write %s\n", path.c_str());
      return 1;
    }
    std::printf("%s (%zu bytes)\n", path.c_str(), c.bytes.size());
  }
  return 0;
}
