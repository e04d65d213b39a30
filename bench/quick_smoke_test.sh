#!/usr/bin/env bash
# CI smoke test of the benchmarks (asserts nothing about speed): the host suite with a tiny
# min_time (without the 10,000-domain arguments, which take seconds to populate) must produce
# every expected figure with its baseline, and the image suite must print every BENCH line with
# a positive instruction count.
# Usage (from Bazel): quick_smoke_test.sh HOST_BENCH RUN_ELF GUEST_ELF RUN_IMAGE_BENCH
set -euo pipefail
host_bench=$1 run_elf=$2 guest_elf=$3 run_image_bench=$4
tmp=${TEST_TMPDIR:-$(mktemp -d)}
fail=0
"$host_bench" --benchmark_min_time=0.001 --benchmark_filter='-/10000' \
  --pvkit_json="$tmp/host.json" --pvkit_md="$tmp/host.md" >"$tmp/host.log" 2>&1 ||
  { cat "$tmp/host.log"; echo "FAIL: host_bench exited with an error"; exit 1; }
if grep -q "ERROR OCCURRED" "$tmp/host.log"; then
  grep "ERROR OCCURRED" "$tmp/host.log"
  echo "FAIL: a host benchmark reported an error"
  fail=1
fi
for f in BM_IndirectCall BM_RawAtomicPingPong/real_time BM_FutexPingPong/real_time \
  BM_EventfdPingPong/real_time BM_PipePingPong/real_time BM_Memcpy4K BM_NullHypercall \
  BM_EventSendUpcall BM_EventPollingRoundTrip/real_time BM_EventBlockingRoundTrip/real_time \
  BM_EventBlockingRoundTripNoPoll/real_time BM_EventBlockingRoundTripFutex/real_time \
  BM_EventSendBoundPorts/1 BM_EventSendBoundPorts/4095 \
  BM_GrantMapUnmap BM_GrantCopy4K BM_MmuUpdatePerPte/1 BM_MmuUpdatePerPte/16 BM_MmuUpdatePerPte/512 \
  BM_PinUnpinL1Full BM_DomainCreateDestroy BM_NthDomainCreate/10/manual_time \
  BM_NthDomainCreate/1000/manual_time BM_NthDomainFind/10 BM_NthDomainFind/1000; do
  grep -q "\"name\": \"$f\"" "$tmp/host.json" || { echo "FAIL: host figure $f missing"; fail=1; }
done
for f in BM_NullHypercall BM_GrantCopy4K BM_EventBlockingRoundTrip/real_time BM_MmuUpdatePerPte/16; do
  grep "\"name\": \"$f\"" "$tmp/host.json" | grep -q '"ratio"' || { echo "FAIL: $f has no baseline ratio"; fail=1; }
done
"$run_image_bench" "$run_elf" "$guest_elf" >"$tmp/image.txt" || { echo "FAIL: the image suite failed"; exit 1; }
for f in null_hypercall mmu_update_l1 grant_map_unmap event_oneway domain_switch domain_create_destroy \
  domain_create domain_destroy; do
  grep -Eq "^BENCH name=$f value=[1-9][0-9]* unit=instructions$" "$tmp/image.txt" ||
    { echo "FAIL: image figure $f missing"; fail=1; }
done
cat "$tmp/image.txt"
[ $fail -eq 0 ] && echo "PASS"
exit $fail
