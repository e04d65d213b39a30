// The CPU-layer test image (ring 0 only).
//   mode=smp aps=N  starts N application processors; each reports its own CPU state
//   mode=ok    checks the state cpu_init() left (selectors, TSS, GDT/IDT, GS, MSRs, CR0.WP,
//              no identity map), an NMI on its IST stack, and LAPIC timer ticks while idle.
//   mode=ud|pf|gp|de|bp|df|wtext|overflow  a hypervisor-mode exception (wtext: a write to
//              the hypervisor's own code, refused by W^X; overflow: unbounded recursion runs
//              into the boot stack's guard page): the image must print the register
//              dump and PANIC, leaving QEMU with the failure code (checked by
//              //tests/arch:hv_fault_panics_test).
#include <atomic>
#include <cstdint>
#include <cstring>

#include "pvkit/arch/x86/cpu/cpu.h"
#include "pvkit/arch/x86/cpu/idt.h"
#include "pvkit/arch/x86/cpu/msr.h"
#include "pvkit/arch/x86/cpu/smp.h"
#include "pvkit/arch/x86/io.h"
#include "pvkit/arch/x86/mm/page_tables.h"
#include "pvkit/arch/x86/mm/static_page_pool.h"
#include "pvkit/arch/x86/mm/tlb.h"
#include "pvkit/platforms/pc/boot_info.h"
#include "pvkit/platforms/pc/ktest.h"
#include "pvkit/platforms/pc/log.h"

extern "C" __attribute__((visibility("hidden"))) const std::uint8_t pvkit_boot_stack_guard[];

