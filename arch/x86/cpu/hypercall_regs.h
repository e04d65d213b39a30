// pvkit/arch/x86/cpu/hypercall_regs.h — between a SYSCALL frame and lib/hypercall's
// HypercallArgs.
//
// What it is: `hypercall_args(frame)` reads RAX and RDI RSI RDX R10 R8 (Xen's x86-64 PV
// hypercall registers); `complete_hypercall(frame, args, result)` writes the outcome back:
// a normal result goes to RAX; Errno::Restart (-85, never seen by a guest) instead writes the
// possibly rewritten arguments back to their registers, keeps RAX = the hypercall number and
// moves RIP back over the 2-byte `syscall` (0F 05) so the guest re-executes the call.
//
// How to use it (in the image's syscall hook):
//     HypercallArgs a = hypercall_args(f);
//     complete_hypercall(f, a, dispatcher.dispatch(ctx, a));
//
// Concurrency: operates on the calling CPU's frame.
#pragma once

#include <cstdint>

#include "pvkit/arch/x86/cpu/frame.h"
#include "pvkit/base/errno.h"
#include "pvkit/hypercall/args.h"

namespace pvkit::x86 {

/// Length of the `syscall` instruction (0F 05).
inline constexpr std::uint64_t kSyscallInsnLen = 2;

inline HypercallArgs hypercall_args(const TrapFrame& f) {
  HypercallArgs a;
  a.nr = f.rax;
  a.a = {f.rdi, f.rsi, f.rdx, f.r10, f.r8};
  return a;
}

/// Whether `result` asks for the call to be re-executed.
inline constexpr bool is_restart(std::int64_t result) {
  return result == -static_cast<std::int64_t>(Errno::Restart);
}

inline void complete_hypercall(TrapFrame& f, const HypercallArgs& a, std::int64_t result) {
  if (is_restart(result)) {
    f.rax = a.nr;
    f.rdi = a.a[0];
    f.rsi = a.a[1];
    f.rdx = a.a[2];
    f.r10 = a.a[3];
    f.r8 = a.a[4];
    f.rip -= kSyscallInsnLen;
    return;
  }
  f.rax = static_cast<std::uint64_t>(result);
}

}  // namespace pvkit::x86
