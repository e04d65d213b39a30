// pvkit/ring/guest_event_ops.h — the event-channel half of a PV guest's split-driver ops.
//
// What it is: `GuestEventOps<H>`, the alloc_unbound / bind_interdomain / notify / close
// operations of FrontendOps and BackendOps implemented the way a PV guest kernel does them:
// HYPERVISOR_event_channel_op (hypercall 32) with EVTCHNOP_alloc_unbound, _bind_interdomain,
// _send and _close, the sub-op struct (pvkit/event/xen_abi.h layouts) in the caller's memory,
// its address in RSI. A guest combines it with a grant half to get complete ops.
//
// How to use it:
//   GuestEventOps<MyHypercallPage> ev{hcall};
//   auto port = ev.alloc_unbound(backend_dom);      // -> Result<EvtchnPort>
//
// Concurrency: each call is one hypercall on the calling vCPU; the object holds no state
// besides the invoker pointer.
#pragma once

#include <cstdint>

#include "pvkit/base/status.h"
#include "pvkit/base/types.h"
#include "pvkit/event/xen_abi.h"
#include "pvkit/hypercall/args.h"
#include "pvkit/ring/hypercall_invoker.h"

namespace pvkit::ring {

/// Guest-side event-channel operations through hypercalls (alloc_unbound, bind, send, close).
template <HypercallInvoker H>
class GuestEventOps {
 public:
  static constexpr std::uint64_t kEventChannelOp = 32;  // __HYPERVISOR_event_channel_op

  explicit GuestEventOps(H& h) : h_(&h) {}

  /// EVTCHNOP_alloc_unbound in the caller's own domain, for `remote`.
  [[nodiscard]] Result<EvtchnPort> alloc_unbound(DomId remote) {
    xen::EvtchnAllocUnbound op{};
    op.dom = kDomidSelf.value();
    op.remote_dom = remote.value();
    if (auto s = call(xen::kEvtchnOpAllocUnbound, &op); !s) return s;
    return EvtchnPort{op.port};
  }
  /// EVTCHNOP_bind_interdomain to (`remote`, `remote_port`).
  [[nodiscard]] Result<EvtchnPort> bind_interdomain(DomId remote, EvtchnPort remote_port) {
    xen::EvtchnBindInterdomain op{};
    op.remote_dom = remote.value();
    op.remote_port = remote_port.value();
    if (auto s = call(xen::kEvtchnOpBindInterdomain, &op); !s) return s;
    return EvtchnPort{op.local_port};
  }
  /// EVTCHNOP_send.
  [[nodiscard]] Status notify(EvtchnPort port) {
    xen::EvtchnSend op{port.value()};
    return call(xen::kEvtchnOpSend, &op);
  }
  /// EVTCHNOP_close.
  [[nodiscard]] Status close(EvtchnPort port) {
    xen::EvtchnClose op{port.value()};
    return call(xen::kEvtchnOpClose, &op);
  }

 private:
  Status call(std::uint32_t cmd, void* op) {
    HypercallArgs a{};
    a.nr = kEventChannelOp;
    a.a[0] = cmd;
    a.a[1] = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(op));
    return status_from_rax(h_->hypercall(a));
  }

  H* h_;
};

}  // namespace pvkit::ring
