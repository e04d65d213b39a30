// The composed PC hypervisor: boot-time setup, the platform objects lib/ is instantiated
// with, the CPU hooks, scheduling, event upcalls, faults and the domain life cycle. See
// hypervisor.h for the overview; the domain builder is in domain_builder.cc.
#include "pvkit/platforms/pc/hv/hypervisor.h"

#include <cstring>
#include <new>

#include "pvkit/arch/x86/boot/layout.h"
#include "pvkit/arch/x86/cpu/cpu.h"
#include "pvkit/arch/x86/cpu/hypercall_regs.h"
#include "pvkit/arch/x86/cpu/msr.h"
#include "pvkit/arch/x86/mm/tlb.h"
#include "pvkit/hypercall/entry.h"
#include "pvkit/mm/domain_teardown.h"
#include "pvkit/platforms/pc/ktest.h"
#include "pvkit/platforms/pc/log.h"

extern "C" __attribute__((visibility("hidden"))) char __image_end[];

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

namespace {

/// RAM the PC images are booted with (QEMU -m 256; the boot direct map covers the first GiB).
constexpr std::uint64_t kRamBytes = std::uint64_t{256} << 20;
/// LAPIC timer period (divided-by-16 bus ticks): the preemption quantum.
constexpr std::uint32_t kTimerCount = 200000;
/// COM1's I/O ports, handed to a driver domain with `owns_uart`.
constexpr std::uint32_t kUartFirstPort = 0x3F8;
constexpr std::uint32_t kUartPorts = 8;
/// Consecutive "everyone is asleep" rounds after which the hypervisor declares a deadlock.
constexpr std::uint32_t kMaxIdleRounds = 2000;

alignas(Hypervisor) unsigned char g_hv_storage[sizeof(Hypervisor)];
alignas(FrameDb) unsigned char g_db_storage[sizeof(FrameDb)];
alignas(Verifier) unsigned char g_mm_storage[sizeof(Verifier)];
alignas(Events) unsigned char g_ev_storage[sizeof(Events)];
alignas(PcGrantPolicy) unsigned char g_gp_storage[sizeof(PcGrantPolicy)];
alignas(Grants) unsigned char g_gt_storage[sizeof(Grants)];
Hypervisor* g_hv = nullptr;

void hook_syscall(x86::TrapFrame& f) { g_hv->on_syscall(f); }
void hook_fault(x86::TrapFrame& f) { g_hv->on_fault(f); }
void hook_timer(x86::TrapFrame& f) { g_hv->on_timer(f); }

const char* vector_name(std::uint64_t v) {
  switch (v) {
    case 0: return "#DE divide error";
    case 1: return "#DB debug";
    case 3: return "#BP breakpoint";
    case 6: return "#UD invalid opcode";
    case 13: return "#GP general protection";
    case 14: return "#PF page fault";
    case x86::kVecBadUserReturn: return "an unsafe return frame";
    default: return "an exception";
  }
}

const char* shutdown_name(std::uint32_t r) {
  switch (r) {
    case 0: return "powered off";
    case 1: return "rebooted (treated as powered off)";
    case 2: return "suspended (treated as powered off)";
    case 3: return "crashed (SHUTDOWN_crash)";
    case 4: return "stopped by its watchdog";
    default: return "shut down";
  }
}

bool has_error_code(std::uint64_t v) { return v == 8 || (v >= 10 && v <= 14) || v == 17; }

}  // namespace

// ------------------------------------------------------------------ platform objects

std::uint64_t* PcMmPlatform::frame_entries(Mfn m) {
  if (m.value() >= nr_frames) return nullptr;
  return static_cast<std::uint64_t*>(x86::hv_virt(m.value() << kPageShift));
}

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

void PcGrantPolicy::note_grant_map(DomId mapper, std::uint64_t addr, Mfn frame, bool readonly) {
  printf("pvkit: grant: d%u maps machine frame %lx at %lx (%s) - a grant PTE mmu_update cannot touch\n",
         static_cast<unsigned>(mapper.value()), static_cast<unsigned long>(frame.value()), addr,
         readonly ? "read-only" : "read-write");
}

// ------------------------------------------------------------------ context

