// trapper — a test guest kernel for the PC hypervisor's exception bouncing: it installs a trap
// table (HYPERVISOR_set_trap_table) for #BP, #UD and #PF, takes each exception once from its
// own code, and checks that its handlers (trapper_entry.S) ran through Xen's bounce frame
// (with the error code for #PF) and that HYPERVISOR_iret brought it back where it left off
// with its registers intact. Prints "trapper: SUCCESS" and powers off, or FAILURE.
#include <cstdint>

#include "pvkit/guest/console.h"
#include "pvkit/guest/hypercall.h"
#include "pvkit/guest/runtime.h"
#include "pvkit/guest/start_info.h"

namespace g = pvkit::guest;

extern "C" {
void trapper_bp();
void trapper_ud();
void trapper_pf();
std::uint64_t trapper_touch_null(std::uint64_t keep);
extern volatile std::uint64_t trapper_bp_count, trapper_ud_count, trapper_pf_count, trapper_pf_error;
}

namespace {

/// struct trap_info (arch-x86/xen.h).
struct TrapInfo {
  std::uint8_t vector;
  std::uint8_t flags;  // DPL in bits 0-1
  std::uint16_t cs;
  std::uint32_t pad;
  std::uint64_t address;
};

constexpr std::uint16_t kFlatKernelCs = 0xe033;
constexpr std::uint32_t kSetTrapTable = 0;

constinit TrapInfo g_table[4] = {};

}  // namespace

int guest_main(const g::xen::StartInfo&) {
  g_table[0] = {3, 3, kFlatKernelCs, 0, reinterpret_cast<std::uint64_t>(&trapper_bp)};
  g_table[1] = {6, 0, kFlatKernelCs, 0, reinterpret_cast<std::uint64_t>(&trapper_ud)};
  g_table[2] = {14, 0, kFlatKernelCs, 0, reinterpret_cast<std::uint64_t>(&trapper_pf)};
  g_table[3] = {};
  const long rc = g::hypercall<kSetTrapTable>(reinterpret_cast<std::uint64_t>(g_table));
  g::print("trapper: set_trap_table -> %ld\n", rc);
  if (rc != 0) {
    g::print("trapper: FAILURE (set_trap_table)\n");
    return 1;
  }
  std::uint64_t keep = 0x1122334455667788;
  asm volatile("int3" : "+r"(keep) : : "memory");
  g::print("trapper: back from int3 (#BP handler ran %lu time(s))\n", trapper_bp_count);
  asm volatile("ud2" : "+r"(keep) : : "memory");
  g::print("trapper: back from ud2 (#UD handler ran %lu time(s))\n", trapper_ud_count);
  const std::uint64_t r = trapper_touch_null(keep);
  g::print("trapper: back from a NULL load (#PF handler ran %lu time(s), error code %lu)\n", trapper_pf_count,
           trapper_pf_error);
  const bool ok = trapper_bp_count == 1 && trapper_ud_count == 1 && trapper_pf_count == 1 &&
                  trapper_pf_error == 4 /* user, read, not present */ && keep == 0x1122334455667788 && r == keep;
  g::print(ok ? "trapper: SUCCESS\n" : "trapper: FAILURE (handler counts, error code or registers)\n");
  return ok ? 0 : 1;
}
