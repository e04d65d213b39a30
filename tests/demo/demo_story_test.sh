#!/usr/bin/env bash
# QEMU tests of the demo appliance (//examples/demo:demo), one scenario per invocation:
#   story    the six domains reach their ends (hello, ping-pong front/back, adversary, a PV
#            console client and the driver domain serving its console), the story's milestones and the final summary
#            line appear, every attack of the adversary is refused with exactly the Xen error
#            code listed in expected_attacks.txt (and none is accepted), QEMU exits with success
#   crasher  with=crasher: the crasher dies of its page fault, only it; the others still finish
#   all      every optional guest at once (9 domains), on QEMU's `-M pc` with -icount
#   intruder with=intruder: a guest writing to COM1 while the driver domain owns it dies of #GP
#   spinner  with=spinner: a guest spinning with events masked and no hypercalls is preempted
#            by the LAPIC timer while ping-pong still completes all its rounds
# Usage: demo_story_test.sh RUNNER IMAGE SCENARIO [EXPECTED_ATTACKS]
set -u
runner=$1
image=$2
scenario=$3
attacks=${4:-}
log="${TEST_TMPDIR:-$(mktemp -d)}/$scenario.log"
failures=0

extra=()
case "$scenario" in
  story) append="" ;;
  all) append="with=crasher,spinner,intruder"; extra=(--machine pc --icount) ;;
  crasher) append="with=crasher" ;;
  spinner) append="with=spinner" ;;
  intruder) append="with=intruder" ;;
  *) echo "unknown scenario $scenario"; exit 2 ;;
esac

out=$("$runner" --image "$image" --timeout 60 --append "$append" --log "$log" "${extra[@]}" 2>&1)
rc=$?
serial="$log.txt"
[ -f "$serial" ] || serial="$log"
verdict=$(printf '%s\n' "$out" | tail -n 1)
if [ $rc -ne 0 ]; then
  echo "WRONG: the runner failed ($rc): $verdict"
  failures=$((failures + 1))
else
  echo "ok: $verdict"
fi

want() {  # want <fixed string>: must appear in the serial log
  if grep -qF -- "$1" "$serial"; then
    echo "ok: $1"
  else
    echo "MISSING: $1"
    failures=$((failures + 1))
  fi
}
want_re() {  # want_re <extended regex>
  if grep -qE -- "$1" "$serial"; then
    echo "ok: /$1/"
  else
    echo "MISSING: /$1/"
    failures=$((failures + 1))
  fi
}
never() {
  if grep -qF -- "$1" "$serial"; then
    echo "UNEXPECTED: $1"
    failures=$((failures + 1))
  else
    echo "ok: no \"$1\""
  fi
}

n_domains=6
[ "$scenario" != story ] && n_domains=7
[ "$scenario" = all ] && n_domains=9
want_re "^pvkit: demo finished: ${n_domains} domains, [0-9]+ hypercalls, [1-9][0-9]* events, [1-9][0-9]* grant maps, [0-9]+ attacks refused$"
want "pvkit-test: RESULT SUCCESS"
want "(d0) hello: SUCCESS"
want "(d1) pingpong_front: round 16: sent 31, got 32"
want "(d1) pingpong_front: SUCCESS"
want "(d2) pingpong_back: served 16 pings"
want "(d2) pingpong_back: SUCCESS"
want "(d3) adversary: SUCCESS"
want "pvkit: d1 (pingpong_front): every frame, port and grant released"
# The PV console: bytes from the client's console ring reach the UART through the driver
# domain, which owns the UART's ports; the client's SUCCESS means the backend consumed every
# byte; the hypervisor stops the backend at the end. (The text itself is not matched: the
# hypervisor's own log shares the UART and may interleave with a preempted backend's line.)
want "[pv console d"
want "console_client: backend consumed all 189 bytes"
want "console_client: SUCCESS"
want_re "^\(d[0-9]\) console_backend: serving d[0-9]'s PV console \(grant ref 0, port [0-9]+ -> local [0-9]+\); UART 0x3f8 is mine$"
want_re "^pvkit-test: ok   d[0-9] console_backend served until the others were done"
want "pvkit-test: ok   all"
never "[ACCEPTED]"
never "pvkit: PANIC"
never "deadlock"

case "$scenario" in
  story)
    want_re "^pvkit: demo finished: 6 domains, [0-9]+ hypercalls, [0-9]+ events, [0-9]+ grant maps, $(grep -c . "$attacks") attacks refused$"
    while IFS= read -r line; do
      [ -n "$line" ] && want "(d3) $line"
    done < "$attacks"
    ;;
  crasher)
    want_re "^pvkit: d4 \(crasher\) crashed: #PF page fault at rip [0-9a-f]+, address 0,"
    want "pvkit: d4 (crasher) crashed after"
    want "pvkit-test: ok   d4 crasher crashed, and only it"
    ;;
  all)
    want "pvkit-test: ok   d4 crasher crashed, and only it"
    want_re "^pvkit: d5 \(spinner\) never yielded, yet was preempted [0-9]+ times"
    want "pvkit-test: ok   d6 uart_intruder crashed, and only it"
    want "pvkit-test: ok   d8 console_backend served until the others were done"
    ;;
  intruder)
    want "(d4) uart_intruder: writing to COM1 (port 0x3f8) directly"
    want_re "^pvkit: d4 \(uart_intruder\) crashed: #GP general protection at rip [0-9a-f]+, error 0 "
    want "pvkit-test: ok   d4 uart_intruder crashed, and only it"
    never "uart_intruder: FAILURE"
    ;;
  spinner)
    want_re "^pvkit: d4 \(spinner\) never yielded, yet was preempted [0-9]+ times"
    want "pvkit-test: ok   d4 spinner was preempted"
    ;;
esac

if [ $failures -ne 0 ]; then
  echo "FAIL: $failures check(s) failed; serial log:"
  sed 's/^/    /' "$serial"
  exit 1
fi
echo "PASS"