Verifier& PcContext::mm() { return *hv_.mm; }
Domains& PcContext::domains() { return hv_.domains; }
Events& PcContext::evtchn() { return *hv_.events; }
Grants& PcContext::grant_tables() { return *hv_.grants; }
std::uint64_t PcContext::guest_rsp() const { return v_.frame_rsp; }

bool PcContext::port_valid(std::uint32_t port) {
  return port != 0 && port < hv_.events->valid_ports(v_.id);
}

void PcContext::poll(std::span<const std::uint32_t> ports, std::uint64_t) {
  v_.nr_poll = 0;
  for (std::uint32_t p : ports) v_.poll_ports[v_.nr_poll++] = p;
  v_.want_poll = true;
}

// ------------------------------------------------------------------ boot

Hypervisor& Hypervisor::get() { return *g_hv; }

Hypervisor& Hypervisor::boot(const BootInfo& boot) {
  auto* hv = new (g_hv_storage) Hypervisor();
  g_hv = hv;
  hv->nr_frames = kRamBytes >> kPageShift;
  // The frame database lives right above the image; the pool gets the rest of RAM.
  const std::uint64_t image_end = (x86::hv_phys(__image_end) + kPageSize - 1) & kPageMask;
  const std::uint64_t db_bytes = (hv->nr_frames * sizeof(FrameInfo) + kPageSize - 1) & kPageMask;
  auto* infos = static_cast<FrameInfo*>(x86::hv_virt(image_end));
  for (std::uint64_t i = 0; i < hv->nr_frames; ++i) new (&infos[i]) FrameInfo();
  hv->frames = new (g_db_storage) FrameDb(std::span<FrameInfo>(infos, hv->nr_frames));
  const std::uint64_t first_free = (image_end + db_bytes) >> kPageShift;
  auto in_module = [&](std::uint64_t m) {
    for (std::size_t i = 0; i < boot.nr_modules; ++i) {
      const std::uint64_t lo = x86::hv_phys(boot.modules[i].data) >> kPageShift;
      const std::uint64_t hi = (x86::hv_phys(boot.modules[i].data) + boot.modules[i].size + kPageSize - 1) >> kPageShift;
      if (m >= lo && m < hi) return true;
    }
    return false;
  };
  for (std::uint64_t m = 0; m < hv->nr_frames; ++m) {
    if (m < first_free || in_module(m)) {
      (void)hv->frames->reserve_xen(Mfn{m});
    }
  }
  for (std::uint64_t m = hv->nr_frames; m-- > first_free;) {
    if (!in_module(m)) hv->pool.free(Mfn{m});
  }
  hv->mm_platform = {hv, hv->nr_frames};
  hv->mm = new (g_mm_storage) Verifier(*hv->frames, hv->mm_platform);
  hv->event_platform = {hv};
  hv->events = new (g_ev_storage) Events(hv->event_platform);
  hv->grant_pages = {hv};
  hv->grant_policy = new (g_gp_storage) PcGrantPolicy(*hv->mm, hv->domains, hv->grant_pages);
  hv->grants = new (g_gt_storage) Grants(*hv->grant_policy);
  hv->boot_free_frames = hv->pool.free_frames();
  x86::set_entry_hooks({.syscall = &hook_syscall, .user_fault = &hook_fault, .timer = &hook_timer});
  printf("pvkit: hypervisor up: %lu MiB of RAM, %lu frames free for domains (frame database %lu KiB)\n",
         static_cast<unsigned long>(kRamBytes >> 20), static_cast<unsigned long>(hv->boot_free_frames),
         static_cast<unsigned long>(db_bytes >> 10));
  return *hv;
}

std::uint16_t Hypervisor::next_domid() const {
  for (std::uint16_t i = 0; i < kMaxDomains; ++i) {
    if (vcpus[i].state == VcpuState::kFree) return i;
  }
  return kMaxDomains;
}

Vcpu* Hypervisor::vcpu_of(DomId d) {
  if (d.value() >= kMaxDomains) return nullptr;
  Vcpu& v = vcpus[d.value()];
  return v.state == VcpuState::kFree ? nullptr : &v;
}

// ------------------------------------------------------------------ running

