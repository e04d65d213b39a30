// main.cc — the appliance hypervisor: a small hypervisor composed from pvkit by a separate
// Bazel workspace (`local_repository(name = "pvkit", path = "../..")`), the way a user's own
// repository consumes pvkit.
//
// What it is: pvkit's PC platform boots the image (//platforms/pc: boot, serial log, in-image
// test reporting) and pvkit's CPU layer (//arch/x86:cpu) runs the appliance's guest (guest.S)
// in ring 3. Every `syscall` from the guest enters `on_syscall`, which hands it to
// pvkit::hypercall_entry with the appliance's own hypercall table (appliance_platform.h:
// pvkit's XenVersion, VmAssist and EventChannelOp, console_io removed, appliance_op added)
// and the appliance's per-call context (`GuestContext` below). Event channels are pvkit's
// EventChannels with the appliance's platform bundle and port limit. The guest reports each
// result with appliance_op(APPLIANCE_report); when it powers off, the hypervisor checks
// them and prints exactly one `pvkit-test: RESULT ...` line (pvkit_qemu_test reads it).
//
// Concurrency: one CPU; hooks run with interrupts off.
#include <atomic>
#include <cstdint>
#include <cstring>
#include <span>

#include "appliance/appliance_op.h"
#include "appliance_platform.h"
#include "pvkit/arch/x86/cpu/cpu.h"
#include "pvkit/arch/x86/cpu/hypercall_regs.h"
#include "pvkit/arch/x86/mm/guest_copy.h"
#include "pvkit/arch/x86/mm/page_tables.h"
#include "pvkit/arch/x86/mm/phys_map.h"
#include "pvkit/arch/x86/mm/static_page_pool.h"
#include "pvkit/event/shared_info_abi.h"
#include "pvkit/hypercall/entry.h"
#include "pvkit/hypercall/stats.h"
#include "pvkit/platforms/pc/boot_info.h"
#include "pvkit/platforms/pc/ktest.h"
#include "pvkit/platforms/pc/log.h"

// The guest program (guest.S), linked into the image and copied into the guest's pages.
extern "C" __attribute__((visibility("hidden"))) const std::uint8_t pvkit_guest_start[];
extern "C" __attribute__((visibility("hidden"))) const std::uint8_t pvkit_guest_end[];
extern "C" __attribute__((visibility("hidden"))) const std::uint8_t appliance_guest[];

namespace {

using namespace pvkit;

constexpr DomId kGuestDom{1};
constexpr std::uint64_t kGuestCode = 0x400000;
constexpr std::uint64_t kGuestStack = 0x800000;  // one page, growing down from +4096

constinit x86::StaticPagePool<appliance::kGuestPages> g_guest_pages{};
constinit appliance::ApplianceEventPlatform g_event_platform{};
constinit appliance::Events g_events{g_event_platform};
alignas(4096) constinit xen::SharedInfo g_shared_info{};

// What the guest did, kept for the final checks.
struct GuestState {
  std::atomic<std::uint64_t> vm_assist{0};
  HypercallStats stats{};
  std::uint64_t reports[appliance::kMaxChecks] = {};
  bool reported[appliance::kMaxChecks] = {};
  unsigned log_lines = 0;
  bool powered_off = false;
};
constinit GuestState g_guest{};
constinit XenVersionInfo g_version{};

/// The per-call context: one object per hypercall, satisfying every handler's concept.
class GuestContext {
 public:
  bool guest_kernel_mode() { return true; }  // the appliance's guest is a single ring-3 task
  x86::CurrentGuestMemory& guest_memory() { return mem_; }
  HypercallStats& hypercall_stats() { return g_guest.stats; }
  // XenVersion
  const XenVersionInfo& xen_version_info() { return g_version; }
  xen::DomainHandle domain_handle() { return {}; }
  bool is_privileged() { return false; }
  // VmAssist
  std::atomic<std::uint64_t>& vm_assist() { return g_guest.vm_assist; }
  // EventChannelOp
  DomId current_domain() const { return kGuestDom; }
  VcpuId current_vcpu() const { return VcpuId{0}; }
  appliance::Events& evtchn() { return g_events; }
  // ApplianceOp
  void log_line(std::span<const char> line) {
    ++g_guest.log_lines;
    pc::printf("appliance: (d1) ");
    pc::console_write(line.data(), line.size());
    if (line.empty() || line.back() != '\n') pc::printf("\n");
  }
  void report(std::uint32_t check, std::uint64_t value) {
    g_guest.reports[check] = value;
    g_guest.reported[check] = true;
  }
  void poweroff() {
    g_guest.powered_off = true;
    x86::leave_user();
  }

