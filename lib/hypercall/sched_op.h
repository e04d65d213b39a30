// pvkit/hypercall/sched_op.h — a minimal HYPERVISOR_sched_op (29) over a scheduler policy.
//
// What it is: a skeleton for images: the `SchedOp` handler forwards SCHEDOP_yield,
// SCHEDOP_block and SCHEDOP_shutdown to the context's `SchedPolicy`; every other sub-op
// (poll, remote_shutdown, shutdown_code, watchdog, pin_override) answers -ENOSYS until an
// image implements it. SCHEDOP_shutdown copies sched_shutdown_t from the guest (-EFAULT)
// and refuses a reason above SHUTDOWN_MAX with -EINVAL (stricter than Xen, which truncates
// the reason to 8 bits).
//
// How to use it: add `SchedOp` to the table; the context provides `scheduler()` with
// `void yield()`, `void block()` and `void shutdown(std::uint32_t reason)`. The policy only
// records the request; the platform acts on it when the hypercall returns.
//
// Concurrency: per-vCPU; the policy decides.
#pragma once

#include <concepts>
#include <cstdint>
#include <type_traits>

#include "pvkit/base/guest_memory.h"
#include "pvkit/base/status.h"
#include "pvkit/hypercall/arg_view.h"
#include "pvkit/hypercall/args.h"
#include "pvkit/hypercall/handler.h"
#include "pvkit/hypercall/context.h"
#include "pvkit/xen/hypercall_numbers.h"
#include "pvkit/xen/sched_abi.h"

namespace pvkit {

/// What SchedOp asks the scheduler to do: yield, block, shut the domain down.
template <typename S>
concept SchedPolicy = requires(S& s, std::uint32_t reason) {
  { s.yield() } -> std::same_as<void>;
  { s.block() } -> std::same_as<void>;
  { s.shutdown(reason) } -> std::same_as<void>;
};

/// What SchedOp needs from the context: guest memory and a SchedPolicy.
template <typename Ctx>
concept SchedOpContext = HasGuestMemory<Ctx> && requires(Ctx& ctx) {
  requires std::is_lvalue_reference_v<decltype(ctx.scheduler())>;
  requires SchedPolicy<std::remove_cvref_t<decltype(ctx.scheduler())>>;
};

/// HYPERVISOR_sched_op (29), skeleton: yield, block, shutdown; other sub-ops -ENOSYS.
struct SchedOp {
  static constexpr std::uint32_t kNumber = xen::hc::kSchedOp;
  static constexpr const char* kName = "sched_op";

  /// Handles one sched_op call.
  template <SchedOpContext Ctx>
  static std::int64_t call(Ctx& ctx, HypercallArgs& args) {
    const CmdArgs v = CmdArgs::from(args);
    switch (v.cmd) {
      case xen::kSchedOpYield:
        ctx.scheduler().yield();
        return 0;
      case xen::kSchedOpBlock:
        ctx.scheduler().block();
        return 0;
      case xen::kSchedOpShutdown: {
        xen::SchedShutdown s;
        if (!GuestHandle<xen::SchedShutdown>{v.arg}.read(ctx.guest_memory(), 0, s)) {
          return Status{Errno::Fault}.guest_value();
        }
        if (s.reason > xen::kShutdownMax) return Status{Errno::Inval}.guest_value();
        ctx.scheduler().shutdown(s.reason);
        return 0;
      }
      default:
        return Status{Errno::NoSys}.guest_value();
    }
  }
};

}  // namespace pvkit