void Hypervisor::run() {
  Vcpu* first = nullptr;
  for (auto& v : vcpus) {
    if (v.state == VcpuState::kRunnable) {
      first = &v;
      break;
    }
  }
  if (first == nullptr) finish();
  printf("pvkit: starting %u domain(s); LAPIC timer preempts every vCPU (round robin)\n", domains_built);
  if (!x86::lapic_init()) {
    printf("pvkit: no LAPIC: running without preemption\n");
  } else {
    x86::timer_start(kTimerCount);
  }
  cur_ = first;
  x86::write_cr3(first->root_phys);
  x86::flush_tlb_all();
  x86::TrapFrame f = first->frame;
  x86::run_user(f);  // returns only through leave_user(), which pvkit never calls
  finish();
}

void Hypervisor::on_syscall(x86::TrapFrame& f) {
  Vcpu& v = *cur_;
  ++v.hypercalls;
  ++total_hypercalls;
  v.frame_rsp = f.rsp;
  HypercallArgs a = x86::hypercall_args(f);
  PcContext ctx(*this, v);
  const EntryResult r = hypercall_entry<PcTable>(ctx, a);
  if (v.want_iret) {
    v.want_iret = false;
    const pc::xen::IretContext& ic = v.iret;
    f.rax = ic.rax;
    f.rip = ic.rip;
    f.rsp = ic.rsp;
    f.rflags = x86::sanitize_user_rflags(ic.rflags);
    if ((ic.flags & pc::xen::kVgcfInSyscall) == 0) {
      f.r11 = ic.r11;
      f.rcx = ic.rcx;
    }
    f.cs = x86::kGuestCs64.raw();
    f.ss = x86::kGuestSs64.raw();
    v.vcpu_info()->evtchn_upcall_mask = x86::Rflags::Interrupt::test(ic.rflags) ? 0 : 1;
  } else if (r.action == EntryAction::kReexecute) {
    x86::reexecute_hypercall(f, a);
  } else {
    x86::return_from_hypercall(f, r.rax);
  }
  apply_requests(f, v);
}

void Hypervisor::apply_requests(x86::TrapFrame& f, Vcpu& v) {
  bool rotate = false;
  if (v.want_crash) {
    v.want_crash = false;
    printf("pvkit: d%u (%s) killed by the hypervisor: %s\n", static_cast<unsigned>(v.id.value()), v.spec.name,
           v.crash_why);
    end_domain(v, "crashed");
  } else if (v.want_shutdown) {
    v.want_shutdown = false;
    end_domain(v, shutdown_name(v.shutdown_reason));
  } else if (v.want_block) {
    v.want_block = false;
    auto* vi = v.vcpu_info();
    vi->evtchn_upcall_mask = 0;  // SCHEDOP_block enables event delivery, then sleeps
    if (__atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_ACQUIRE) == 0) v.state = VcpuState::kBlocked;
    rotate = true;
  } else if (v.want_poll) {
    v.want_poll = false;
    bool pending = false;
    for (std::uint32_t i = 0; i < v.nr_poll; ++i) pending = pending || events->is_pending(v.id, EvtchnPort{v.poll_ports[i]});
    if (!pending) v.state = VcpuState::kPolling;
    rotate = true;
  } else if (v.want_yield) {
    v.want_yield = false;
    rotate = true;
  }
  leave_to_guest(f, rotate);
}

void Hypervisor::on_fault(x86::TrapFrame& f) {
  Vcpu& v = *cur_;
  const std::uint64_t vec = f.vector;
  if (vec < kTrapTableVectors && v.cb.traps[vec] != 0) {
    ++v.bounces;
    if (vec == 14) v.vcpu_info()->arch.cr2 = x86::last_fault_cr2();
    auto* vi = v.vcpu_info();
    const bool mask = v.cb.trap_masks_events[vec];
    const std::uint8_t old = vi->evtchn_upcall_mask;
    if (bounce(f, v, v.cb.traps[vec], has_error_code(vec), f.error_code, old)) {
      if (mask) vi->evtchn_upcall_mask = 1;
    }
    leave_to_guest(f, false);
    return;
  }
  v.console.flush();
  if (vec == 14) {
    printf("pvkit: d%u (%s) crashed: %s at rip %lx, address %lx, error %lx (no trap handler): only this domain dies\n",
           static_cast<unsigned>(v.id.value()), v.spec.name, vector_name(vec), f.rip, x86::last_fault_cr2(),
           f.error_code);
  } else {
    printf("pvkit: d%u (%s) crashed: %s at rip %lx, error %lx (no trap handler): only this domain dies\n",
           static_cast<unsigned>(v.id.value()), v.spec.name, vector_name(vec), f.rip, f.error_code);
  }
  end_domain(v, "crashed");
  leave_to_guest(f, false);
}

