// pvkit/arch/x86/cpu/trap_dump.h — the register dump printed when the hypervisor itself faults.
//
// What it is: `dump_trap(frame, regs, sink)` writes a fixed, greppable report: the vector
// (number and mnemonic), error code, where it happened (ring, RIP, CS), every general
// register, RFLAGS, RSP/SS, CR0/CR2/CR3/CR4. `sink(const char*, size_t)` receives the text line
// by line (the image sends it to the serial console, host tests to a string).
//
// Example (one line each):
//   pvkit: hypervisor fault: vector 14 (#PF) error 0x0000000000000002 in ring 0
//   rip=ffff82d000104f2a cs=e008 rflags=0000000000010046 rsp=ffff82d00010ff20 ss=e010
//   rax=... rbx=... rcx=... / rdx rsi rdi / rbp r8 r9 / r10 r11 r12 / r13 r14 r15
//   cr0=... cr2=... cr3=... cr4=...
//
// How to use it: from the fatal-fault path only; no locks are taken here.
// Concurrency: pure formatting into a stack buffer.
#pragma once

#include <cstddef>
#include <cstdint>

#include "pvkit/arch/x86/cpu/frame.h"
#include "pvkit/arch/x86/cpu/idt.h"

namespace pvkit::x86 {

/// Control registers captured at the fault.
struct ControlRegs {
  std::uint64_t cr0, cr2, cr3, cr4;
};

namespace dump_detail {
struct Line {
  char buf[160];
  std::size_t n = 0;
  void str(const char* s) {
    while (*s != '\0' && n + 1 < sizeof buf) buf[n++] = *s++;
  }
  void hex(std::uint64_t v, int digits) {
    for (int i = digits - 1; i >= 0; --i) {
      const unsigned d = static_cast<unsigned>((v >> (i * 4)) & 0xF);
      if (n + 1 < sizeof buf) buf[n++] = static_cast<char>(d < 10 ? '0' + d : 'a' + d - 10);
    }
  }
  void dec(std::uint64_t v) {
    char t[24];
    int k = 0;
    do {
      t[k++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (k > 0 && n + 1 < sizeof buf) buf[n++] = t[--k];
  }
  void reg(const char* name, std::uint64_t v, int digits = 16) {
    if (n != 0) str(" ");
    str(name);
    str("=");
    hex(v, digits);
  }
  template <typename Sink>
  void flush(Sink& sink) {
    str("\n");
    sink(static_cast<const char*>(buf), n);
    n = 0;
  }
};
}  // namespace dump_detail

/// Writes the fault dump of frame `f` and control registers `cr` line by line to `sink`.
template <typename Sink>
void dump_trap(const TrapFrame& f, const ControlRegs& cr, Sink&& sink) {
  dump_detail::Line l;
  l.str("pvkit: hypervisor fault: vector ");
  l.dec(f.vector);
  l.str(" (");
  l.str(vector_mnemonic(static_cast<unsigned>(f.vector)));
  l.str(") error 0x");
  l.hex(f.error_code, 16);
  l.str(" in ring ");
  l.dec(f.cs & 3);
  l.flush(sink);
  l.reg("rip", f.rip);
  l.reg("cs", f.cs, 4);
  l.reg("rflags", f.rflags);
  l.reg("rsp", f.rsp);
  l.reg("ss", f.ss, 4);
  l.flush(sink);
  l.reg("rax", f.rax);
  l.reg("rbx", f.rbx);
  l.reg("rcx", f.rcx);
  l.reg("rdx", f.rdx);
  l.flush(sink);
  l.reg("rsi", f.rsi);
  l.reg("rdi", f.rdi);
  l.reg("rbp", f.rbp);
  l.reg("r8 ", f.r8);
  l.flush(sink);
  l.reg("r9 ", f.r9);
  l.reg("r10", f.r10);
  l.reg("r11", f.r11);
  l.reg("r12", f.r12);
  l.flush(sink);
  l.reg("r13", f.r13);
  l.reg("r14", f.r14);
  l.reg("r15", f.r15);
  l.flush(sink);
  l.reg("cr0", cr.cr0);
  l.reg("cr2", cr.cr2);
  l.reg("cr3", cr.cr3);
  l.reg("cr4", cr.cr4);
  l.flush(sink);
}

}  // namespace pvkit::x86
