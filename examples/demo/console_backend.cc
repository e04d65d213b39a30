// console_backend — the driver domain's PV console backend. The hypervisor gives this domain
// the UART's I/O ports (0x3F8-0x3FF) through the TSS I/O permission bitmap while it runs, and
// tells it on the command line which domain to serve (`client=`) and that domain's console
// event channel (`port=`). The client's console page is granted to it by the toolstack (the
// hypervisor) at the reserved grant reference 0 (GNTTAB_RESERVED_CONSOLE). The backend maps
// that grant, binds the event channel, and forever: copies the `out` ring to the UART (each
// line prefixed "[pv console dN] "), advances out_cons, notifies the client, and blocks.
// It never ends by itself; the hypervisor stops it when everyone else is done.
#include <cstdint>

#include "examples/demo/xencons.h"
#include "pvkit/guest/console.h"
#include "pvkit/guest/event_channel.h"
#include "pvkit/guest/events.h"
#include "pvkit/guest/grant_ops.h"
#include "pvkit/guest/layout.h"
#include "pvkit/guest/runtime.h"
#include "pvkit/guest/sched.h"
#include "pvkit/guest/start_info.h"

namespace g = pvkit::guest;
using pvkit::demo::XenconsInterface;

namespace {

constexpr std::uint16_t kCom1 = 0x3F8;
constexpr std::uint32_t kConsoleGrantRef = 0;  // GNTTAB_RESERVED_CONSOLE

constinit g::PageSlot g_client_page{};

std::uint8_t inb(std::uint16_t port) {
  std::uint8_t v;
  asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}
void outb(std::uint16_t port, std::uint8_t v) { asm volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }

void uart_putc(char c) {
  for (int i = 0; i < 100000 && (inb(kCom1 + 5) & 0x20) == 0; ++i) {
  }
  outb(kCom1, static_cast<std::uint8_t>(c));
}

void on_event(g::xen::EvtchnPort, void*) {}

int fail(const char* what, long rc) {
  g::print("console_backend: FAILURE (%s: %ld)\n", what, rc);
  return 1;
}

}  // namespace

int guest_main(const g::xen::StartInfo& si) {
  const auto client = static_cast<g::xen::DomId>(g::cmdline_u64(si, "client").value_or(0));
  const auto remote_port = static_cast<g::xen::EvtchnPort>(g::cmdline_u64(si, "port").value_or(0));
  if (auto s = g::init_events(si); !s) return fail("init_events", -1);
  const g::GrantMapping map = g::grant_map(client, kConsoleGrantRef, &g_client_page, false);
  if (!map.ok()) return fail("map the client's console grant", map.rc < 0 ? map.rc : map.status);
  auto local = g::evtchn_bind_interdomain(client, remote_port);
  if (!local) return fail("bind the client's console channel", -1);
  if (!g::events().bind(*local, &on_event, nullptr)) return fail("bind handler", -1);
  g::print("console_backend: serving d%u's PV console (grant ref 0, port %u -> local %u); UART 0x3f8 is mine\n",
           client, remote_port, *local);
  auto* cons = reinterpret_cast<XenconsInterface*>(&g_client_page);
  bool line_start = true;
  for (;;) {
    g::events_disable();
    std::uint32_t cons_idx = cons->out_cons;
    const std::uint32_t prod = pvkit::demo::load_acquire(&cons->out_prod);
    if (prod - cons_idx > pvkit::demo::kConsOutSize) {  // a hostile client: resynchronise
      cons_idx = prod;
    }
    if (cons_idx == prod) {
      (void)g::block();  // unmasks; returns when the client notifies
      continue;
    }
    g::events_enable();
    while (cons_idx != prod) {
      const char c = cons->out[cons_idx % pvkit::demo::kConsOutSize];
      if (line_start) {
        for (const char* p = "[pv console d"; *p != '\0'; ++p) uart_putc(*p);
        uart_putc(static_cast<char>('0' + client % 10));
        uart_putc(']');
        uart_putc(' ');
      }
      uart_putc(c);
      line_start = c == '\n';
      ++cons_idx;
    }
    pvkit::demo::store_release(&cons->out_cons, cons_idx);
    (void)g::evtchn_send(*local);
  }
}
