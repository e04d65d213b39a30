#!/usr/bin/env bash
# Where an operation's instructions go, by function. Null hypercall (default): runs bench_guest
# alone with profile=1000 and profile=0; `event`: runs the measurer and its partner with
# event_trials=1000 and event_trials=0 (per event ROUND trip, i.e. two one-way trips); `grant`:
# the same with grant_trials=1000 and 0 (per grant map+unmap pair). All
# under QEMU (-icount, -d in_asm,exec,nochain); counts the instructions executed per function
# (translated blocks attributed through the symbols of the run image and the guest) and
# prints the per-operation difference by function, largest first.
#
# Usage: profile_hypercall.sh RUN_ELF GUEST_ELF [event|grant]
set -euo pipefail
run_elf=$1 guest_elf=$2 what=${3:-null}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pvkit-profile.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
for n in 0 1000; do
  if [ "$what" = grant ]; then
    "$root/platforms/pc/run/make_bundle.sh" "$tmp/bundle$n" \
      "$guest_elf name=bench measure=1 peer=1 grant_trials=$n event_trials=1" "$guest_elf name=partner peer=0"
  elif [ "$what" = event ]; then
    "$root/platforms/pc/run/make_bundle.sh" "$tmp/bundle$n" \
      "$guest_elf name=bench measure=1 peer=1 event_trials=$n" "$guest_elf name=partner peer=0"
  else
    "$root/platforms/pc/run/make_bundle.sh" "$tmp/bundle$n" "$guest_elf name=profile profile=$n"
  fi
  timeout 300 qemu-system-x86_64 -M microvm -nodefaults -display none -serial file:"$tmp/serial$n" \
    -no-reboot -m 256 -cpu max -device isa-debug-exit,iobase=0xf4,iosize=0x04 -kernel "$run_elf" \
    -initrd "$tmp/bundle$n" -smp 1 -icount shift=0,align=off,sleep=off -rtc clock=vm \
    -d in_asm,exec,nochain -D "$tmp/trace$n" >/dev/null 2>&1 || true
done
{ llvm-nm-14 -n --defined-only "$run_elf" | sed 's/^/hv /'; llvm-nm-14 -n --defined-only "$guest_elf" | sed 's/^/guest /'; } \
  | awk '$3 ~ /^[tTwW]$/ {print $1, $2, $4}' >"$tmp/syms"
python3 - "$tmp" "$what" <<'PY'
import bisect, re, subprocess, sys
tmp, what = sys.argv[1], sys.argv[2]
syms = []
for line in open(f"{tmp}/syms"):
    who, addr, name = line.split(maxsplit=2)
    syms.append((int(addr, 16), who, name.strip()))
syms.sort()
keys = [s[0] for s in syms]
names = {}
def demangle(n):
    if n not in names:
        names[n] = subprocess.run(["llvm-cxxfilt-14", n], capture_output=True, text=True).stdout.strip()[:90]
    return names[n]
def sym(pc):
    i = bisect.bisect_right(keys, pc) - 1
    return f"{syms[i][1]}: {demangle(syms[i][2])}" if i >= 0 else "?"
def profile(n):
    size, counts, cur = {}, {}, None
    exec_re = re.compile(r"Trace \d+: 0x[0-9a-f]+ \[[0-9a-f]+/([0-9a-f]+)/")
    for line in open(f"{tmp}/trace{n}", errors="replace"):
        if line.startswith("IN:"):
            cur, ninsn = None, 0
            continue
        m = re.match(r"0x([0-9a-f]+):\s", line)
        if m and cur is None:
            cur = int(m.group(1), 16)
            size[cur] = 0
        if m and cur is not None:
            size[cur] += 1
            continue
        m = exec_re.search(line)
        if m:
            pc = int(m.group(1), 16)
            counts[pc] = counts.get(pc, 0) + 1
            cur = None
    per = {}
    for pc, c in counts.items():
        s = sym(pc)
        per[s] = per.get(s, 0) + c * size.get(pc, 0)
    return per
p0, p1 = profile(0), profile(1000)
rows = sorted(((p1.get(k, 0) - p0.get(k, 0)) / 1000.0, k) for k in set(p0) | set(p1))
total = sum(r[0] for r in rows)
label = {"event": "event round trip (two one-way trips)", "grant": "grant map+unmap pair"}.get(what, "null hypercall")
print(f"{label}, instructions per operation by function (total {total:.1f}):")
for v, k in reversed(rows):
    if abs(v) >= 0.5:
        print(f"{v:8.1f}  {k}")
PY