void Hypervisor::on_timer(x86::TrapFrame& f) {
  if (!f.from_user() || cur_ == nullptr) return;
  ++ticks;
  ++cur_->preemptions;
  for (auto& v : vcpus) {
    if (v.state != VcpuState::kFree && v.state != VcpuState::kDead) events->raise_virq(v.id, VcpuId{0}, ::pvkit::xen::kVirqTimer);
  }
  leave_to_guest(f, true);
}

void Hypervisor::leave_to_guest(x86::TrapFrame& f, bool rotate) {
  for (;;) {
    retry_teardowns();
    bool any_live = false, only_endless = true;
    for (auto& v : vcpus) {
      if (v.state == VcpuState::kFree || v.state == VcpuState::kDead) continue;
      any_live = true;
      only_endless = only_endless && (v.spec.expect == Expect::kSpin || v.spec.expect == Expect::kService);
    }
    if (!any_live) finish();
    if (only_endless) {
      for (auto& v : vcpus) {
        if (v.state == VcpuState::kFree || v.state == VcpuState::kDead) continue;
        if (v.spec.expect == Expect::kSpin) {
          printf("pvkit: d%u (%s) never yielded, yet was preempted %lu times while the others ran; every other domain has finished, so the hypervisor stops it\n",
                 static_cast<unsigned>(v.id.value()), v.spec.name, static_cast<unsigned long>(v.preemptions));
        } else {
          printf("pvkit: d%u (%s) has no one left to serve; the hypervisor stops it\n",
                 static_cast<unsigned>(v.id.value()), v.spec.name);
        }
        end_domain(v, "stopped by the hypervisor");
      }
      continue;
    }
    // Round robin from the vCPU after the current one (or the current one, if it may go on).
    const std::size_t start = cur_ == nullptr ? 0 : static_cast<std::size_t>(cur_ - vcpus.data());
    Vcpu* next = nullptr;
    if (!rotate && cur_ != nullptr && cur_->state == VcpuState::kRunnable) {
      next = cur_;
    } else {
      for (std::size_t k = 1; k <= kMaxDomains; ++k) {
        Vcpu& c = vcpus[(start + k) % kMaxDomains];
        if (c.state == VcpuState::kRunnable) {
          next = &c;
          break;
        }
      }
    }
    if (next == nullptr) {
      // Everyone is asleep: time moves on to the next timer event (VIRQ_TIMER, poll timeouts).
      if (++idle_rounds_ > kMaxIdleRounds) {
        printf("pvkit: deadlock: every domain is blocked and nothing can wake them\n");
        for (auto& v : vcpus) {
          if (v.state == VcpuState::kBlocked || v.state == VcpuState::kPolling) end_domain(v, "deadlocked");
        }
        continue;
      }
      for (auto& v : vcpus) {
        if (v.state == VcpuState::kBlocked || v.state == VcpuState::kPolling) {
          events->raise_virq(v.id, VcpuId{0}, ::pvkit::xen::kVirqTimer);
          v.state = VcpuState::kRunnable;  // a timeout: SCHEDOP_block/poll may return early
        }
      }
      continue;
    }
    if (next != cur_) {
      if (cur_ != nullptr && cur_->state != VcpuState::kDead && cur_->state != VcpuState::kFree) cur_->frame = f;
      f = next->frame;
      cur_ = next;
      x86::write_cr3(next->root_phys);
      x86::flush_tlb_all();
      // The UART's ports belong to the driver domain: open only while it runs.
      auto& io = x86::cpu_tss().io;
      if (next->spec.owns_uart) {
        io.allow(kUartFirstPort, kUartPorts);
      } else {
        io.deny(kUartFirstPort, kUartPorts);
      }
      ++switches;
    }
    if (deliver_event(f, *next)) idle_rounds_ = 0;
    if (next->state != VcpuState::kRunnable) {  // the delivery crashed it
      rotate = true;
      continue;
    }
    return;
  }
}

