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

#include "pvkit/guest/layout.h"

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
/// Start and end of this process image (the linker defines them).
extern char __executable_start[];
extern char _end[];
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

/// A pseudo-physical map of this test process, so that guest code run in it can translate its
/// own addresses: VIRT_BASE becomes the page-aligned start of the executable and pfn p is
/// machine frame p + kMfnOffset. `start_info.mfn_list` / `nr_pages` come from `p2m`.
struct ProcessPhysMap {
  static constexpr std::uint64_t kMfnOffset = 0x100000;
  std::uint64_t base = 0;
  std::vector<std::uint64_t> p2m;

  ProcessPhysMap() {
    base = reinterpret_cast<std::uint64_t>(__executable_start) & ~std::uint64_t{4095};
    const std::uint64_t end = reinterpret_cast<std::uint64_t>(_end);
    p2m.resize((end - base) / 4096 + 1);
    for (std::uint64_t pfn = 0; pfn < p2m.size(); ++pfn) p2m[pfn] = pfn + kMfnOffset;
    pvkit::guest::detail::g_virt_base = base;
  }
  ~ProcessPhysMap() { pvkit::guest::detail::g_virt_base = pvkit::guest::kGuestVirtBase; }
  [[nodiscard]] std::uint64_t mfn_of(const void* p) const {
    return (reinterpret_cast<std::uint64_t>(p) - base) / 4096 + kMfnOffset;
  }
  /// The process address of machine frame `mfn`, or nullptr if it is not one of ours.
  [[nodiscard]] void* ptr_of(std::uint64_t mfn) const {
    if (mfn < kMfnOffset || mfn - kMfnOffset >= p2m.size()) return nullptr;
    return reinterpret_cast<void*>(base + (mfn - kMfnOffset) * 4096);
  }
};

}  // namespace fake_xen
