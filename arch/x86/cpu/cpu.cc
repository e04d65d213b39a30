// Per-CPU descriptor tables and setup, entry dispatch and ring-3 exit checks (see cpu/cpu.h).
// The hypervisor's own paging lives in mm/hv_paging.cc, the LAPIC/timer/IPIs in apic/lapic.cc.
#include "pvkit/arch/x86/cpu/cpu.h"

#include <cstddef>
#include <cstdint>

#include "pvkit/arch/x86/boot/layout.h"
#include "pvkit/arch/x86/cpu/idt.h"
#include "pvkit/arch/x86/cpu/msr.h"
#include "pvkit/arch/x86/cpu/internal.h"
#include "pvkit/arch/x86/cpu/smp.h"
#include "pvkit/arch/x86/cpu/trap_dump.h"
#include "pvkit/arch/x86/io.h"
#include "pvkit/arch/x86/mm/tlb.h"
#include "pvkit/base/types.h"

extern "C" {
// Provided by the platform (platforms/pc): raw console output and the fatal exit.
void pvkit_arch_console_write(const char* s, std::size_t n);
[[noreturn]] void pvkit_panic(const char* msg);
// entry/entry.S
extern const std::uint64_t pvkit_x86_vector_stubs[256];
void pvkit_x86_syscall_entry();
void pvkit_x86_syscall32_entry();
void pvkit_x86_run_user(pvkit::x86::TrapFrame* frame);
[[noreturn]] void pvkit_x86_leave_user();
// boot/pvh_entry.S: the page below the boot stack.
__attribute__((visibility("hidden"))) extern const std::uint8_t pvkit_boot_stack_guard[];
// mm/guest_copy.S: (faulting instruction, recovery address) pairs.
struct PvkitExtableEntry {
  std::uint64_t insn, fixup;
};
__attribute__((visibility("hidden"))) extern const PvkitExtableEntry pvkit_x86_extable[];
__attribute__((visibility("hidden"))) extern const PvkitExtableEntry pvkit_x86_extable_end[];
// Called from entry/entry.S.
void pvkit_x86_trap(pvkit::x86::TrapFrame* f);
void pvkit_x86_syscall(pvkit::x86::TrapFrame* f);
pvkit::x86::FastSyscallResult pvkit_x86_syscall_unhandled(std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                                                          std::uint64_t, std::uint64_t);
// The 64-bit SYSCALL entry calls through this (never null: set_entry_hooks installs it).
constinit pvkit::x86::FastSyscallHook pvkit_x86_fast_syscall_hook = &pvkit_x86_syscall_unhandled;
void pvkit_x86_syscall_slow(pvkit::x86::TrapFrame* f, pvkit::x86::FastSyscall how);
int pvkit_x86_prepare_user_return(pvkit::x86::TrapFrame* f);
}

