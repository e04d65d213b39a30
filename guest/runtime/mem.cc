// pvkit guest runtime: abort() and the C++ ABI hooks that must never be needed.
//
// abort (libc++ calls it where a hosted build would throw) reports and crashes the guest
// through SCHEDOP_shutdown(SHUTDOWN_crash). The mem*/str* functions come from
// //arch/x86:string, shared with the hypervisor image.
#include "pvkit/guest/runtime.h"

extern "C" {

// (Declared by the freestanding C headers; panic() never returns.)
void abort(void) { pvkit::guest::panic("abort() called"); }

// No virtual functions in pvkit guests; a mistake panics instead of failing to link oddly.
[[noreturn]] void __cxa_pure_virtual() { pvkit::guest::panic("pure virtual call"); }

}  // extern "C"
