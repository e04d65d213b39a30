#!/usr/bin/env bash
# A fault in the hypervisor itself must end the run loudly: for each fault mode of the CPU
# test image, the QEMU runner must FAIL with the debug-exit failure code, and the serial log
# must show the dump (vector and mnemonic, error code, registers, CR2/CR3) and the PANIC line.
set -u
runner=$1
image=$2
failures=0

expect_panic() {  # expect_panic <mode> <text that must appear>...
  local mode=$1
  shift
  local log="$TEST_TMPDIR/$mode.log"
  local out rc
  out=$("$runner" --image "$image" --timeout 20 --append "mode=$mode" --log "$log" 2>&1)
  rc=$?
  local verdict
  verdict=$(printf '%s\n' "$out" | tail -n 1)
  local ok=1
  if [ $rc -eq 0 ] || ! printf '%s' "$verdict" | grep -q "FAILURE code"; then ok=0; fi
  for want in "pvkit: PANIC:" "rip=" "rax=" "r15=" "cr2=" "cr3=" "$@"; do
    grep -qF -- "$want" "$log.txt" || { echo "  missing: $want"; ok=0; }
  done
  if [ $ok -eq 1 ]; then
    echo "ok: mode=$mode panics with a dump ($verdict)"
  else
    echo "WRONG: mode=$mode: runner exited $rc with: $verdict"
    printf '%s\n' "$out" | sed 's/^/    /'
    failures=$((failures + 1))
  fi
}

expect_panic ud "vector 6 (#UD)" "in ring 0" "hypervisor-mode exception"
expect_panic pf "vector 14 (#PF)" "cr2=0000000000001000" "error 0x0000000000000000"
expect_panic gp "vector 13 (#GP)" "in ring 0"
expect_panic de "vector 0 (#DE)"
expect_panic bp "vector 3 (#BP)"
expect_panic df "vector 8 (#DF)" "double fault"
expect_panic wtext "vector 14 (#PF)" "error 0x0000000000000003"
expect_panic overflow "vector 8 (#DF)" "double fault"

[ $failures -eq 0 ] && echo "every hypervisor fault panics with a dump" && exit 0
echo "$failures case(s) wrong"
exit 1
