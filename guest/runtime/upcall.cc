// pvkit guest runtime: the C++ end of the event upcall (guest/runtime/upcall.S).
//
// Kept apart from start.cc so that host tests can link upcall.S and this file against a fake
// hypercall page and drive the whole upcall path (//guest/test:runtime_test).
#include "pvkit/guest/events.h"

extern "C" {

// Called by pvkit_guest_hypervisor_callback (upcall.S) with events masked, on an aligned stack.
void pvkit_guest_event_upcall() {
  pvkit::guest::xen::SharedInfo* s = pvkit::guest::shared_info();
  if (s == nullptr) return;  // cannot happen: the callback is registered after the mapping
  (void)pvkit::guest::events().dispatch(*s, s->vcpu_info[0]);
}

}  // extern "C"
