// Starting the application processors (see cpu/smp.h).
#include "pvkit/arch/x86/cpu/smp.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "pvkit/arch/x86/apic/lapic.h"
#include "pvkit/arch/x86/boot/layout.h"
#include "pvkit/arch/x86/cpu/cpu.h"
#include "pvkit/arch/x86/cpu/percpu.h"
#include "pvkit/arch/x86/io.h"
#include "pvkit/arch/x86/mm/page_tables.h"
#include "pvkit/arch/x86/mm/static_page_pool.h"

#define PVKIT_HIDDEN __attribute__((visibility("hidden")))

extern "C" {
[[noreturn]] void pvkit_panic(const char* msg);
PVKIT_HIDDEN extern const std::uint8_t pvkit_ap_trampoline_start[], pvkit_ap_trampoline_end[];
PVKIT_HIDDEN extern const std::uint8_t pvkit_ap_mb_cr3[], pvkit_ap_mb_entry[];
void pvkit_ap_entry_asm();
// Read by pvkit_ap_entry_asm.
PVKIT_HIDDEN std::uint32_t pvkit_ap_next = 0;
PVKIT_HIDDEN std::uint64_t pvkit_ap_stack_tops[PVKIT_MAX_CPUS - 1] = {};
[[noreturn]] void pvkit_ap_main_entry(unsigned id);
}

namespace pvkit::x86 {
namespace {

constexpr std::size_t kApBootStackSize = 16384;
struct alignas(4096) ApBootStack {
  std::uint8_t guard[4096];  // unmapped (cpu.cc harden_hv_mappings)
  std::uint8_t bytes[kApBootStackSize];
};

constinit ApBootStack g_ap_stacks[kMaxCpus - 1]{};
constinit StaticPagePool<4> g_ap_pool{};  // the AP bootstrap L4 and its identity branch
constinit std::atomic<unsigned> g_online{1};
constinit void (*g_ap_main)(unsigned) = nullptr;

std::uint64_t mailbox_offset(const std::uint8_t* field) {
  return static_cast<std::uint64_t>(field - pvkit_ap_trampoline_start);
}

void send_icr(std::uint32_t icr_low) {
  const Lapic& apic = lapic();
  apic.write(Lapic::kRegIcrHigh, 0);
  apic.write(Lapic::kRegIcrLow, icr_low);
  for (int i = 0; i < 1000000 && Lapic::Icr::DeliveryStatus::test(apic.read(Lapic::kRegIcrLow)); ++i) {
    cpu_relax();
  }
}

void spin(unsigned n) {
  for (unsigned i = 0; i < n; ++i) cpu_relax();
}

}  // namespace

bool is_ap_stack_guard(std::uint64_t va) {
  for (const auto& s : g_ap_stacks) {
    if (va == reinterpret_cast<std::uint64_t>(s.guard)) return true;
  }
  return false;
}

unsigned cpus_online() { return g_online.load(); }

unsigned start_aps(void (*ap_main)(unsigned cpu), unsigned expected) {
  if (!lapic_init()) pvkit_panic("start_aps: no LAPIC");
  static bool started = false;
  if (started) return g_online.load() - 1;
  started = true;
  g_ap_main = ap_main;
  for (unsigned i = 0; i + 1 < kMaxCpus; ++i) {
    pvkit_ap_stack_tops[i] = reinterpret_cast<std::uint64_t>(g_ap_stacks[i].bytes + kApBootStackSize);
  }

  // The AP bootstrap address space: the hypervisor slots plus the trampoline page at its
  // physical address (read-only, executable, supervisor).
  static PageTables<StaticPagePool<4>, HvDirectMap> boot(g_ap_pool, HvDirectMap{});
  if (!boot.create(static_cast<const Pte*>(hv_virt(hv_root_phys()))) ||
      !boot.map(kApTrampolinePhys, kApTrampolinePhys, PageFlags{})) {
    pvkit_panic("start_aps: cannot build the AP bootstrap tables");
  }
  const std::size_t len = static_cast<std::size_t>(pvkit_ap_trampoline_end - pvkit_ap_trampoline_start);
  if (len > 4096 || boot.root_phys() >= (std::uint64_t{1} << 32)) pvkit_panic("start_aps: bad trampoline");
  auto* page = static_cast<std::uint8_t*>(hv_virt(kApTrampolinePhys));
  std::memcpy(page, pvkit_ap_trampoline_start, len);
  const std::uint64_t cr3 = boot.root_phys();
  const std::uint64_t entry = reinterpret_cast<std::uint64_t>(&pvkit_ap_entry_asm);
  std::memcpy(page + mailbox_offset(pvkit_ap_mb_cr3), &cr3, sizeof cr3);
  std::memcpy(page + mailbox_offset(pvkit_ap_mb_entry), &entry, sizeof entry);
  asm volatile("mfence" ::: "memory");

  using Icr = Lapic::Icr;
  constexpr std::uint32_t kAllButSelf = Icr::Shorthand::make(3);
  send_icr(kAllButSelf | Icr::Level::kBit | Icr::DeliveryMode::make(5));  // INIT
  spin(100000);
  for (int i = 0; i < 2; ++i) {  // STARTUP, twice (the MP specification's sequence)
    send_icr(kAllButSelf | Icr::DeliveryMode::make(6) | static_cast<std::uint32_t>(kApTrampolinePhys >> 12));
    spin(20000);
  }
  for (unsigned i = 0; i < 50000000 && g_online.load() < expected + 1; ++i) cpu_relax();
  return g_online.load() - 1;
}

}  // namespace pvkit::x86

extern "C" void pvkit_ap_main_entry(unsigned id) {
  using namespace pvkit::x86;
  cpu_init_ap(id);
  g_online.fetch_add(1);
  if (g_ap_main != nullptr) g_ap_main(id);
  pvkit::x86::halt_forever();
}
