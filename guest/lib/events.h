// pvkit/guest/events.h — event delivery for a guest kernel: the shared_info mapping, the
// registered event callback, the global dispatcher and the upcall mask.
//
// What it is: `init_events(si)` maps start_info.shared_info (a machine address) at a
// page-aligned .bss slot, then registers the runtime's assembly entry points
// (guest/runtime/upcall.S) as the event and failsafe callbacks with CALLBACKOP_register (or,
// if callback_op is not available, with set_callbacks). The upcall entry saves the
// interrupted registers, calls `events().dispatch(...)` on vCPU 0's vcpu_info, restores the
// registers and returns through HYPERVISOR_iret, whose RFLAGS.IF restores the upcall mask.
// Events start masked; call `events_enable()` once handlers are bound.
//
// How to use it:
//   if (auto s = init_events(si); !s) return 1;
//   (void)events().bind(port, &on_event, &state);
//   events_enable();
//   while (!state.done) { events_disable(); if (state.done) break; block(); }
//
// Concurrency: single-vCPU guests (vCPU 0). The handler table changes only with events
// masked or before events_enable().
#pragma once

#include <cstdint>

#include "pvkit/base/status.h"
#include "pvkit/guest/event_dispatch.h"
#include "pvkit/guest/hypercall.h"
#include "pvkit/guest/layout.h"
#include "pvkit/guest/memory.h"
#include "pvkit/guest/xen_boot_abi.h"
#include "pvkit/guest/xen_shared_info_abi.h"

extern "C" {
/// Assembly entry points of the guest runtime (guest/runtime/upcall.S).
void pvkit_guest_hypervisor_callback();
/// The failsafe callback entry (registered with CALLBACKTYPE_failsafe).
void pvkit_guest_failsafe_callback();
}

namespace pvkit::guest {

/// Ports a pvkit guest can bind handlers to.
inline constexpr std::size_t kGuestEventPorts = 1024;
/// The dispatcher type the guest runtime uses (kGuestEventPorts ports).
using GuestEventDispatcher = EventDispatcher<kGuestEventPorts>;

namespace detail {
inline constinit GuestEventDispatcher g_events{};
inline constinit xen::SharedInfo* g_shared_info = nullptr;
inline constinit PageSlot g_shared_info_slot{};
}  // namespace detail

/// The guest's event dispatcher.
inline GuestEventDispatcher& events() { return detail::g_events; }
/// The mapped shared_info page (nullptr before init_events).
inline xen::SharedInfo* shared_info() { return detail::g_shared_info; }
/// vCPU 0's vcpu_info (requires init_events).
inline xen::VcpuInfo& vcpu0() { return detail::g_shared_info->vcpu_info[0]; }

/// Maps shared_info and registers the event and failsafe callbacks. Events stay masked.
inline Status init_events(const xen::StartInfo& si) {
  if (detail::g_shared_info == nullptr) {
    if (auto s = map_frame(&detail::g_shared_info_slot, si.shared_info >> kPageShift, true); !s) {
      return s;
    }
    detail::g_shared_info = reinterpret_cast<xen::SharedInfo*>(&detail::g_shared_info_slot);
  }
  __atomic_store_n(&vcpu0().evtchn_upcall_mask, std::uint8_t{1}, __ATOMIC_SEQ_CST);
  const xen::CallbackRegister event{xen::kCallbackTypeEvent, 0,
                                    va_of(reinterpret_cast<const void*>(&pvkit_guest_hypervisor_callback))};
  const xen::CallbackRegister failsafe{xen::kCallbackTypeFailsafe, 0,
                                       va_of(reinterpret_cast<const void*>(&pvkit_guest_failsafe_callback))};
  long rc = HYPERVISOR_callback_op(xen::kCallbackOpRegister, &event);
  if (rc == 0) rc = HYPERVISOR_callback_op(xen::kCallbackOpRegister, &failsafe);
  if (rc == -static_cast<long>(Errno::NoSys)) {
    rc = HYPERVISOR_set_callbacks(event.address, failsafe.address, 0);
  }
  return status_from_rc(rc);
}

/// Masks event upcalls on vCPU 0 ("cli").
inline void events_disable() {
  __atomic_store_n(&vcpu0().evtchn_upcall_mask, std::uint8_t{1}, __ATOMIC_SEQ_CST);
}

/// Unmasks event upcalls on vCPU 0 ("sti"); if an upcall became pending while masked, any
/// hypercall makes the hypervisor deliver it on the way back.
inline void events_enable() {
  __atomic_store_n(&vcpu0().evtchn_upcall_mask, std::uint8_t{0}, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&vcpu0().evtchn_upcall_pending, __ATOMIC_SEQ_CST) != 0) {
    xen::FeatureInfo probe{0, 0};
    (void)HYPERVISOR_xen_version(xen::kXenVerGetFeatures, &probe);
  }
}

}  // namespace pvkit::guest
