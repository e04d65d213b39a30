// pvkit/platforms/pc/hypercalls/sched_op.h — HYPERVISOR_sched_op (29) for the PC platform.
//
// What it is: `PcSchedOp`, the platform's sched_op handler (it replaces lib/hypercall's
// skeleton, which has no poll): SCHEDOP_yield, SCHEDOP_block, SCHEDOP_shutdown (reason
// <= SHUTDOWN_MAX, else -EINVAL; unreadable argument -EFAULT) and SCHEDOP_poll (struct
// sched_poll: 1..kMaxPollPorts ports, else -EINVAL as Xen's limit; each port read from guest
// memory, -EFAULT; a port the caller does not have is -EINVAL). Other sub-ops: -ENOSYS.
// The handler only records the request through the context's `PcSchedPolicy`; the platform
// acts on it (switches vCPUs) when the hypercall returns.
// How to use it: add `PcSchedOp` to the table (`::with<PcSchedOp>` over a base with SchedOp).
// Concurrency: per-vCPU.
#pragma once

#include <concepts>
#include <cstdint>
#include <span>
#include <type_traits>

#include "pvkit/base/guest_memory.h"
#include "pvkit/base/status.h"
#include "pvkit/hypercall/arg_view.h"
#include "pvkit/hypercall/args.h"
#include "pvkit/hypercall/context.h"
#include "pvkit/xen/hypercall_numbers.h"
#include "pvkit/xen/sched_abi.h"

namespace pvkit::pc {

/// Most ports one SCHEDOP_poll may name (Xen: the domain's max_vcpus; pvkit guests have one).
inline constexpr std::uint32_t kMaxPollPorts = 8;

template <typename S>
concept PcSchedPolicy = requires(S& s, std::uint32_t reason, std::span<const std::uint32_t> ports,
                                 std::uint64_t timeout) {
  { s.yield() } -> std::same_as<void>;
  { s.block() } -> std::same_as<void>;
  { s.shutdown(reason) } -> std::same_as<void>;
  { s.port_valid(std::uint32_t{}) } -> std::same_as<bool>;
  { s.poll(ports, timeout) } -> std::same_as<void>;
};

template <typename Ctx>
concept PcSchedContext = HasGuestMemory<Ctx> && requires(Ctx& ctx) {
  requires std::is_lvalue_reference_v<decltype(ctx.scheduler())>;
  requires PcSchedPolicy<std::remove_cvref_t<decltype(ctx.scheduler())>>;
};

struct PcSchedOp {
  static constexpr std::uint32_t kNumber = pvkit::xen::hc::kSchedOp;
  static constexpr const char* kName = "sched_op";

  template <PcSchedContext Ctx>
  static std::int64_t call(Ctx& ctx, HypercallArgs& args) {
    const CmdArgs v = CmdArgs::from(args);
    auto& sched = ctx.scheduler();
    switch (v.cmd) {
      case pvkit::xen::kSchedOpYield:
        sched.yield();
        return 0;
      case pvkit::xen::kSchedOpBlock:
        sched.block();
        return 0;
      case pvkit::xen::kSchedOpShutdown: {
        pvkit::xen::SchedShutdown s;
        if (!GuestHandle<pvkit::xen::SchedShutdown>{v.arg}.read(ctx.guest_memory(), 0, s)) {
          return Status{Errno::Fault}.guest_value();
        }
        if (s.reason > pvkit::xen::kShutdownMax) return Status{Errno::Inval}.guest_value();
        sched.shutdown(s.reason);
        return 0;
      }
      case pvkit::xen::kSchedOpPoll: {
        pvkit::xen::SchedPoll p;
        if (!GuestHandle<pvkit::xen::SchedPoll>{v.arg}.read(ctx.guest_memory(), 0, p)) {
          return Status{Errno::Fault}.guest_value();
        }
        if (p.nr_ports == 0 || p.nr_ports > kMaxPollPorts) return Status{Errno::Inval}.guest_value();
        std::uint32_t ports[kMaxPollPorts];
        GuestArray<std::uint32_t> arr{{VirtAddr{p.ports}}, p.nr_ports};
        for (std::uint32_t i = 0; i < p.nr_ports; ++i) {
          if (!arr.read(ctx.guest_memory(), i, ports[i])) return Status{Errno::Fault}.guest_value();
          if (!sched.port_valid(ports[i])) return Status{Errno::Inval}.guest_value();
        }
        sched.poll(std::span<const std::uint32_t>(ports, p.nr_ports), p.timeout);
        return 0;
      }
      default:
        return Status{Errno::NoSys}.guest_value();
    }
  }
};

}  // namespace pvkit::pc
