// pvkit/platforms/pc/hypercalls/callback_op.h — HYPERVISOR_callback_op (30) and
// HYPERVISOR_set_callbacks (4): register the guest kernel's event/failsafe/syscall entries.
//
// What it is: two handler types of the dispatcher's shape. callback_op(cmd, arg):
// CALLBACKOP_register copies struct callback_register (-EFAULT), stores the address for
// CALLBACKTYPE_event / failsafe / syscall (CALLBACKF_mask_events is honoured for the event
// callback only as Xen does: events are always masked on delivery), answers -EINVAL for NMI
// and any other type; CALLBACKOP_unregister clears event/failsafe/syscall (-EINVAL for other
// types); any other cmd is -ENOSYS. set_callbacks(event, failsafe, syscall) stores all three.
// Addresses are not checked here (Xen does not either): a bad one faults the guest when used,
// which crashes only that domain.
// How to use it: add `CallbackOp` and `SetCallbacks` to the hypercall table; the context
// satisfies CallbackContext (callbacks.h).
// Concurrency: per-vCPU.
#pragma once

#include <cstdint>

#include "pvkit/base/guest_memory.h"
#include "pvkit/base/status.h"
#include "pvkit/hypercall/arg_view.h"
#include "pvkit/hypercall/args.h"
#include "pvkit/platforms/pc/hypercalls/callbacks.h"
#include "pvkit/platforms/pc/hypercalls/xen_abi.h"
#include "pvkit/xen/hypercall_numbers.h"

namespace pvkit::pc {

struct CallbackOp {
  static constexpr std::uint32_t kNumber = pvkit::xen::hc::kCallbackOp;
  static constexpr const char* kName = "callback_op";

  template <CallbackContext Ctx>
  static std::int64_t call(Ctx& ctx, HypercallArgs& args) {
    const CmdArgs v = CmdArgs::from(args);
    GuestCallbacks& cb = ctx.callbacks();
    switch (v.cmd) {
      case xen::kCallbackOpRegister: {
        xen::CallbackRegister r;
        if (!GuestHandle<xen::CallbackRegister>{v.arg}.read(ctx.guest_memory(), 0, r)) {
          return Status{Errno::Fault}.guest_value();
        }
        switch (r.type) {
          case xen::kCallbackTypeEvent:
            cb.event = r.address;
            return 0;
          case xen::kCallbackTypeFailsafe:
            cb.failsafe = r.address;
            return 0;
          case xen::kCallbackTypeSyscall:
            cb.syscall = r.address;
            return 0;
          default:  // NMI callbacks and the 32-bit entry types are not offered
            return Status{Errno::Inval}.guest_value();
        }
      }
      case xen::kCallbackOpUnregister: {
        xen::CallbackUnregister u;
        if (!GuestHandle<xen::CallbackUnregister>{v.arg}.read(ctx.guest_memory(), 0, u)) {
          return Status{Errno::Fault}.guest_value();
        }
        switch (u.type) {
          case xen::kCallbackTypeEvent:
            cb.event = 0;
            return 0;
          case xen::kCallbackTypeFailsafe:
            cb.failsafe = 0;
            return 0;
          case xen::kCallbackTypeSyscall:
            cb.syscall = 0;
            return 0;
          default:
            return Status{Errno::Inval}.guest_value();
        }
      }
      default:
        return Status{Errno::NoSys}.guest_value();
    }
  }
};

struct SetCallbacks {
  static constexpr std::uint32_t kNumber = pvkit::xen::hc::kSetCallbacks;
  static constexpr const char* kName = "set_callbacks";

  template <CallbackContext Ctx>
  static std::int64_t call(Ctx& ctx, HypercallArgs& args) {
    GuestCallbacks& cb = ctx.callbacks();
    cb.event = args.a[0];
    cb.failsafe = args.a[1];
    cb.syscall = args.a[2];
    return 0;
  }
};

}  // namespace pvkit::pc
