// Compiled for the bare-metal platform too: proves that grant tables composed with lib/mm's
// verifier through MmGrantPolicy need no hosted library.
#include <cstdint>

#include "pvkit/domain/domain_table.h"
#include "pvkit/grant/grant_tables.h"
#include "pvkit/grant/mm_grant_policy.h"
#include "pvkit/mm/verifier.h"

namespace pvkit {
namespace grant_fs_check {

struct TinyMachine {
  std::uint64_t mem[8][512];
  std::uint64_t* frame_entries(Mfn m) { return m.value() < 8 ? mem[m.value()] : nullptr; }
  void fill_xen_l4_slots(Mfn, std::uint64_t*) {}
  void flush_tlb_all() {}
  void flush_tlb(DomId, const VcpuMask&) {}
  void invlpg(DomId, const VcpuMask&, VirtAddr) {}
  void load_root(DomId, VcpuId, Mfn) {}
};

struct TinyPages {
  alignas(4096) std::uint8_t pool[8][4096];
  std::uint32_t used = 0;
  void* alloc_page() { return used < 8 ? pool[used++] : nullptr; }
  void free_page(void*) {}
  Result<Mfn> share_table_page(DomId, void* p, bool) {
    return Mfn{static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(p) >> 12)};
  }
  Status unshare_table_page(DomId, void*) { return Status::ok(); }
};

using Verifier = PageTableVerifier<TinyMachine>;
using Policy = MmGrantPolicy<Verifier, DomainTable<2>, TinyPages>;
static_assert(GrantPlatform<Policy>);

}  // namespace grant_fs_check

using namespace grant_fs_check;

GrantStatus freestanding_check_grant_mm(Verifier& mm, DomainTable<2>& domains, TinyPages& pages,
                                        const xen::GnttabMapGrantRef& op) {
  Policy policy{mm, domains, pages};
  GrantTables<Policy, 2> gt{policy};
  static_cast<void>(gt.create_domain(DomId{0}));
  static_cast<void>(gt.create_domain(DomId{1}));
  GrantHandle h{};
  std::uint64_t bus = 0;
  GrantStatus s = gt.map(DomId{1}, op, h, bus);
  xen::GnttabUnmapGrantRef u{};
  u.handle = h.value();
  u.host_addr = op.host_addr;
  GrantStatus out[1];
  gt.unmap_batch(DomId{1}, std::span<const xen::GnttabUnmapGrantRef>(&u, 1), std::span<GrantStatus>(out, 1));
  return s;
}

}  // namespace pvkit
