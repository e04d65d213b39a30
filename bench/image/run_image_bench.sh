#!/usr/bin/env bash
# Runs pvkit's in-image benchmark: the PC hypervisor's run image (RUN_ELF) with two copies of
# bench_guest.elf (GUEST_ELF), measurer (domain 0) and partner (domain 1), under QEMU with
# -icount shift=0,align=off,sleep=off -rtc clock=vm, so that the guest's rdtsc counts retired
# instructions. Prints the BENCH lines (and, with -v, the whole serial log).
# The image is booted with `bench_domains=N` (N = $PVKIT_BENCH_DOMAINS, default 16): before the
# guests run, the hypervisor itself creates and destroys a 4 MiB domain (from bench_guest.elf)
# N times and prints domain_create_destroy, domain_create and domain_destroy (the minimum over
# the N pairs; the path is deterministic, so min = median = max, which the log line shows), and
# checks that the frame pool and domain table are exactly as before (platforms/pc/run/domain_bench.h).
#
# Usage: run_image_bench.sh RUN_ELF GUEST_ELF [-v]
set -euo pipefail
run_elf=$1 guest_elf=$2 verbose=${3:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pvkit-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
bundle=$tmp/bundle log=$tmp/log
bench_domains=${PVKIT_BENCH_DOMAINS:-16}
# A real file, not a symlink (Bazel runfiles): make_bundle.sh sizes its inputs with stat.
cp -L "$guest_elf" "$tmp/bench_guest.elf"
"$root/platforms/pc/run/make_bundle.sh" "$bundle" \
  "$tmp/bench_guest.elf name=bench measure=1 peer=1" "$tmp/bench_guest.elf name=partner peer=0"
rc=0
timeout 120 qemu-system-x86_64 -M microvm -nodefaults -display none -serial stdio -no-reboot -m 256 \
  -cpu max -device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel "$run_elf" -initrd "$bundle" \
  -smp 1 -icount shift=0,align=off,sleep=off -rtc clock=vm -append "bench_domains=$bench_domains" \
  >"$log" 2>&1 || rc=$?
[ "$verbose" = "-v" ] && cat "$log" >&2
grep -ao 'BENCH name=.*' "$log" | tr -d '\r' || true
if [ "$rc" -ne 33 ] || ! grep -aq 'pvkit-test: RESULT SUCCESS' "$log"; then
  echo "run_image_bench: the image did not finish successfully (QEMU status $rc)" >&2
  [ "$verbose" = "-v" ] || tail -20 "$log" >&2
  exit 1
fi