bool Hypervisor::deliver_event(x86::TrapFrame& f, Vcpu& v) {
  auto* vi = v.vcpu_info();
  if (v.cb.event == 0 || __atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_ACQUIRE) == 0 ||
      vi->evtchn_upcall_mask != 0) {
    return false;
  }
  if (!bounce(f, v, v.cb.event, false, 0, 0)) return false;
  vi->evtchn_upcall_mask = 1;
  if (v.upcalls == 0) {
    printf("pvkit: event: first upcall into d%u (%s): bounce frame at %lx, entering its callback %lx with events masked\n",
           static_cast<unsigned>(v.id.value()), v.spec.name, f.rsp, f.rip);
  }
  ++v.upcalls;
  ++total_upcalls;
  return true;
}

bool Hypervisor::bounce(x86::TrapFrame& f, Vcpu& v, std::uint64_t target, bool with_error, std::uint64_t error,
                        std::uint8_t old_mask) {
  // Xen's x86-64 PV bounce frame, lowest address first: rcx, r11, [error], rip, cs, rflags,
  // rsp, ss; 16-byte aligned below the interrupted RSP (guest kernels run on their own stack).
  std::uint64_t words[8];
  unsigned n = 0;
  words[n++] = f.rcx;
  words[n++] = f.r11;
  if (with_error) words[n++] = error;
  words[n++] = f.rip;
  words[n++] = f.cs;
  words[n++] = x86::Rflags::Interrupt::set(f.rflags, old_mask == 0);
  words[n++] = f.rsp;
  words[n++] = f.ss;
  const std::uint64_t rsp = (f.rsp & ~std::uint64_t{15}) - n * 8;
  x86::CurrentGuestMemory mem;
  if (!mem.copy_to_guest(VirtAddr{rsp}, words, n * 8)) {
    v.console.flush();
    printf("pvkit: d%u (%s) crashed: its kernel stack at %lx cannot take a bounce frame\n",
           static_cast<unsigned>(v.id.value()), v.spec.name, f.rsp);
    end_domain(v, "crashed");
    return false;
  }
  f.rsp = rsp;
  f.rip = target;
  f.cs = x86::kGuestCs64.raw();
  f.ss = x86::kGuestSs64.raw();
  f.rflags = x86::sanitize_user_rflags(x86::Rflags::Trap::set(f.rflags, false));
  return true;
}

// ------------------------------------------------------------------ domain end

void Hypervisor::end_domain(Vcpu& v, const char* how) {
  if (v.ended) return;
  v.console.flush();
  v.ended = true;
  v.end = how;
  v.state = VcpuState::kDead;
  printf("pvkit: d%u (%s) %s after %lu hypercalls, %lu event upcalls, %lu preemptions; releasing its resources\n",
         static_cast<unsigned>(v.id.value()), v.spec.name, how, static_cast<unsigned long>(v.hypercalls),
         static_cast<unsigned long>(v.upcalls), static_cast<unsigned long>(v.preemptions));
  if (cur_ == &v) {
    x86::write_cr3(x86::hv_root_phys());  // never run on tables that are being freed
    x86::flush_tlb_all();
    cur_ = nullptr;
  }
  (void)teardown(v);
}

