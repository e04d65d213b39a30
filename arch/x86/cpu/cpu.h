// pvkit/arch/x86/cpu/cpu.h — the x86-64 CPU layer of the bare-metal image: descriptor tables,
// exception/interrupt/SYSCALL entry, ring-3 entry and exit, the hypervisor's page tables and
// the LAPIC timer.
//
// What it is: `cpu_init()` (called by platforms/pc before pvkit_main) loads pvkit's GDT
// (segment.h), TSS with RSP0 and IST stacks and an all-denied I/O bitmap (tss.h), IDT
// (idt.h), per-CPU data in GS (percpu.h), IA32_STAR/LSTAR/CSTAR/FMASK with EFER.SCE and NXE,
// CR0.WP and CR4.SMEP (when the CPU has it), masks the legacy PICs, switches to the
// hypervisor's own L4 (the hypervisor slots only: the boot identity map is gone, so a NULL
// dereference faults) and makes the hypervisor W^X (text RX, rodata R+NX, data/bss and the rest
// of the direct map RW+NX). Every entry saves a TrapFrame (frame.h) and goes to C++:
//   - an exception in the hypervisor (ring 0) prints the register dump (trap_dump.h) and ends
//     the run through pvkit_panic (debug-exit failure code);
//   - an exception from ring 3 goes to `EntryHooks::user_fault` (later: bounce to the guest
//     kernel's trap table, or crash only that domain);
//   - SYSCALL from ring 3 goes to `EntryHooks::syscall` (the hypercall dispatcher; see
//     hypercall_regs.h for the registers and re-execution). With `EntryHooks::fast_syscall`
//     set, the 64-bit SYSCALL entry saves only the caller-saved registers and calls it with
//     the hypercall's registers; when it answers kSysret the entry restores them and SYSRETs
//     at once (the fast path: no TrapFrame, no scheduler). Otherwise the entry completes the
//     TrapFrame (the callee-saved registers are still the guest's) and calls
//     `syscall_finish` (kFinish: the call ran, the platform has more to do) or `syscall`
//     (kNotHandled: nothing ran) on it, then leaves through the ordinary exit;
//   - the LAPIC timer goes to `EntryHooks::timer` (after EOI).
// When a hook returns, the (possibly edited) frame is resumed; a ring-3 frame is checked
// first (frame.h: a non-canonical RIP or a non-guest selector is refused and reported to
// `user_fault` as kVecBadUserReturn) and resumed by SYSRET when that is exact, else IRETQ.
// A hook switches vCPUs by copying frames (save the live one, load another): there is one
// hypervisor stack per CPU and guest state lives in the frames.
//
// How to use it:
//     x86::set_entry_hooks({.syscall = &on_syscall, .user_fault = &on_fault, .timer = &on_tick});
//     TrapFrame f = x86::make_user_frame(entry_va, stack_va);
//     x86::write_cr3(space.root_phys());
//     x86::run_user(f);   // returns when a hook calls x86::leave_user()
//
// Concurrency: per-CPU state for up to kMaxCpus CPUs (other CPUs: cpu/smp.h); hooks are global
// and may run on several CPUs at once; every entry runs with interrupts off.
#pragma once

#include <cstdint>

#include "pvkit/arch/x86/apic/lapic.h"
#include "pvkit/arch/x86/cpu/frame.h"
#include "pvkit/arch/x86/cpu/percpu.h"
#include "pvkit/arch/x86/cpu/segment.h"
#include "pvkit/arch/x86/cpu/tss.h"
#include "pvkit/base/status.h"

