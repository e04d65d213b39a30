// pvkit/arch/x86/io.h — x86 port I/O and a few privileged instructions, as inline functions.
//
// What it is: inb/outb/inl/outl, rdmsr/wrmsr, cr reads/writes, pause/hlt, invlpg, rdtsc.
// How to use it: only from the bare-metal image (ring 0); host code never includes this.
// Concurrency: each call is one instruction; callers provide their own ordering.
#pragma once

#include <cstdint>

namespace pvkit::x86 {

/// Writes a byte to an I/O port.
inline void outb(std::uint16_t port, std::uint8_t v) { asm volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
/// Writes a 32-bit value to an I/O port.
inline void outl(std::uint16_t port, std::uint32_t v) { asm volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
/// Reads a byte from an I/O port.
inline std::uint8_t inb(std::uint16_t port) {
  std::uint8_t v;
  asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}
/// Reads a model-specific register.
inline std::uint64_t rdmsr(std::uint32_t msr) {
  std::uint32_t lo, hi;
  asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
  return (std::uint64_t{hi} << 32) | lo;
}
/// Writes a model-specific register.
inline void wrmsr(std::uint32_t msr, std::uint64_t v) {
  asm volatile("wrmsr" ::"c"(msr), "a"(static_cast<std::uint32_t>(v)), "d"(static_cast<std::uint32_t>(v >> 32)));
}
/// Reads CR3.
inline std::uint64_t read_cr3() {
  std::uint64_t v;
  asm volatile("mov %%cr3, %0" : "=r"(v));
  return v;
}
/// Writes CR3 (switches address space, flushes non-global TLB entries).
inline void write_cr3(std::uint64_t v) { asm volatile("mov %0, %%cr3" ::"r"(v) : "memory"); }
/// Invalidates the TLB entry for `va`.
inline void invlpg(std::uint64_t va) { asm volatile("invlpg (%0)" ::"r"(va) : "memory"); }
/// Reads the time-stamp counter.
inline std::uint64_t rdtsc() {
  std::uint32_t lo, hi;
  asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return (std::uint64_t{hi} << 32) | lo;
}
/// A spin-loop hint (PAUSE).
inline void cpu_relax() { asm volatile("pause"); }
/// Stops this CPU for good (interrupts off, HLT in a loop).
[[noreturn]] inline void halt_forever() {
  for (;;) asm volatile("cli; hlt");
}

}  // namespace pvkit::x86