namespace {

using namespace pvkit;
using namespace pvkit::x86;

struct [[gnu::packed]] DescPtr {
  std::uint16_t limit;
  std::uint64_t base;
};

std::uint16_t read_cs() {
  std::uint16_t v;
  asm volatile("mov %%cs, %0" : "=r"(v));
  return v;
}
std::uint16_t read_ss() {
  std::uint16_t v;
  asm volatile("mov %%ss, %0" : "=r"(v));
  return v;
}
std::uint64_t read_cr0() {
  std::uint64_t v;
  asm volatile("mov %%cr0, %0" : "=r"(v));
  return v;
}

void check_state(pc::Ktest& t) {
  t.check("CS is the hypervisor's 0xe008", read_cs() == kHvCs.raw());
  t.check("SS is the hypervisor's 0xe010", read_ss() == kHvDs.raw());
  std::uint16_t tr = 0;
  asm volatile("str %0" : "=r"(tr));
  t.check("TR is the TSS selector 0xe040", tr == kTss.raw());
  DescPtr gdtr{}, idtr{};
  asm volatile("sgdt %0" : "=m"(gdtr));
  asm volatile("sidt %0" : "=m"(idtr));
  t.check("GDT covers the hypervisor entries", gdtr.limit == Gdt::limit() &&
                                                   gdtr.base == reinterpret_cast<std::uint64_t>(percpu().gdt));
  t.check("IDT has 256 gates", idtr.limit == Idt::limit());
  const auto* gdt = percpu().gdt;
  t.check("TSS descriptor went busy after LTR",
          SystemDescriptor::Type::get(gdt->entries[kTss.index()]) == SystemDescriptor::kTypeTss64Busy);
  t.check("guest CS64 descriptor is DPL 3, long mode", gdt->get(kGuestCs64).dpl() == 3 && gdt->get(kGuestCs64).long_mode());
  t.check("GS base is this CPU's block", rdmsr(kMsrGsBase) == reinterpret_cast<std::uint64_t>(&percpu()) &&
                                             percpu().self == &percpu());
  const std::uint64_t efer = rdmsr(kMsrEfer);
  t.check("EFER: SCE, NXE, LMA", Efer::SyscallEnable::test(efer) && Efer::NoExecuteEnable::test(efer) &&
                                     Efer::LongModeActive::test(efer));
  t.check("STAR holds Xen's selectors", rdmsr(kMsrStar) == star_msr_value());
  t.check("FMASK clears IF, TF, DF, IOPL, NT, AC", rdmsr(kMsrFmask) == kSyscallFlagMask);
  t.check("LSTAR points into the hypervisor", (rdmsr(kMsrLstar) >> 39 & 511) == 261);
  t.check("CR0.WP is on", Cr0::WriteProtect::test(read_cr0()));
  t.check("TSS: RSP0 is the per-CPU stack", cpu_tss().tss.rsp[0] == percpu().kstack_top);
  t.check("TSS: every port denied", !cpu_tss().io.allowed(0x3F8) && !cpu_tss().io.allowed(0xF4) &&
                                        cpu_tss().io.trailing_byte() == 0xFF);

  static StaticPagePool<1> no_pages;
  PageTables<StaticPagePool<1>, HvDirectMap> hv(no_pages, HvDirectMap{});
  hv.adopt(read_cr3() & ~std::uint64_t{0xFFF});
  t.check("CR3 is the hypervisor's own L4", (read_cr3() & ~std::uint64_t{0xFFF}) == hv_root_phys());
  t.check("the boot identity map is gone", !hv.lookup(0x100000).present() && !hv.lookup(0).present());
  t.check("the image is still mapped in slot 261",
          hv.lookup(reinterpret_cast<std::uint64_t>(&check_state)).present());
}

// Hedron's boot check: no hypervisor mapping is both writable and executable, and the image's
// sections have their own permissions.
void check_wx(pc::Ktest& t) {
  const auto* l4 = static_cast<const Pte*>(hv_virt(read_cr3() & ~std::uint64_t{0xFFF}));
  unsigned wx = 0, leaves = 0;
  for (unsigned s4 = kHvFirstL4Slot; s4 <= kHvLastL4Slot; ++s4) {
    const Pte e4 = l4[s4];
    if (!e4.present()) continue;
    const auto* l3 = static_cast<const Pte*>(hv_virt(e4.address()));
    for (unsigned i3 = 0; i3 < 512; ++i3) {
      const Pte e3 = l3[i3];
      if (!e3.present()) continue;
      auto leaf = [&](Pte e, bool w, bool nx) {
        ++leaves;
        if (w && e.writable() && !(nx || e.nx())) ++wx;
      };
      const bool w3 = e4.writable() && e3.writable(), nx3 = e4.nx() || e3.nx();
      if (e3.large()) {
        leaf(e3, e4.writable(), e4.nx());
        continue;
      }
      const auto* l2 = static_cast<const Pte*>(hv_virt(e3.address()));
      for (unsigned i2 = 0; i2 < 512; ++i2) {
        const Pte e2 = l2[i2];
        if (!e2.present()) continue;
        if (e2.large()) {
          leaf(e2, w3, nx3);
          continue;
        }
        const auto* l1 = static_cast<const Pte*>(hv_virt(e2.address()));
        for (unsigned i1 = 0; i1 < 512; ++i1) {
          if (l1[i1].present()) leaf(l1[i1], w3 && e2.writable(), nx3 || e2.nx());
        }
      }
    }
  }
  pc::printf("pvkit: %u hypervisor leaf mappings, %u writable+executable\n", leaves, wx);
  t.check("no hypervisor mapping is writable and executable (W^X)", leaves > 0 && wx == 0);
  static StaticPagePool<1> none;
  PageTables<StaticPagePool<1>, HvDirectMap> hv(none, HvDirectMap{});
  hv.adopt(read_cr3() & ~std::uint64_t{0xFFF});
  static int some_data = 1;
  static const char some_rodata[] = "pvkit rodata";
  const Pte text = hv.lookup(reinterpret_cast<std::uint64_t>(&check_wx));
  const Pte ro = hv.lookup(reinterpret_cast<std::uint64_t>(some_rodata));
  const Pte data = hv.lookup(reinterpret_cast<std::uint64_t>(&some_data));
  const Pte bss = hv.lookup(reinterpret_cast<std::uint64_t>(&none));
  t.check("text: read-only, executable", text.present() && !text.writable() && !text.nx());
  t.check("rodata: read-only, NX", ro.present() && !ro.writable() && ro.nx());
  t.check("data and bss: writable, NX", data.writable() && data.nx() && bss.writable() && bss.nx());
  const Pte guard = hv.lookup(reinterpret_cast<std::uint64_t>(pvkit_boot_stack_guard));
  const Pte kguard = hv.lookup(percpu().kstack_top - 16384 - 4096);
  const Pte below_guard = hv.lookup(reinterpret_cast<std::uint64_t>(pvkit_boot_stack_guard) - 4096);
  t.check("stack guard pages are unmapped (boot and per-CPU stacks)",
          !guard.present() && !kguard.present() && below_guard.present());
}

// Unbounded recursion on the boot stack: must end in the guard page, not in .bss.
volatile std::uint64_t g_recursion_limit = 0;  // 0: unbounded
[[gnu::noinline]] std::uint64_t recurse(std::uint64_t n) {
  volatile std::uint8_t pad[512];
  pad[0] = static_cast<std::uint8_t>(n);
  if (g_recursion_limit != 0 && n >= g_recursion_limit) return pad[0];
  return recurse(n + 1) + pad[0];
}

// Remapping a hypervisor address: the new frame is seen once the TLB entry is flushed, by
// INVLPG and by a full flush.
void check_tlb(pc::Ktest& t) {
  static StaticPagePool<4> pool;
  PageTables<StaticPagePool<4>, HvDirectMap> hv(pool, HvDirectMap{});
  hv.adopt(read_cr3() & ~std::uint64_t{0xFFF});
  auto* a = static_cast<volatile std::uint64_t*>(pool.alloc_page());
  auto* b = static_cast<volatile std::uint64_t*>(pool.alloc_page());
  *a = 0xAAAA;
  *b = 0xBBBB;
  const std::uint64_t va = 0xFFFF82D080000000;  // slot 261, outside the direct map's first GiB
  auto* p = reinterpret_cast<volatile std::uint64_t*>(va);
  bool ok = hv.map(va, hv_phys(const_cast<std::uint64_t*>(a)), PageFlags{.writable = true, .nx = true}).is_ok();
  ok = ok && *p == 0xAAAA;
  ok = ok && hv.unmap(va).ok();
  ok = ok && hv.map(va, hv_phys(const_cast<std::uint64_t*>(b)), PageFlags{.writable = true, .nx = true}).is_ok();
  flush_tlb_page(va);
  const bool after_invlpg = ok && *p == 0xBBBB;
  ok = ok && hv.unmap(va).ok();
  ok = ok && hv.map(va, hv_phys(const_cast<std::uint64_t*>(a)), PageFlags{.writable = true, .nx = true}).is_ok();
  flush_tlb_all();
  const bool after_full = ok && *p == 0xAAAA;
  (void)hv.unmap(va);
  flush_tlb_page(va);
  t.check("remap + INVLPG: the new frame is visible", after_invlpg);
  t.check("remap + full flush: the new frame is visible", after_full);
}

void check_nmi_and_timer(pc::Ktest& t) {
  t.check("LAPIC maps and enables", lapic_init().is_ok());
  t.check("LAPIC is software-enabled with the spurious vector",
          lapic().read(Lapic::kRegSpurious) == (0x100u | kVecSpurious));
  const std::uint64_t nmis = percpu().nmi_count;
  lapic().self_nmi();
  for (int i = 0; i < 1000000 && percpu().nmi_count == nmis; ++i) cpu_relax();
  t.check("a self-NMI is taken on its IST stack and returns", percpu().nmi_count == nmis + 1);

  // The SYSCALL window: an NMI that arrives after SYSCALL but before its swapgs finds the
  // guest's GS base loaded. The paranoid entry must notice and swap (else %gs:0 would be the
  // guest's address and the handler would fault), and swap back on the way out.
  const std::uint64_t kGuestGs = 0x5A5A000;
  wrmsr(kMsrKernelGsBase, kGuestGs);
  std::uint64_t gs_in_window = 0, gs_after = 0;
  volatile std::uint64_t* count = &percpu().nmi_count;  // computed while GS is still ours
  asm volatile(
      "swapgs\n\t"
      "movl %[cmd], (%[icr])\n\t"
      "movl $1000000, %%ecx\n"
      "1: cmpq %[target], (%[count])\n\t"
      "je 2f\n\t"
      "pause\n\t"
      "decl %%ecx\n\t"
      "jnz 1b\n"
      "2: movl $0xC0000101, %%ecx\n\t"
      "rdmsr\n\t"
      "shlq $32, %%rdx\n\t"
      "orq %%rax, %%rdx\n\t"
      "movq %%rdx, %[in_window]\n\t"
      "swapgs"
      : [in_window] "=m"(gs_in_window)
      : [cmd] "r"(Lapic::kIcrSelfNmi), [icr] "r"(lapic().reg_address(Lapic::kRegIcrLow)),
        [target] "r"(nmis + 2), [count] "r"(count)
      : "rax", "rcx", "rdx", "memory", "cc");
  gs_after = rdmsr(kMsrGsBase);
  t.check("an NMI with the guest's GS loaded is handled (paranoid swapgs) and leaves GS as found",
          percpu().nmi_count == nmis + 2 && gs_in_window == kGuestGs &&
              gs_after == reinterpret_cast<std::uint64_t>(&percpu()));

  const std::uint64_t ticks = percpu().timer_ticks;
  timer_start(20000);
  for (int i = 0; i < 200 && percpu().timer_ticks < ticks + 3; ++i) asm volatile("sti; hlt; cli");
  timer_stop();
  pc::printf("pvkit: %lu timer ticks while idle\n", percpu().timer_ticks - ticks);
  t.check("LAPIC timer ticks arrive while the hypervisor idles", percpu().timer_ticks >= ticks + 3);
}

// ---- mode=smp ----
struct ApReport {
  std::atomic<bool> done{false};
  unsigned cpu_id;
  std::uint64_t gs_base, kstack_top, tss;
  std::uint16_t tr, cs;
  std::uint32_t apic_id;
  bool nmi_ok, cr3_ok, efer_ok;
};
ApReport g_ap[kMaxCpus];

void ap_main(unsigned id) {
  ApReport& r = g_ap[id];
  r.cpu_id = percpu().cpu_id;
  r.gs_base = rdmsr(kMsrGsBase);
  r.kstack_top = percpu().kstack_top;
  r.tss = reinterpret_cast<std::uint64_t>(&cpu_tss());
  asm volatile("str %0" : "=r"(r.tr));
  r.cs = read_cs();
  r.apic_id = lapic().id();
  r.cr3_ok = (read_cr3() & ~std::uint64_t{0xFFF}) == hv_root_phys();
  r.efer_ok = Efer::SyscallEnable::test(rdmsr(kMsrEfer)) && rdmsr(kMsrStar) == star_msr_value();
  const std::uint64_t n = percpu().nmi_count;
  lapic().self_nmi();
  for (int i = 0; i < 1000000 && percpu().nmi_count == n; ++i) cpu_relax();
  r.nmi_ok = percpu().nmi_count == n + 1;
  r.done.store(true);
  for (;;) asm volatile("sti; hlt; cli");  // idle: IPIs from the boot CPU arrive here
}

// IPIs: each kick makes the target read kShootVa through its own TLB.
constexpr std::uint64_t kShootVa = 0xFFFF82D080000000;
std::atomic<std::uint64_t> g_seen[kMaxCpus];
std::atomic<unsigned> g_kicks[kMaxCpus];

void on_ipi(TrapFrame&) {
  const unsigned c = percpu().cpu_id;
  g_seen[c].store(*reinterpret_cast<volatile std::uint64_t*>(kShootVa));
  g_kicks[c].fetch_add(1);
}

bool kick_and_wait(unsigned c) {
  const unsigned before = g_kicks[c].load();
  send_ipi(c);
  for (int i = 0; i < 10000000 && g_kicks[c].load() == before; ++i) cpu_relax();
  return g_kicks[c].load() == before + 1;
}

void check_ipis_and_shootdown(pc::Ktest& t, unsigned n) {
  static StaticPagePool<4> pool;
  PageTables<StaticPagePool<4>, HvDirectMap> hv(pool, HvDirectMap{});
  hv.adopt(read_cr3() & ~std::uint64_t{0xFFF});
  auto* a = static_cast<std::uint64_t*>(pool.alloc_page());
  auto* b = static_cast<std::uint64_t*>(pool.alloc_page());
  *a = 0xAAAA;
  *b = 0xBBBB;
  bool ok = hv.map(kShootVa, hv_phys(a), PageFlags{.writable = true, .nx = true}).is_ok();
  bool kicked = true, first = true, after = true;
  for (unsigned c = 1; c <= n; ++c) {
    kicked = kicked && kick_and_wait(c);
    first = first && g_seen[c].load() == 0xAAAA;
  }
  // Remap on this CPU only: the APs may still hold the old translation...
  ok = ok && hv.unmap(kShootVa).ok() && hv.map(kShootVa, hv_phys(b), PageFlags{.writable = true, .nx = true}).is_ok();
  flush_tlb_page(kShootVa);
  unsigned stale = 0;
  for (unsigned c = 1; c <= n; ++c) {
    kicked = kicked && kick_and_wait(c);
    stale += g_seen[c].load() == 0xAAAA;
  }
  pc::printf("pvkit: %u of %u APs still saw the old frame before the shootdown\n", stale, n);
  // ...until the shootdown.
  const bool shot = flush_tlb_all_cpus();
  for (unsigned c = 1; c <= n; ++c) {
    kicked = kicked && kick_and_wait(c);
    after = after && g_seen[c].load() == 0xBBBB;
  }
  (void)hv.unmap(kShootVa);
  t.check("IPIs reach each AP's hook", ok && kicked);
  t.check("APs read the shared hypervisor mapping", first);
  t.check("after flush_tlb_all_cpus every AP sees the new frame", shot && after);
}

void check_smp(pc::Ktest& t, unsigned expected) {
  set_entry_hooks({.syscall = nullptr, .user_fault = nullptr, .timer = nullptr, .ipi = &on_ipi});
  const unsigned n = start_aps(&ap_main, expected);
  pc::printf("pvkit: %u application processor(s) online\n", n);
  t.check("every AP came online", n == expected && cpus_online() == expected + 1);
  for (int i = 0; i < 10000000; ++i) {
    bool all = true;
    for (unsigned c = 1; c <= n; ++c) all = all && g_ap[c].done.load();
    if (all) break;
    cpu_relax();
  }
  bool ids = true, own = true, tables = true, nmi = true, apic = true;
  for (unsigned c = 1; c <= n && c < kMaxCpus; ++c) {
    const ApReport& r = g_ap[c];
    ids = ids && r.done.load() && r.cpu_id == c;
    own = own && r.gs_base != reinterpret_cast<std::uint64_t>(&percpu()) &&
          r.kstack_top != percpu().kstack_top && r.tss != reinterpret_cast<std::uint64_t>(&cpu_tss());
    for (unsigned d = 1; d < c; ++d) own = own && r.gs_base != g_ap[d].gs_base && r.kstack_top != g_ap[d].kstack_top;
    tables = tables && r.tr == kTss.raw() && r.cs == kHvCs.raw() && r.cr3_ok && r.efer_ok;
    nmi = nmi && r.nmi_ok;
    apic = apic && r.apic_id != lapic().id();
    pc::printf("pvkit: cpu %u: lapic id %u, gs %lx, stack %lx\n", r.cpu_id, r.apic_id, r.gs_base, r.kstack_top);
  }
  t.check("APs numbered 1..n by ticket", ids);
  t.check("each CPU has its own GS block, stack and TSS", own);
  t.check("each AP loaded TR 0xe040, CS 0xe008, the hypervisor L4, SYSCALL MSRs", tables);
  t.check("each AP takes its own NMI on its IST stack", nmi);
  t.check("APs have their own LAPICs", apic);
  check_ipis_and_shootdown(t, n);
}

}  // namespace

