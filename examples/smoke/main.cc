// The smoke image: proves the boot path works end to end. PVH entry, 32-bit to long mode,
// the hypervisor running in the upper half (Xen's reserved L4 slots), the 16550 console, C++,
// and the exit through QEMU's debug-exit device.
#include <cstdint>

#include "pvkit/arch/x86/boot/layout.h"
#include "pvkit/arch/x86/io.h"
#include "pvkit/platforms/pc/boot_info.h"
#include "pvkit/platforms/pc/ktest.h"
#include "pvkit/platforms/pc/log.h"

int pvkit_main(const pvkit::pc::BootInfo& boot) {
  using namespace pvkit;
  const auto rip = reinterpret_cast<std::uint64_t>(&pvkit_main);
  std::uint64_t rsp;
  asm volatile("mov %%rsp, %0" : "=r"(rsp));
  pc::printf("\npvkit smoke image: hello from the upper half\n");
  pc::printf("pvkit: running at rip=%lx rsp=%lx (L4 slot %lu), cr3=%lx\n", rip, rsp,
             (rip >> 39) & 511, x86::read_cr3());
  pc::printf("pvkit: command line \"%s\", %lu boot module(s)\n", boot.cmdline,
             static_cast<unsigned long>(boot.nr_modules));
  pc::Ktest t;
  t.check("code runs in the hypervisor's reserved L4 slots",
          ((rip >> 39) & 511) >= x86::kHvFirstL4Slot && ((rip >> 39) & 511) <= x86::kHvLastL4Slot);
  t.check("stack is in the upper half", rsp >= x86::kHvDirectMapBase);
  t.finish();
}
