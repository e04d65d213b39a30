// The PC platform's policy objects for lib/ (platforms.h) and the per-call context's accessors
// (hypervisor.h), checked against every concept they must satisfy.
#include <cstring>
#include <new>

#include "pvkit/arch/x86/boot/layout.h"
#include "pvkit/arch/x86/cpu/cpu.h"
#include "pvkit/arch/x86/mm/tlb.h"
#include "pvkit/platforms/pc/hv/hypervisor.h"
#include "pvkit/platforms/pc/log.h"

namespace pvkit::pc {


// The lib/ objects, checked against their concepts once here.
static_assert(MmPlatform<PcMmPlatform>);
static_assert(event::EventPlatform<PcEventPlatform>);
static_assert(GrantTablePages<PcGrantPages>);
static_assert(GrantPlatform<PcGrantPolicy>);
static_assert(HypercallContext<PcContext>);
static_assert(MmHypercallContext<PcContext>);
static_assert(event::EvtchnHypercallContext<PcContext>);
static_assert(GrantHypercallContext<PcContext>);
static_assert(CallbackContext<PcContext>);
static_assert(IretHypercallContext<PcContext>);
static_assert(PcSchedContext<PcContext>);

// ------------------------------------------------------------------ platform objects

void PcMmPlatform::fill_xen_l4_slots(Mfn, std::uint64_t* entries) {
  const auto* hv_l4 = static_cast<const std::uint64_t*>(x86::hv_virt(x86::hv_root_phys()));
  for (unsigned i = x86::kHvFirstL4Slot; i <= x86::kHvLastL4Slot; ++i) entries[i] = hv_l4[i];
}

void PcMmPlatform::flush_tlb_all() { x86::flush_tlb_all(); }

void PcMmPlatform::flush_tlb(DomId d, const VcpuMask&) {
  // Only the running domain's translations can be cached: others are flushed on switch-in.
  if (hv->current() != nullptr && hv->current()->id == d) x86::flush_tlb_all();
}

void PcMmPlatform::invlpg(DomId d, const VcpuMask&, VirtAddr va) {
  if (hv->current() != nullptr && hv->current()->id == d) x86::flush_tlb_page(va.value());
}

void PcMmPlatform::load_root(DomId d, VcpuId, Mfn m) {
  Vcpu* v = hv->vcpu_of(d);
  if (v == nullptr) return;
  v->root_phys = m.value() << kPageShift;
  if (hv->current() == v) {
    x86::write_cr3(v->root_phys);
    x86::flush_tlb_all();
  }
}

namespace {
void* hv_page(Hypervisor& hv) {
  void* p = hv.pool.alloc_page();
  if (p != nullptr) (void)hv.frames->reserve_xen(hv.pool.mfn_of(p));
  return p;
}
void hv_page_free(Hypervisor& hv, void* p) {
  const Mfn m = hv.pool.mfn_of(p);
  if (FrameInfo* f = hv.frames->info(m)) f->xen = false;
  hv.pool.free(m);
}
}  // namespace

void* PcEventPlatform::alloc_page() { return hv_page(*hv); }
void PcEventPlatform::free_page(void* p) { hv_page_free(*hv, p); }

Result<void*> PcEventPlatform::map_guest_frame(DomId d, Gfn g) {
  Vcpu* v = hv->vcpu_of(d);
  if (v == nullptr || v->dom == nullptr || g.value() >= v->nr_pages) return Errno::Inval;
  const Mfn m = v->p2m[g.value()];
  LockGuard lock(hv->mm->lock());
  if (!hv->frames->get_page(m, v->dom)) return Errno::Inval;
  return x86::hv_virt(m.value() << kPageShift);
}

void PcEventPlatform::unmap_guest_frame(DomId, void* page) {
  LockGuard lock(hv->mm->lock());
  hv->frames->put_page(hv->pool.mfn_of(page));
}

void PcEventPlatform::kick(DomId d, VcpuId) {
  Vcpu* v = hv->vcpu_of(d);
  if (v != nullptr && (v->state == VcpuState::kBlocked || v->state == VcpuState::kPolling)) {
    v->state = VcpuState::kRunnable;
  }
}

void* PcGrantPages::alloc_page() { return hv_page(*hv); }
void PcGrantPages::free_page(void* p) { hv_page_free(*hv, p); }

Result<Mfn> PcGrantPages::share_table_page(DomId d, void* page, bool) {
  Vcpu* v = hv->vcpu_of(d);
  if (v == nullptr || v->dom == nullptr) return Errno::Srch;
  const Mfn m = hv->pool.mfn_of(page);
  LockGuard lock(hv->mm->lock());
  FrameInfo* f = hv->frames->info(m);
  if (f == nullptr) return Errno::Inval;
  f->xen = false;
  if (Status s = hv->frames->assign(m, *v->dom); !s) {
    f->xen = true;
    return s;
  }
  // A permanent Writable type reference: the frame can never become a page table.
  if (Status s = hv->mm->get_page_and_type(m, v->dom, PageType::Writable); !s) {
    (void)hv->frames->release_allocation(m, *v->dom);
    f->xen = true;
    return s;
  }
  return m;
}

Status PcGrantPages::unshare_table_page(DomId d, void* page) {
  Vcpu* v = hv->vcpu_of(d);
  const Mfn m = hv->pool.mfn_of(page);
  LockGuard lock(hv->mm->lock());
  FrameInfo* f = hv->frames->info(m);
  if (f == nullptr || v == nullptr || f->owner != v->dom) return Errno::Inval;
  // Our general and type reference, plus the allocation reference unless domain teardown
  // already dropped it: anything more is a mapping of the frame.
  const bool allocated = f->allocated;
  if (f->refcount > (allocated ? 2u : 1u) || f->type_count > 1) return Errno::Busy;
  hv->mm->put_page_and_type(m);
  if (allocated) {
    if (Status s = hv->frames->release_allocation(m, *v->dom); !s) return s;
  }
  f->xen = true;  // a hypervisor page again until free_page
  return Status::ok();
}

void PcGrantPolicy::note_grant_map(DomId mapper, std::uint64_t addr, Mfn frame, bool readonly) const {
  // The story tells the first few; a backend mapping in a loop (or the benchmark) is not
  // slowed by the serial console. The summary line counts them all.
  constexpr std::uint64_t kLoggedMaps = 8;  // `maps` already counts this one
  if (maps > kLoggedMaps + 1) return;
  if (maps == kLoggedMaps + 1) {
    printf("pvkit: grant: (further grant mappings are counted, not logged)\n");
    return;
  }
  printf("pvkit: grant: d%u maps machine frame %lx at %lx (%s) - a grant PTE mmu_update cannot touch\n",
         static_cast<unsigned>(mapper.value()), static_cast<unsigned long>(frame.value()), addr,
         readonly ? "read-only" : "read-write");
}

// ------------------------------------------------------------------ context

Verifier& PcContext::mm() { return *Hypervisor::get().mm; }
Domains& PcContext::domains() { return Hypervisor::get().domains; }
Events& PcContext::evtchn() { return *Hypervisor::get().events; }
Grants& PcContext::grant_tables() { return *Hypervisor::get().grants; }
// The SYSCALL entry parked the guest's RSP in the per-CPU block; it stays there for the whole
// call (interrupts are off, nothing else enters from ring 3 meanwhile).
std::uint64_t PcContext::guest_rsp() const { return x86::percpu().user_rsp; }

bool PcContext::port_valid(std::uint32_t port) {
  return port != 0 && port < Hypervisor::get().events->valid_ports(v_.id);
}

void PcContext::poll(std::span<const std::uint32_t> ports, std::uint64_t) {
  v_.nr_poll = 0;
  for (std::uint32_t p : ports) v_.poll_ports[v_.nr_poll++] = p;
  v_.req.poll = true;
}

}  // namespace pvkit::pc
