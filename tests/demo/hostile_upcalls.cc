// hostile_upcalls — a test guest that abuses the event-upcall and iret paths; in every mode
// the hypervisor must crash this domain only (the run image checks expect=crash):
//   badcallback  registers a non-canonical event callback, binds VIRQ_TIMER and enables
//                events: the hypervisor's bounce to that address is refused at the return to
//                ring 3 (an unsafe return frame) and kills the domain
//   badstack     the same with a good callback, but runs with RSP on an unmapped page: the
//                bounce frame cannot be written and the domain dies
//   badiret      HYPERVISOR_iret with RSP on an unmapped page: no frame to return to
// Reaching the line after the abuse prints FAILURE.
#include <cstdint>

#include "pvkit/guest/console.h"
#include "pvkit/guest/events.h"
#include "pvkit/guest/hypercall.h"
#include "pvkit/guest/runtime.h"
#include "pvkit/guest/sched.h"
#include "pvkit/guest/start_info.h"

namespace g = pvkit::guest;

namespace {

constexpr std::uint64_t kNonCanonical = 0x0000800000000000ull;
constexpr std::uint64_t kUnmapped = 0x1000;

struct BindVirq {  // struct evtchn_bind_virq
  std::uint32_t virq, vcpu, port;
};
constexpr std::uint32_t kEvtchnOpBindVirq = 1;
constexpr std::uint32_t kVirqTimer = 0;

struct CallbackRegister {  // struct callback_register
  std::uint16_t type, flags;
  std::uint32_t pad;
  std::uint64_t address;
};

bool bind_timer() {
  BindVirq op{kVirqTimer, 0, 0};
  const long rc = g::HYPERVISOR_event_channel_op(kEvtchnOpBindVirq, &op);
  g::print("hostile_upcalls: bind_virq(VIRQ_TIMER) -> %ld, port %u\n", rc, op.port);
  return rc == 0;
}

[[noreturn]] void yield_forever_on(std::uint64_t rsp) {
  asm volatile(
      "movq %0, %%rsp\n"
      "1: movl $29, %%eax\n"   // __HYPERVISOR_sched_op
      "xorl %%edi, %%edi\n"    // SCHEDOP_yield
      "syscall\n"
      "jmp 1b\n"
      :
      : "r"(rsp)
      : "memory");
  __builtin_unreachable();
}

}  // namespace

int guest_main(const g::xen::StartInfo& si) {
  const auto mode = g::cmdline_value(si, "mode");
  if (!mode) {
    g::print("hostile_upcalls: FAILURE (no mode=)\n");
    return 1;
  }
  if (!g::init_events(si) || !bind_timer()) {
    g::print("hostile_upcalls: FAILURE (event setup)\n");
    return 1;
  }
  if (g::cmdline_equals(*mode, "badcallback")) {
    const CallbackRegister cb{0, 0, 0, kNonCanonical};
    g::print("hostile_upcalls: event callback -> non-canonical %lx: %ld\n", kNonCanonical,
             g::HYPERVISOR_callback_op(0, &cb));
    g::events_enable();
    for (int i = 0; i < 1000000; ++i) (void)g::yield();
  } else if (g::cmdline_equals(*mode, "badstack")) {
    g::print("hostile_upcalls: events on, kernel stack on an unmapped page\n");
    g::events_enable();
    yield_forever_on(kUnmapped);
  } else if (g::cmdline_equals(*mode, "badiret")) {
    g::print("hostile_upcalls: HYPERVISOR_iret with RSP on an unmapped page\n");
    asm volatile("movq %0, %%rsp\n movl $23, %%eax\n syscall" : : "r"(kUnmapped) : "memory");
  }
  g::print("hostile_upcalls: FAILURE (still running)\n");
  return 1;
}
