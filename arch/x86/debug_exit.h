// pvkit/arch/x86/debug_exit.h — leaving QEMU through the isa-debug-exit device.
//
// What it is: QEMU's `-device isa-debug-exit,iobase=0xf4,iosize=0x04` makes a write of v to
// port 0xf4 exit QEMU with status (v << 1) | 1. pvkit images use kSuccess for a passing run
// and kFailure otherwise, so the runner can tell them apart from status 0 (no device reached:
// triple fault under -no-reboot) and from a timeout.
// How to use it: `qemu_exit(QemuExit::kSuccess);` (does not return).
// Concurrency: ends the machine; callers make sure the log is flushed first.
#pragma once

#include <cstdint>

#include "pvkit/arch/x86/io.h"

namespace pvkit::x86 {

/// Codes written to QEMU's isa-debug-exit device (QEMU exits with code*2+1).
enum class QemuExit : std::uint32_t {
  kSuccess = 0x10,  // QEMU exits with status 33
  kFailure = 0x11,  // QEMU exits with status 35
};

/// Leaves QEMU through isa-debug-exit (halts if the device is absent).
[[noreturn]] inline void qemu_exit(QemuExit code) {
  outl(0xF4, static_cast<std::uint32_t>(code));
  halt_forever();  // without the device: stop here (the runner's timeout catches it)
}

}  // namespace pvkit::x86
