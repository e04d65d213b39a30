// pvkit guest runtime: from the entry stub to the kernel's guest_main, and back out through
// SCHEDOP_shutdown; the C++ end of the failsafe entry; panic().
#include <cstdint>

#include "pvkit/guest/console.h"
#include "pvkit/guest/events.h"
#include "pvkit/guest/runtime.h"
#include "pvkit/guest/sched.h"

extern "C" {

// Called by _start (entry.S) on the runtime stack with RSI's start_info.
[[noreturn]] void pvkit_guest_start(const pvkit::guest::xen::StartInfo* si) {
  pvkit::guest::detail::g_start_info = si;
  const int rc = guest_main(*si);
  if (rc != 0) {
    pvkit::guest::print("guest_main returned %d: crashing\n", rc);
    pvkit::guest::shutdown(pvkit::guest::xen::kShutdownCrash);
  }
  pvkit::guest::shutdown(pvkit::guest::xen::kShutdownPoweroff);
}

// Called by pvkit_guest_failsafe_callback with the failsafe frame.
[[noreturn]] void pvkit_guest_failsafe(const std::uint64_t* frame) {
  pvkit::guest::print("failsafe callback: rip=%p cs=%x\n", reinterpret_cast<void*>(frame[6]),
                      frame[7]);
  pvkit::guest::panic("failsafe callback");
}

}  // extern "C"

namespace pvkit::guest {

[[noreturn]] void panic(const char* msg) {
  print("PANIC: %s\n", msg);
  shutdown(xen::kShutdownCrash);
}

}  // namespace pvkit::guest
