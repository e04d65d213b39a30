#!/usr/bin/env bash
# Packs Xen PV guest kernels into one "pvkit guest bundle" boot module for the run image
# (QEMU's PVH loader passes a single -initrd module, without a command line).
#
# Usage: make_bundle.sh OUT 'GUEST.elf [guest command line]'...
# Format (platforms/pc/run/bundle.h): a 4 KiB text header
#   "PVKIT-GUESTS v1\n" then one line "<size> <command line>\n" per guest, NUL padded,
# followed by each ELF file, zero padded to a multiple of 4 KiB. `name=<basename>` is added to
# a command line that names no domain.
set -eu
out=$1
shift
[ $# -ge 1 ] || { echo "make_bundle: no guests" >&2; exit 2; }
header=$(mktemp)
trap 'rm -f "$header"' EXIT
printf 'PVKIT-GUESTS v1\n' >"$header"
for g in "$@"; do
  file=${g%% *}
  args=""
  [ "$file" != "$g" ] && args=${g#* }
  [ -f "$file" ] || { echo "make_bundle: no such guest kernel: $file" >&2; exit 2; }
  case " $args " in *" name="*) ;; *) base=$(basename "$file"); args="name=${base%.elf}${args:+ $args}" ;; esac
  printf '%s %s\n' "$(stat -L -c %s "$file")" "$args" >>"$header"
done
[ "$(stat -c %s "$header")" -le 4096 ] || { echo "make_bundle: header too long" >&2; exit 2; }
truncate -s 4096 "$header"
cat "$header" >"$out"
for g in "$@"; do
  file=${g%% *}
  cat "$file" >>"$out"
  size=$(stat -c %s "$out")
  truncate -s $(( (size + 4095) / 4096 * 4096 )) "$out"
done
