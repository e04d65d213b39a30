// pvkit/hypercall/console_io.h — HYPERVISOR_console_io (18) through a console policy.
//
// What it is: the `ConsoleIo` handler, the `ConsoleSink` policy concept (where bytes go) and
// the `ConsoleIoContext` concept. Arguments: RDI = cmd, RSI = count, RDX = buffer (all of
// Xen's `unsigned int cmd, unsigned int count, char *buffer`).
//   CONSOLEIO_write: privileged domains always; others only if the sink's
//     `accepts_unprivileged_writes()` says so (Xen's default policy is privileged-only),
//     else -EPERM. Bytes are copied through a small on-stack bounce buffer; for unprivileged
//     writers only printable ASCII and '\n' pass. Each invocation writes at most kWriteBudget
//     bytes (or fewer if the context's preempt check fires), then continues by rewriting
//     (count, buffer) to the unwritten rest and returning kRestartValue (invariant 6); the
//     continued call is indistinguishable from a fresh one (invariant 3). Returns 0, or
//     -EFAULT on an unreadable buffer (bytes before it have been written).
//   CONSOLEIO_read: unprivileged -> -EPERM; count > INT32_MAX -> -E2BIG; otherwise reads at
//     most min(count, kReadChunk) bytes from the sink into the guest buffer and returns the
//     number read (0 when the sink has no input).
//   other cmd: -ENOSYS, nothing touched.
//
// How to use it: add `ConsoleIo` (or `BasicConsoleIo<budget>`) to the table; the context
// provides guest_memory(), console() (a ConsoleSink&) and is_privileged().
//
// Concurrency: the sink serialises concurrent writers itself if it needs to.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <type_traits>

#include "pvkit/base/guest_memory.h"
#include "pvkit/base/status.h"
#include "pvkit/hypercall/arg_view.h"
#include "pvkit/hypercall/args.h"
#include "pvkit/hypercall/context.h"
#include "pvkit/hypercall/handler.h"
#include "pvkit/xen/hypercall_numbers.h"
#include "pvkit/xen/xen_abi.h"

namespace pvkit {

/// Where console output goes, and where privileged console input comes from.
template <typename S>
concept ConsoleSink = requires(S& s, std::span<const char> out, std::span<char> in) {
  { s.write(out) } -> std::same_as<void>;
  { s.read(in) } -> std::same_as<std::size_t>;  ///< bytes stored in `in` (<= in.size())
  { s.accepts_unprivileged_writes() } -> std::same_as<bool>;
};

/// What ConsoleIo needs from the per-call context: guest memory, a ConsoleSink, privilege.
template <typename Ctx>
concept ConsoleIoContext = HasGuestMemory<Ctx> && requires(Ctx& ctx) {
  requires std::is_lvalue_reference_v<decltype(ctx.console())>;
  requires ConsoleSink<std::remove_cvref_t<decltype(ctx.console())>>;
  { ctx.is_privileged() } -> std::same_as<bool>;
};

/// `HYPERVISOR_console_io(unsigned int cmd, unsigned int count, char buffer[])`.
struct ConsoleIoArgs {
  std::uint32_t cmd = 0;    ///< RDI
  std::uint32_t count = 0;  ///< RSI
  VirtAddr buffer{};        ///< RDX

  /// Decodes (int cmd, unsigned int count, char *buffer).
  [[nodiscard]] static constexpr ConsoleIoArgs from(const HypercallArgs& r) {
    return {hcarg::u32(r, 0), hcarg::u32(r, 1), hcarg::va(r, 2)};
  }
  /// Writes the arguments back (for a continuation).
  constexpr void store(HypercallArgs& r) const {
    r.a[0] = cmd;
    r.a[1] = count;
    r.a[2] = buffer.value();
  }
};

/// HYPERVISOR_console_io (18); writes at most kWriteBudget bytes per invocation, then continues.
template <std::uint32_t kWriteBudget = 4096>
struct BasicConsoleIo {
  static constexpr std::uint32_t kNumber = xen::hc::kConsoleIo;
  static constexpr const char* kName = "console_io";
  /// Bytes moved per copy from/to the guest (on-stack bounce buffer).
  static constexpr std::uint32_t kChunk = 128;
  /// Bytes a single read returns at most.
  static constexpr std::uint32_t kReadChunk = kChunk;
  static_assert(kWriteBudget >= 1);

  /// Handles one console_io call (see the file comment for the rules).
  template <ConsoleIoContext Ctx>
  static std::int64_t call(Ctx& ctx, HypercallArgs& args) {
    ConsoleIoArgs v = ConsoleIoArgs::from(args);
    switch (v.cmd) {
      case xen::kConsoleIoWrite:
        return write(ctx, v, args);
      case xen::kConsoleIoRead:
        return read(ctx, v);
      default:
        return Status{Errno::NoSys}.guest_value();
    }
  }

 private:
  template <typename Ctx>
  static std::int64_t write(Ctx& ctx, ConsoleIoArgs v, HypercallArgs& args) {
    auto& sink = ctx.console();
    const bool privileged = ctx.is_privileged();
    if (!privileged && !sink.accepts_unprivileged_writes()) return Status{Errno::Perm}.guest_value();
    auto& mem = ctx.guest_memory();

    std::uint32_t done = 0;
    std::array<char, kChunk> buf;
    while (v.count != 0) {
      if (done >= kWriteBudget || (done != 0 && hypercall_preempt_requested(ctx))) {
        v.store(args);  // the rest: (count, buffer) already advanced
        return kRestartValue;
      }
      const std::uint32_t n = v.count < kChunk ? v.count : kChunk;
      if (v.buffer.value() > std::numeric_limits<std::uint64_t>::max() - n) {
        return Status{Errno::Fault}.guest_value();
      }
      if (!mem.copy_from_guest(buf.data(), v.buffer, n)) return Status{Errno::Fault}.guest_value();
      std::size_t out = n;
      if (!privileged) {
        out = 0;
        for (std::uint32_t i = 0; i < n; ++i) {
          const char c = buf[i];
          if ((c >= 0x20 && c < 0x7F) || c == '\n') buf[out++] = c;
        }
      }
      if (out != 0) sink.write(std::span<const char>(buf.data(), out));
      v.buffer = VirtAddr{v.buffer.value() + n};
      v.count -= n;
      done += n;
    }
    return 0;
  }

  template <typename Ctx>
  static std::int64_t read(Ctx& ctx, const ConsoleIoArgs& v) {
    if (!ctx.is_privileged()) return Status{Errno::Perm}.guest_value();
    if (v.count > static_cast<std::uint32_t>(std::numeric_limits<std::int32_t>::max())) {
      return Status{Errno::TooBig}.guest_value();
    }
    std::array<char, kReadChunk> buf;
    const std::uint32_t want = v.count < kReadChunk ? v.count : kReadChunk;
    std::size_t got = ctx.console().read(std::span<char>(buf.data(), want));
    if (got > want) got = want;  // a misbehaving sink cannot make us copy stale bytes
    if (got == 0) return 0;
    if (!ctx.guest_memory().copy_to_guest(v.buffer, buf.data(), got)) {
      return Status{Errno::Fault}.guest_value();
    }
    return static_cast<std::int64_t>(got);
  }
};

/// console_io with the default write budget.
using ConsoleIo = BasicConsoleIo<>;

}  // namespace pvkit
