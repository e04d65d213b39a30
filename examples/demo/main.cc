// The demo appliance: pvkit's hypervisor, composed from the library, boots real Xen x86-64 PV
// guest kernels (separate ELF files built into the image) in ring 3 and lets them talk only
// through hypercalls, event channels and grants:
//   d0 hello           the privileged first domain: start_info, console_io, xen_version
//   d1 pingpong_front  grants a ring page to d1's peer and offers an event channel
//   d2 pingpong_back   maps that grant, binds the channel, answers every ping
//   d3 adversary       attacks the hypervisor; every attempt must be refused with Xen's code
//   console_client     writes to its PV console ring (start_info console page + event channel)
//   console_backend    the driver domain: owns the UART through its I/O bitmap, copies the
//                      client's console ring to it (the last two come after the optional ones)
// Optional, on the command line: `with=crasher` adds a guest that faults without a trap
// table (only it dies), `with=spinner` one that spins forever without a hypercall (the LAPIC
// timer preempts it), `with=intruder` one that writes to the UART the driver domain owns (it
// must die of #GP), in any combination (`with=crasher,spinner,intruder`).
// The log reads as a story; it ends with
//   pvkit: demo finished: D domains, H hypercalls, E events, G grant maps, A attacks refused
// and `pvkit-test: RESULT SUCCESS` only if every domain reached its expected end.
#include <cstring>

#include "pvkit/platforms/pc/boot_info.h"
#include "pvkit/platforms/pc/embedded_guest.h"
#include "pvkit/platforms/pc/hv/hypervisor.h"
#include "pvkit/platforms/pc/log.h"

PVKIT_EMBEDDED_GUEST(hello)
PVKIT_EMBEDDED_GUEST(pingpong_front)
PVKIT_EMBEDDED_GUEST(pingpong_back)
PVKIT_EMBEDDED_GUEST(adversary)
PVKIT_EMBEDDED_GUEST(crasher)
PVKIT_EMBEDDED_GUEST(spinner)
PVKIT_EMBEDDED_GUEST(console_client)
PVKIT_EMBEDDED_GUEST(console_backend)
PVKIT_EMBEDDED_GUEST(uart_intruder)

namespace {

bool wants(const char* list, const char* what) {
  const std::size_t n = std::strlen(what);
  for (const char* p = list; *p != '\0';) {
    const char* e = p;
    while (*e != '\0' && *e != ',') ++e;
    if (static_cast<std::size_t>(e - p) == n && std::memcmp(p, what, n) == 0) return true;
    p = *e == ',' ? e + 1 : e;
  }
  return false;
}

}  // namespace

int pvkit_main(const pvkit::pc::BootInfo& boot) {
  using namespace pvkit;
  using pc::Expect;
  char with[64] = "";
  (void)boot.arg_value("with", with, sizeof with);
  pc::printf("\n=== pvkit demo: Xen PV guests in ring 3 on a hypervisor built from a library ===\n");
  pc::printf("pvkit: every guest below is a separate Xen x86-64 PV kernel (ELF + Xen notes); the\n");
  pc::printf("pvkit: guests share nothing but hypercalls, event channels and grants. Lines from a\n");
  pc::printf("pvkit: guest are prefixed (dN); the hypervisor's own lines start with \"pvkit:\".\n");
  auto& hv = pc::Hypervisor::boot(boot);
  hv.summary_label = "demo";
  bool ok = true;
  ok = ok && hv.create_domain({.name = "hello", .elf = pvkit_embedded_hello(), .cmdline = "greeting=dom0",
                               .privileged = true, .role = "the privileged first domain"})
                 .ok();
  ok = ok && hv.create_domain({.name = "pingpong_front", .elf = pvkit_embedded_pingpong_front(),
                               .cmdline = "peer=2 rounds=16", .role = "grants a ring page, sends pings"})
                 .ok();
  ok = ok && hv.create_domain({.name = "pingpong_back", .elf = pvkit_embedded_pingpong_back(),
                               .cmdline = "peer=1", .role = "maps the granted ring, answers pings"})
                 .ok();
  ok = ok && hv.create_domain({.name = "adversary", .elf = pvkit_embedded_adversary(), .cmdline = "domid=3",
                               .role = "a hostile guest: every attack must be refused"})
                 .ok();
  if (wants(with, "crasher")) {
    ok = ok && hv.create_domain({.name = "crasher", .elf = pvkit_embedded_crasher(), .cmdline = "crash=null",
                                 .expect = Expect::kCrash, .role = "dereferences NULL without a trap table"})
                   .ok();
  }
  if (wants(with, "spinner")) {
    ok = ok && hv.create_domain({.name = "spinner", .elf = pvkit_embedded_spinner(),
                                 .expect = Expect::kSpin, .role = "spins forever, events masked, no hypercalls"})
                   .ok();
  }
  if (wants(with, "intruder")) {
    ok = ok && hv.create_domain({.name = "uart_intruder", .elf = pvkit_embedded_uart_intruder(),
                                 .expect = Expect::kCrash, .role = "tries to drive the driver domain's UART"})
                   .ok();
  }
  // The PV console: the client's console page and event channel are set up for the driver
  // domain, which is built right after it and told where to look.
  const std::uint16_t client = hv.next_domid();
  pc::Vcpu* cv = nullptr;
  if (ok) {
    auto r = hv.create_domain({.name = "console_client", .elf = pvkit_embedded_console_client(),
                               .role = "talks through its PV console ring, not console_io",
                               .console_backend = client + 1});
    ok = r.ok();
    if (ok) cv = *r;
  }
  static char backend_cmdline[64];
  if (ok) {
    pc::snprintf(backend_cmdline, sizeof backend_cmdline, "client=%u port=%u", client, cv->console_port);
    ok = hv.create_domain({.name = "console_backend", .elf = pvkit_embedded_console_backend(),
                           .cmdline = backend_cmdline, .privileged = true, .expect = Expect::kService,
                           .role = "the driver domain: owns the UART, serves the PV console",
                           .owns_uart = true})
             .ok();
  }
  if (!ok) {
    pc::printf("pvkit-test: RESULT FAILURE\n");
    return 1;
  }
  hv.run();
}