namespace pvkit::x86 {
namespace {

constexpr std::size_t kKernelStackSize = 16384;
constexpr std::size_t kIstStackSize = 8192;

// A stack with an unmapped guard page below it (see harden_hv_mappings): an overflow takes a
// #PF it cannot push, which becomes a #DF on its own IST stack and a clear panic.
template <std::size_t N>
struct alignas(4096) GuardedStack {
  std::uint8_t guard[4096];
  std::uint8_t bytes[N];
};
using Stack = GuardedStack<kKernelStackSize>;
using IstStack = GuardedStack<kIstStackSize>;

// Per-CPU state, indexed by pvkit's CPU number (0 = the boot CPU).
constinit PerCpu g_cpus[kMaxCpus]{};
constinit Gdt g_gdts[kMaxCpus]{};
constinit TssBlock g_tsss[kMaxCpus]{};
constinit Stack g_kstacks[kMaxCpus]{};
constinit IstStack g_ists[kMaxCpus][3]{};
constinit Idt g_idt{};
constinit EntryHooks g_hooks{};

struct [[gnu::packed]] DescriptorPointer {
  std::uint16_t limit;
  std::uint64_t base;
};

std::uint64_t read_cr0() {
  std::uint64_t v;
  asm volatile("mov %%cr0, %0" : "=r"(v));
  return v;
}
std::uint64_t read_cr2() {
  std::uint64_t v;
  asm volatile("mov %%cr2, %0" : "=r"(v));
  return v;
}
std::uint64_t read_cr4() {
  std::uint64_t v;
  asm volatile("mov %%cr4, %0" : "=r"(v));
  return v;
}
void write_cr0(std::uint64_t v) { asm volatile("mov %0, %%cr0" ::"r"(v) : "memory"); }
void write_cr4(std::uint64_t v) { asm volatile("mov %0, %%cr4" ::"r"(v) : "memory"); }


[[noreturn]] void fatal(const TrapFrame& f, const char* why) {
  const ControlRegs cr{read_cr0(), f.vector == kVecPageFault ? percpu().fault_cr2 : read_cr2(),
                       read_cr3(), read_cr4()};
  dump_trap(f, cr, [](const char* s, std::size_t n) { pvkit_arch_console_write(s, n); });
  pvkit_panic(why);
}

void cpuid(std::uint32_t leaf, std::uint32_t sub, std::uint32_t out[4]) {
  asm volatile("cpuid" : "=a"(out[0]), "=b"(out[1]), "=c"(out[2]), "=d"(out[3]) : "a"(leaf), "c"(sub));
}

bool cpu_has_smep() {
  std::uint32_t r[4];
  cpuid(0, 0, r);
  if (r[0] < 7) return false;
  cpuid(7, 0, r);
  return (r[1] & (1u << 7)) != 0;  // CPUID.(EAX=7,ECX=0):EBX.SMEP[bit 7]
}

// Moves the 8259 PICs' vectors away from the exceptions and masks every line.
void pic_remap_and_mask() {
  outb(0x20, 0x11);
  outb(0xA0, 0x11);
  outb(0x21, kVecPicBase);
  outb(0xA1, kVecPicBase + 8);
  outb(0x21, 0x04);
  outb(0xA1, 0x02);
  outb(0x21, 0x01);
  outb(0xA1, 0x01);
  outb(0x21, 0xFF);
  outb(0xA1, 0xFF);
}

void load_tables(const Gdt& gdt) {
  const DescriptorPointer gdtr{Gdt::limit(), reinterpret_cast<std::uint64_t>(&gdt)};
  asm volatile("lgdt %0" ::"m"(gdtr) : "memory");
  // Reload CS with a far return, then the data segments. GS/FS get the null selector before
  // their base MSRs are written (loading a selector may clear the base).
  asm volatile(
      "pushq %[cs]\n\t"
      "leaq 1f(%%rip), %%rax\n\t"
      "pushq %%rax\n\t"
      "lretq\n"
      "1:\n\t"
      "movl %[ds], %%eax\n\t"
      "movl %%eax, %%ds\n\t"
      "movl %%eax, %%es\n\t"
      "movl %%eax, %%ss\n\t"
      "xorl %%eax, %%eax\n\t"
      "movl %%eax, %%fs\n\t"
      "movl %%eax, %%gs\n\t"
      :
      : [cs] "i"(PVKIT_SEL_HV_CS), [ds] "i"(PVKIT_SEL_HV_DS)
      : "rax", "memory");
  asm volatile("ltr %w0" ::"r"(kTss.raw()) : "memory");
  const DescriptorPointer idtr{Idt::limit(), reinterpret_cast<std::uint64_t>(&g_idt)};
  asm volatile("lidt %0" ::"m"(idtr) : "memory");
}

// Everything one CPU needs for itself: its TSS (RSP0, IST stacks, I/O bitmap), GDT, the
// shared IDT, GS, the SYSCALL MSRs, EFER, CR0.WP, CR4.SMEP.
void setup_cpu(unsigned id) {
  PerCpu& pc = g_cpus[id];
  TssBlock& tss = g_tsss[id];
  Gdt& gdt = g_gdts[id];
  pc.self = &pc;
  pc.kstack_top = reinterpret_cast<std::uint64_t>(g_kstacks[id].bytes + kKernelStackSize);
  pc.cpu_id = id;
  pc.tss = &tss;
  pc.gdt = &gdt;

  tss.init();
  tss.tss.rsp[0] = pc.kstack_top;
  for (unsigned i = 0; i < 3; ++i) {
    // The top 16 bytes hold the PerCpu pointer the paranoid entry compares GS against.
    auto* top = g_ists[id][i].bytes + kIstStackSize - 16;
    *reinterpret_cast<PerCpu**>(top) = &pc;
    tss.tss.ist[i] = reinterpret_cast<std::uint64_t>(top);
  }
  static_assert(kIstDoubleFault == 1 && kIstNmi == 2 && kIstMachineCheck == 3);
  gdt.init(reinterpret_cast<std::uint64_t>(&tss), TssBlock::kLimit);
  load_tables(gdt);

  wrmsr(kMsrGsBase, reinterpret_cast<std::uint64_t>(&pc));
  wrmsr(kMsrKernelGsBase, 0);
  wrmsr(kMsrFsBase, 0);
  wrmsr(kMsrSysenterCs, 0);  // SYSENTER from ring 3 raises #GP
  wrmsr(kMsrStar, star_msr_value());
  wrmsr(kMsrLstar, reinterpret_cast<std::uint64_t>(&pvkit_x86_syscall_entry));
  wrmsr(kMsrCstar, reinterpret_cast<std::uint64_t>(&pvkit_x86_syscall32_entry));
  wrmsr(kMsrFmask, kSyscallFlagMask);
  std::uint64_t efer = rdmsr(kMsrEfer);
  efer = Efer::SyscallEnable::set(efer, true);
  efer = Efer::NoExecuteEnable::set(efer, true);
  wrmsr(kMsrEfer, efer);

  write_cr0(Cr0::WriteProtect::set(read_cr0(), true));
  std::uint64_t cr4 = read_cr4();
  cr4 = Cr4::Pcid::set(cr4, false);
  if (cpu_has_smep()) cr4 = Cr4::Smep::set(cr4, true);  // the hypervisor never runs guest code
  write_cr4(cr4);
}

}  // namespace

namespace detail {

bool is_stack_guard(std::uint64_t va) {
  const auto a = [](const void* p) { return reinterpret_cast<std::uint64_t>(p); };
  if (va == a(pvkit_boot_stack_guard)) return true;
  for (unsigned c = 0; c < kMaxCpus; ++c) {
    if (va == a(g_kstacks[c].guard) || is_ap_stack_guard(va)) return true;
    for (const auto& s : g_ists[c]) {
      if (va == a(s.guard)) return true;
    }
  }
  return false;
}

PerCpu& cpu_block(unsigned id) { return g_cpus[id]; }

}  // namespace detail

void cpu_init() {
  for (unsigned v = 0; v < 256; ++v) g_idt.gates[v] = pvkit_gate_for(v, pvkit_x86_vector_stubs[v]);
  setup_cpu(0);
  pic_remap_and_mask();
  detail::paging_init();
  detail::harden_hv_mappings();
}

void cpu_init_ap(unsigned id) {
  write_cr3(hv_root_phys());  // leave the AP bootstrap tables (identity map of the trampoline)
  setup_cpu(id);
  detail::lapic_enable_this_cpu(g_cpus[id]);
}

void set_entry_hooks(const EntryHooks& hooks) {
  g_hooks = hooks;
  pvkit_x86_fast_syscall_hook = hooks.fast_syscall != nullptr ? hooks.fast_syscall : &pvkit_x86_syscall_unhandled;
}

PerCpu& percpu() {
  PerCpu* p;
  asm volatile("movq %%gs:0, %0" : "=r"(p));
  return *p;
}

TssBlock& cpu_tss() { return *percpu().tss; }

std::uint64_t last_fault_cr2() { return percpu().fault_cr2; }

void run_user(TrapFrame& frame) {
  PerCpu& pc = percpu();
  if (pc.host_rsp != 0) pvkit_panic("run_user: already running ring 3 on this CPU");
  auto* live = reinterpret_cast<TrapFrame*>(pc.kstack_top - sizeof(TrapFrame));
  *live = frame;
  pvkit_x86_run_user(live);
  frame = *live;
}

void leave_user() {
  if (percpu().host_rsp == 0) pvkit_panic("leave_user: no run_user() to return to");
  pvkit_x86_leave_user();
}

}  // namespace pvkit::x86

