#!/usr/bin/env bash
# doccheck_selftest.sh DOCCHECK — doccheck must report exactly the undocumented public
# declarations of a sample header (and none of the exempt ones), and pass a documented one.
set -euo pipefail
doccheck=$1
work=${TEST_TMPDIR:-$(mktemp -d)}
mkdir -p "$work/inc/pvkit/sample"
cat >"$work/inc/pvkit/sample/sample.h" <<'H'
#pragma once
namespace pvkit {
/// Documented.
struct Good {
  /// Documented member.
  int get() const { return v; }
  int v = 0;                 // fields are not required
  Good() = default;          // constructors are exempt
  bool operator==(const Good&) const = default;
 private:
  void hidden() {}           // private: exempt
};
struct Bad {                 // trailing comments do not document the next line
  int undocumented_member() { return 1; }
};
int undocumented_function();
/// Documented template.
template <typename T> struct Tpl { void undocumented_in_template() {} };
template <typename T> concept UndocumentedConcept = true;
using UndocumentedAlias = int;
enum class UndocumentedEnum { kA };
namespace detail { struct Exempt {}; }
namespace {
struct AlsoExempt {};
}
inline void use() { struct Local {}; (void)Local{}; Tpl<int>{}.undocumented_in_template(); }
}  // namespace pvkit
H
echo "pvkit/sample/sample.h" >"$work/names.txt"
echo '#include "pvkit/sample/sample.h"' >"$work/tu.cc"
clang++-14 -std=c++20 -fsyntax-only -fparse-all-comments -Xclang -ast-dump -fno-color-diagnostics -Wno-everything \
  -I"$work/inc" "$work/tu.cc" >"$work/dump.txt"
rc=0
"$doccheck" "$work/names.txt" <"$work/dump.txt" >"$work/out.txt" || rc=$?
cat "$work/out.txt"
expected='pvkit/sample/sample.h:13: type Bad has no doc comment
pvkit/sample/sample.h:14: member function undocumented_member has no doc comment
pvkit/sample/sample.h:16: function undocumented_function has no doc comment
pvkit/sample/sample.h:18: member function undocumented_in_template has no doc comment
pvkit/sample/sample.h:19: concept UndocumentedConcept has no doc comment
pvkit/sample/sample.h:20: alias UndocumentedAlias has no doc comment
pvkit/sample/sample.h:21: enum UndocumentedEnum has no doc comment
pvkit/sample/sample.h:26: function use has no doc comment'
[ "$rc" -eq 1 ] || { echo "FAIL: doccheck exited $rc, want 1"; exit 1; }
[ "$(cat "$work/out.txt")" = "$expected" ] || { echo "FAIL: findings differ from:"; echo "$expected"; exit 1; }
# Document everything and it must pass.
sed -i -E 's#^(struct Bad|int undocumented_function|template <typename T> concept|using Undoc|enum class|inline void use)#/// doc\n\1#; s#^  int undocumented_member#  /// doc\n  int undocumented_member#; s#struct Tpl \{ void#struct Tpl { /// doc\n void#' "$work/inc/pvkit/sample/sample.h"
clang++-14 -std=c++20 -fsyntax-only -fparse-all-comments -Xclang -ast-dump -fno-color-diagnostics -Wno-everything \
  -I"$work/inc" "$work/tu.cc" >"$work/dump.txt"
"$doccheck" "$work/names.txt" <"$work/dump.txt" || { echo "FAIL: documented header rejected"; exit 1; }
echo PASS
