#!/usr/bin/env bash
# Shows that the QEMU test runner fails (red) for every failure mode: it boots the self-test
# image in each bad mode and requires a non-zero exit with the right reason, and requires the
# good mode to pass.
set -u
runner=$1
image=$2
failures=0

expect() {  # expect <pass|fail> <mode> <reason substring> [timeout]
  local want=$1 mode=$2 reason=$3 t=${4:-20}
  local out rc
  out=$("$runner" --image "$image" --timeout "$t" --append "mode=$mode" --log "$TEST_TMPDIR/$mode.log" 2>&1)
  rc=$?
  local verdict
  verdict=$(printf '%s\n' "$out" | tail -n 1)
  if [ "$want" = pass ] && [ $rc -eq 0 ]; then
    echo "ok: mode=$mode passes"
  elif [ "$want" = fail ] && [ $rc -ne 0 ] && printf '%s' "$verdict" | grep -q -- "$reason"; then
    echo "ok: mode=$mode is detected: $verdict"
  else
    echo "WRONG: mode=$mode: want $want ($reason), runner exited $rc with: $verdict"
    printf '%s\n' "$out" | sed 's/^/    /'
    failures=$((failures + 1))
  fi
}

expect pass success ""
expect fail triple-fault "status 0"
expect fail hang "timeout" 3
expect fail no-result "no 'pvkit-test: RESULT' line"
expect fail failure "FAILURE code"
expect fail wrong-exit "FAILURE code"
expect fail two-results "exactly one is allowed"
expect fail panic "FAILURE code"

[ $failures -eq 0 ] && echo "all failure modes detected" && exit 0
echo "$failures case(s) wrong"
exit 1
