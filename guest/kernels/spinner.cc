// spinner — a guest kernel that spins forever without yielding.
//
// It prints one line, then loops with events masked and never makes another hypercall, so only
// the hypervisor's preemption (timer interrupt, scheduler) can take the CPU back from it. A
// hypervisor that stays responsive while it runs — other domains keep making progress, the
// domain can be destroyed — passes. The loop counter is kept in memory so that it is visible
// in a dump.
#include <cstdint>

#include "pvkit/guest/console.h"
#include "pvkit/guest/runtime.h"

namespace g = pvkit::guest;

namespace {
constinit volatile std::uint64_t g_spins = 0;
}  // namespace

int guest_main(const g::xen::StartInfo&) {
  g::print("spinner: spinning forever without yielding\n");
  for (;;) {
    g_spins = g_spins + 1;
    asm volatile("pause" ::: "memory");
  }
}
