// Compiled for the bare-metal platform too: proves the CPU-layer headers and templates need no
// hosted library.
#include "pvkit/arch/x86/apic/lapic.h"
#include "pvkit/arch/x86/cpu/fault_decode.h"
#include "pvkit/arch/x86/cpu/hypercall_regs.h"
#include "pvkit/arch/x86/cpu/idt.h"
#include "pvkit/arch/x86/cpu/percpu.h"
#include "pvkit/arch/x86/cpu/trap_dump.h"
#include "pvkit/arch/x86/cpu/tss.h"
#include "pvkit/arch/x86/mm/page_tables.h"
#include "pvkit/arch/x86/mm/static_page_pool.h"

namespace pvkit::x86 {

int freestanding_check_x86(std::uint64_t va, std::uint64_t pa, TrapFrame& f, const std::uint8_t* insn) {
  static StaticPagePool<4> pool;
  PageTables<StaticPagePool<4>, HvDirectMap> pt(pool, HvDirectMap{});
  int r = 0;
  if (pt.create(nullptr)) r += pt.map(va, pa, PageFlags{.writable = true, .user = true}).is_ok();
  r += pt.lookup(va).present();
  (void)pt.unmap(va);
  pt.destroy();
  f.rflags = sanitize_user_rflags(f.rflags);
  r += sysret_safe(f) + static_cast<int>(check_user_return(f));
  complete_hypercall(f, hypercall_args(f), -85);
  r += decode_soft_int_gp(f.error_code, insn, 2).value_or(0);
  dump_trap(f, ControlRegs{}, [&r](const char*, std::size_t n) { r += static_cast<int>(n); });
  static TssBlock tss;
  tss.init();
  tss.io.allow(0x3F8, 8);
  r += tss.io.access_allowed(0x3F8, 2);
  return r;
}

}  // namespace pvkit::x86
