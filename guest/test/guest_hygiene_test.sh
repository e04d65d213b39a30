#!/usr/bin/env bash
# Checks a linked pvkit guest kernel with the LLVM tools. The checks of
# tests/image_hygiene_test.sh (no undefined symbols, no constructors, no SSE/x87, no segment
# both writable and executable, Xen notes present) plus one that only matters for a PV guest:
# no privileged instruction anywhere in the code, because an x86-64 PV kernel runs in ring 3
# where cli/sti/hlt/port I/O/descriptor-table loads/CR/MSR access fault (the hypervisor
# provides hypercalls instead).
set -u
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

fpu=$(echo "$disasm" | grep -E '%[xyz]mm[0-9]|\bf(ld|st|stp|ild|istp|add|mul|sub|div|xch|init|nsave|rstor|xsave|xrstor|ucom|com)[a-z]*\b|\b(movap|movup|movdq|pxor|xorp|cvt)[a-z]*\b' | head -5)
[ -z "$fpu" ] || bad "SSE/x87 instructions found:
$fpu"

priv=$(echo "$disasm" | grep -E '^\s+[0-9a-f]+:\s+(cli|sti|hlt|in[bwl]?|out[bwl]?|ins[bwl]?|outs[bwl]?|lgdt[a-z]*|lidt[a-z]*|lldt|ltr|clts|invlpg|wbinvd|invd|rdmsr|wrmsr|swapgs|sysret[a-z]*|lmsw)\b|mov[a-z]*\s+%[cd]r[0-9]|mov[a-z]*\s+[^,]*,\s*%[cd]r[0-9]' | head -5)
[ -z "$priv" ] || bad "privileged instructions in a ring-3 PV guest:
$priv"

wx=$(llvm-readelf-14 -l -W "$img" | awk '$1=="LOAD" && $7 ~ /W/ && $7 ~ /E/')
[ -z "$wx" ] || bad "a LOAD segment is both writable and executable: $wx"

notes=$(llvm-readelf-14 -n "$img")
[ "$(echo "$notes" | grep -c '^ *Xen ')" -ge 8 ] || bad "fewer than 8 Xen notes"

[ $fail -eq 0 ] && echo "guest image hygiene ok: $img"
exit $fail
