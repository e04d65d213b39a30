// The `./pvkit run` image: pvkit's PC hypervisor booting the Xen x86-64 PV guest kernels it
// is given as a PVH boot module, one domain each, in order (d0 first). QEMU's PVH loader takes
// one -initrd module without a command line, so several guests come as a "pvkit guest bundle"
// (make_bundle.sh, bundle.h) carrying each guest's command line; a module that is a plain ELF
// is one guest with the module's own command line. In a guest's command line, `name=<n>`
// names the domain and `expect=poweroff|success|crash|spin` says how it should end (default
// poweroff). The run ends like the demo: a summary line
//   pvkit: run finished: D domains, H hypercalls, E events, G grant maps, A attacks refused
// and `pvkit-test: RESULT SUCCESS` only if every domain ended as expected.
// `bench_domains=N` on the image's own command line (QEMU -append): after building the guests
// and before running them, create and destroy a small domain from the first guest's ELF N
// times, print `BENCH name=domain_create_destroy ...` (instructions under -icount) and check
// that nothing leaked (domain_bench.h); a failed check fails the run at once.
#include <cstring>

#include "pvkit/platforms/pc/boot_info.h"
#include "pvkit/platforms/pc/hv/hypervisor.h"
#include "pvkit/platforms/pc/log.h"
#include "pvkit/platforms/pc/run/bundle.h"
#include "pvkit/platforms/pc/run/domain_bench.h"

namespace {

/// The value of `key=` in a space-separated command line, copied into `out` ("" if absent).
void word_value(const char* cmdline, const char* key, char* out, std::size_t cap) {
  out[0] = '\0';
  const std::size_t klen = std::strlen(key);
  for (const char* p = cmdline; *p != '\0';) {
    while (*p == ' ') ++p;
    const char* start = p;
    while (*p != '\0' && *p != ' ') ++p;
    if (static_cast<std::size_t>(p - start) > klen && std::memcmp(start, key, klen) == 0 && start[klen] == '=') {
      std::size_t n = 0;
      for (const char* v = start + klen + 1; v < p && n + 1 < cap; ++v) out[n++] = *v;
      out[n] = '\0';
      return;
    }
  }
}

char g_names[pvkit::pc::kMaxDomains][24];
pvkit::pc::BundleEntry g_guests[pvkit::pc::kMaxDomains];

}  // namespace

int pvkit_main(const pvkit::pc::BootInfo& boot) {
  using namespace pvkit;
  pc::printf("\n=== pvkit run: %lu Xen PV guest kernel(s) from the boot modules ===\n",
             static_cast<unsigned long>(boot.nr_modules));
  auto& hv = pc::Hypervisor::boot(boot);
  hv.summary_label = "run";
  if (boot.nr_modules == 0) {
    pc::printf("pvkit: no guest kernels given (./pvkit run GUEST.elf...)\n");
    pc::printf("pvkit-test: RESULT FAILURE\n");
    return 1;
  }
  std::size_t n = 0;
  for (std::size_t i = 0; i < boot.nr_modules && n < pc::kMaxDomains; ++i) {
    const std::span<const std::uint8_t> m(boot.modules[i].data, boot.modules[i].size);
    if (pc::is_bundle(m)) {
      const std::size_t got = pc::parse_bundle(m, std::span<pc::BundleEntry>(g_guests + n, pc::kMaxDomains - n));
      if (got == 0) pc::printf("pvkit: boot module %lu: malformed guest bundle\n", static_cast<unsigned long>(i));
      n += got;
    } else {
      g_guests[n].elf = m;
      std::size_t c = 0;
      for (const char* s = boot.modules[i].cmdline; *s != '\0' && c + 1 < pc::kBundleCmdlineMax; ++s) g_guests[n].cmdline[c++] = *s;
      g_guests[n].cmdline[c] = '\0';
      ++n;
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    const char* cmdline = g_guests[i].cmdline;
    char expect[16];
    word_value(cmdline, "name", g_names[i], sizeof g_names[i]);
    if (g_names[i][0] == '\0') pc::snprintf(g_names[i], sizeof g_names[i], "guest%lu", static_cast<unsigned long>(i));
    word_value(cmdline, "expect", expect, sizeof expect);
    pc::Expect e = pc::Expect::kPoweroff;
    if (std::strcmp(expect, "success") == 0) e = pc::Expect::kSuccess;
    if (std::strcmp(expect, "crash") == 0) e = pc::Expect::kCrash;
    if (std::strcmp(expect, "spin") == 0) e = pc::Expect::kSpin;
    if (!hv.create_domain({.name = g_names[i], .elf = g_guests[i].elf, .cmdline = cmdline, .expect = e,
                           .role = "from the boot module"})) {
      pc::printf("pvkit-test: RESULT FAILURE\n");
      return 1;
    }
  }
  char bench[16];
  if (boot.arg_value("bench_domains", bench, sizeof bench) != nullptr) {
    std::uint32_t pairs = 0;
    for (const char* c = bench; *c >= '0' && *c <= '9' && pairs < 1000000; ++c) pairs = pairs * 10 + (*c - '0');
    if (n == 0 || !pc::run_domain_bench(hv, g_guests[0].elf, pairs)) {
      pc::printf("pvkit: bench_domains failed\n");
      pc::printf("pvkit-test: RESULT FAILURE\n");
      return 1;
    }
  }
  hv.run();
}
