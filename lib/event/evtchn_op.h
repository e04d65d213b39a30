// pvkit/event/evtchn_op.h — the HYPERVISOR_event_channel_op handler (hypercall 32).
//
// What it is: `EventChannelOp`, a handler type for the dispatcher (pvkit/hypercall): RDI holds
// the sub-op (`cmd`, EVTCHNOP_*; Xen reads it as a 32-bit int), RSI the guest address of the
// sub-op's struct. The handler copies the struct in with a GuestHandle (-EFAULT if it cannot),
// calls the EventChannels object and, for sub-ops with outputs, copies the struct back, fully
// initialised (invariant 5), only on success. Unknown sub-ops: -ENOSYS with no side effect.
// A preempted EVTCHNOP_reset rewrites `cmd` to EVTCHNOP_reset_cont (14, Xen's internal
// continuation) and returns -ERESTART for the dispatcher to re-execute (it yields after each
// bounded chunk when the context's optional hypercall_preempt_check() says so, or always when
// the context has none); the reset's progress
// lives in the target domain's state (as in Xen) and is validated on resumption: a stray
// EVTCHNOP_reset_cont without a reset in progress answers -EBUSY.
//
// How to use it: list it among the dispatcher's handler types; the context must satisfy
// EvtchnHypercallContext (pvkit/event/evtchn_context.h).
//
// Concurrency: as EventChannels (any vCPU, concurrently).
#pragma once

#include <concepts>
#include <cstdint>
#include <cstring>

#include "pvkit/base/guest_memory.h"
#include "pvkit/base/status.h"
#include "pvkit/base/types.h"
#include "pvkit/event/evtchn_context.h"
#include "pvkit/event/xen_abi.h"
#include "pvkit/hypercall/args.h"

namespace pvkit::event {

/// HYPERVISOR_event_channel_op (32): decodes EVTCHNOP_* and calls the EventChannels object.
struct EventChannelOp {
  static constexpr std::uint32_t kNumber = 32;  // __HYPERVISOR_event_channel_op
  static constexpr const char* kName = "event_channel_op";

  /// Handles one event_channel_op call.
  template <EvtchnHypercallContext Ctx>
  static std::int64_t call(Ctx& ctx, HypercallArgs& args) {
    const auto cmd = static_cast<std::uint32_t>(args.a[0]);
    const VirtAddr arg{args.a[1]};
    const DomId me = ctx.current_domain();
    auto& ev = ctx.evtchn();
    switch (cmd) {
      case xen::kEvtchnOpBindInterdomain:
        return in_out<xen::EvtchnBindInterdomain>(ctx, arg, [&](auto& op) -> Status {
          auto r = ev.bind_interdomain(me, DomId{op.remote_dom}, EvtchnPort{op.remote_port});
          if (r) op.local_port = r->value();
          return r.status();
        });
      case xen::kEvtchnOpBindVirq:
        return in_out<xen::EvtchnBindVirq>(ctx, arg, [&](auto& op) -> Status {
          auto r = ev.bind_virq(me, op.virq, VcpuId{op.vcpu});
          if (r) op.port = r->value();
          return r.status();
        });
      case xen::kEvtchnOpBindPirq:
        return in_out<xen::EvtchnBindPirq>(ctx, arg, [&](auto& op) -> Status {
          auto r = ev.bind_pirq(me, op.pirq, op.flags);
          if (r) op.port = r->value();
          return r.status();
        });
      case xen::kEvtchnOpClose:
        return in_only<xen::EvtchnClose>(ctx, arg, [&](auto& op) {
          return ev.close(me, EvtchnPort{op.port});
        });
      case xen::kEvtchnOpSend:
        return in_only<xen::EvtchnSend>(ctx, arg, [&](auto& op) {
          return ev.send(me, EvtchnPort{op.port});
        });
      case xen::kEvtchnOpStatus:
        return in_out<xen::EvtchnStatus>(ctx, arg, [&](auto& op) -> Status {
          auto r = ev.status(me, DomId{op.dom}, EvtchnPort{op.port});
          if (r) fill_status(op, *r);
          return r.status();
        });
      case xen::kEvtchnOpAllocUnbound:
        return in_out<xen::EvtchnAllocUnbound>(ctx, arg, [&](auto& op) -> Status {
          auto r = ev.alloc_unbound(me, DomId{op.dom}, DomId{op.remote_dom});
          if (r) op.port = r->value();
          return r.status();
        });
      case xen::kEvtchnOpBindIpi:
        return in_out<xen::EvtchnBindIpi>(ctx, arg, [&](auto& op) -> Status {
          auto r = ev.bind_ipi(me, VcpuId{op.vcpu});
          if (r) op.port = r->value();
          return r.status();
        });
      case xen::kEvtchnOpBindVcpu:
        return in_only<xen::EvtchnBindVcpu>(ctx, arg, [&](auto& op) {
          return ev.bind_vcpu(me, EvtchnPort{op.port}, VcpuId{op.vcpu});
        });
      case xen::kEvtchnOpUnmask:
        return in_only<xen::EvtchnUnmask>(ctx, arg, [&](auto& op) {
          return ev.unmask(me, EvtchnPort{op.port});
        });
      case xen::kEvtchnOpReset:
      case xen::kEvtchnOpResetCont: {
        const std::int64_t rc = in_only<xen::EvtchnReset>(ctx, arg, [&](auto& op) {
          Status s = ev.reset(me, DomId{op.dom}, cmd == xen::kEvtchnOpResetCont);
          // Keep going chunk by chunk until the platform wants the CPU back.
          while (s.is_restart() && !preempt_requested(ctx)) s = ev.reset(me, DomId{op.dom}, true);
          return s;
        });
        if (rc == Status{Errno::Restart}.guest_value()) args.a[0] = xen::kEvtchnOpResetCont;
        return rc;
      }
      case xen::kEvtchnOpInitControl:
        return in_out<xen::EvtchnInitControl>(ctx, arg, [&](auto& op) -> Status {
          Status s = ev.init_control(me, Gfn{op.control_gfn}, op.offset, VcpuId{op.vcpu});
          if (s) {
            op.link_bits = static_cast<std::uint8_t>(xen::kEvtchnFifoLinkBits);
            for (auto& b : op.pad) b = 0;
          }
          return s;
        });
      case xen::kEvtchnOpExpandArray:
        return in_only<xen::EvtchnExpandArray>(ctx, arg, [&](auto& op) {
          return ev.expand_array(me, Gfn{op.array_gfn});
        });
      case xen::kEvtchnOpSetPriority:
        return in_only<xen::EvtchnSetPriority>(ctx, arg, [&](auto& op) {
          return ev.set_priority(me, EvtchnPort{op.port}, op.priority);
        });
      default:
        return Status{Errno::NoSys}.guest_value();
    }
  }

