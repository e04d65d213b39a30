// The ring-3 test image: runs the programs of ring3_user.S in a user address space and checks
// what the CPU layer's hooks see. One mode per boot (append mode=...):
//   syscall    registers reach the syscall hook, results come back (SYSRET), a call restarted
//              three times re-executes with its rewritten argument (IRET), -ENOSYS for an
//              unknown number, callee-visible registers survive every round trip, GS swapped
//   badreturn  frames with a non-canonical RIP (SYSRET and IRET shapes), a ring-0 CS or a
//              non-canonical RSP are refused and reported to the fault hook; IOPL 3 from a
//              hook is sanitized away
//   faults     int3, #PF (unmapped, hypervisor page, read-only code, fetch from the
//              hypervisor), #GP (cli, int $0x80 decoded to vector 0x80), #UD reach the hook
//   io         the TSS I/O bitmap: allowed ports work, denied ones (incl. partial overlaps and
//              the trailing byte) fault into the hook
//   copy       the hypervisor copies from/to guest memory: good addresses work, unmapped,
//              read-only, partially mapped and hypervisor addresses answer -EFAULT (no panic)
//   xen        ring 3 makes real Xen hypercalls (xen_version, console_io) through
//              lib/hypercall's table and hypercall_entry: results, -EFAULT, -ENOSYS, and a
//              console write that continues (re-executes) chunk by chunk
//   bench      1000 xen_version(XENVER_version) round trips through lib/hypercall, timed by
//              ring 3 with rdtsc: under -icount that is an exact instruction count
//   fast       the 64-bit SYSCALL fast path (EntryHooks::fast_syscall): a kSysret answer comes
//              back with RIP/RCX and RFLAGS/R11 exact and every other register preserved; a
//              kFinish answer reaches syscall_finish with the full frame; kNotHandled reaches
//              the ordinary hook; a SYSCALL at 0x7FFFFFFFFFFE (non-canonical return RIP) never
//              reaches the fast hook and is refused instead of SYSRET (no ring-0 #GP)
//   timer      LAPIC timer interrupts preempt two spinning ring-3 tasks; the hook switches
//              between their frames and each task's registers stay its own
#include <cstdint>
#include <cstring>
#include <span>

#include "pvkit/arch/x86/cpu/cpu.h"
#include "pvkit/arch/x86/cpu/fault_decode.h"
#include "pvkit/arch/x86/cpu/hypercall_regs.h"
#include "pvkit/arch/x86/cpu/idt.h"
#include "pvkit/arch/x86/cpu/msr.h"
#include "pvkit/arch/x86/io.h"
#include "pvkit/arch/x86/mm/guest_copy.h"
#include "pvkit/arch/x86/mm/page_tables.h"
#include "pvkit/arch/x86/mm/static_page_pool.h"
#include "pvkit/hypercall/console_io.h"
#include "pvkit/hypercall/entry.h"
#include "pvkit/hypercall/table.h"
#include "pvkit/hypercall/xen_version.h"
#include "pvkit/platforms/pc/boot_info.h"
#include "pvkit/platforms/pc/ktest.h"
#include "pvkit/platforms/pc/log.h"

// The programs of ring3_user.S (hidden: linked into this image, addressed RIP-relative).
#define PVKIT_USER_SYM extern "C" __attribute__((visibility("hidden"))) const std::uint8_t
PVKIT_USER_SYM pvkit_user_blob_start[];
PVKIT_USER_SYM pvkit_user_blob_end[];
PVKIT_USER_SYM user_syscalls[];
PVKIT_USER_SYM user_bad_returns[];
PVKIT_USER_SYM user_faults[];
PVKIT_USER_SYM user_io[];
PVKIT_USER_SYM user_copy[];
PVKIT_USER_SYM user_xen[];
PVKIT_USER_SYM user_bench[];
PVKIT_USER_SYM user_fast[];
PVKIT_USER_SYM user_fast_ret1[];
PVKIT_USER_SYM user_fast_ret2[];
PVKIT_USER_SYM xenmsg[];
PVKIT_USER_SYM xenmsg_end[];
PVKIT_USER_SYM user_task_odd[];
PVKIT_USER_SYM user_task_even[];

