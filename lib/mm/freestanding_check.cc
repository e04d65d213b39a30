// Compiled for the bare-metal platform too: proves pvkit/mm (verifier, handlers, grant hooks,
// teardown) needs no hosted library.
#include <cstdint>
#include <cstring>

#include "pvkit/domain/domain_table.h"
#include "pvkit/mm/domain_teardown.h"
#include "pvkit/mm/grant_mapping.h"
#include "pvkit/mm/hypercall_mmu_update.h"
#include "pvkit/mm/hypercall_mmuext_op.h"
#include "pvkit/mm/hypercall_update_va_mapping.h"
#include "pvkit/mm/verifier.h"

namespace pvkit {

// A tiny freestanding platform: 8 static frames, no-op TLB duties.
struct TinyPlatform {
  std::uint64_t mem[8][512];
  std::uint64_t* frame_entries(Mfn m) { return m.value() < 8 ? mem[m.value()] : nullptr; }
  void fill_xen_l4_slots(Mfn, std::uint64_t*) {}
  void flush_tlb_all() {}
  void flush_tlb(DomId, const VcpuMask&) {}
  void invlpg(DomId, const VcpuMask&, VirtAddr) {}
  void load_root(DomId, VcpuId, Mfn) {}
};
static_assert(MmPlatform<TinyPlatform>);

// A guest memory of one page at virtual address 0.
struct TinyMemory {
  std::uint8_t page[4096];
  Status copy_from_guest(void* dst, VirtAddr va, std::size_t n) {
    if (va.value() > sizeof(page) || n > sizeof(page) - va.value()) return Errno::Fault;
    std::memcpy(dst, page + va.value(), n);
    return Status::ok();
  }
  Status copy_to_guest(VirtAddr va, const void* src, std::size_t n) {
    if (va.value() > sizeof(page) || n > sizeof(page) - va.value()) return Errno::Fault;
    std::memcpy(page + va.value(), src, n);
    return Status::ok();
  }
};

struct TinyCtx {
  TinyMemory& mem;
  PageTableVerifier<TinyPlatform>& v;
  DomainTable<2>& table;
  TinyMemory& guest_memory() { return mem; }
  DomId current_domain() { return DomId{1}; }
  VcpuId current_vcpu() { return VcpuId{0}; }
  PageTableVerifier<TinyPlatform>& mm() { return v; }
  DomainTable<2>& domains() { return table; }
};
static_assert(MmHypercallContext<TinyCtx>);

std::int64_t freestanding_check_mm(TinyCtx& ctx, HypercallArgs& args, Domain& d, Mfn m) {
  std::int64_t r = MmuUpdateOp::call(ctx, args);
  r += MmuextOp::call(ctx, args);
  r += UpdateVaMappingOp::call(ctx, args);
  if (Status s = grant_get_frame(ctx.v, m, d, true); s) {
    r += grant_install_pte(ctx.v, d, to_maddr(m), m, GrantPteFlags{}).status().guest_value();
    r += grant_remove_pte(ctx.v, d, to_maddr(m), m, false).status().guest_value();
    grant_put_frame(ctx.v, m, true);
  }
  r += domain_teardown_step(ctx.v, d).guest_value();
  return r;
}
}  // namespace pvkit