using pvkit::x86::TrapFrame;

extern "C" void pvkit_x86_trap(TrapFrame* f) {
  using namespace pvkit::x86;
  PerCpu& pc = percpu();
  const std::uint64_t v = f->vector;
  if (v == kVecPageFault) pc.fault_cr2 = read_cr2();
  if (v == kVecTimer) {
    ++pc.timer_ticks;
    detail::lapic_eoi();  // before the hook: it may switch frames or leave_user()
    if (g_hooks.timer != nullptr) g_hooks.timer(*f);
    return;
  }
  if (v == kVecTlbFlush) {
    detail::handle_tlb_flush_ipi(pc);
    return;
  }
  if (v == kVecIpi) {
    ++pc.ipi_count;
    detail::lapic_eoi();
    if (g_hooks.ipi != nullptr) g_hooks.ipi(*f);
    return;
  }
  if (v == kVecSpurious || v == kVecPicBase + 7 || v == kVecPicBase + 15) {
    ++pc.spurious_count;
    return;
  }
  if (v == kVecNmi) {
    ++pc.nmi_count;
    return;
  }
  if (v == kVecDoubleFault || v == kVecMachineCheck) fatal(*f, "double fault / machine check");
  if (!f->from_user() && (v == kVecPageFault || v == kVecGeneralProtection)) {
    // A guest-memory copy that faulted: resume at its recovery point (mm/guest_copy.h).
    for (const PvkitExtableEntry* e = pvkit_x86_extable; e < pvkit_x86_extable_end; ++e) {
      if (e->insn == f->rip) {
        f->rip = e->fixup;
        ++pc.fixups;
        return;
      }
    }
  }
  if (f->from_user()) {
    if (v < kNumExceptionVectors && g_hooks.user_fault != nullptr) {
      g_hooks.user_fault(*f);
      return;
    }
    fatal(*f, "unhandled exception from ring 3");
  }
  fatal(*f, "hypervisor-mode exception");
}

