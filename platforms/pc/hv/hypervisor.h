// pvkit/platforms/pc/hv/hypervisor.h — the composed PC hypervisor: lib/'s templates
// instantiated with the PC platform, PV vCPUs in ring 3, a round-robin scheduler with LAPIC
// preemption, event upcalls, domain life cycle and the hypercall table.
//
// What it is: `Hypervisor` owns the frame pool and frame database, the page-table verifier
// (lib/mm), the domain table (lib/domain), event channels (lib/event), grant tables over the
// verifier (lib/grant MmGrantPolicy), one vCPU per domain and the story log. `PcTable` is
// the hypercall table composed from lib's handler types and the platform's own
// (platforms/pc/hypercalls). The CPU layer's hooks (SYSCALL, ring-3 faults, timer) enter it.
// Every return to a guest goes through one path: pick the vCPU (round robin), switch address
// space, deliver a pending event upcall as Xen does (bounce frame on the guest kernel stack,
// upcall mask set; HYPERVISOR_iret restores it). A ring-3 fault is bounced to the guest's
// trap table entry or crashes only that domain. A domain that shuts down or crashes is torn
// down (events, grants, page tables, frames) and, when the last domain is gone, `run()` prints
// the summary, checks every domain's expected end and leaves QEMU (success only if all did).
//
// How to use it (an image's pvkit_main):
//   auto& hv = pc::Hypervisor::boot(boot_info);
//   (void)hv.create_domain({.name = "hello", .elf = bytes, .cmdline = "", .expect = ...});
//   hv.run();   // never returns
//
// Concurrency: boot CPU only; every hook runs with interrupts off.
#pragma once

#include <array>
#include <cstring>
#include <new>
#include <cstddef>
#include <cstdint>
#include <span>

#include "pvkit/arch/x86/cpu/cpu.h"
#include "pvkit/arch/x86/cpu/frame.h"
#include "pvkit/arch/x86/cpu/hypercall_regs.h"
#include "pvkit/arch/x86/mm/guest_copy.h"
#include "pvkit/arch/x86/mm/phys_map.h"
#include "pvkit/base/status.h"
#include "pvkit/domain/domain_table.h"
#include "pvkit/event/event_channels.h"
#include "pvkit/event/evtchn_op.h"
#include "pvkit/event/shared_info_abi.h"
#include "pvkit/grant/grant_table_op.h"
#include "pvkit/grant/grant_tables.h"
#include "pvkit/grant/mm_grant_policy.h"
#include "pvkit/hypercall/console_io.h"
#include "pvkit/hypercall/entry.h"
#include "pvkit/hypercall/stats.h"
#include "pvkit/hypercall/table.h"
#include "pvkit/hypercall/xen_version.h"
#include "pvkit/mm/hypercall_mmu_update.h"
#include "pvkit/mm/hypercall_mmuext_op.h"
#include "pvkit/mm/hypercall_update_va_mapping.h"
#include "pvkit/mm/verifier.h"
#include "pvkit/platforms/pc/boot_info.h"
#include "pvkit/platforms/pc/hv/basic_calls.h"
#include "pvkit/platforms/pc/hv/frame_pool.h"
#include "pvkit/platforms/pc/hv/platforms.h"
#include "pvkit/platforms/pc/hypercalls/callback_op.h"
#include "pvkit/platforms/pc/hypercalls/iret.h"
#include "pvkit/platforms/pc/hypercalls/sched_op.h"
#include "pvkit/platforms/pc/hypercalls/set_trap_table.h"

