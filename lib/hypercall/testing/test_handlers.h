// pvkit/hypercall/testing/test_handlers.h — small handlers for dispatcher tests.
//
// What it is: `Echo<N>` (records its call in ctx.trace and returns the sum of its arguments
// plus N), `FakeIret` (number 23: records, optionally drops the vCPU to user mode, returns a
// fixed value) and `Countdown<N>` (a preemptible handler: fills a guest byte array a few
// bytes per invocation, keeping its progress in its own argument registers).
//
// How to use it: compose them with real handlers in HypercallTable<...> in tests.
//
// Concurrency: single-threaded tests only.
#pragma once

#include <cstdint>

#include "pvkit/base/guest_memory.h"
#include "pvkit/hypercall/args.h"
#include "pvkit/hypercall/handler.h"
#include "pvkit/xen/hypercall_numbers.h"

namespace pvkit::testing {

template <std::uint32_t N>
struct Echo {
  static constexpr std::uint32_t kNumber = N;
  static constexpr const char* kName = "echo";
  template <typename Ctx>
  static std::int64_t call(Ctx& ctx, HypercallArgs& args) {
    ctx.trace.push_back(N);
    std::uint64_t s = N;
    for (auto v : args.a) s += v;
    return static_cast<std::int64_t>(s & 0x7FFFFFFFFFFFFFFFULL);
  }
};

/// Stands in for the arch's iret (23). a[0] != 0: switch the vCPU to guest user mode.
struct FakeIret {
  static constexpr std::uint32_t kNumber = xen::hc::kIret;
  static constexpr const char* kName = "iret";
  static constexpr std::int64_t kResult = 0x1234;
  template <typename Ctx>
  static std::int64_t call(Ctx& ctx, HypercallArgs& args) {
    ctx.trace.push_back(kNumber);
    if (args.a[0] != 0) ctx.kernel_mode = false;
    return kResult;
  }
};

/// A preemptible handler: a[0] = guest byte array, a[1] = its length, a[2] = bytes done so
/// far (the continuation progress; 0 from the guest). Writes byte i = (0xA0 + i) & 0xFF,
/// kPerCall bytes per invocation, then returns the length.
template <std::uint32_t N, std::uint32_t kPerCall = 4>
struct Countdown {
  static constexpr std::uint32_t kNumber = N;
  static constexpr const char* kName = "countdown";
  template <typename Ctx>
  static std::int64_t call(Ctx& ctx, HypercallArgs& args) {
    ctx.trace.push_back(N);
    const GuestArray<std::uint8_t> buf{{VirtAddr{args.a[0]}}, args.a[1]};
    std::uint64_t done = args.a[2];
    if (done > buf.count) return Status{Errno::Inval}.guest_value();  // malformed progress
    for (std::uint32_t k = 0; done < buf.count; ++k, ++done) {
      if (k == kPerCall) {
        args.a[2] = done;
        return kRestartValue;
      }
      const auto b = static_cast<std::uint8_t>(0xA0 + done);
      if (!buf.write(ctx.guest_memory(), done, b)) return Status{Errno::Fault}.guest_value();
    }
    return static_cast<std::int64_t>(buf.count);
  }
};

}  // namespace pvkit::testing
