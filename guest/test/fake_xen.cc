// The C++ entry of the fake hypervisor (fake_xen.S) and the runtime symbols a host test of
// guest code needs but must never reach.
#include <cstdint>
#include <cstdlib>

#include "fake_xen.h"

extern "C" long pvkit_test_fake_hypercall(std::uint32_t nr, std::uint64_t a1, std::uint64_t a2,
                                          std::uint64_t a3, std::uint64_t a4, std::uint64_t a5) {
  return fake_xen::instance().call(fake_xen::Call{nr, {a1, a2, a3, a4, a5}});
}

// The failsafe callback's C++ end (guest/runtime/start.cc in a real guest).
extern "C" [[noreturn]] void pvkit_guest_failsafe(const std::uint64_t*) { std::abort(); }

namespace pvkit::guest {
[[noreturn]] void panic(const char*) { std::abort(); }
}  // namespace pvkit::guest