namespace pvkit::pc {

inline constexpr std::size_t kMaxDomains = 12;
/// Guest RAM is fixed at 4 MiB per domain (the bootstrap area of a small kernel).
inline constexpr std::uint64_t kDefaultDomainPages = 1024;
inline constexpr std::uint64_t kMaxDomainPages = 4096;

using Verifier = PageTableVerifier<PcMmPlatform>;
using Domains = DomainTable<kMaxDomains>;
using Events = event::EventChannels<PcEventPlatform, kMaxDomains, 1>;

/// MmGrantPolicy for x86-64 PV guests, plus the demo's count of grant mappings made.
/// A 64-bit PV kernel runs in ring 3, so (as Xen's adjust_guest_l1e does for every L1 entry
/// of a 64-bit PV guest) every grant host mapping is user-accessible: without US the guest
/// kernel could not touch what it mapped. Install, remove and release agree on that.
class PcGrantPolicy : public MmGrantPolicy<Verifier, Domains, PcGrantPages> {
 public:
  using Base = MmGrantPolicy<Verifier, Domains, PcGrantPages>;
  using Base::Base;
  GrantStatus install_host_mapping(DomId mapper, const GrantHostMapping& m, Mfn frame) {
    const GrantStatus s = Base::install_host_mapping(mapper, user(m), frame);
    if (s == GrantStatus::Okay) {
      ++maps;
      note_grant_map(mapper, m.addr, frame, m.readonly);
    }
    return s;
  }
  GrantStatus remove_host_mapping(DomId mapper, const GrantHostMapping& m, Mfn frame) {
    return Base::remove_host_mapping(mapper, user(m), frame);
  }
  void release_host_mapping(DomId mapper, const GrantHostMapping& m, Mfn frame) {
    Base::release_host_mapping(mapper, user(m), frame);
  }
  std::uint64_t maps = 0;

