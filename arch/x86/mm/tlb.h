// pvkit/arch/x86/mm/tlb.h — TLB flush primitives for the hypervisor (PCID is never enabled).
//
// What it is: `flush_tlb_page(va)` (INVLPG: one page, global entries included) and
// `flush_tlb_all()` (CR3 reload, with CR4.PGE toggled when set so global entries go too),
// `flush_tlb_non_global()` (plain CR3 reload).
// How to use it: after removing or downgrading a mapping that may be cached on this CPU.
// Concurrency: local CPU only; remote CPUs need an IPI (not yet provided).
#pragma once

#include <cstdint>

#include "pvkit/arch/x86/cpu/msr.h"
#include "pvkit/arch/x86/io.h"

namespace pvkit::x86 {

/// Flushes one page's TLB entry on this CPU.
inline void flush_tlb_page(std::uint64_t va) { invlpg(va); }

/// Flushes this CPU's non-global TLB entries (CR3 reload).
inline void flush_tlb_non_global() { write_cr3(read_cr3()); }

/// Flushes this CPU's whole TLB, global entries included (CR4.PGE toggle).
inline void flush_tlb_all() {
  std::uint64_t cr4;
  asm volatile("mov %%cr4, %0" : "=r"(cr4));
  if (Cr4::PageGlobal::test(cr4)) {
    asm volatile("mov %0, %%cr4" ::"r"(Cr4::PageGlobal::set(cr4, false)) : "memory");
    asm volatile("mov %0, %%cr4" ::"r"(cr4) : "memory");
  } else {
    flush_tlb_non_global();
  }
}

}  // namespace pvkit::x86
