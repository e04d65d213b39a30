#!/usr/bin/env bash
# pvkit's benchmark runner (`./pvkit bench [--quick]`): builds with -c opt, runs the host suite
# (bench/host, Google Benchmark, every figure paired with a baseline from the same run) and the
# in-image suite (bench/image, instruction counts under QEMU -icount; run twice in the full mode
# to check that the counts are identical), and writes
#   bench/results/latest.json  {"mode", "date", "machine", "figures": [one record per figure:
#                              suite, name, value, unit (+ clock, baseline, baseline_value, ratio
#                              for host figures)]}
#   bench/results/latest.md    the same as markdown tables
# --quick: a short Google Benchmark min_time and one image run (under a minute once built).
# PVKIT_BAZEL_STARTUP: extra Bazel startup options (e.g. --output_base=/tmp/bazel-bench).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
quick=0
for a in "$@"; do
  case "$a" in
    --quick) quick=1 ;;
    *) echo "usage: ./pvkit bench [--quick]" >&2; exit 2 ;;
  esac
done
# shellcheck disable=SC2206
BAZEL=(bazel ${PVKIT_BAZEL_STARTUP:-})
say() { printf "pvkit bench: [%3ds] %s\n" "$SECONDS" "$*"; }

say "building (bazel build -c opt)"
"${BAZEL[@]}" build -c opt //bench/host:host_bench //bench/image:bench_guest //platforms/pc/run:run 2>&1 |
  grep -E '^(ERROR|FAILED)' >&2 || true
bin=$("${BAZEL[@]}" info -c opt bazel-bin 2>/dev/null)
for f in bench/host/host_bench bench/image/bench_guest.elf platforms/pc/run/run.elf; do
  [ -f "$bin/$f" ] || { echo "pvkit bench: build failed ($f missing)" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pvkit-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
if [ $quick -eq 1 ]; then min_time=0.01; mode=quick; else min_time=0.5; mode=full; fi

say "host suite (min_time ${min_time}s per figure; machine load: $(cut -d' ' -f1-3 /proc/loadavg))"
"$bin/bench/host/host_bench" --benchmark_min_time="$min_time" --benchmark_color=false \
  --pvkit_json="$tmp/host.json" --pvkit_md="$tmp/host.md" >"$tmp/host.log" 2>&1 ||
  { cat "$tmp/host.log" >&2; echo "pvkit bench: host suite failed" >&2; exit 1; }
grep -q ERROR "$tmp/host.log" && { grep ERROR "$tmp/host.log" >&2; echo "pvkit bench: a host figure failed" >&2; exit 1; }

say "image suite (QEMU -icount)"
runs=2
[ $quick -eq 1 ] && runs=1
for i in $(seq 1 $runs); do
  bench/image/run_image_bench.sh "$bin/platforms/pc/run/run.elf" "$bin/bench/image/bench_guest.elf" >"$tmp/image$i.txt"
done
if [ $runs -eq 2 ] && ! cmp -s "$tmp/image1.txt" "$tmp/image2.txt"; then
  echo "pvkit bench: image figures differ between two runs:" >&2
  diff "$tmp/image1.txt" "$tmp/image2.txt" >&2 || true
  exit 1
fi

# Xen 4.17's own figures under the same method (/work/shared/reference/anchors.md, docs/performance.md).
xen_anchor() {
  case "$1" in
    null_hypercall) echo 278 ;;
    mmu_update_l1) echo 1110 ;;
    grant_map_unmap) echo 2771 ;;
    *) echo "" ;;
  esac
}
target() {
  case "$1" in
    null_hypercall) echo "<= 80" ;;
    event_oneway) echo "<= 1500" ;;
    *) echo "" ;;
  esac
}

mkdir -p bench/results
date=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //; s/"//g')
machine="$(nproc) CPUs, $cpu, load average $(cut -d' ' -f1-3 /proc/loadavg)"
{
  printf '{\n  "mode": "%s",\n  "date": "%s",\n  "machine": "%s",\n  "figures": [\n' "$mode" "$date" "$machine"
  # Host records come from bench_main.cc, one per line; tag them with their suite.
  grep '^  {' "$tmp/host.json" | sed 's/^  {/    {"suite": "host", /; s/}$/},/'
  n=$(wc -l <"$tmp/image1.txt")
  i=0
  while read -r _ name value unit; do
    i=$((i + 1))
    name=${name#name=} value=${value#value=} unit=${unit#unit=}
    sep=","
    [ $i -eq "$n" ] && sep=""
    printf '    {"suite": "image", "name": "%s", "value": %s, "unit": "%s"}%s\n' "$name" "$value" "$unit" "$sep"
  done <"$tmp/image1.txt"
  printf '  ]\n}\n'
} >bench/results/latest.json
{
  printf '# pvkit benchmark results\n\n'
  printf 'Produced by `./pvkit bench%s` on %s (%s).\n\n' "$([ $quick -eq 1 ] && echo ' --quick')" "$date" "$machine"
  printf '## Host suite (ns per operation; ratio = figure / baseline from the same run)\n\n'
  cat "$tmp/host.md"
  printf '\n## Image suite (instructions per operation under QEMU -icount, guest + hypervisor)\n\n'
  printf '| figure | instructions | target (issue 6) | Xen 4.17, same method |\n|---|---:|---:|---:|\n'
  while read -r _ name value _; do
    name=${name#name=} value=${value#value=}
    printf '| %s | %s | %s | %s |\n' "$name" "$value" "$(target "$name")" "$(xen_anchor "$name")"
  done <"$tmp/image1.txt"
} >bench/results/latest.md
say "wrote bench/results/latest.json and bench/results/latest.md"
cat bench/results/latest.md
