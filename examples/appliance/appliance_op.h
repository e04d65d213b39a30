// appliance_op.h — the appliance's own hypercall, added to pvkit's table from outside pvkit.
//
// What it is: `ApplianceOp`, a handler of pvkit's shared handler shape (kNumber, kName,
// call<Ctx>(ctx, args)) for hypercall 56, a number Xen leaves unused, and the
// `ApplianceOpContext` concept it needs from the appliance's per-call context:
//   appliance_op(APPLIANCE_log,      const char *buf, unsigned long len)  -> len, or
//                -EINVAL (len > kMaxLogBytes), -EFAULT (buffer not readable by the guest)
//   appliance_op(APPLIANCE_report,   unsigned int check, unsigned long value) -> 0 or -EINVAL
//   appliance_op(APPLIANCE_poweroff, 0, 0)   the guest is done (the context decides what next)
//   any other command                         -> -ENOSYS
// The appliance removes console_io from its table, so guests log through APPLIANCE_log: every
// line is tagged with the domain and non-printable bytes are replaced by '.'.
//
// How to use it: `using Table = pvkit::HypercallTable<...>::add<appliance::ApplianceOp>;`
// (pvkit's documented extension point, docs/hypercalls.md §3). Arguments are decoded as Xen
// decodes C parameters: `cmd` and `check` are `unsigned int` (low 32 bits of the register),
// the pointer and lengths full 64-bit registers.
//
// Concurrency: one call per vCPU at a time; the handler keeps no state of its own.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>

#include "pvkit/base/errno.h"
#include "pvkit/base/status.h"
#include "pvkit/base/types.h"
#include "pvkit/hypercall/args.h"
#include "pvkit/hypercall/context.h"

namespace appliance {

/// The hypercall number: Xen defines 0..42 and the arch range 48..55; 56 is free.
inline constexpr std::uint32_t kApplianceOpNumber = 56;
/// Sub-commands (RDI).
inline constexpr std::uint32_t kCmdLog = 0;
inline constexpr std::uint32_t kCmdReport = 1;
inline constexpr std::uint32_t kCmdPoweroff = 2;
/// Longest log line a guest may write in one call.
inline constexpr std::uint64_t kMaxLogBytes = 256;
/// Report slots 0 .. kMaxChecks-1.
inline constexpr std::uint32_t kMaxChecks = 16;

/// What ApplianceOp needs from the per-call context.
template <typename Ctx>
concept ApplianceOpContext = pvkit::HasGuestMemory<Ctx> && requires(Ctx& ctx, std::span<const char> line,
                                                                    std::uint32_t check, std::uint64_t value) {
  { ctx.log_line(line) } -> std::same_as<void>;
  { ctx.report(check, value) } -> std::same_as<void>;
  { ctx.poweroff() } -> std::same_as<void>;
};

/// The custom hypercall (see the file comment for the ABI).
struct ApplianceOp {
  static constexpr std::uint32_t kNumber = kApplianceOpNumber;
  static constexpr const char* kName = "appliance_op";

  /// Handles one appliance_op call: log, report, poweroff; anything else -ENOSYS.
  template <ApplianceOpContext Ctx>
  static std::int64_t call(Ctx& ctx, pvkit::HypercallArgs& args) {
    const auto cmd = static_cast<std::uint32_t>(args.a[0]);  // C `unsigned int`: low 32 bits
    switch (cmd) {
      case kCmdLog:
        return log(ctx, pvkit::VirtAddr{args.a[1]}, args.a[2]);
      case kCmdReport: {
        const auto check = static_cast<std::uint32_t>(args.a[1]);
        if (check >= kMaxChecks) return pvkit::Status{pvkit::Errno::Inval}.guest_value();
        ctx.report(check, args.a[2]);
        return 0;
      }
      case kCmdPoweroff:
        ctx.poweroff();
        return 0;
      default:
        return pvkit::Status{pvkit::Errno::NoSys}.guest_value();
    }
  }

 private:
  template <typename Ctx>
  static std::int64_t log(Ctx& ctx, pvkit::VirtAddr buf, std::uint64_t len) {
    if (len > kMaxLogBytes) return pvkit::Status{pvkit::Errno::Inval}.guest_value();
    char line[kMaxLogBytes];
    // One copy of the whole buffer: every byte is checked by the platform's GuestMemory.
    const pvkit::Status s = ctx.guest_memory().copy_from_guest(line, buf, static_cast<std::size_t>(len));
    if (!s.is_ok()) return s.guest_value();
    for (std::uint64_t i = 0; i < len; ++i) {
      const char c = line[i];
      if (c != '\n' && (c < 0x20 || c > 0x7e)) line[i] = '.';
    }
    ctx.log_line(std::span<const char>(line, static_cast<std::size_t>(len)));
    return static_cast<std::int64_t>(len);
  }
};

}  // namespace appliance
