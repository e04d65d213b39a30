#!/usr/bin/env bash
# Checks a linked pvkit image with the LLVM tools: no undefined symbols, no constructors
# (.init_array/.ctors empty), no SSE/x87 instructions, no segment both writable and
# executable, and Xen notes present.
#
# Usage: image_hygiene_test.sh [--pv-guest] IMAGE.elf
#   --pv-guest  the image is an x86-64 PV guest kernel, which runs in ring 3: additionally no
#               privileged instruction anywhere (cli/sti/hlt/port I/O/descriptor-table loads/
#               CR/MSR access fault there; the hypervisor provides hypercalls instead), and
#               the full set of PV notes (at least 8) rather than the PVH entry note alone.
set -u
guest=0
if [ "${1:-}" = "--pv-guest" ]; then guest=1; shift; fi
img=$1
fail=0
bad() { echo "FAIL: $*"; fail=1; }
for t in llvm-nm-14 llvm-readelf-14 llvm-objdump-14; do
  command -v $t >/dev/null || { echo "FAIL: $t not installed"; exit 1; }
done

undef=$(llvm-nm-14 -u "$img")
[ -z "$undef" ] || bad "undefined symbols: $undef"

while read -r name size; do
  case "$name" in
    .init_array*|.ctors*|.fini_array*|.dtors*)
      [ $((16#$size)) -eq 0 ] || bad "$name is not empty (0x$size bytes): static constructors are not allowed" ;;
  esac
done < <(llvm-readelf-14 -S -W "$img" | sed -n 's/^ *\[ *[0-9]*\] \([^ ]*\) *[A-Z_]* *[0-9a-f]* [0-9a-f]* \([0-9a-f]*\).*/\1 \2/p')

disasm=$(llvm-objdump-14 -d --no-show-raw-insn "$img")
[ -n "$disasm" ] || bad "no code disassembled"

# SSE/AVX registers or x87 instructions anywhere in executable code.
fpu=$(echo "$disasm" | grep -E '%[xyz]mm[0-9]|\bf(ld|st|stp|ild|istp|add|mul|sub|div|xch|init|nsave|rstor|xsave|xrstor|ucom|com)[a-z]*\b|\b(movap|movup|movdq|pxor|xorp|cvt)[a-z]*\b' | head -5)
[ -z "$fpu" ] || bad "SSE/x87 instructions found:
$fpu"

wx=$(llvm-readelf-14 -l -W "$img" | awk '$1=="LOAD" && $7 ~ /W/ && $7 ~ /E/')
[ -z "$wx" ] || bad "a LOAD segment is both writable and executable: $wx"

notes=$(llvm-readelf-14 -n "$img")
if [ $guest -eq 1 ]; then
  priv=$(echo "$disasm" | grep -E '^\s+[0-9a-f]+:\s+(cli|sti|hlt|in[bwl]?|out[bwl]?|ins[bwl]?|outs[bwl]?|lgdt[a-z]*|lidt[a-z]*|lldt|ltr|clts|invlpg|wbinvd|invd|rdmsr|wrmsr|swapgs|sysret[a-z]*|lmsw)\b|mov[a-z]*\s+%[cd]r[0-9]|mov[a-z]*\s+[^,]*,\s*%[cd]r[0-9]' | head -5)
  [ -z "$priv" ] || bad "privileged instructions in a ring-3 PV guest:
$priv"
  [ "$(echo "$notes" | grep -c '^ *Xen ')" -ge 8 ] || bad "fewer than 8 Xen notes"
else
  echo "$notes" | grep -q 'Xen' || bad "no Xen PVH note"
fi

[ $fail -eq 0 ] && echo "image hygiene ok: $img"
exit $fail
