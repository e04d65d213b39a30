#!/usr/bin/env bash
# pvkit's QEMU test runner: boots an image and decides pass or fail.
#
# A run passes only if BOTH hold:
#   - the serial log's last `pvkit-test: RESULT ...` line says SUCCESS, and it is the only
#     result line (a second one means the image ran on past its end), and
#   - QEMU left through isa-debug-exit with pvkit's success code (value 0x10 -> status 33).
# Everything else fails, with the reason on the last line of output:
#   exit status 0 (the image never reached the device: triple fault under -no-reboot),
#   the failure code (35), a timeout, no result line, a FAILURE result line.
#
# Usage: run_qemu_test.sh --image IMAGE.elf [--timeout SECS] [--machine microvm|pc]
#                         [--append CMDLINE] [--initrd FILE[,FILE...]] [--smp N] [--icount]
#                         [--log FILE] [-- extra qemu args]
set -u

image="" timeout_secs=30 machine=microvm append="" initrd="" smp=1 icount=0 log=""
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --image) image=$2; shift 2 ;;
    --timeout) timeout_secs=$2; shift 2 ;;
    --machine) machine=$2; shift 2 ;;
    --append) append=$2; shift 2 ;;
    --initrd) initrd=$2; shift 2 ;;
    --smp) smp=$2; shift 2 ;;
    --icount) icount=1; shift ;;
    --log) log=$2; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "run_qemu_test: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -n "$image" ] && [ -f "$image" ] || { echo "run_qemu_test: no image '$image'"; exit 2; }
qemu=$(command -v qemu-system-x86_64) || { echo "run_qemu_test: FAIL: qemu-system-x86_64 not installed"; exit 1; }

if [ -z "$log" ]; then
  dir=${TEST_UNDECLARED_OUTPUTS_DIR:-${TEST_TMPDIR:-$(mktemp -d)}}
  log="$dir/serial.log"
fi

args=(-M "$machine" -nodefaults -display none -serial stdio -no-reboot -m 256 -cpu max
      -smp "$smp" -device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel "$image")
[ -n "$append" ] && args+=(-append "$append")
[ -n "$initrd" ] && args+=(-initrd "$initrd")
[ "$icount" = 1 ] && args+=(-icount shift=0,align=off,sleep=off -rtc clock=vm)
args+=("${extra[@]}")

echo "run_qemu_test: $qemu ${args[*]}"
timeout --kill-after=5 "$timeout_secs" "$qemu" "${args[@]}" </dev/null >"$log" 2>&1
status=$?
tr -d '\r' <"$log" >"$log.txt"
echo "----- serial output -----"
cat "$log.txt"
echo "----- end of serial output (qemu status $status) -----"

results=$(grep -c '^pvkit-test: RESULT ' "$log.txt")
last=$(grep '^pvkit-test: RESULT ' "$log.txt" | tail -n 1 | sed 's/^pvkit-test: RESULT //')

fail() { echo "run_qemu_test: FAIL: $1"; exit 1; }
case "$status" in
  124|137) fail "timeout after ${timeout_secs}s (the image hung)" ;;
  0) fail "QEMU exited with status 0: the image died before reaching the debug-exit device (triple fault?)" ;;
  33) ;;
  35) fail "the image exited through debug-exit with the FAILURE code" ;;
  *) fail "unexpected QEMU exit status $status" ;;
esac
[ "$results" -ge 1 ] || fail "no 'pvkit-test: RESULT' line in the serial output"
[ "$results" -eq 1 ] || fail "$results result lines; exactly one is allowed"
[ "$last" = "SUCCESS" ] || fail "result line says '$last'"
echo "run_qemu_test: PASS"
exit 0