namespace {

using namespace pvkit;
using namespace pvkit::x86;

constexpr std::uint64_t kUserCode = 0x400000;
constexpr std::uint64_t kUserStack1 = 0x800000;  // one page each, growing down from +4096
constexpr std::uint64_t kUserStack2 = 0x802000;
constexpr std::uint64_t kGuestGsBase = 0x5A5A000;
constexpr std::uint64_t kDoneNr = 9;
constexpr std::uint64_t kTopUserPage = 0x00007FFFFFFFF000;

constinit StaticPagePool<24> g_pool{};
pc::Ktest* g_t = nullptr;

std::uint64_t user_va(const std::uint8_t* sym) {
  return kUserCode + static_cast<std::uint64_t>(sym - pvkit_user_blob_start);
}

// The user address space: the blob (read-only, executable), two stacks (RW, NX).
std::uint64_t build_user_space() {
  static PageTables<StaticPagePool<24>, HvDirectMap> as(g_pool, HvDirectMap{});
  const auto* hv_l4 = static_cast<const Pte*>(hv_virt(hv_root_phys()));
  if (!as.create(hv_l4)) {
    g_t->check("user L4 allocated", false);
    return hv_root_phys();
  }
  const std::size_t blob = static_cast<std::size_t>(pvkit_user_blob_end - pvkit_user_blob_start);
  bool ok = blob <= 2 * 4096;
  for (std::size_t off = 0; ok && off < blob; off += 4096) {
    void* page = g_pool.alloc_page();
    ok = page != nullptr;
    if (!ok) break;
    std::memcpy(page, pvkit_user_blob_start + off, blob - off < 4096 ? blob - off : 4096);
    ok = as.map(kUserCode + off, hv_phys(page), PageFlags{.user = true}).is_ok();
  }
  for (std::uint64_t st : {kUserStack1, kUserStack2}) {
    void* page = g_pool.alloc_page();
    ok = ok && page != nullptr &&
         as.map(st, hv_phys(page), PageFlags{.writable = true, .user = true, .nx = true}).is_ok();
  }
  // The last page of the lower half, ending in a SYSCALL (0F 05) at 0x7FFFFFFFFFFE (mode=fast).
  if (void* top = g_pool.alloc_page(); ok && top != nullptr) {
    static_cast<std::uint8_t*>(top)[4094] = 0x0F;
    static_cast<std::uint8_t*>(top)[4095] = 0x05;
    ok = as.map(kTopUserPage, hv_phys(top), PageFlags{.user = true}).is_ok();
  } else {
    ok = false;
  }
  // Adversarial: the builder must refuse to hand ring 3 a hypervisor address.
  ok = ok && as.map(0xFFFF82D0FFF00000, hv_phys(g_pool.alloc_page()), PageFlags{.user = true}).error() == Errno::Inval;
  g_t->check("user address space built (code RX, stacks RW+NX; no user page in hv slots)", ok);
  return as.root_phys();
}

bool gs_swapped_correctly() {
  return rdmsr(kMsrGsBase) == reinterpret_cast<std::uint64_t>(&percpu()) &&
         rdmsr(kMsrKernelGsBase) == kGuestGsBase;
}

void run(std::uint64_t root, TrapFrame f) {
  write_cr3(root);
  wrmsr(kMsrKernelGsBase, kGuestGsBase);  // the guest's GS base while it runs
  run_user(f);
  write_cr3(hv_root_phys());
}

void run(std::uint64_t root, const std::uint8_t* entry, std::uint64_t stack_top) {
  run(root, make_user_frame(user_va(entry), stack_top));
}

// ---------------- mode=syscall ----------------
struct SyscallState {
  unsigned calls = 0;
  bool regs_ok = false, frame_ok = true, gs_ok = true;
  std::uint64_t reports[3][2] = {};
  unsigned nreports = 0;
  unsigned restarts = 0;
  std::uint64_t restart_rip[4] = {};
  bool done_regs_ok = false;
} g_sc;

void on_syscall(TrapFrame& f) {
  ++g_sc.calls;
  g_sc.gs_ok = g_sc.gs_ok && gs_swapped_correctly();
  g_sc.frame_ok = g_sc.frame_ok && f.vector == kVecSyscall && f.from_user() && f.cs == kGuestCs64.raw() &&
                  f.ss == kGuestSs64.raw() && (f.rcx == f.rip || f.rax == 3) && f.r11 == f.rflags;
  HypercallArgs a = hypercall_args(f);
  std::int64_t result = -static_cast<std::int64_t>(Errno::NoSys);
  switch (a.nr) {
    case 1:
      g_sc.regs_ok = a.a[0] == 10 && a.a[1] == 20 && a.a[2] == 30 && a.a[3] == 40 && a.a[4] == 50;
      result = static_cast<std::int64_t>(a.a[0] + a.a[1] + a.a[2] + a.a[3] + a.a[4]);
      break;
    case 2:
      if (g_sc.nreports < 3) {
        g_sc.reports[g_sc.nreports][0] = a.a[0];
        g_sc.reports[g_sc.nreports][1] = a.a[1];
        ++g_sc.nreports;
      }
      result = 0;
      break;
    case 3:  // preemptible: progress lives in rdi
      if (g_sc.restarts < 4) g_sc.restart_rip[g_sc.restarts] = f.rip;
      ++g_sc.restarts;
      if (a.a[0] > 0) {
        a.a[0] -= 1;
        result = -static_cast<std::int64_t>(Errno::Restart);
      } else {
        result = 0xC0FFEE;
      }
      break;
    case kDoneNr:
      g_sc.done_regs_ok = f.rbx == 0x1111111111111111 && f.rbp == 0x2222222222222222 &&
                          f.r12 == 0x3333333333333333 && f.r13 == 0x4444444444444444 &&
                          f.r14 == 0x5555555555555555;
      leave_user();
    default:
      break;
  }
  complete_hypercall(f, a, result);
}

void mode_syscall(pc::Ktest& t, std::uint64_t root) {
  set_entry_hooks({.syscall = &on_syscall, .user_fault = nullptr, .timer = nullptr});
  const std::uint64_t sysrets = percpu().sysret_returns, irets = percpu().iret_returns;
  run(root, user_syscalls, kUserStack1 + 4096);
  t.check("syscall hook saw RAX and RDI RSI RDX R10 R8", g_sc.regs_ok);
  t.check("every syscall frame: vector, ring-3 selectors, RCX=RIP, R11=RFLAGS", g_sc.frame_ok);
  t.check("GS: hypervisor base in, guest base parked in KERNEL_GS_BASE", g_sc.gs_ok);
  t.check("result reached ring 3 in RAX (150)", g_sc.nreports >= 1 && g_sc.reports[0][0] == 150);
  t.check("restarted call ran 4 times from the same syscall instruction",
          g_sc.restarts == 4 && g_sc.restart_rip[0] == g_sc.restart_rip[1] &&
              g_sc.restart_rip[1] == g_sc.restart_rip[2] && g_sc.restart_rip[2] == g_sc.restart_rip[3]);
  t.check("re-executed call finished: result 0xC0FFEE, progress register rdi = 0",
          g_sc.nreports >= 2 && g_sc.reports[1][0] == 0xC0FFEE && g_sc.reports[1][1] == 0);
  t.check("unknown number answered -ENOSYS (-38)",
          g_sc.nreports >= 3 && static_cast<std::int64_t>(g_sc.reports[2][0]) == -38);
  t.check("callee-visible registers survived every round trip", g_sc.done_regs_ok);
  const std::uint64_t nsysret = percpu().sysret_returns - sysrets, niret = percpu().iret_returns - irets;
  pc::printf("pvkit: %lu returns by SYSRET, %lu by IRET\n", nsysret, niret);
  // IRET: the first entry (RCX != RIP in a fresh frame) and the three rewound restarts.
  t.check("plain returns used SYSRET, first entry and restarts used IRET", nsysret == 6 && niret == 4);
}

// ---------------- mode=badreturn ----------------
struct BadReturnState {
  std::uint64_t reasons[4] = {};
  std::uint64_t rips[4] = {};
  unsigned n = 0;
  unsigned gp_after_iopl = 0;
  std::uint64_t saved_rsp = 0;
  bool unexpected = false;
} g_br;

void on_bad_syscall(TrapFrame& f) {
  switch (f.rax) {
    case 5:  // exactly the shape SYSRET would accept, but non-canonical
      f.rip = 0x0000800000000000;
      f.rcx = f.rip;
      break;
    case 6:
      f.rip = 0x8000000000000000;
      break;
    case 7:
      f.cs = kHvCs.raw();
      break;
    case 8:
      f.rflags |= Rflags::Iopl::make(3);
      f.r11 = f.rflags;
      break;
    case 10:
      g_br.saved_rsp = f.rsp;
      f.rsp = 0x0000800000000000;
      break;
    case kDoneNr:
      leave_user();
    default:
      g_br.unexpected = true;
  }
}

void on_bad_fault(TrapFrame& f) {
  if (f.vector == kVecBadUserReturn && g_br.n < 4) {
    g_br.reasons[g_br.n] = f.error_code;
    g_br.rips[g_br.n] = f.rip;
    ++g_br.n;
  } else if (f.vector == kVecGeneralProtection) {
    ++g_br.gp_after_iopl;
  } else {
    g_br.unexpected = true;
  }
  f.rip = f.r15;
  f.cs = kGuestCs64.raw();
  f.ss = kGuestSs64.raw();
  if (!is_canonical(f.rsp)) f.rsp = g_br.saved_rsp;
}

void mode_badreturn(pc::Ktest& t, std::uint64_t root) {
  set_entry_hooks({.syscall = &on_bad_syscall, .user_fault = &on_bad_fault, .timer = nullptr});
  run(root, user_bad_returns, kUserStack1 + 4096);
  t.check("non-canonical RIP in SYSRET shape refused (fault hook, not ring-0 #GP)",
          g_br.n >= 1 && g_br.reasons[0] == static_cast<std::uint64_t>(UserReturnCheck::kNonCanonicalRip) &&
              g_br.rips[0] == 0x0000800000000000);
  t.check("non-canonical RIP in IRET shape refused",
          g_br.n >= 2 && g_br.reasons[1] == static_cast<std::uint64_t>(UserReturnCheck::kNonCanonicalRip));
  t.check("ring-0 code selector refused",
          g_br.n >= 3 && g_br.reasons[2] == static_cast<std::uint64_t>(UserReturnCheck::kBadCodeSelector));
  t.check("IOPL 3 left by a hook is sanitized: ring-3 cli still faults", g_br.gp_after_iopl == 1);
  t.check("non-canonical RSP refused",
          g_br.n >= 4 && g_br.reasons[3] == static_cast<std::uint64_t>(UserReturnCheck::kNonCanonicalRsp));
  t.check("nothing else happened", !g_br.unexpected && g_br.n == 4);
}

// ---------------- mode=faults ----------------
struct FaultRecord {
  std::uint64_t vector, error, cr2;
  int soft_int;
  bool gs_ok;
};
struct FaultState {
  FaultRecord r[12] = {};
  unsigned n = 0;
  unsigned debug_traps = 0;
  bool traced_syscall = false;
  bool tf_in_syscall_frame = false;
} g_fs;

void on_fault(TrapFrame& f) {
  if (f.vector == kVecDebug) {  // a trap: RIP is already past the traced instruction
    ++g_fs.debug_traps;
    if (g_fs.traced_syscall) f.rflags = Rflags::Trap::set(f.rflags, false);
    return;
  }
  if (g_fs.n < 12) {
    FaultRecord& r = g_fs.r[g_fs.n++];
    r.vector = f.vector;
    r.error = f.error_code;
    r.cr2 = f.vector == kVecPageFault ? last_fault_cr2() : 0;
    r.gs_ok = gs_swapped_correctly();
    r.soft_int = -1;
    if (f.vector == kVecGeneralProtection && f.rip >= kUserCode && f.rip < kUserCode + 8192) {
      std::uint8_t insn[2];
      std::memcpy(insn, reinterpret_cast<const void*>(f.rip), 2);  // the guest's code page
      if (auto n = decode_soft_int_gp(f.error_code, insn, 2)) r.soft_int = static_cast<int>(*n);
      if (r.soft_int >= 0) pc::printf("pvkit: int $0x%x from ring 3 -> #GP error 0x%lx\n", r.soft_int, f.error_code);
    }
  }
  f.rip = f.r15;
}

void on_done_syscall(TrapFrame& f) {
  if (f.rax == kDoneNr) leave_user();
  if (f.rax == 12) {  // the single-stepped syscall (faults mode)
    g_fs.traced_syscall = true;
    g_fs.tf_in_syscall_frame = Rflags::Trap::test(f.rflags);
    f.rax = 0;
    return;
  }
  f.rax = static_cast<std::uint64_t>(-38);
}

void mode_faults(pc::Ktest& t, std::uint64_t root) {
  set_entry_hooks({.syscall = &on_done_syscall, .user_fault = &on_fault, .timer = nullptr});
  run(root, user_faults, kUserStack1 + 4096);
  using Pf = PageFaultErrorCode;
  const FaultRecord* r = g_fs.r;
  t.check("9 ring-3 faults reached the hook", g_fs.n == 9);
  t.check("int3 -> #BP", r[0].vector == kVecBreakpoint);
  t.check("unmapped read -> #PF, CR2 0x1000, user, not present",
          r[1].vector == kVecPageFault && r[1].cr2 == 0x1000 && r[1].error == Pf::User::kBit);
  t.check("write to a hypervisor page -> #PF present|write|user",
          r[2].vector == kVecPageFault && r[2].cr2 == 0xFFFF82D000100000 &&
              r[2].error == (Pf::Present::kBit | Pf::Write::kBit | Pf::User::kBit));
  t.check("cli -> #GP(0)", r[3].vector == kVecGeneralProtection && r[3].error == 0 && r[3].soft_int < 0);
  t.check("int $0x80 -> #GP on the gate, decoded as vector 0x80 (either encoding)",
          r[4].vector == kVecGeneralProtection && r[4].soft_int == 0x80);
  t.check("ud2 -> #UD", r[5].vector == kVecInvalidOpcode);
  t.check("write to the read-only code page -> #PF present|write|user",
          r[6].vector == kVecPageFault && r[6].cr2 == kUserCode &&
              r[6].error == (Pf::Present::kBit | Pf::Write::kBit | Pf::User::kBit));
  t.check("jump into the hypervisor -> #PF instruction fetch",
          r[7].vector == kVecPageFault && r[7].cr2 == 0xFFFF82D000100000 &&
              Pf::InstructionFetch::test(r[7].error) && Pf::User::test(r[7].error));
  t.check("jump to the NX stack -> #PF present|user|fetch (EFER.NXE and the NX bit work)",
          r[8].vector == kVecPageFault && r[8].cr2 == kUserStack1 + 4096 - 16 &&
              r[8].error == (Pf::Present::kBit | Pf::User::kBit | Pf::InstructionFetch::kBit));
  t.check("single-stepping across syscall: #DB before and after it in ring 3, none in the hypervisor",
          g_fs.traced_syscall && g_fs.tf_in_syscall_frame && g_fs.debug_traps == 2);
  bool gs = true;
  for (unsigned i = 0; i < g_fs.n; ++i) gs = gs && r[i].gs_ok;
  t.check("GS swapped on every fault from ring 3", gs);
}

// ---------------- mode=io ----------------
struct IoState {
  std::uint64_t rips[6] = {};
  std::uint64_t errors[6] = {};
  unsigned n = 0;
  bool other = false;
} g_io;

void on_io_fault(TrapFrame& f) {
  if (f.vector == kVecGeneralProtection && g_io.n < 6) {
    g_io.rips[g_io.n] = f.rip;
    g_io.errors[g_io.n] = f.error_code;
    ++g_io.n;
  } else {
    g_io.other = true;
  }
  f.rip = f.r15;
}

void mode_io(pc::Ktest& t, std::uint64_t root) {
  TssBlock& tss = cpu_tss();
  tss.io.allow(0x3F8);
  tss.io.allow(0x3FD);
  tss.io.allow(0xFFFF);
  set_entry_hooks({.syscall = &on_done_syscall, .user_fault = &on_io_fault, .timer = nullptr});
  run(root, user_io, kUserStack1 + 4096);
  tss.io.deny_all();
  // Which instructions faulted: the opcode at each faulting RIP (read from the blob's source).
  auto op = [](std::uint64_t rip, unsigned k) { return pvkit_user_blob_start[rip - kUserCode + k]; };
  const bool which = g_io.n == 4 && op(g_io.rips[0], 0) == 0xEF /* outl 0xF4 */ &&
                     op(g_io.rips[1], 0) == 0xEC /* inb 0x3F9 */ &&
                     op(g_io.rips[2], 0) == 0x66 && op(g_io.rips[2], 1) == 0xEF /* outw 0x3F8 */ &&
                     op(g_io.rips[3], 0) == 0x66 && op(g_io.rips[3], 1) == 0xEF /* outw 0xFFFF */ &&
                     g_io.rips[2] != g_io.rips[3];
  t.check("exactly the four denied accesses faulted (#GP), in order", which && !g_io.other);
  bool zero = true;
  for (unsigned i = 0; i < g_io.n; ++i) zero = zero && g_io.errors[i] == 0;
  t.check("I/O #GP error codes are 0", zero);
  t.check("denied ports are denied again after the domain is switched away",
          !tss.io.allowed(0x3F8) && !tss.io.allowed(0xFFFF));
}

// ---------------- mode=copy ----------------
struct CopyState {
  bool read_ok = false, write_ok = false, unmapped = false, hv = false, readonly = false,
       code_intact = false, partial = false, zero_len = false;
  std::uint64_t final_value = 0;
  std::uint64_t fixups = 0;
} g_cp;

void on_copy_syscall(TrapFrame& f) {
  CurrentGuestMemory mem;
  if (f.rax == 11) {
    const std::uint64_t fixups = percpu().fixups;
    std::uint64_t v = 0;
    g_cp.read_ok = mem.copy_from_guest(&v, VirtAddr{f.rdi}, 8).is_ok() && v == 0x1122334455667788;
    const std::uint64_t nv = 0xFEEDFACECAFEBEEF;
    g_cp.write_ok = mem.copy_to_guest(VirtAddr{f.rdi}, &nv, 8).is_ok();
    g_cp.unmapped = mem.copy_from_guest(&v, VirtAddr{0x1000}, 8).error() == Errno::Fault;
    std::uint64_t secret = 0;
    g_cp.hv = mem.copy_from_guest(&secret, VirtAddr{0xFFFF82D000100000}, 8).error() == Errno::Fault &&
              secret == 0;
    std::uint8_t before = 0, after = 0;
    (void)mem.copy_from_guest(&before, VirtAddr{f.rsi}, 1);
    const std::uint8_t junk = 0xCC;
    g_cp.readonly = mem.copy_to_guest(VirtAddr{f.rsi}, &junk, 1).error() == Errno::Fault;
    g_cp.code_intact = mem.copy_from_guest(&after, VirtAddr{f.rsi}, 1).is_ok() && after == before;
    g_cp.partial = mem.copy_from_guest(&v, VirtAddr{kUserStack1 + 4096 - 4}, 8).error() == Errno::Fault;
    g_cp.zero_len = mem.copy_from_guest(nullptr, VirtAddr{0x1000}, 0).is_ok();
    g_cp.fixups = percpu().fixups - fixups;
    f.rax = 0;
    return;
  }
  if (f.rax == kDoneNr) {
    g_cp.final_value = f.rdi;
    leave_user();
  }
  f.rax = static_cast<std::uint64_t>(-38);
}

void mode_copy(pc::Ktest& t, std::uint64_t root) {
  set_entry_hooks({.syscall = &on_copy_syscall, .user_fault = nullptr, .timer = nullptr});
  run(root, user_copy, kUserStack1 + 4096);
  t.check("copy_from_guest reads the guest's stack", g_cp.read_ok);
  t.check("copy_to_guest writes it, and ring 3 sees the new value",
          g_cp.write_ok && g_cp.final_value == 0xFEEDFACECAFEBEEF);
  t.check("unmapped guest address -> -EFAULT (fault fixed up, no panic)", g_cp.unmapped);
  t.check("hypervisor address -> -EFAULT before any access, nothing leaked", g_cp.hv);
  t.check("write to a read-only guest page -> -EFAULT, page unchanged", g_cp.readonly && g_cp.code_intact);
  t.check("copy running off the end of a mapping -> -EFAULT", g_cp.partial);
  t.check("zero-length copy touches nothing", g_cp.zero_len);
  t.check("three ring-0 faults were recovered through the exception table", g_cp.fixups == 3);
}

// ---------------- mode=xen ----------------
struct ImageConsole {
  std::size_t bytes = 0;
  unsigned writes = 0;
  void write(std::span<const char> s) {
    pc::console_write(s.data(), s.size());
    bytes += s.size();
    ++writes;
  }
  std::size_t read(std::span<char>) { return 0; }
  bool accepts_unprivileged_writes() { return true; }
};

struct XenCtx {
  CurrentGuestMemory mem;
  ImageConsole* con;
  XenVersionInfo info;
  bool guest_kernel_mode() { return true; }
  CurrentGuestMemory& guest_memory() { return mem; }
  const XenVersionInfo& xen_version_info() { return info; }
  xen::DomainHandle domain_handle() { return {}; }
  bool is_privileged() { return false; }
  ImageConsole& console() { return *con; }
};
using XenTable = HypercallTable<XenVersion, BasicConsoleIo<16>>;

struct XenState {
  ImageConsole con;
  unsigned reexecutions = 0;
  std::uint64_t r12 = 0, r13 = 0, r14 = 0, rbx = 0, rbp = 0;
  char extraversion[16] = {};
  bool done = false;
} g_xen;

void on_xen_syscall(TrapFrame& f) {
  if (f.rax == 0xDEAD) {
    g_xen.r12 = f.r12, g_xen.r13 = f.r13, g_xen.r14 = f.r14, g_xen.rbx = f.rbx, g_xen.rbp = f.rbp;
    CurrentGuestMemory mem;
    (void)mem.copy_from_guest(g_xen.extraversion, VirtAddr{f.rdi}, sizeof g_xen.extraversion);
    g_xen.done = true;
    leave_user();
  }
  XenCtx ctx{CurrentGuestMemory{}, &g_xen.con, XenVersionInfo{}};
  HypercallArgs a = hypercall_args(f);
  const EntryResult r = hypercall_entry<XenTable>(ctx, a);
  if (r.action == EntryAction::kReexecute) {
    ++g_xen.reexecutions;
    reexecute_hypercall(f, a);
  } else {
    return_from_hypercall(f, r.rax);
  }
}

void mode_xen(pc::Ktest& t, std::uint64_t root) {
  set_entry_hooks({.syscall = &on_xen_syscall, .user_fault = nullptr, .timer = nullptr});
  run(root, user_xen, kUserStack1 + 4096);
  const std::size_t len = static_cast<std::size_t>(xenmsg_end - xenmsg);
  t.check("ring 3 reached the end", g_xen.done);
  t.check("xen_version(XENVER_version) = 4.17 in RAX", g_xen.r12 == ((4u << 16) | 17u));
  t.check("xen_version(XENVER_extraversion) filled the guest buffer",
          g_xen.r13 == 0 && std::strcmp(g_xen.extraversion, ".0-pvkit") == 0);
  t.check("a hypervisor address as the buffer -> -EFAULT", static_cast<std::int64_t>(g_xen.r14) == -14);
  t.check("unknown hypercall -> -ENOSYS", static_cast<std::int64_t>(g_xen.rbx) == -38);
  constexpr std::size_t kChunk = BasicConsoleIo<16>::kChunk;  // a budget of 16 ends each call after one chunk
  pc::printf("pvkit: console_io: %lu bytes, %u re-executions\n", static_cast<unsigned long>(len), g_xen.reexecutions);
  t.check("console_io write finished with 0 after re-executions",
          g_xen.rbp == 0 && g_xen.reexecutions >= 2 && g_xen.reexecutions == (len + kChunk - 1) / kChunk - 1);
  t.check("every byte reached the console exactly once", g_xen.con.bytes == len);
}

// ---------------- mode=bench ----------------
struct BenchState {
  std::uint64_t tsc_delta = 0, null_delta = 0;
  std::uint64_t calls = 0;
  bool results_ok = true;
} g_bench;

void on_bench_syscall(TrapFrame& f) {
  if (f.rax == 0xDEAD) {
    g_bench.tsc_delta = f.rdi;
    g_bench.null_delta = f.rsi;
    leave_user();
  }
  if (f.rax == 0x7FFE) {  // the null hook
    f.rax = 0;
    return;
  }
  XenCtx ctx{CurrentGuestMemory{}, &g_xen.con, XenVersionInfo{}};
  HypercallArgs a = hypercall_args(f);
  const EntryResult r = hypercall_entry<XenTable>(ctx, a);
  ++g_bench.calls;
  g_bench.results_ok = g_bench.results_ok && r.action == EntryAction::kReturnToGuest && r.rax == 0x40011;
  return_from_hypercall(f, r.rax);
}

void mode_bench(pc::Ktest& t, std::uint64_t root) {
  set_entry_hooks({.syscall = &on_bench_syscall, .user_fault = nullptr, .timer = nullptr});
  const std::uint64_t sysrets = percpu().sysret_returns;
  run(root, user_bench, kUserStack1 + 4096);
  constexpr std::uint64_t kCalls = 1000, kGuestInsnsPerCall = 6;
  const std::uint64_t per_call = g_bench.tsc_delta / kCalls, null_call = g_bench.null_delta / kCalls;
  pc::printf("pvkit bench: xen_version round trip = %lu instructions per call (%lu in the guest loop, "
             "%lu in syscall entry + lib/hypercall + sysret); exact under -icount\n",
             per_call, kGuestInsnsPerCall, per_call - kGuestInsnsPerCall);
  pc::printf("pvkit bench: null hook round trip = %lu instructions per call (%lu in entry + exit)\n",
             null_call, null_call - kGuestInsnsPerCall);
  t.check("1000 calls dispatched, all answered 4.17", g_bench.calls == kCalls && g_bench.results_ok);
  t.check("every return took SYSRET", percpu().sysret_returns - sysrets == 2 * kCalls);
  // A regression guard: the whole round trip is a few hundred instructions.
  t.check("round trip under 1000 instructions, null path cheaper",
          per_call > kGuestInsnsPerCall && per_call < 1000 && null_call > kGuestInsnsPerCall && null_call < per_call);
}

// ---------------- mode=fast ----------------
struct FastSnapshot {
  TrapFrame f;
  std::uint64_t pushed_r11, pushed_rcx, pushed_rax;
};
struct FastState {
  unsigned fast_calls = 0, sysret_calls = 0, finish_calls = 0;
  bool args_ok = false, gs_ok = true, irq_off = true, finish_frame_ok = false, unexpected = false;
  FastSnapshot snap[2] = {};
  unsigned nsnap = 0;
  std::uint64_t noncanonical_rip = 0;
  unsigned fast_calls_before_noncanonical = ~0u;
  std::uint64_t refused_reason = 0, refused_rip = 0;
} g_fast;

bool callee_saved_intact(const TrapFrame& f) {
  return f.rbx == 0x1111111111111111 && f.rbp == 0x2222222222222222 && f.r12 == 0x3333333333333333 &&
         f.r13 == 0x4444444444444444 && f.r14 == 0x5555555555555555 && f.r15 == 0x6666666666666666;
}
bool args_intact(const TrapFrame& f) {
  return f.rdi == 1 && f.rsi == 2 && f.rdx == 3 && f.r10 == 4 && f.r8 == 5 && f.r9 == 6;
}

FastSyscallResult on_fast(std::uint64_t a0, std::uint64_t a1, std::uint64_t a2, std::uint64_t a3, std::uint64_t a4,
                          std::uint64_t nr) {
  ++g_fast.fast_calls;
  g_fast.gs_ok = g_fast.gs_ok && gs_swapped_correctly();
  std::uint64_t flags;
  asm volatile("pushfq; popq %0" : "=r"(flags));
  g_fast.irq_off = g_fast.irq_off && !Rflags::Interrupt::test(flags);
  if (nr == 20) {
    ++g_fast.sysret_calls;
    g_fast.args_ok = a0 == 1 && a1 == 2 && a2 == 3 && a3 == 4 && a4 == 5;
    return {a0 + a1 + a2 + a3 + a4, FastSyscall::kSysret};
  }
  if (nr == 22) {
    ++g_fast.finish_calls;
    return {nr, FastSyscall::kFinish};
  }
  return {nr, FastSyscall::kNotHandled};
}

void on_fast_finish(TrapFrame& f) {
  g_fast.finish_frame_ok = f.vector == kVecSyscall && f.rax == 22 && f.rip == user_va(user_fast_ret2) &&
                         f.rcx == f.rip && f.r11 == f.rflags && f.cs == kGuestCs64.raw() &&
                         f.ss == kGuestSs64.raw() && f.rsp == kUserStack1 + 4096 && args_intact(f) &&
                         callee_saved_intact(f);
  f.rax = 0xF1F1;
}

void on_fast_slow(TrapFrame& f) {
  if (f.rax == 21 && g_fast.nsnap < 2) {
    FastSnapshot& s = g_fast.snap[g_fast.nsnap++];
    s.f = f;
    std::uint64_t words[3] = {};
    CurrentGuestMemory mem;
    if (!mem.copy_from_guest(words, VirtAddr{f.rsp}, sizeof words).is_ok()) g_fast.unexpected = true;
    s.pushed_r11 = words[0];
    s.pushed_rcx = words[1];
    s.pushed_rax = words[2];
    f.rax = 0;
    return;
  }
  if (f.rax == 20) {  // only the non-canonical one comes this way
    g_fast.noncanonical_rip = f.rip;
    g_fast.fast_calls_before_noncanonical = g_fast.fast_calls;
    f.rax = 0;
    return;
  }
  g_fast.unexpected = true;
  leave_user();
}

void on_fast_fault(TrapFrame& f) {
  if (f.vector == kVecBadUserReturn) {
    g_fast.refused_reason = f.error_code;
    g_fast.refused_rip = f.rip;
  } else {
    g_fast.unexpected = true;
  }
  leave_user();
}

void mode_fast(pc::Ktest& t, std::uint64_t root) {
  set_entry_hooks({.syscall = &on_fast_slow,
                   .fast_syscall = &on_fast,
                   .syscall_finish = &on_fast_finish,
                   .user_fault = &on_fast_fault,
                   .timer = nullptr});
  run(root, user_fast, kUserStack1 + 4096);
  set_entry_hooks({});
  const FastSnapshot& a = g_fast.snap[0];
  const FastSnapshot& b = g_fast.snap[1];
  t.check("fast hook got RDI RSI RDX R10 R8 as its arguments, with GS swapped and interrupts off",
          g_fast.args_ok && g_fast.gs_ok && g_fast.irq_off);
  t.check("kSysret: RAX = the hook's result (15)", g_fast.nsnap >= 1 && a.pushed_rax == 15);
  t.check("kSysret: RCX = the return RIP, R11 = the guest's RFLAGS",
          g_fast.nsnap >= 1 && a.pushed_rcx == user_va(user_fast_ret1) && a.pushed_r11 == a.f.rflags);
  t.check("kSysret: argument and callee-saved registers preserved (no hypervisor value leaks)",
          g_fast.nsnap >= 1 && args_intact(a.f) && callee_saved_intact(a.f));
  t.check("kNotHandled: the ordinary syscall hook got the call with a full frame",
          g_fast.nsnap == 2 && a.f.vector == kVecSyscall && a.f.rip == a.f.rcx && a.f.r11 == a.f.rflags);
  t.check("kFinish: syscall_finish got the full frame (RAX = number, every register the guest's)",
          g_fast.finish_calls == 1 && g_fast.finish_frame_ok);
  t.check("kFinish: its result and every register reached ring 3",
          g_fast.nsnap == 2 && b.pushed_rax == 0xF1F1 && b.pushed_rcx == user_va(user_fast_ret2) &&
              args_intact(b.f) && callee_saved_intact(b.f));
  t.check("SYSCALL at 0x7FFFFFFFFFFE: the fast hook never saw it, the ordinary hook did",
          g_fast.noncanonical_rip == 0x0000800000000000 && g_fast.fast_calls_before_noncanonical == 4 &&
              g_fast.fast_calls == 4 && g_fast.sysret_calls == 1);
  t.check("...and its non-canonical return RIP was refused, not SYSRET (no ring-0 #GP)",
          g_fast.refused_reason == static_cast<std::uint64_t>(UserReturnCheck::kNonCanonicalRip) &&
              g_fast.refused_rip == 0x0000800000000000);
  t.check("nothing else happened", !g_fast.unexpected);
}

// ---------------- mode=timer ----------------
struct TimerState {
  TrapFrame saved[2];
  unsigned current = 0;
  unsigned ticks = 0;
  unsigned from_user = 0;
  std::uint64_t last_rbx[2] = {0, 0};
  unsigned seen[2] = {0, 0};
  bool parity_ok = true, monotonic_ok = true, gs_ok = true;
} g_tm;

void on_tick(TrapFrame& f) {
  ++g_tm.ticks;
  if (f.from_user()) ++g_tm.from_user;
  g_tm.gs_ok = g_tm.gs_ok && (!f.from_user() || gs_swapped_correctly());
  const unsigned cur = g_tm.current;
  // Task 0 keeps RBX odd, task 1 even: a frame mix-up shows as the wrong parity.
  g_tm.parity_ok = g_tm.parity_ok && (f.rbx & 1) == (cur == 0 ? 1u : 0u);
  g_tm.monotonic_ok = g_tm.monotonic_ok && f.rbx >= g_tm.last_rbx[cur];
  g_tm.last_rbx[cur] = f.rbx;
  ++g_tm.seen[cur];
  if (g_tm.ticks >= 12) leave_user();
  // Round robin: park the live frame, resume the other task's.
  g_tm.saved[cur] = f;
  g_tm.current = 1 - cur;
  f = g_tm.saved[g_tm.current];
}

void mode_timer(pc::Ktest& t, std::uint64_t root) {
  t.check("LAPIC up", lapic_init().is_ok());
  // Each task's RBX parity holds from its very first instruction (a tick may arrive before it).
  g_tm.saved[1] = make_user_frame(user_va(user_task_even), kUserStack2 + 4096);
  TrapFrame first = make_user_frame(user_va(user_task_odd), kUserStack1 + 4096);
  first.rbx = 1;
  set_entry_hooks({.syscall = &on_done_syscall, .user_fault = nullptr, .timer = &on_tick});
  timer_start(20000);
  run(root, first);
  timer_stop();
  pc::printf("pvkit: %u ticks, task rbx %lu / %lu\n", g_tm.ticks, g_tm.last_rbx[0], g_tm.last_rbx[1]);
  t.check("timer interrupts arrived while ring 3 spun", g_tm.ticks == 12 && g_tm.from_user == 12);
  t.check("both tasks ran and made progress",
          g_tm.seen[0] >= 5 && g_tm.seen[1] >= 5 && g_tm.last_rbx[0] > 1 && g_tm.last_rbx[1] > 0);
  t.check("each task's registers stayed its own across switches", g_tm.parity_ok && g_tm.monotonic_ok);
  t.check("GS swapped on every tick from ring 3", g_tm.gs_ok);
}

}  // namespace

int pvkit_main(const pvkit::pc::BootInfo& boot) {
  char mode[16] = "";
  (void)boot.arg_value("mode", mode, sizeof mode);
  pc::printf("pvkit ring-3 test image: mode=%s\n", mode);
  pc::Ktest t;
  g_t = &t;
  const std::uint64_t root = build_user_space();
  auto is = [&](const char* m) { return std::strcmp(mode, m) == 0; };
  if (is("syscall")) {
    mode_syscall(t, root);
  } else if (is("badreturn")) {
    mode_badreturn(t, root);
  } else if (is("faults")) {
    mode_faults(t, root);
  } else if (is("io")) {
    mode_io(t, root);
  } else if (is("copy")) {
    mode_copy(t, root);
  } else if (is("xen")) {
    mode_xen(t, root);
  } else if (is("bench")) {
    mode_bench(t, root);
  } else if (is("fast")) {
    mode_fast(t, root);
  } else if (is("timer")) {
    mode_timer(t, root);
  } else {
    t.check("known mode", false);
  }
  t.finish();
}