int pvkit_main(const pvkit::pc::BootInfo& boot) {
  char mode[16] = "ok";
  (void)boot.arg_value("mode", mode, sizeof mode);
  pc::printf("pvkit cpu test image: mode=%s (command line at phys %lx)\n", mode,
             reinterpret_cast<std::uint64_t>(boot.cmdline) - kHvDirectMapBase);
  auto is = [&](const char* m) { return std::strcmp(mode, m) == 0; };
  if (is("ud")) asm volatile("ud2");
  if (is("pf")) (void)*reinterpret_cast<volatile std::uint64_t*>(0x1000);  // identity map gone
  if (is("gp")) (void)*reinterpret_cast<volatile std::uint64_t*>(0x8000000000000000ull);
  if (is("de")) {
    std::uint64_t a = 1, d = 0, zero = 0;
    asm volatile("divq %2" : "+a"(a), "+d"(d) : "r"(zero));
  }
  if (is("bp")) asm volatile("int3");
  if (is("wtext")) *reinterpret_cast<volatile std::uint8_t*>(&pvkit_main) = 0xCC;  // W^X
  if (is("overflow")) pc::printf("unreachable %lu\n", recurse(0));
  if (is("df")) {
    // A #PF whose frame cannot be pushed (the stack is unmapped) escalates to #DF, which
    // runs on its own IST stack and still produces the dump.
    asm volatile("movq $0x2000, %%rsp; pushq $0" ::: "memory");
  }
  pc::Ktest t;
  if (!is("ok") && !is("smp")) {
    t.check("the requested fault happened", false);
    t.finish();
  }
  if (is("smp")) {
    char want[4] = "1";
    (void)boot.arg_value("aps", want, sizeof want);
    check_smp(t, static_cast<unsigned>(want[0] - '0'));
    t.finish();
  }
  check_state(t);
  check_wx(t);
  check_tlb(t);
  check_nmi_and_timer(t);
  t.finish();
}