bool Hypervisor::teardown(Vcpu& v) {
  if (v.torn_down) return true;
  if (v.teardown_stage == 0) {  // its ports and the grant mappings it holds
    Status s = events->domain_destroy(v.id);
    while (s.is_restart()) s = events->domain_destroy(v.id);
    while (grants->release_domain(v.id).is_restart()) {
    }
    (void)domains.begin_destroy(v.id);
    {
      LockGuard lock(mm->lock());
      mm->put_page_and_type(v.shared_info_mfn);  // the shared_info's permanent type reference
    }
    v.teardown_stage = 1;
  }
  // Its page tables go first (they may map its own grant-table frames), then the grant table
  // (Busy while another domain still maps one of its grants), then the rest of its memory.
  Status s = domain_teardown_step(*mm, *v.dom);
  while (s.is_restart()) s = domain_teardown_step(*mm, *v.dom);
  if (v.teardown_stage == 1) {
    if (!grants->destroy_domain(v.id)) return false;
    v.teardown_stage = 2;
    s = domain_teardown_step(*mm, *v.dom);
    while (s.is_restart()) s = domain_teardown_step(*mm, *v.dom);
  }
  if (!s) return false;  // Busy: a zombie until the others drop their references
  // Every frame it owned is free in the frame database: back to the pool.
  auto recycle = [&](Mfn m) {
    FrameInfo* f = frames->info(m);
    if (f != nullptr && f->owner == nullptr && f->refcount == 0 && !f->xen) pool.free(m);
  };
  for (std::uint64_t p = 0; p < v.nr_pages; ++p) recycle(v.p2m[p]);
  recycle(v.shared_info_mfn);
  (void)domains.release(v.id);
  v.torn_down = true;
  printf("pvkit: d%u (%s): every frame, port and grant released\n", static_cast<unsigned>(v.id.value()), v.spec.name);
  return true;
}

void Hypervisor::retry_teardowns() {
  for (auto& v : vcpus) {
    if (v.state == VcpuState::kDead && !v.torn_down) (void)teardown(v);
  }
}

void Hypervisor::finish() {
  x86::timer_stop();
  retry_teardowns();
  std::uint32_t refused = 0, nd = 0;
  for (auto& v : vcpus) {
    if (v.state == VcpuState::kFree) continue;
    ++nd;
    refused += v.console.refused;
  }
  printf("pvkit: %s finished: %u domains, %lu hypercalls, %lu events, %lu grant maps, %u attacks refused\n",
         summary_label, nd, static_cast<unsigned long>(total_hypercalls), static_cast<unsigned long>(total_upcalls),
         static_cast<unsigned long>(grant_policy->maps), refused);
  Ktest t;
  char what[160];
  for (auto& v : vcpus) {
    if (v.state == VcpuState::kFree) continue;
    const unsigned id = v.id.value();
    bool ok = false;
    switch (v.spec.expect) {
      case Expect::kPoweroff:
        ok = v.end == shutdown_name(0) && !v.console.failure;
        snprintf(what, sizeof what, "d%u %s powered off (ended: %s)", id, v.spec.name, v.end);
        break;
      case Expect::kSuccess:
        ok = v.console.success && !v.console.failure && v.end == shutdown_name(0);
        snprintf(what, sizeof what, "d%u %s printed SUCCESS and powered off (ended: %s)", id, v.spec.name, v.end);
        break;
      case Expect::kCrash:
        ok = v.end[0] == 'c';  // "crashed..."
        snprintf(what, sizeof what, "d%u %s crashed, and only it (ended: %s)", id, v.spec.name, v.end);
        break;
      case Expect::kService:
        ok = v.end[0] == 's';
        snprintf(what, sizeof what, "d%u %s served until the others were done (ended: %s)", id, v.spec.name, v.end);
        break;
      case Expect::kSpin:
        ok = v.preemptions >= 1 && v.end[0] == 's';  // the timer took the CPU from it
        snprintf(what, sizeof what, "d%u %s was preempted %lu times and stopped at the end", id, v.spec.name,
                 static_cast<unsigned long>(v.preemptions));
        break;
    }
    t.check(what, ok);
    snprintf(what, sizeof what, "d%u %s: every resource released", id, v.spec.name);
    t.check(what, v.torn_down);
    if (v.console.accepted != 0) {
      snprintf(what, sizeof what, "d%u %s: no attack accepted (%u were)", id, v.spec.name, v.console.accepted);
      t.check(what, false);
    }
  }
  snprintf(what, sizeof what, "all %lu domain frames back in the pool (%lu free)",
           static_cast<unsigned long>(boot_free_frames), static_cast<unsigned long>(pool.free_frames()));
  t.check(what, pool.free_frames() == boot_free_frames);
  t.finish();
}

}  // namespace pvkit::pc
