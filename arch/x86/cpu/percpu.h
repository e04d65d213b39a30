// pvkit/arch/x86/cpu/percpu.h — the per-CPU block the entry code reaches through GS.
//
// What it is: `PerCpu`. While the hypervisor runs, IA32_GS_BASE points at the CPU's PerCpu
// and IA32_KERNEL_GS_BASE holds the guest's GS base; ring-3 code runs with the two swapped.
// The swapgs discipline (arch/x86/entry/entry.S):
//   - SYSCALL entry: always swapgs (SYSCALL only comes from ring 3);
//   - exception/interrupt entry: swapgs iff the saved CS is ring 3, and again on the way out;
//   - NMI / #DF / #MC (IST, may hit anywhere, even between SYSCALL and its swapgs): compare
//     IA32_GS_BASE with the PerCpu pointer stored at the top of the IST stack and swapgs only
//     if they differ ("paranoid" entry).
// The first fields are read by assembly at fixed offsets (PVKIT_PERCPU_*).
//
// How to use it: `percpu()` (arch/x86/cpu/cpu.h) on the image; fields below `host_rsp` are
// for C++ only.
//
// Concurrency: each CPU touches only its own block (interrupts off in the hypervisor).
#pragma once

#define PVKIT_PERCPU_SELF 0
#define PVKIT_PERCPU_KSTACK_TOP 8
#define PVKIT_PERCPU_USER_RSP 16
#define PVKIT_PERCPU_HOST_RSP 24
/// CPUs pvkit sets up (boot CPU included); further CPUs stay parked.
#define PVKIT_MAX_CPUS 4

#ifndef __ASSEMBLER__
#include <cstddef>
#include <cstdint>

namespace pvkit::x86 {

inline constexpr unsigned kMaxCpus = PVKIT_MAX_CPUS;

struct TssBlock;
struct Gdt;

/// This CPU's block, addressed through %gs while in the hypervisor.
struct PerCpu {
  PerCpu* self;               // %gs:0 -> this block
  std::uint64_t kstack_top;   // the stack for entries from ring 3 (== TSS.RSP0)
  std::uint64_t user_rsp;     // SYSCALL entry's scratch slot for the guest RSP
  std::uint64_t host_rsp;     // run_user(): the hypervisor context to return to, 0 if none
  std::uint32_t cpu_id;
  std::uint32_t reserved;
  TssBlock* tss;
  Gdt* gdt;
  std::uint64_t fault_cr2;     // CR2 read at the last #PF entry
  std::uint64_t timer_ticks;   // LAPIC timer interrupts taken
  std::uint64_t nmi_count;     // NMIs taken
  std::uint64_t spurious_count;
  std::uint64_t sysret_returns;  // returns to ring 3 through SYSRET
  std::uint64_t iret_returns;    // returns to ring 3 through IRETQ
  std::uint64_t fixups;          // ring-0 faults recovered through the exception table
  std::uint32_t apic_id;         // this CPU's LAPIC ID (IPI destination)
  std::uint32_t reserved2;
  std::uint64_t ipi_count;       // kVecIpi interrupts taken
  std::uint64_t tlb_flush_gen;   // the last shootdown generation this CPU completed
};
static_assert(offsetof(PerCpu, self) == PVKIT_PERCPU_SELF);
static_assert(offsetof(PerCpu, kstack_top) == PVKIT_PERCPU_KSTACK_TOP);
static_assert(offsetof(PerCpu, user_rsp) == PVKIT_PERCPU_USER_RSP);
static_assert(offsetof(PerCpu, host_rsp) == PVKIT_PERCPU_HOST_RSP);

}  // namespace pvkit::x86
#endif
