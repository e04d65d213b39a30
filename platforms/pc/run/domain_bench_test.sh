#!/usr/bin/env bash
# Boots the run image with one guest (hello) and `bench_domains=N` under -icount: the
# hypervisor creates and destroys a domain N times before running hello. Passes only when the
# run succeeds (every pvkit-test check ok, hello finished) and the serial log shows that the
# benchmark really ran: its three BENCH figures, the no-leak census check, the full-table
# refusal (NoSpc, nothing changed) and the builds run out of frames (NoMem, undone).
# Usage: domain_bench_test.sh RUNNER IMAGE GUEST_ELF PAIRS
set -u
runner=$1 image=$2 guest=$3 pairs=$4
log="${TEST_TMPDIR:-$(mktemp -d)}/serial.log"
out=$("$runner" --image "$image" --initrd "$guest" --append "bench_domains=$pairs" --icount --timeout 60 \
  --log "$log" 2>&1)
rc=$?
serial="$log.txt"
[ -f "$serial" ] || serial="$log"
fail=0
[ $rc -eq 0 ] || { echo "WRONG: runner: $(printf '%s\n' "$out" | tail -n 1)"; fail=1; }
for f in domain_create_destroy domain_create domain_destroy; do
  grep -Eq "^BENCH name=$f value=[1-9][0-9]* unit=instructions$" "$serial" || { echo "MISSING: BENCH $f"; fail=1; }
done
for want in \
  "pvkit-test: ok   bench_domains: $pairs of $pairs create+destroy pairs" \
  "pvkit-test: ok   bench_domains: frame pool, domain table, vCPU slots and frame database exactly as before (no leak)" \
  "pvkit-test: ok   bench_domains: creating a domain with every slot in use fails with NoSpc" \
  "pvkit-test: ok   bench_domains: ... and changes nothing (pool, table, frame database)" \
  "pvkit-test: ok   bench_domains: every build short of frames fails with NoMem" \
  "pvkit-test: ok   bench_domains: ... and is undone completely (pool, table, frame database as before the attempt)" \
  "pvkit-test: ok   bench_domains: everything back as before" \
  "(d0) hello: SUCCESS" \
  "pvkit: run finished: 1 domains"; do
  grep -qF -- "$want" "$serial" || { echo "MISSING: $want"; fail=1; }
done
grep -q "pvkit-test: FAIL" "$serial" && { echo "UNEXPECTED: a failed check"; fail=1; }
if [ $fail -ne 0 ]; then
  sed 's/^/    /' "$serial"
  exit 1
fi
echo "PASS: bench_domains=$pairs"
