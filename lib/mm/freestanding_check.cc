// Compiled for the bare-metal platform too: proves pvkit/mm needs no hosted library.
#include <cstdint>

#include "pvkit/mm/grant_mapping.h"
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

Status freestanding_check_mm(Domain& d, Mfn m, TinyPlatform& plat, FrameInfo (&info)[8]) {
  FrameDb db{std::span<FrameInfo>(info)};
  PageTableVerifier<TinyPlatform> v(db, plat);
  {
    LockGuard g(v.lock());
    v.begin_call();
    if (Status s = v.pin(d, m, PageType::L4); !s) return s;
  }
  if (Status s = grant_get_frame(v, m, d, true); !s) return s;
  auto r = grant_install_pte(v, d, to_maddr(m), m, GrantPteFlags{});
  return r.status();
}
}  // namespace pvkit
