// pvkit/hypercall/testing/test_context.h — a host test context for hypercall handlers.
//
// What it is: `TestCtx`, one vCPU of one domain over a FlatGuestMemory, satisfying every
// context concept of lib/hypercall (HypercallContext, HasHypercallStats, MulticallContext,
// XenVersionContext, ConsoleIoContext, VmAssistContext, SchedOpContext), with knobs for the
// guest mode, privilege and preemption, and recording console/scheduler effects.
//
// How to use it: `TestCtx ctx; ctx.mem.map(VirtAddr{0x10000}, 4096);` then
// `hypercall_entry<Table>(ctx, args)`.
//
// Concurrency: single-threaded tests only.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "pvkit/hypercall/console_io.h"
#include "pvkit/hypercall/context.h"
#include "pvkit/hypercall/multicall.h"
#include "pvkit/hypercall/sched_op.h"
#include "pvkit/hypercall/stats.h"
#include "pvkit/hypercall/vm_assist.h"
#include "pvkit/hypercall/xen_version.h"
#include "pvkit/platforms/host/flat_guest_memory.h"

namespace pvkit::testing {

struct TestConsole {
  std::string out;
  std::string input;          // what a privileged read returns
  bool unprivileged_writes = true;
  std::size_t writes = 0;     // number of write() calls
  std::size_t read_overreport = 0;  // makes read() claim more bytes than it stored

  void write(std::span<const char> s) {
    ++writes;
    out.append(s.data(), s.size());
  }
  std::size_t read(std::span<char> buf) {
    const std::size_t n = input.size() < buf.size() ? input.size() : buf.size();
    for (std::size_t i = 0; i < n; ++i) buf[i] = input[i];
    input.erase(0, n);
    return n + read_overreport;
  }
  bool accepts_unprivileged_writes() const { return unprivileged_writes; }
};
static_assert(ConsoleSink<TestConsole>);

struct TestScheduler {
  int yields = 0;
  int blocks = 0;
  std::vector<std::uint32_t> shutdowns;
  void yield() { ++yields; }
  void block() { ++blocks; }
  void shutdown(std::uint32_t reason) { shutdowns.push_back(reason); }
};
static_assert(SchedPolicy<TestScheduler>);

struct TestCtx {
  host::FlatGuestMemory mem;
  HypercallStats stats;
  bool kernel_mode = true;
  bool privileged = false;
  int preempt_after = -1;  // preempt check answers true after this many checks (-1: never)
  int preempt_checks = 0;
  XenVersionInfo info;
  xen::DomainHandle handle{};
  std::atomic<std::uint64_t> assist{0};
  TestConsole console_sink;
  TestScheduler sched;
  // Set by test handlers to observe calls.
  std::vector<std::uint64_t> trace;

  bool guest_kernel_mode() { return kernel_mode; }
  HypercallStats& hypercall_stats() { return stats; }
  bool hypercall_preempt_check() {
    ++preempt_checks;
    return preempt_after >= 0 && preempt_checks > preempt_after;
  }
  host::FlatGuestMemory& guest_memory() { return mem; }
  const XenVersionInfo& xen_version_info() { return info; }
  xen::DomainHandle domain_handle() { return handle; }
  bool is_privileged() { return privileged; }
  std::atomic<std::uint64_t>& vm_assist() { return assist; }
  TestConsole& console() { return console_sink; }
  TestScheduler& scheduler() { return sched; }
};

static_assert(HypercallContext<TestCtx>);
static_assert(HasHypercallStats<TestCtx>);
static_assert(MulticallContext<TestCtx>);
static_assert(XenVersionContext<TestCtx>);
static_assert(ConsoleIoContext<TestCtx>);
static_assert(VmAssistContext<TestCtx>);
static_assert(SchedOpContext<TestCtx>);

/// HypercallArgs from a number and up to five arguments.
inline HypercallArgs make_args(std::uint64_t nr, std::uint64_t a0 = 0, std::uint64_t a1 = 0,
                               std::uint64_t a2 = 0, std::uint64_t a3 = 0, std::uint64_t a4 = 0) {
  HypercallArgs r;
  r.nr = nr;
  r.a = {a0, a1, a2, a3, a4};
  return r;
}

}  // namespace pvkit::testing
