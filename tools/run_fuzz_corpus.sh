#!/usr/bin/env bash
# Replays a libFuzzer target's seed corpus once: fails on any crash, leak or sanitizer report.
set -u
fuzzer=$1; shift
[ $# -gt 0 ] || { echo "no corpus files given"; exit 1; }
dir=${TEST_TMPDIR:-$(mktemp -d)}/corpus
mkdir -p "$dir"
for f in "$@"; do cp -f "$f" "$dir/$(echo "$f" | tr '/' '_')"; done
exec "$fuzzer" -runs=0 "$dir"