 private:
  void note_grant_map(DomId mapper, std::uint64_t addr, Mfn frame, bool readonly) const;
  static GrantHostMapping user(GrantHostMapping m) {
    m.application = true;
    return m;
  }
};
using Grants = GrantTables<PcGrantPolicy, kMaxDomains>;

/// How a domain is expected to end (checked when the last domain is gone).
enum class Expect : std::uint8_t {
  kPoweroff, ///< shuts itself down with SHUTDOWN_poweroff (whatever it prints)
  kSuccess,  ///< powers off after printing "<name>: SUCCESS"
  kCrash,    ///< crashes (a fault without a trap handler, or SHUTDOWN_crash)
  kSpin,     ///< never ends by itself: still running (and preempted) when the others are done
  kService,  ///< a backend serving the others: stopped by the hypervisor when they are done
};

/// What the image asks the domain builder for.
struct GuestSpec {
  const char* name = "guest";
  std::span<const std::uint8_t> elf;
  const char* cmdline = "";
  std::uint64_t nr_pages = kDefaultDomainPages;
  bool privileged = false;
  Expect expect = Expect::kSuccess;
  const char* role = "";  ///< one line for the story ("the ping-pong frontend")
  /// Driver domain: owns the UART's I/O ports (0x3F8-0x3FF) through the TSS I/O bitmap.
  bool owns_uart = false;
  /// A PV console served by domain `console_backend` (-1: none): the builder allocates the
  /// console event channel (start_info.console.domU.evtchn, unbound for the backend) and
  /// grants the console page to the backend at GNTTAB_RESERVED_CONSOLE (ref 0).
  int console_backend = -1;
  /// No story lines for this domain (built / ended / released): the image's domain-creation
  /// benchmark builds and destroys hundreds, and console output is not what it measures.
  bool quiet = false;
};

enum class VcpuState : std::uint8_t { kFree, kRunnable, kBlocked, kPolling, kDead };

/// What a vCPU's hypercall handlers asked for, acted on when the call returns. `any()` is one
/// 8-byte load: the hypercall fast path's test that nothing is asked.
struct alignas(8) VcpuRequests {
  bool yield = false, block = false, poll = false, shutdown = false, iret = false, crash = false;
  std::uint8_t zero_[2] = {0, 0};  // never written: keeps any() exact
  [[nodiscard]] bool any() const {
    std::uint64_t word;
    __builtin_memcpy(&word, this, sizeof word);  // inline even in the freestanding build
    return word != 0;
  }
};
static_assert(sizeof(VcpuRequests) == 8);

/// One PV vCPU (pvkit domains have one).
struct Vcpu {
  x86::TrapFrame frame{};
  Domain* dom = nullptr;
  DomId id{};
  VcpuState state = VcpuState::kFree;
  std::uint64_t root_phys = 0;
  GuestCallbacks cb{};
  ::pvkit::xen::SharedInfo* shared_info = nullptr;
  Mfn shared_info_mfn{};
  std::array<Mfn, kMaxDomainPages> p2m{};
  std::uint64_t nr_pages = 0;
  GuestConsole console{};
  GuestSpec spec{};
  std::array<std::uint32_t, kMaxPollPorts> poll_ports{};
  std::uint32_t nr_poll = 0;
  std::atomic<std::uint64_t> vm_assist{0};
  HypercallStats stats{};
  // Requests recorded by handlers, acted on when the hypercall returns.
  VcpuRequests req{};
  // A call the fast path ran but could not finish (see Hypervisor::fast_syscall).
  HypercallArgs pending_args{};
  EntryResult pending_result{};
  std::uint32_t shutdown_reason = 0;
  ::pvkit::xen::VcpuInfo* vcpu_info() { return &shared_info->vcpu_info[0]; }
  pc::xen::IretContext iret{};
  const char* crash_why = "";
  // Outcome and counters.
  bool ended = false, torn_down = false;
  bool built = false;              ///< create_domain finished (counted in domains_built)
  bool destroy_requested = false;  ///< destroy_domain: free the slot once torn down
  std::uint8_t teardown_stage = 0;
  std::uint32_t console_port = 0;  ///< its PV console event channel (0: none)
  const char* end = "";
  std::uint64_t hypercalls = 0, upcalls = 0, preemptions = 0, bounces = 0;
};

class Hypervisor;

/// Where the one Hypervisor lives (hypervisor.cc): a fixed, link-time address, so the hot paths
/// reach its fields RIP-relative, without loading a pointer first.
__attribute__((visibility("hidden"))) extern unsigned char g_pc_hypervisor[];

/// A printable name for a SHUTDOWN_* reason ("powered off", "crashed (SHUTDOWN_crash)", ...).
const char* shutdown_name(std::uint32_t reason);

/// The per-call context every handler of PcTable sees (satisfies each area's concept).
class PcContext {
 public:
  explicit PcContext(Vcpu& v) : v_(v) {}
  bool guest_kernel_mode() { return true; }  // pvkit guests have no user mode yet
  x86::CurrentGuestMemory& guest_memory() { return mem_; }
  DomId current_domain() const { return v_.id; }
  VcpuId current_vcpu() const { return VcpuId{0}; }
  Verifier& mm();
  Domains& domains();
  Events& evtchn();
  Grants& grant_tables();
  GuestConsole& console() { return v_.console; }
  bool is_privileged() const { return v_.spec.privileged; }
  // XenVersion.
  const XenVersionInfo& xen_version_info() const { return kPcVersionInfo; }
  ::pvkit::xen::DomainHandle domain_handle() const { return {}; }
  std::atomic<std::uint64_t>& vm_assist() { return v_.vm_assist; }
  HypercallStats& hypercall_stats() { return v_.stats; }
  GuestCallbacks& callbacks() { return v_.cb; }
  // Iret.
  std::uint64_t guest_rsp() const;
  void resume_from_iret(const pc::xen::IretContext& ic) {
    v_.iret = ic;
    v_.req.iret = true;
  }
  void crash_domain(const char* why) {
    v_.req.crash = true;
    v_.crash_why = why;
  }
  // PcSchedPolicy.
  PcContext& scheduler() { return *this; }
  void yield() { v_.req.yield = true; }
  void block() { v_.req.block = true; }
  void shutdown(std::uint32_t reason) {
    v_.req.shutdown = true;
    v_.shutdown_reason = reason;
  }
  bool port_valid(std::uint32_t port);
  void poll(std::span<const std::uint32_t> ports, std::uint64_t timeout);

 private:
  Vcpu& v_;  // the hypervisor itself is Hypervisor::get(): one object, no per-call copy
  x86::CurrentGuestMemory mem_{};
};

/// The hypercall table: lib/'s handlers and the platform's own, one family each.
/// (multicall's body runs in basic_calls.cc, dispatching each entry back through this table.)
using PcTable = HypercallTable<SetTrapTable, MmuUpdateOp, SetCallbacks, PcMulticall, UpdateVaMappingOp, XenVersion,
                               ConsoleIo, GrantTableOp, Iret, MmuextOp, PcSchedOp, CallbackOp,
                               EventChannelOp>;

class Hypervisor {
 public:
  /// Sets up the frame pool (RAM above the image and the frame database, minus boot
  /// modules), the lib/ objects and the CPU hooks. Call once.
  static Hypervisor& boot(const BootInfo& boot);
  static Hypervisor& get() { return *std::launder(reinterpret_cast<Hypervisor*>(g_pc_hypervisor)); }
  /// The domain id the next create_domain will use (kMaxDomains if the table is full).
  [[nodiscard]] std::uint16_t next_domid() const;

