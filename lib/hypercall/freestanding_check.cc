// Compiled for the bare-metal platform too: proves pvkit/hypercall needs no hosted library.
// Instantiates the table, the entry, multicall and every simple handler with a tiny
// freestanding context.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "pvkit/hypercall/arg_view.h"
#include "pvkit/hypercall/console_io.h"
#include "pvkit/hypercall/dispatch.h"
#include "pvkit/hypercall/entry.h"
#include "pvkit/hypercall/multicall.h"
#include "pvkit/hypercall/sched_op.h"
#include "pvkit/hypercall/table.h"
#include "pvkit/hypercall/vm_assist.h"
#include "pvkit/hypercall/xen_version.h"
#include "pvkit/xen/vcpu_abi.h"

namespace pvkit {
namespace {

struct TinyMemory {
  std::uint8_t bytes[256]{};
  Status copy_from_guest(void* dst, VirtAddr va, std::size_t n) {
    if (va.value() > sizeof(bytes) || n > sizeof(bytes) - va.value()) return Errno::Fault;
    std::memcpy(dst, bytes + va.value(), n);
    return Status::ok();
  }
  Status copy_to_guest(VirtAddr va, const void* src, std::size_t n) {
    if (va.value() > sizeof(bytes) || n > sizeof(bytes) - va.value()) return Errno::Fault;
    std::memcpy(bytes + va.value(), src, n);
    return Status::ok();
  }
};

struct TinyConsole {
  void write(std::span<const char>) {}
  std::size_t read(std::span<char>) { return 0; }
  bool accepts_unprivileged_writes() const { return false; }
};

struct TinySched {
  void yield() {}
  void block() {}
  void shutdown(std::uint32_t) {}
};

struct TinyCtx {
  TinyMemory mem;
  HypercallStats stats;
  std::atomic<std::uint64_t> assist{0};
  TinyConsole con;
  TinySched sched;
  XenVersionInfo info;
  bool guest_kernel_mode() { return true; }
  HypercallStats& hypercall_stats() { return stats; }
  TinyMemory& guest_memory() { return mem; }
  const XenVersionInfo& xen_version_info() { return info; }
  xen::DomainHandle domain_handle() { return {}; }
  bool is_privileged() { return false; }
  std::atomic<std::uint64_t>& vm_assist() { return assist; }
  TinyConsole& console() { return con; }
  TinySched& scheduler() { return sched; }
};

using Table = HypercallTable<XenVersion, ConsoleIo, VmAssist, SchedOp, Multicall>;

}  // namespace

EntryResult freestanding_check_hypercall(HypercallArgs& args) {
  constinit static TinyCtx ctx;  // constant-initialised: no static constructor
  return hypercall_entry<Table::without<xen::hc::kSchedOp>>(ctx, args);
}

}  // namespace pvkit
