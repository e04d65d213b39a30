// The composed PC hypervisor: boot-time setup, the CPU hooks, scheduling, event upcalls and
// faults. See hypervisor.h for the overview; the platform objects are in platforms.cc, the
// domain builder in domain_builder.cc, a domain's end in lifecycle.cc.
#include "pvkit/platforms/pc/hv/hypervisor.h"

#include <cstring>
#include <new>

#include "pvkit/arch/x86/boot/layout.h"
#include "pvkit/arch/x86/cpu/cpu.h"
#include "pvkit/arch/x86/cpu/hypercall_regs.h"
#include "pvkit/arch/x86/cpu/msr.h"
#include "pvkit/arch/x86/mm/tlb.h"
#include "pvkit/hypercall/entry.h"
#include "pvkit/platforms/pc/log.h"

extern "C" __attribute__((visibility("hidden"))) char __image_end[];

namespace pvkit::pc {

alignas(Hypervisor) unsigned char g_pc_hypervisor[sizeof(Hypervisor)];

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

alignas(FrameDb) unsigned char g_db_storage[sizeof(FrameDb)];
alignas(Verifier) unsigned char g_mm_storage[sizeof(Verifier)];
alignas(Events) unsigned char g_ev_storage[sizeof(Events)];
alignas(PcGrantPolicy) unsigned char g_gp_storage[sizeof(PcGrantPolicy)];
alignas(Grants) unsigned char g_gt_storage[sizeof(Grants)];

void hook_syscall_finish(x86::TrapFrame& f) { Hypervisor::get().finish_syscall(f); }
void hook_fault(x86::TrapFrame& f) { Hypervisor::get().on_fault(f); }
void hook_timer(x86::TrapFrame& f) { Hypervisor::get().on_timer(f); }

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

bool has_error_code(std::uint64_t v) { return v == 8 || (v >= 10 && v <= 14) || v == 17; }

}  // namespace

// ------------------------------------------------------------------ boot