extern "C" void pvkit_x86_syscall(TrapFrame* f) {
  using namespace pvkit::x86;
  if (f->vector == kVecSyscall && g_hooks.syscall != nullptr) {
    g_hooks.syscall(*f);
    return;
  }
  // No hypercall entry for this mode: the guest sees #UD, as on a CPU without SYSCALL.
  f->vector = kVecInvalidOpcode;
  f->rip -= 2;
  if (g_hooks.user_fault == nullptr) fatal(*f, "SYSCALL without a handler");
  g_hooks.user_fault(*f);
}

extern "C" pvkit::x86::FastSyscallResult pvkit_x86_syscall_unhandled(std::uint64_t, std::uint64_t, std::uint64_t,
                                                                     std::uint64_t, std::uint64_t, std::uint64_t nr) {
  return {nr, pvkit::x86::FastSyscall::kNotHandled};
}

extern "C" void pvkit_x86_syscall_slow(TrapFrame* f, pvkit::x86::FastSyscall how) {
  using namespace pvkit::x86;
  if (how == FastSyscall::kFinish && g_hooks.syscall_finish != nullptr) {
    g_hooks.syscall_finish(*f);
    return;
  }
  if (how == FastSyscall::kFinish) fatal(*f, "fast SYSCALL hook without syscall_finish");
  pvkit_x86_syscall(f);
}

namespace {
// A frame a hook left unsafe: report it to the fault hook until it is fixed (at most 4 times).
[[gnu::cold, gnu::noinline]] void refuse_unsafe_frame(TrapFrame* f, pvkit::x86::UserReturnCheck why) {
  using namespace pvkit::x86;
  for (int tries = 0; why != UserReturnCheck::kOk; ++tries) {
    if (tries >= 4 || g_hooks.user_fault == nullptr) fatal(*f, "refusing to resume an unsafe ring-3 frame");
    f->vector = kVecBadUserReturn;
    f->error_code = static_cast<std::uint64_t>(why);
    g_hooks.user_fault(*f);
    why = check_user_return(*f);
  }
}
}  // namespace

extern "C" int pvkit_x86_prepare_user_return(TrapFrame* f) {
  using namespace pvkit::x86;
  if (const UserReturnCheck why = check_user_return(*f); why != UserReturnCheck::kOk) [[unlikely]] {
    refuse_unsafe_frame(f, why);
  }
  f->rflags = sanitize_user_rflags(f->rflags);
  PerCpu& pc = percpu();
  if (sysret_safe(*f)) {
    ++pc.sysret_returns;
    return 1;
  }
  ++pc.iret_returns;
  return 0;
}
