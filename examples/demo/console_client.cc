// console_client — a PV guest that talks through its *PV console* instead of console_io: it
// writes lines into the `out` ring of the console page named by start_info (console.domU.mfn)
// and notifies start_info's console event channel; the console backend in the driver domain
// copies them to the UART. It waits until the backend consumed everything (out_cons catches
// up, announced by an event), then says SUCCESS through console_io and powers off.
#include <cstdint>
#include <cstring>

#include "examples/demo/xencons.h"
#include "pvkit/guest/console.h"
#include "pvkit/guest/event_channel.h"
#include "pvkit/guest/events.h"
#include "pvkit/guest/layout.h"
#include "pvkit/guest/memory.h"
#include "pvkit/guest/runtime.h"
#include "pvkit/guest/sched.h"
#include "pvkit/guest/start_info.h"

namespace g = pvkit::guest;
using pvkit::demo::XenconsInterface;

namespace {

constinit g::PageSlot g_cons_page{};
constinit volatile std::uint32_t g_events = 0;

void on_console_event(g::xen::EvtchnPort, void*) { g_events = g_events + 1; }

int fail(const char* what) {
  g::print("console_client: FAILURE (%s)\n", what);
  return 1;
}

}  // namespace

int guest_main(const g::xen::StartInfo& si) {
  const std::uint64_t mfn = si.console.domu.mfn;
  const auto port = static_cast<g::xen::EvtchnPort>(si.console.domu.evtchn);
  g::print("console_client: PV console page mfn %lx, event channel %u\n", mfn, port);
  if (mfn == 0 || port == 0) return fail("no PV console in start_info");
  if (!g::init_events(si)) return fail("init_events");
  if (!g::map_frame(&g_cons_page, mfn, true)) return fail("map the console page");
  if (!g::events().bind(port, &on_console_event, nullptr)) return fail("bind handler");
  g::events_enable();
  auto* cons = reinterpret_cast<XenconsInterface*>(&g_cons_page);
  const char* lines[] = {
      "hello from the console client, written into my PV console ring (not console_io)\n",
      "the driver domain's console backend copies these bytes to the UART it owns\n",
      "the hypervisor never touches them\n",
  };
  std::uint32_t prod = cons->out_prod;
  for (const char* l : lines) {
    for (const char* c = l; *c != '\0'; ++c) {
      while (prod - pvkit::demo::load_acquire(&cons->out_cons) >= pvkit::demo::kConsOutSize) (void)g::yield();
      cons->out[prod % pvkit::demo::kConsOutSize] = *c;
      ++prod;
    }
    pvkit::demo::store_release(&cons->out_prod, prod);
    if (!g::evtchn_send(port)) return fail("evtchn_send");
  }
  // Sleep until the backend has drained the ring (it notifies us after consuming).
  for (int i = 0; i < 100000; ++i) {
    g::events_disable();
    if (pvkit::demo::load_acquire(&cons->out_cons) == prod) break;
    (void)g::block();
  }
  g::events_enable();
  if (pvkit::demo::load_acquire(&cons->out_cons) != prod) return fail("backend never drained the ring");
  g::print("console_client: backend consumed all %u bytes (%u notifications)\n", prod, g_events);
  g::print("console_client: SUCCESS\n");
  return 0;
}
