// The LAPIC, its timer and IPIs (kick, TLB shootdown) — see cpu/cpu.h.
#include <cstdint>

#include "pvkit/arch/x86/apic/lapic.h"
#include "pvkit/arch/x86/boot/layout.h"
#include "pvkit/arch/x86/cpu/cpu.h"
#include "pvkit/arch/x86/cpu/idt.h"
#include "pvkit/arch/x86/cpu/internal.h"
#include "pvkit/arch/x86/cpu/msr.h"
#include "pvkit/arch/x86/cpu/smp.h"
#include "pvkit/arch/x86/io.h"
#include "pvkit/arch/x86/mm/tlb.h"

namespace pvkit::x86 {
namespace {

constinit Lapic g_lapic{};
constinit bool g_lapic_ready = false;
constinit std::uint64_t g_flush_gen = 0;  // TLB shootdown generation (atomic builtins)

}  // namespace

namespace detail {

void lapic_eoi() { g_lapic.eoi(); }

void lapic_enable_this_cpu(PerCpu& pc) {
  if (!g_lapic_ready) return;
  g_lapic.enable(kVecSpurious);
  pc.apic_id = g_lapic.id();
}

void handle_tlb_flush_ipi(PerCpu& pc) {
  const std::uint64_t gen = __atomic_load_n(&g_flush_gen, __ATOMIC_ACQUIRE);
  flush_tlb_all();
  __atomic_store_n(&pc.tlb_flush_gen, gen, __ATOMIC_RELEASE);
  g_lapic.eoi();
}

}  // namespace detail

Status lapic_init() {
  std::uint64_t base = rdmsr(kMsrApicBase);
  if (!ApicBaseMsr::GlobalEnable::test(base)) {
    base = ApicBaseMsr::GlobalEnable::set(base, true);
    wrmsr(kMsrApicBase, base);
  }
  const std::uint64_t pa = ApicBaseMsr::BasePage::get(base) << 12;
  if (Status s = map_hv_mmio(pa); !s) return s;
  g_lapic = Lapic{static_cast<volatile std::uint32_t*>(hv_virt(pa))};
  g_lapic.enable(kVecSpurious);
  g_lapic_ready = true;
  percpu().apic_id = g_lapic.id();
  return Status::ok();
}

const Lapic& lapic() { return g_lapic; }
void timer_start(std::uint32_t count) { g_lapic.start_periodic(kVecTimer, count, Lapic::Divide::k16); }
void timer_stop() { g_lapic.stop_timer(); }

void send_ipi(unsigned cpu) {
  if (cpu >= kMaxCpus || !g_lapic_ready) return;
  g_lapic.write(Lapic::kRegIcrHigh, detail::cpu_block(cpu).apic_id << 24);
  g_lapic.write(Lapic::kRegIcrLow, Lapic::Icr::Vector::make(kVecIpi));
  for (int i = 0; i < 1000000 && Lapic::Icr::DeliveryStatus::test(g_lapic.read(Lapic::kRegIcrLow)); ++i) {
    cpu_relax();
  }
}

bool flush_tlb_all_cpus() {
  const std::uint64_t gen = __atomic_add_fetch(&g_flush_gen, 1, __ATOMIC_SEQ_CST);
  flush_tlb_all();
  percpu().tlb_flush_gen = gen;
  const unsigned online = cpus_online();
  if (online <= 1 || !g_lapic_ready) return true;
  g_lapic.write(Lapic::kRegIcrHigh, 0);
  g_lapic.write(Lapic::kRegIcrLow, Lapic::Icr::Vector::make(kVecTlbFlush) | Lapic::Icr::Shorthand::make(3));
  for (unsigned c = 0; c < online && c < kMaxCpus; ++c) {
    for (unsigned i = 0; i < 50000000 && __atomic_load_n(&detail::cpu_block(c).tlb_flush_gen, __ATOMIC_ACQUIRE) < gen; ++i) {
      cpu_relax();
    }
    if (__atomic_load_n(&detail::cpu_block(c).tlb_flush_gen, __ATOMIC_ACQUIRE) < gen) return false;
  }
  return true;
}

}  // namespace pvkit::x86
