// pvkit/arch/x86/cpu/internal.h — what the CPU layer's own source files share (not an API).
//
// What it is: the functions cpu/cpu.cc, mm/hv_paging.cc, apic/lapic.cc and cpu/smp.cc call in
// each other. Images use cpu/cpu.h and cpu/smp.h instead.
// Concurrency: as documented at each definition.
#pragma once

#include <cstdint>

#include "pvkit/arch/x86/cpu/percpu.h"

namespace pvkit::x86::detail {

// mm/hv_paging.cc
void paging_init();         // the hypervisor's own L4 (hypervisor slots only), loaded in CR3
void harden_hv_mappings();  // W^X for the image, NX direct map, stack guard pages unmapped
// cpu/cpu.cc
bool is_stack_guard(std::uint64_t va);
PerCpu& cpu_block(unsigned id);
// apic/lapic.cc
void lapic_eoi();
void lapic_enable_this_cpu(PerCpu& pc);  // on an AP, if the boot CPU enabled its LAPIC
void handle_tlb_flush_ipi(PerCpu& pc);   // kVecTlbFlush: flush, publish, EOI

}  // namespace pvkit::x86::detail