  /// Builds a PV domain from an ELF64 Xen guest kernel (see domain_builder.cc). Errors:
  /// NoSpc (every slot in use), NoMem (not enough free frames), or the failing step's error;
  /// a failed build is undone completely (the same teardown as destroy_domain), so the frame
  /// pool and the domain table are as they were before the call.
  [[nodiscard]] Result<Vcpu*> create_domain(const GuestSpec& spec);
  /// Destroys domain `id` synchronously (lifecycle.cc): ends it if it still runs, tears down
  /// everything it holds (event channels, grant mappings and table, page tables, memory;
  /// frames back to the pool) and frees its slot for a later create_domain. It no longer
  /// appears in the final summary. Errors: Srch (no such domain, or already being
  /// destroyed); Busy (another domain still maps one of its grants: it stays a zombie, its
  /// teardown is retried on every return to a guest and its slot is freed when that ends).
  /// Call from the image (before run()) or a hook; never for the vCPU of the hypercall
  /// being handled.
  [[nodiscard]] Status destroy_domain(DomId id);
  /// Runs the domains until the last one ends; prints the summary and leaves QEMU.
  [[noreturn]] void run();

  /// Dispatches hypercalls through `Table` instead of PcTable: an embedder's own table, e.g.
  /// `PcTable::add<MyOp>` or `PcTable::without<xen::hc::kConsoleIo>` (lib/hypercall/table.h).
  /// Its handlers get a PcContext. Call after boot() (which installs PcTable), before run().
  template <typename Table>
  void use_hypercall_table() {
    install_hooks(&fast_syscall<Table>, [](x86::TrapFrame& f) { get().on_syscall<Table>(f); });
  }

  // ---- used by the hooks, contexts and platform objects --------------------------------
  /// A hypercall on the full TrapFrame (the entry's slow path when the fast hook did not run).
  template <typename Table>
  void on_syscall(x86::TrapFrame& f) {
    Vcpu& v = *cur_;
    ++v.hypercalls;
    ++total_hypercalls;
    HypercallArgs a = x86::hypercall_args(f);
    PcContext ctx(v);
    const EntryResult r = hypercall_entry<Table>(ctx, a);
    complete_syscall(f, v, a, r);
  }
  /// The hypercall fast path (x86::EntryHooks::fast_syscall): runs the call and answers
  /// kSysret when nothing else is due — no request from the handler, no continuation, no
  /// event upcall due for this vCPU — else stashes the call in the vCPU and answers kFinish,
  /// and `finish_syscall` completes it on the full frame. (Zombie teardowns are retried on
  /// the slow returns: the LAPIC timer guarantees one every quantum.)
  /// Static: it is the hook itself (x86::FastSyscallHook), with the registers as arguments.
  template <typename Table>
  static x86::FastSyscallResult fast_syscall(std::uint64_t a0, std::uint64_t a1, std::uint64_t a2, std::uint64_t a3,
                                             std::uint64_t a4, std::uint64_t nr) {
    Hypervisor& hv = get();
    HypercallArgs a{nr, {a0, a1, a2, a3, a4}};
    EntryResult r;
    {
      Vcpu& v = *hv.cur_;
      ++v.hypercalls;
      ++hv.total_hypercalls;
      PcContext ctx(v);
      r = hypercall_entry<Table>(ctx, a);
    }
    // Read the vCPU again rather than keep it live across the call (no callee-saved register
    // to spill on the fast path); handlers never switch vCPUs.
    Vcpu& v = *hv.cur_;
    if (r.action == EntryAction::kReturnToGuest && !v.req.any() && !upcall_due(v)) [[likely]] {
      return {static_cast<std::uint64_t>(r.rax), x86::FastSyscall::kSysret};
    }
    v.pending_args = a;
    v.pending_result = r;
    return {a.nr, x86::FastSyscall::kFinish};  // from memory: nr stays dead across the call
  }
  void finish_syscall(x86::TrapFrame& f);
  void on_fault(x86::TrapFrame& f);
  void on_timer(x86::TrapFrame& f);
  Vcpu* vcpu_of(DomId d);
  Vcpu* current() { return cur_; }

