// pvkit/platforms/pc/ktest.h — in-image test reporting in the XTF / kvm-unit-tests style.
//
// What it is: each check prints one line; `finish()` prints exactly one final result line,
// `pvkit-test: RESULT SUCCESS` or `pvkit-test: RESULT FAILURE` (worst wins), and leaves QEMU
// through isa-debug-exit with the matching code. //tools/qemu:qemu_test.bzl requires both.
// How to use it: `Ktest t; t.check("banner printed", ok); t.finish();`
// Concurrency: boot CPU only.
#pragma once

#include "pvkit/arch/x86/debug_exit.h"
#include "pvkit/platforms/pc/log.h"

namespace pvkit::pc {

class Ktest {
 public:
  bool check(const char* what, bool ok) {
    printf("pvkit-test: %s %s\n", ok ? "ok  " : "FAIL", what);
    if (!ok) ++failures_;
    return ok;
  }
  [[noreturn]] void finish() {
    const bool ok = failures_ == 0;
    printf("pvkit-test: RESULT %s\n", ok ? "SUCCESS" : "FAILURE");
    x86::qemu_exit(ok ? x86::QemuExit::kSuccess : x86::QemuExit::kFailure);
  }

 private:
  unsigned failures_ = 0;
};

}  // namespace pvkit::pc
