#!/usr/bin/env bash
# doccheck_test.sh DOCCHECK MANIFEST [BASELINE] — the driver of pvkit_doccheck_test.
#
# Builds an include tree (pvkit/<area>/x.h -> the header in the runfiles), compiles one
# translation unit that includes every checked header, dumps its AST with every comment
# attached (-fparse-all-comments) and lets doccheck list the public declarations without a
# doc comment. Fails if the headers do not compile, if a declaration without a doc comment is
# not in BASELINE (the known debt, "file: kind name" per line), or if a BASELINE entry has
# been documented since (the baseline only shrinks: delete the line).
set -euo pipefail
doccheck=$1
manifest=$2
baseline=${3:-}
root=$TEST_SRCDIR/$TEST_WORKSPACE
work=${TEST_TMPDIR:-$(mktemp -d)}/doccheck
rm -rf "$work" && mkdir -p "$work/inc"
declare -A made
link() {  # link INCLUDE_NAME RUNFILES_PATH (each name once; no process per header)
  [ -z "${made[$1]:-}" ] || return 0
  made[$1]=1
  local d=${1%/*}
  [ -n "${made[$d/]:-}" ] || { mkdir -p "$work/inc/$d"; made[$d/]=1; }
  ln -s "$root/$2" "$work/inc/$1"
}
declare -A checked
while read -r kind group name path; do
  [ -n "$kind" ] || continue
  link "$name" "$path"
  if [ "$kind" = check ] && [ -z "${checked[$name]:-}" ]; then
    checked[$name]=1
    echo "$name" >>"$work/checked.txt"
    echo "#include \"$name\"" >>"$work/tu.cc"
  fi
done <"$manifest"
[ -s "$work/checked.txt" ] || { echo "doccheck: no headers to check" >&2; exit 1; }
echo "doccheck: $(wc -l <"$work/checked.txt") public headers" >&2
if ! clang++-14 -std=c++20 -fsyntax-only -fparse-all-comments -Xclang -ast-dump -fno-color-diagnostics \
    -Wno-everything -I"$work/inc" "$work/tu.cc" >"$work/dump.txt" 2>"$work/err.txt"; then
  echo "doccheck: FAILED: the public headers do not compile together:" >&2
  cat "$work/err.txt" >&2
  exit 1
fi
"$doccheck" "$work/checked.txt" <"$work/dump.txt" >"$work/findings.txt" || true
# "file:line: kind name has no doc comment" -> "file: kind name" (lines move, names do not).
sed -E 's/^([^:]+):[0-9]+: (.*) has no doc comment$/\1: \2/' "$work/findings.txt" | sort -u >"$work/now.txt"
if [ -n "$baseline" ]; then
  { grep -v '^#' "$baseline" || true; } | sed '/^$/d' | sort -u >"$work/base.txt"
else
  : >"$work/base.txt"
fi
comm -23 "$work/now.txt" "$work/base.txt" >"$work/new.txt"
comm -13 "$work/now.txt" "$work/base.txt" >"$work/fixed.txt"
echo "doccheck: $(wc -l <"$work/now.txt") undocumented public declarations, $(wc -l <"$work/base.txt") in the baseline" >&2
rc=0
if [ -s "$work/new.txt" ]; then
  echo "doccheck: FAILED: public declarations without a doc comment:" >&2
  while read -r l; do
    f=${l%%: *}; rest=${l#*: }
    grep -m1 -F " ${rest} has no doc comment" "$work/findings.txt" | grep "^$f:" || echo "$l"
  done <"$work/new.txt"
  rc=1
fi
if [ -s "$work/fixed.txt" ]; then
  echo "doccheck: FAILED: documented now, delete these lines from ${baseline##*/}:" >&2
  cat "$work/fixed.txt"
  rc=1
fi
[ $rc -eq 0 ] && echo "doccheck: PASSED: no public declaration without a doc comment outside the baseline"
exit $rc
