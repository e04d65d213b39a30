"""pvkit_fuzz_target: a libFuzzer target on the host platform, plus its corpus regression test.

What it is: a macro declaring
  - `<name>`: a cc_binary built with clang-14 `-fsanitize=fuzzer,address,undefined` from a
    source that defines `LLVMFuzzerTestOneInput`; `./pvkit fuzz <name> [SECONDS]` runs it;
  - `<name>_corpus_test`: a Bazel test that replays every file of the seed corpus (and any
    crash reproducer kept there as a regression input) through the same binary once
    (`-runs=0`), so a fixed crash stays fixed.

How to use it:
    load("//tools:fuzz.bzl", "pvkit_fuzz_target")
    pvkit_fuzz_target(name = "loader_fuzzer", srcs = ["fuzz_loader.cc"], deps = [":loader"],
                      corpus = glob(["corpus/**"]))
"""

_FUZZ_FLAGS = [
    "-fsanitize=fuzzer,address,undefined",
    "-fno-sanitize-recover=all",
    "-fno-omit-frame-pointer",
    "-g",
    "-O1",
]

def pvkit_fuzz_target(name, srcs, deps = [], corpus = [], copts = [], tags = [], **kwargs):
    native.cc_binary(
        name = name,
        srcs = srcs,
        deps = deps,
        copts = copts + _FUZZ_FLAGS,
        linkopts = ["-fsanitize=fuzzer,address,undefined", "-fsanitize-link-c++-runtime"],
        tags = tags + ["fuzzer"],
        **kwargs
    )
    native.sh_test(
        name = name + "_corpus_test",
        size = "medium",
        srcs = [Label("//tools:run_fuzz_corpus.sh")],
        args = ["$(location :%s)" % name] + ["$(location %s)" % f for f in corpus],
        data = [":" + name] + corpus,
        tags = tags + ["fuzzer"],
    )