Hypervisor& Hypervisor::boot(const BootInfo& boot) {
  auto* hv = new (g_pc_hypervisor) Hypervisor();
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
  hv->use_hypercall_table<PcTable>();
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

void Hypervisor::install_hooks(x86::FastSyscallHook fast, void (*slow)(x86::TrapFrame&)) {
  x86::set_entry_hooks({.syscall = slow,
                        .fast_syscall = fast,
                        .syscall_finish = &hook_syscall_finish,
                        .user_fault = &hook_fault,
                        .timer = &hook_timer});
}

void Hypervisor::finish_syscall(x86::TrapFrame& f) {
  Vcpu& v = *cur_;
  complete_syscall(f, v, v.pending_args, v.pending_result);
}

void Hypervisor::complete_syscall(x86::TrapFrame& f, Vcpu& v, const HypercallArgs& a, const EntryResult& r) {
  if (v.req.iret) {
    v.req.iret = false;
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
  if (v.req.crash) {
    v.req.crash = false;
    printf("pvkit: d%u (%s) killed by the hypervisor: %s\n", static_cast<unsigned>(v.id.value()), v.spec.name,
           v.crash_why);
    end_domain(v, "crashed");
  } else if (v.req.shutdown) {
    v.req.shutdown = false;
    end_domain(v, shutdown_name(v.shutdown_reason));
  } else if (v.req.block) {
    v.req.block = false;
    auto* vi = v.vcpu_info();
    vi->evtchn_upcall_mask = 0;  // SCHEDOP_block enables event delivery, then sleeps
    if (__atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_ACQUIRE) == 0) v.state = VcpuState::kBlocked;
    rotate = true;
  } else if (v.req.poll) {
    v.req.poll = false;
    bool pending = false;
    for (std::uint32_t i = 0; i < v.nr_poll; ++i) pending = pending || events->is_pending(v.id, EvtchnPort{v.poll_ports[i]});
    if (!pending) v.state = VcpuState::kPolling;
    rotate = true;
  } else if (v.req.yield) {
    v.req.yield = false;
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

void Hypervisor::census() {
  live_ = 0;
  endless_ = 0;
  for (auto& v : vcpus) {
    if (v.state == VcpuState::kFree || v.state == VcpuState::kDead) continue;
    ++live_;
    if (v.spec.expect == Expect::kSpin || v.spec.expect == Expect::kService) ++endless_;
  }
  census_seen_ = census_epoch_;
}

void Hypervisor::stop_endless() {
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
}

void Hypervisor::idle_round() {
  // Everyone is asleep: time moves on to the next timer event (VIRQ_TIMER, poll timeouts).
  if (++idle_rounds_ > kMaxIdleRounds) {
    printf("pvkit: deadlock: every domain is blocked and nothing can wake them\n");
    for (auto& v : vcpus) {
      if (v.state == VcpuState::kBlocked || v.state == VcpuState::kPolling) end_domain(v, "deadlocked");
    }
    return;
  }
  for (auto& v : vcpus) {
    if (v.state == VcpuState::kBlocked || v.state == VcpuState::kPolling) {
      events->raise_virq(v.id, VcpuId{0}, ::pvkit::xen::kVirqTimer);
      v.state = VcpuState::kRunnable;  // a timeout: SCHEDOP_block/poll may return early
    }
  }
}

Vcpu* Hypervisor::pick_next(bool rotate) {
  if (!rotate && cur_ != nullptr && cur_->state == VcpuState::kRunnable) return cur_;
  // Round robin from the vCPU after the current one (a vCPU's slot is its domain id).
  const std::size_t start = cur_ == nullptr ? kMaxDomains - 1 : cur_->id.value();
  for (std::size_t i = start + 1; i < kMaxDomains; ++i) {
    if (vcpus[i].state == VcpuState::kRunnable) return &vcpus[i];
  }
  for (std::size_t i = 0; i <= start; ++i) {
    if (vcpus[i].state == VcpuState::kRunnable) return &vcpus[i];
  }
  return nullptr;
}

void Hypervisor::switch_to(x86::TrapFrame& f, Vcpu& next) {
  if (cur_ != nullptr && cur_->state != VcpuState::kDead && cur_->state != VcpuState::kFree) cur_->frame = f;
  f = next.frame;
  cur_ = &next;
  x86::write_cr3(next.root_phys);
  x86::flush_tlb_all();
  // The UART's ports belong to the driver domain: open only while it runs.
  if (next.spec.owns_uart != uart_open_) {
    auto& io = x86::cpu_tss().io;
    if (next.spec.owns_uart) {
      io.allow(kUartFirstPort, kUartPorts);
    } else {
      io.deny(kUartFirstPort, kUartPorts);
    }
    uart_open_ = next.spec.owns_uart;
  }
  ++switches;
}

void Hypervisor::leave_to_guest(x86::TrapFrame& f, bool rotate) {
  for (;;) {
    if (teardown_backlog_) [[unlikely]] retry_teardowns();
    // Who is alive changes only when a domain is built or ends: count again only then.
    if (census_seen_ != census_epoch_) [[unlikely]] census();
    if (live_ == 0) [[unlikely]] finish();
    if (live_ == endless_) [[unlikely]] {
      stop_endless();
      continue;
    }
    Vcpu* next = pick_next(rotate);
    if (next == nullptr) [[unlikely]] {
      idle_round();
      continue;
    }
    if (next != cur_) switch_to(f, *next);
    if (deliver_event(f, *next)) idle_rounds_ = 0;
    if (next->state != VcpuState::kRunnable) [[unlikely]] {  // the delivery crashed it
      rotate = true;
      continue;
    }
    return;
  }
}

bool Hypervisor::deliver_event(x86::TrapFrame& f, Vcpu& v) {
  auto* vi = v.vcpu_info();
  if (v.cb.event == 0 || !upcall_due(v)) return false;
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

}  // namespace pvkit::pc
