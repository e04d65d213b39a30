// pvkit/guest/runtime.h — the contract between the guest runtime (guest/runtime/) and a guest
// kernel.
//
// What it is: a kernel defines `int guest_main(const pvkit::guest::xen::StartInfo&)`; the
// runtime's entry stub calls it on a 16 KiB stack with events masked, the hypercall page
// filled and nothing else set up. Returning 0 shuts the domain down with SHUTDOWN_poweroff,
// anything else with SHUTDOWN_crash. `start_info()` returns the same page later; `panic()`
// prints a message and crashes the domain.
//
// How to use it:
//   int guest_main(const pvkit::guest::xen::StartInfo& si) { pvkit::guest::print("hi\n"); return 0; }
//   pvkit_guest(name = "hello", srcs = ["hello.cc"])      # guest/guest.bzl
//
// Concurrency: guest_main runs on vCPU 0 only.
#pragma once

#include "pvkit/guest/xen_boot_abi.h"

/// The kernel's main function (defined by each guest kernel).
int guest_main(const pvkit::guest::xen::StartInfo& start_info);

namespace pvkit::guest {

namespace detail {
inline constinit const xen::StartInfo* g_start_info = nullptr;
}  // namespace detail

/// The start_info page the kernel was entered with.
inline const xen::StartInfo& start_info() { return *detail::g_start_info; }

/// Prints "PANIC: msg" and shuts the domain down with SHUTDOWN_crash.
[[noreturn]] void panic(const char* msg);

}  // namespace pvkit::guest
