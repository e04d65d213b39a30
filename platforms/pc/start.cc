// The PC platform's C++ entry: called by arch/x86/boot/pvh_entry.S in the upper half with
// the physical address of the PVH start info. Sets up the console, translates the boot
// information and runs the image's pvkit_main.
#include <cstdint>

#include "pvkit/arch/x86/boot/layout.h"
#include "pvkit/arch/x86/cpu/cpu.h"
#include "pvkit/arch/x86/debug_exit.h"
#include "pvkit/arch/x86/pvh.h"
#include "pvkit/platforms/pc/boot_info.h"
#include "pvkit/platforms/pc/log.h"

namespace pvkit::pc {
namespace {

BootInfo g_boot;

const char* phys_str(std::uint64_t pa) {
  if (pa == 0 || pa >= x86::kBootDirectMapSize) return "";
  return static_cast<const char*>(x86::hv_virt(pa));
}

bool token_eq(const char* tok, std::size_t len, const char* word) {
  std::size_t i = 0;
  for (; i < len; ++i) {
    if (word[i] == '\0' || word[i] != tok[i]) return false;
  }
  return word[i] == '\0';
}

}  // namespace

bool BootInfo::has_arg(const char* word) const {
  const char* p = cmdline;
  while (*p != '\0') {
    while (*p == ' ') ++p;
    const char* start = p;
    while (*p != '\0' && *p != ' ') ++p;
    if (p > start && token_eq(start, static_cast<std::size_t>(p - start), word)) return true;
  }
  return false;
}

const char* BootInfo::arg_value(const char* key, char* out, std::size_t out_size) const {
  std::size_t klen = 0;
  while (key[klen] != '\0') ++klen;
  const char* p = cmdline;
  while (*p != '\0') {
    while (*p == ' ') ++p;
    const char* start = p;
    while (*p != '\0' && *p != ' ') ++p;
    const std::size_t len = static_cast<std::size_t>(p - start);
    if (len > klen && start[klen] == '=' && token_eq(start, klen, key)) {
      std::size_t n = 0;
      for (const char* v = start + klen + 1; v < p && n + 1 < out_size; ++v) out[n++] = *v;
      if (out_size > 0) out[n] = '\0';
      return out;
    }
  }
  return nullptr;
}

}  // namespace pvkit::pc

extern "C" [[noreturn]] void pvkit_panic(const char* msg) {
  pvkit::pc::printf("pvkit: PANIC: %s\n", msg);
  pvkit::x86::qemu_exit(pvkit::x86::QemuExit::kFailure);
}

extern "C" [[noreturn]] void pvkit_arch_start(std::uint64_t start_info_phys) {
  using namespace pvkit;
  pc::console_init();
  // Boot information first: cpu_init() drops the boot identity map (the start info and
  // modules are read through the hypervisor's direct map anyway).
  pc::BootInfo& boot = pc::g_boot;
  if (start_info_phys != 0 && start_info_phys < x86::kBootDirectMapSize) {
    const auto* si = static_cast<const x86::HvmStartInfo*>(x86::hv_virt(start_info_phys));
    if (si->valid()) {
      boot.cmdline = pc::phys_str(si->cmdline_paddr);
      if (si->modlist_paddr != 0 && si->modlist_paddr < x86::kBootDirectMapSize) {
        const auto* mods = static_cast<const x86::HvmModlistEntry*>(x86::hv_virt(si->modlist_paddr));
        for (std::uint32_t i = 0; i < si->nr_modules && boot.nr_modules < pc::BootInfo::kMaxModules; ++i) {
          if (mods[i].paddr + mods[i].size > x86::kBootDirectMapSize) continue;
          boot.modules[boot.nr_modules++] = {static_cast<const std::uint8_t*>(x86::hv_virt(mods[i].paddr)),
                                              static_cast<std::size_t>(mods[i].size),
                                              pc::phys_str(mods[i].cmdline_paddr)};
        }
      }
    }
  }
  x86::cpu_init();
  const int rc = pvkit_main(boot);
  x86::qemu_exit(rc == 0 ? x86::QemuExit::kSuccess : x86::QemuExit::kFailure);
}
