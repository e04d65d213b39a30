// fake_xen.h — the C++ side of the host tests' fake hypervisor (fake_xen.S).
//
// What it is: every hypercall a guest-library function makes through `hypercall_page` lands in
// `FakeXen::call`, which records it and answers through a per-number handler the test installs
// (default: -ENOSYS). `pvkit_test_bounce` delivers an event upcall exactly as Xen's bounce
// frame would and reports the registers the interrupted context resumed with.
//
// Concurrency: single-threaded tests only (one global instance).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <vector>

extern "C" {
/// in[0..14]: rax rbx rcx rdx rsi rdi rbp r8 r9 r10 r11 r12 r13 r14 r15; out[16] = rsp.
void pvkit_test_bounce(const std::uint64_t* in, std::uint64_t* out, void (*callback)(),
                       std::uint64_t misalign);
extern std::uint64_t pvkit_test_iret_flags;
extern std::uint64_t pvkit_test_iret_count;
extern std::uint64_t pvkit_test_expected_rsp;
/// Set to 1 from a handler: deliver an upcall to pvkit_test_upcall_callback on return.
extern std::uint64_t pvkit_test_upcall_on_return;
extern void (*pvkit_test_upcall_callback)();
extern std::uint64_t pvkit_test_upcalls_delivered;
}

namespace fake_xen {

struct Call {
  std::uint32_t nr;
  std::uint64_t a[5];
};

using Handler = std::function<long(const Call&)>;

struct FakeXen {
  std::vector<Call> calls;
  std::map<std::uint32_t, Handler> handlers;

  long call(const Call& c) {
    calls.push_back(c);
    auto it = handlers.find(c.nr);
    return it == handlers.end() ? -38 : it->second(c);
  }
  void reset() {
    calls.clear();
    handlers.clear();
  }
};

inline FakeXen& instance() {
  static FakeXen x;
  return x;
}

}  // namespace fake_xen
