// pvkit/arch/x86/cpu/smp.h — starting the other CPUs (application processors).
//
// What it is: `start_aps(ap_main, expected)` wakes every other CPU with INIT-SIPI-SIPI
// (broadcast to all but self). Each AP runs the real-mode trampoline
// (arch/x86/entry/ap_trampoline.S, copied to physical kApTrampolinePhys), enters long mode on
// a bootstrap L4 that shares the hypervisor slots and identity-maps only the trampoline page,
// jumps to the upper half, takes a ticket for its CPU number (1, 2, ...) and its own boot
// stack, then `cpu_init_ap(n)`: its own GDT, TSS (RSP0, IST, I/O bitmap), GS block, SYSCALL
// MSRs, CR0/CR4, the hypervisor's L4 and LAPIC. Then it calls `ap_main(n)` with interrupts off;
// when that returns the AP halts. At most kMaxCpus CPUs are used; extra ones park.
//
// How to use it (boot CPU, after cpu_init()):
//     unsigned n = x86::start_aps(&my_ap_main, /*expected=*/2);   // APs now online
//
// Concurrency: start_aps is called once, by the boot CPU. `cpus_online()` may be read anywhere.
#pragma once

#define PVKIT_AP_TRAMPOLINE_PHYS 0x70000

#ifndef __ASSEMBLER__
#include <cstdint>

namespace pvkit::x86 {

/// Where the trampoline is copied (below 1 MiB, page aligned: SIPI vector = address >> 12).
inline constexpr std::uint64_t kApTrampolinePhys = PVKIT_AP_TRAMPOLINE_PHYS;
static_assert(kApTrampolinePhys % 4096 == 0 && kApTrampolinePhys < 0x100000);

/// Starts the APs and waits (bounded) until `expected` of them are online; returns how many
/// came up. Maps and enables the LAPIC if that was not done yet.
unsigned start_aps(void (*ap_main)(unsigned cpu), unsigned expected);
/// CPUs set up so far, the boot CPU included.
unsigned cpus_online();

// Internal to the CPU layer.
void cpu_init_ap(unsigned id);
/// True if `va` is inside an application processor's stack guard page.
bool is_ap_stack_guard(std::uint64_t va);

}  // namespace pvkit::x86
#endif
