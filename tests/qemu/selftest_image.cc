// The runner's self-test image: misbehaves on request, so a host test can show that
// //tools/qemu:run_qemu_test.sh turns every failure mode red.
//   mode=success       prints the result line and exits with the success code (passes)
//   mode=triple-fault  loads an empty IDT and traps: QEMU exits with status 0
//   mode=hang          spins forever with interrupts off: the runner's timeout fires
//   mode=no-result     exits with the success code but never prints a result line
//   mode=failure       prints RESULT FAILURE and exits with the failure code
//   mode=wrong-exit    prints RESULT SUCCESS but exits with the failure code
//   mode=two-results   prints a result line, then another (ran on past its end)
//   mode=panic         calls the platform's panic path
#include <cstdint>
#include <cstring>

#include "pvkit/arch/x86/debug_exit.h"
#include "pvkit/arch/x86/io.h"
#include "pvkit/platforms/pc/boot_info.h"
#include "pvkit/platforms/pc/ktest.h"
#include "pvkit/platforms/pc/log.h"

extern "C" [[noreturn]] void pvkit_panic(const char* msg);

int pvkit_main(const pvkit::pc::BootInfo& boot) {
  using namespace pvkit;
  char mode[32] = "success";
  (void)boot.arg_value("mode", mode, sizeof mode);
  pc::printf("pvkit selftest image: mode=%s\n", mode);
  auto is = [&](const char* m) { return std::strcmp(mode, m) == 0; };
  if (is("triple-fault")) {
    struct [[gnu::packed]] {
      std::uint16_t limit;
      std::uint64_t base;
    } idt{0, 0};
    asm volatile("lidt %0; int3" ::"m"(idt));
  } else if (is("hang")) {
    for (;;) asm volatile("cli; pause");
  } else if (is("no-result")) {
    x86::qemu_exit(x86::QemuExit::kSuccess);
  } else if (is("failure")) {
    pc::Ktest t;
    t.check("a check that fails on purpose", false);
    t.finish();
  } else if (is("wrong-exit")) {
    pc::printf("pvkit-test: RESULT SUCCESS\n");
    x86::qemu_exit(x86::QemuExit::kFailure);
  } else if (is("two-results")) {
    pc::printf("pvkit-test: RESULT SUCCESS\n");
    pc::printf("pvkit-test: RESULT SUCCESS\n");
    x86::qemu_exit(x86::QemuExit::kSuccess);
  } else if (is("panic")) {
    pvkit_panic("selftest asked for a panic");
  }
  pc::Ktest t;
  t.check("command line reached the image", boot.has_arg("mode=success"));
  t.finish();
}