 private:
  x86::CurrentGuestMemory mem_{};
};
static_assert(HypercallContext<GuestContext>);
static_assert(XenVersionContext<GuestContext>);
static_assert(VmAssistContext<GuestContext>);
static_assert(event::EvtchnHypercallContext<GuestContext>);
static_assert(appliance::ApplianceOpContext<GuestContext>);

void on_syscall(x86::TrapFrame& f) {
  GuestContext ctx;
  HypercallArgs a = x86::hypercall_args(f);
  const EntryResult r = hypercall_entry<appliance::ApplianceTable>(ctx, a);
  if (r.action == EntryAction::kReexecute) {
    x86::reexecute_hypercall(f, a);
  } else {
    x86::return_from_hypercall(f, r.rax);
  }
}

void on_fault(x86::TrapFrame& f) {
  pc::printf("appliance: the guest faulted (vector %lu at %lx): stopping it\n", f.vector, f.rip);
  x86::leave_user();
}

// The guest's address space: its code (read-only, executable) and a stack (RW, NX).
bool build_guest_space(std::uint64_t& root) {
  static x86::PageTables<x86::StaticPagePool<appliance::kGuestPages>, x86::HvDirectMap> as(g_guest_pages,
                                                                                           x86::HvDirectMap{});
  if (!as.create(static_cast<const x86::Pte*>(x86::hv_virt(x86::hv_root_phys())))) return false;
  const auto size = static_cast<std::size_t>(pvkit_guest_end - pvkit_guest_start);
  for (std::size_t off = 0; off < size; off += 4096) {
    void* page = g_guest_pages.alloc_page();
    if (page == nullptr) return false;
    std::memcpy(page, pvkit_guest_start + off, size - off < 4096 ? size - off : 4096);
    if (!as.map(kGuestCode + off, x86::hv_phys(page), x86::PageFlags{.user = true}).is_ok()) return false;
  }
  void* stack = g_guest_pages.alloc_page();
  if (stack == nullptr) return false;
  if (!as.map(kGuestStack, x86::hv_phys(stack), x86::PageFlags{.writable = true, .user = true, .nx = true}).is_ok())
    return false;
  root = as.root_phys();
  return true;
}

bool check_report(pc::Ktest& t, std::uint32_t check, std::int64_t want, const char* what) {
  const auto got = static_cast<std::int64_t>(g_guest.reports[check]);
  pc::printf("appliance: check %u: %s = %ld (want %ld)\n", check, what, got, want);
  const bool ok = g_guest.reported[check] && got == want;
  t.check(what, ok);
  return ok;
}

bool port_pending(std::uint32_t port) { return ((g_shared_info.evtchn_pending[port / 64] >> (port % 64)) & 1) != 0; }

}  // namespace

int pvkit_main(const pc::BootInfo&) {
  pc::printf("appliance: a hypervisor composed from pvkit outside pvkit's repository\n");
  pc::printf("appliance: table = pvkit's xen_version, vm_assist, event_channel_op + appliance_op (56); "
             "console_io removed; %u event-channel ports per guest\n",
             appliance::kMaxEvtchnPort);
  pc::Ktest t;
  std::uint64_t root = 0;
  t.check("guest address space built", build_guest_space(root));
  t.check("guest domain created in the event channels",
          g_events.domain_create(kGuestDom, appliance::guest_event_config(&g_shared_info)).is_ok());

  x86::set_entry_hooks({.syscall = &on_syscall, .user_fault = &on_fault, .timer = nullptr});
  x86::TrapFrame frame = x86::make_user_frame(
      kGuestCode + static_cast<std::uint64_t>(appliance_guest - pvkit_guest_start), kGuestStack + 4096);
  x86::write_cr3(root);
  x86::run_user(frame);
  x86::write_cr3(x86::hv_root_phys());

  t.check("the guest powered off through appliance_op", g_guest.powered_off);
  const auto greeting = static_cast<std::int64_t>(66);  // strlen of the guest's hello line
  (void)check_report(t, 9, greeting, "appliance_op(log) returns the length written");
  (void)check_report(t, 0, (4 << 16) | 17, "xen_version(XENVER_version) answered by pvkit's XenVersion");
  (void)check_report(t, 1, -38, "console_io is removed from the table: -ENOSYS");
  (void)check_report(t, 2, appliance::kMaxEvtchnPort, "alloc_unbound succeeded up to the appliance's port limit");
  (void)check_report(t, 3, -28, "the next alloc_unbound: -ENOSPC");
  (void)check_report(t, 4, -14, "appliance_op(log) of hypervisor memory: -EFAULT");
  (void)check_report(t, 5, -22, "appliance_op(log) longer than 256 bytes: -EINVAL");
  (void)check_report(t, 6, -38, "unknown appliance_op command: -ENOSYS");
  (void)check_report(t, 7, appliance::kMaxEvtchnPort, "closed port reused by a loopback bind_interdomain");
  (void)check_report(t, 8, 0, "EVTCHNOP_send on the loopback channel");
  t.check("the send made port 1 pending and raised the upcall",
          port_pending(1) && g_shared_info.vcpu_info[0].evtchn_upcall_pending == 1 && g_event_platform.kicks >= 1);
  t.check("the guest's own -ENOSYS verdict reached the log (2 lines)", g_guest.log_lines == 2);
  t.check("console_io never dispatched; appliance_op counted",
          g_guest.stats.calls[xen::hc::kConsoleIo] == 0 && g_guest.stats.unknown == 1 &&
              g_guest.stats.calls[appliance::kApplianceOpNumber] >= 10);
  t.finish();
}
