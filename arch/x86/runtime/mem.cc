// pvkit hypervisor image runtime: abort() and the C++ ABI hooks that must never be needed.
//
// abort (libc++ calls it where a hosted build would throw) and __cxa_pure_virtual end in the
// platform's panic. The mem*/str* functions are in string.cc, shared with guest kernels.

extern "C" {

// Defined by the image's platform: print a panic message and leave QEMU with failure.
[[noreturn]] void pvkit_panic(const char* msg);

[[noreturn]] void abort(void) { pvkit_panic("abort() called"); }

// Pure virtual calls and guard functions must never be needed (no virtuals, no
// thread-safe statics); define them so a mistake panics instead of failing to link oddly.
[[noreturn]] void __cxa_pure_virtual() { pvkit_panic("pure virtual call"); }

}  // extern "C"