namespace pvkit::x86 {

/// What `EntryHooks::fast_syscall` did (returned in RDX, next to the result in RAX).
enum class FastSyscall : std::uint64_t {
  kSysret = 0,      ///< done: RAX is the guest's result; restore and SYSRET straight away
  kFinish = 1,      ///< the call ran; `syscall_finish` completes it on a full TrapFrame
  kNotHandled = 2,  ///< nothing ran; `syscall` handles the call on a full TrapFrame
};

/// The fast hook's answer: RAX and what the entry code does next. With kSysret, `rax` is the
/// guest's result; otherwise it must be the hypercall number, which the entry code puts back
/// in the TrapFrame's RAX (it does not spend a store on saving RAX on the fast path).
struct FastSyscallResult {
  std::uint64_t rax;
  FastSyscall next;
};

/// The fast hook's arguments: RDI RSI RDX R10 R8 (Xen's argument registers) and RAX (the number).
using FastSyscallHook = FastSyscallResult (*)(std::uint64_t a0, std::uint64_t a1, std::uint64_t a2,
                                              std::uint64_t a3, std::uint64_t a4, std::uint64_t nr);

/// The image's handlers for entries from ring 3 and for the timer. Null hooks: a ring-3
/// exception or SYSCALL without a handler is fatal, a timer tick is just acknowledged.
struct EntryHooks {
  void (*syscall)(TrapFrame&) = nullptr;
  /// Optional fast path for 64-bit SYSCALL (see the header comment); needs `syscall_finish`.
  /// It runs on the hypervisor stack with interrupts off and must not switch vCPUs.
  FastSyscallHook fast_syscall = nullptr;
  /// Completes a call `fast_syscall` answered kFinish for; the frame's RAX still holds the
  /// hypercall number and every other register the guest's value at SYSCALL.
  void (*syscall_finish)(TrapFrame&) = nullptr;
  void (*user_fault)(TrapFrame&) = nullptr;
  void (*timer)(TrapFrame&) = nullptr;
  void (*ipi)(TrapFrame&) = nullptr;  // kVecIpi on this CPU (after EOI)
};

/// Sets up the boot CPU (see the header comment). Call once, before anything else uses it.
void cpu_init();
/// Installs the platform's hooks for SYSCALL, ring-3 faults, the timer and IPIs.
void set_entry_hooks(const EntryHooks& hooks);

/// This CPU's block (through GS).
PerCpu& percpu();
/// This CPU's TSS and I/O bitmap.
TssBlock& cpu_tss();
/// Physical address of the hypervisor's own L4 (slots 256-271 only); new address spaces
/// copy its hypervisor slots (mm/page_tables.h `create`).
std::uint64_t hv_root_phys();

/// Runs the ring-3 frame `frame` until a hook calls `leave_user()`; `frame` then holds the
/// guest state as the hook left it. Call with interrupts off, on the boot stack, with the
/// address space the frame needs already in CR3.
void run_user(TrapFrame& frame);
/// From a hook entered from ring 3 inside run_user(): abandon the hook and make run_user()
/// return. Panics if no run_user() is active.
[[noreturn]] void leave_user();

/// Maps the 4 KiB page at physical `pa` (above the boot direct map: MMIO) uncacheable at
/// hv_virt(pa), in the slot every address space shares. -EINVAL if `pa` is below the direct
/// map's end or unaligned, -ENOMEM if the hypervisor's table pool is exhausted.
[[nodiscard]] Status map_hv_mmio(std::uint64_t pa);

/// Maps and software-enables this CPU's LAPIC (spurious vector kVecSpurious).
[[nodiscard]] Status lapic_init();
/// The LAPIC (valid after lapic_init()).
const Lapic& lapic();
/// Periodic timer interrupts (vector kVecTimer) every `count` divided-by-16 bus ticks.
void timer_start(std::uint32_t count);
/// Stops the periodic timer.
void timer_stop();

/// Reads the faulting address saved at the last #PF entry on this CPU.
std::uint64_t last_fault_cr2();

/// Sends kVecIpi to CPU `cpu` (its EntryHooks::ipi runs there when it next takes interrupts).
void send_ipi(unsigned cpu);
/// Flushes this CPU's TLB and every other online CPU's (IPI kVecTlbFlush), waiting until all
/// have done so. The others must be able to take interrupts (ring 3, or idle with IF set);
/// returns false if one did not answer within a bounded wait.
[[nodiscard]] bool flush_tlb_all_cpus();

}  // namespace pvkit::x86