 private:
  /// The dispatcher's optional preemption hook (`bool hypercall_preempt_check()`, see
  /// pvkit/hypercall/context.h). A context without it yields after every bounded chunk.
  template <typename Ctx>
  static bool preempt_requested(Ctx& ctx) {
    if constexpr (requires { { ctx.hypercall_preempt_check() } -> std::same_as<bool>; }) {
      return ctx.hypercall_preempt_check();
    } else {
      return true;
    }
  }
  /// Rebuilds the guest's evtchn_status from zero, field by field, so that no byte (padding,
  /// the unused part of the union) carries anything but zero (invariant 5).
  static void fill_status(xen::EvtchnStatus& out, const xen::EvtchnStatus& in) {
    std::memset(&out, 0, sizeof(out));
    out.dom = in.dom;
    out.port = in.port;
    out.status = in.status;
    out.vcpu = in.vcpu;
    switch (in.status) {
      case xen::kEvtchnStatUnbound:
        out.u.unbound.dom = in.u.unbound.dom;
        break;
      case xen::kEvtchnStatInterdomain:
        out.u.interdomain.dom = in.u.interdomain.dom;
        out.u.interdomain.port = in.u.interdomain.port;
        break;
      case xen::kEvtchnStatPirq:
        out.u.pirq = in.u.pirq;
        break;
      case xen::kEvtchnStatVirq:
        out.u.virq = in.u.virq;
        break;
      default:
        break;
    }
  }
  /// Copies T in, runs f(T&) -> Status; nothing is copied back.
  template <typename T, typename Ctx, typename F>
  static std::int64_t in_only(Ctx& ctx, VirtAddr arg, F&& f) {
    T op{};
    const GuestHandle<T> h{arg};
    if (Status s = h.read(ctx.guest_memory(), 0, op); !s) return s.guest_value();
    return Status{f(op)}.guest_value();
  }
  /// Copies T in, runs f(T&) -> Status, and on success copies T back (-EFAULT if it cannot).
  template <typename T, typename Ctx, typename F>
  static std::int64_t in_out(Ctx& ctx, VirtAddr arg, F&& f) {
    T op{};
    const GuestHandle<T> h{arg};
    if (Status s = h.read(ctx.guest_memory(), 0, op); !s) return s.guest_value();
    const Status s = f(op);
    if (!s) return s.guest_value();
    if (Status w = h.write(ctx.guest_memory(), 0, op); !w) return w.guest_value();
    return 0;
  }
};

}  // namespace pvkit::event

namespace pvkit {
/// The dispatcher names handlers from namespace pvkit.
using EventChannelOp = event::EventChannelOp;
}  // namespace pvkit
