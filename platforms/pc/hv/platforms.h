// pvkit/platforms/pc/hv/platforms.h — the PC platform's policy objects for lib/: the
// MmPlatform of the page-table verifier, the EventPlatform of event channels, and the grant
// tables' frame sharing, each one a small forwarding object over the Hypervisor.
//
// What it is:
//   PcMmPlatform     frames through the direct map (nullptr above RAM), Xen's L4 slots
//                    256-271 copied from the hypervisor's own L4 (supervisor-only), real TLB
//                    flushes (one CPU: CR3 reload with CR4.PGE toggled, INVLPG for the
//                    current address space; another domain's entries are flushed when it is
//                    switched in), load_root = the vCPU's CR3 (loaded now if it is running).
//   PcEventPlatform  hypervisor pages from the frame pool; map_guest_frame translates the
//                    domain's pfn through its p2m and takes a general reference in the frame
//                    database (dropped by unmap); kick wakes a blocked or polling vCPU.
//   PcGrantPages     grant/status frames from the pool, shared with a domain by giving it the
//                    frame with a permanent Writable type reference (so it can never become a
//                    page table, as Xen's share_xen_page_with_guest), unshared only when no
//                    mapping of it is left (Busy otherwise).
// All member functions are defined in hypervisor.cc; the concepts are checked there.
// Concurrency: one CPU, hooks run with interrupts off; the verifier lock is taken where lib/
// expects it.
#pragma once

#include <cstdint>

#include "pvkit/arch/x86/mm/phys_map.h"
#include "pvkit/base/status.h"
#include "pvkit/base/types.h"
#include "pvkit/mm/mm_platform.h"

namespace pvkit::pc {

class Hypervisor;

struct PcMmPlatform {
  Hypervisor* hv = nullptr;
  std::uint64_t nr_frames = 0;
  /// A frame's 512 entries through the direct map (inline: the verifier calls it for every
  /// page-table level it walks).
  std::uint64_t* frame_entries(Mfn m) {
    if (m.value() >= nr_frames) return nullptr;
    return static_cast<std::uint64_t*>(x86::hv_virt(m.value() << kPageShift));
  }
  void fill_xen_l4_slots(Mfn m, std::uint64_t* entries);
  void flush_tlb_all();
  void flush_tlb(DomId d, const VcpuMask& mask);
  void invlpg(DomId d, const VcpuMask& mask, VirtAddr va);
  void load_root(DomId d, VcpuId v, Mfn m);
};

struct PcEventPlatform {
  Hypervisor* hv = nullptr;
  void* alloc_page();
  void free_page(void* p);
  Result<void*> map_guest_frame(DomId d, Gfn g);
  void unmap_guest_frame(DomId d, void* page);
  void kick(DomId d, VcpuId v);
  bool pirq_permitted(DomId, std::uint32_t) { return false; }
};

struct PcGrantPages {
  Hypervisor* hv = nullptr;
  void* alloc_page();
  void free_page(void* p);
  Result<Mfn> share_table_page(DomId d, void* page, bool writable);
  Status unshare_table_page(DomId d, void* page);
};

}  // namespace pvkit::pc
