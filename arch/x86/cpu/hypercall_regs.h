// pvkit/arch/x86/cpu/hypercall_regs.h — between a SYSCALL frame and lib/hypercall's
// HypercallArgs.
//
// What it is: `hypercall_args(frame)` reads RAX and RDI RSI RDX R10 R8 (Xen's x86-64 PV
// hypercall registers). Two ways back, matching lib/hypercall's EntryResult actions:
// `return_from_hypercall(frame, rax)` (kReturnToGuest) puts the result in RAX;
// `reexecute_hypercall(frame, args)` (kReexecute) writes the possibly rewritten arguments back
// to their registers, sets RAX = the hypercall number and moves RIP back over the 2-byte
// `syscall` (0F 05) so the guest re-executes the call. `complete_hypercall(frame, args,
// result)` picks one from a raw result (-85 = Errno::Restart, never seen by a guest).
//
// How to use it (in the image's syscall hook):
//     HypercallArgs a = hypercall_args(f);
//     EntryResult r = hypercall_entry<Table>(ctx, a);
//     if (r.action == EntryAction::kReexecute) reexecute_hypercall(f, a);
//     else if (r.action == EntryAction::kReturnToGuest) return_from_hypercall(f, r.rax);
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

/// The hypercall number (RAX) and arguments (RDI RSI RDX R10 R8) of a SYSCALL frame.
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

/// The call is done: `rax` (a result >= 0 or -errno) goes to the guest's RAX.
inline void return_from_hypercall(TrapFrame& f, std::int64_t rax) { f.rax = static_cast<std::uint64_t>(rax); }

/// The call continues later: arguments back to their registers, RAX = number, RIP -= 2.
inline void reexecute_hypercall(TrapFrame& f, const HypercallArgs& a) {
  f.rax = a.nr;
  f.rdi = a.a[0];
  f.rsi = a.a[1];
  f.rdx = a.a[2];
  f.r10 = a.a[3];
  f.r8 = a.a[4];
  f.rip -= kSyscallInsnLen;
}

/// Completes a hypercall with `result`: re-executes it for -ERESTART (arguments rewritten), else returns the result in RAX.
inline void complete_hypercall(TrapFrame& f, const HypercallArgs& a, std::int64_t result) {
  if (is_restart(result)) {
    reexecute_hypercall(f, a);
  } else {
    return_from_hypercall(f, result);
  }
}

}  // namespace pvkit::x86
