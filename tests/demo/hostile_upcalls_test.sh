#!/usr/bin/env bash
# Boots the run image with a bundle (a hostile_upcalls guest + hello); passes when the run
# succeeds (the hostile domain crashed as expected, hello finished, everything released) and
# the serial log shows the expected reason for the crash.
# Usage: hostile_upcalls_test.sh RUNNER IMAGE BUNDLE EXPECTED_TEXT
set -u
log="${TEST_TMPDIR:-$(mktemp -d)}/serial.log"
out=$("$1" --image "$2" --initrd "$3" --timeout 60 --log "$log" 2>&1)
rc=$?
serial="$log.txt"
[ -f "$serial" ] || serial="$log"
fail=0
[ $rc -eq 0 ] || { echo "WRONG: runner: $(printf '%s\n' "$out" | tail -n 1)"; fail=1; }
grep -qF -- "$4" "$serial" || { echo "MISSING: $4"; fail=1; }
grep -qF "hostile_upcalls: FAILURE" "$serial" && { echo "UNEXPECTED: the guest ran on"; fail=1; }
grep -qF "(d1) hello: SUCCESS" "$serial" || { echo "MISSING: hello finished"; fail=1; }
if [ $fail -ne 0 ]; then
  sed 's/^/    /' "$serial"
  exit 1
fi
echo "PASS: $4"