  FramePool<x86::HvDirectMap> pool;
  FrameDb* frames = nullptr;
  PcMmPlatform mm_platform;
  Verifier* mm = nullptr;
  Domains domains;
  PcEventPlatform event_platform;
  Events* events = nullptr;
  PcGrantPages grant_pages;
  PcGrantPolicy* grant_policy = nullptr;
  Grants* grants = nullptr;
  std::array<Vcpu, kMaxDomains> vcpus{};
  std::uint64_t nr_frames = 0;

  // Story counters.
  std::uint64_t total_hypercalls = 0, total_upcalls = 0, ticks = 0, switches = 0;
  std::uint32_t domains_built = 0;
  std::uint64_t boot_free_frames = 0;
  const char* summary_label = "demo";  ///< "pvkit: <label> finished: ..."

 private:
  void leave_to_guest(x86::TrapFrame& f, bool rotate);
  /// The vCPU to run next: the current one if it may go on (and !rotate), else round robin.
  Vcpu* pick_next(bool rotate);
  /// Saves the live frame into the current vCPU and loads `next`'s: CR3, TLB, I/O bitmap.
  void switch_to(x86::TrapFrame& f, Vcpu& next);
  /// Only spinners and services are left: stop them (rare, kept off the hot path).
  [[gnu::cold, gnu::noinline]] void stop_endless();
  /// Every vCPU is asleep: a timer round wakes them (or a deadlock ends them).
  [[gnu::cold, gnu::noinline]] void idle_round();
  /// Counts the live vCPUs and, among them, the endless ones (spinners, services).
  void census();
  bool deliver_event(x86::TrapFrame& f, Vcpu& v);
  bool bounce(x86::TrapFrame& f, Vcpu& v, std::uint64_t target, bool with_error, std::uint64_t error,
              std::uint8_t old_mask);
  void end_domain(Vcpu& v, const char* how);
  bool teardown(Vcpu& v);
  void free_slot(Vcpu& v);
  void retry_teardowns();
  [[noreturn]] void finish();
  void apply_requests(x86::TrapFrame& f, Vcpu& v);
  void complete_syscall(x86::TrapFrame& f, Vcpu& v, const HypercallArgs& a, const EntryResult& r);
  /// Installs the CPU hooks, with these two for hypercalls.
  void install_hooks(x86::FastSyscallHook fast, void (*slow)(x86::TrapFrame&));
  /// Whether returning to `v` must first deliver an event upcall: evtchn_upcall_pending set
  /// and evtchn_upcall_mask clear (adjacent bytes of its vcpu_info, read as one word; both are
  /// guest-writable, so any nonzero byte counts: due iff the word is 0x0001..0x00FF).
  /// deliver_event checks the callback.
  [[nodiscard]] static bool upcall_due(Vcpu& v) {
    static_assert(offsetof(::pvkit::xen::VcpuInfo, evtchn_upcall_mask) ==
                  offsetof(::pvkit::xen::VcpuInfo, evtchn_upcall_pending) + 1);
    std::uint16_t word;
    __builtin_memcpy(&word, &v.vcpu_info()->evtchn_upcall_pending, sizeof word);
    return static_cast<std::uint32_t>(word) - 1u < 0xFFu;
  }

  Vcpu* cur_ = nullptr;
  std::uint32_t idle_rounds_ = 0;
  /// Bumped whenever a domain is built, ends or frees its slot: census() must count again.
  std::uint64_t census_epoch_ = 0;
  std::uint64_t census_seen_ = ~std::uint64_t{0};
  std::uint32_t live_ = 0, endless_ = 0;
  /// Whether the TSS I/O bitmap currently opens the UART (to its driver domain).
  bool uart_open_ = false;
  /// Some dead domain's teardown is waiting (a zombie): every slow return (a scheduling
  /// decision, a timer tick) retries it.
  bool teardown_backlog_ = false;
};

}  // namespace pvkit::pc
