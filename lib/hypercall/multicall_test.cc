// Tests for HYPERVISOR_multicall: ordering, per-entry results, the batch-ending rules,
// per-element checks, bounded work and continuations.
#include <cstdint>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "pvkit/hypercall/entry.h"
#include "pvkit/hypercall/multicall.h"
#include "pvkit/hypercall/table.h"
#include "pvkit/hypercall/testing/test_context.h"
#include "pvkit/hypercall/testing/test_handlers.h"

namespace pvkit {
namespace {

using testing::Countdown;
using testing::Echo;
using testing::FakeIret;
using testing::make_args;
using testing::TestCtx;
using xen::MulticallEntry;

using Table = HypercallTable<Echo<1>, Echo<2>, XenVersion, VmAssist, FakeIret, Multicall,
                             Countdown<xen::hc::kArch0>>;

constexpr std::uint64_t kList = 0x100000;  // call list
constexpr std::uint64_t kData = 0x200000;  // data for the entries
constexpr std::uint64_t kPoison = 0xDEADBEEFCAFEF00DULL;

// Drops the vCPU to guest user mode (as an iret to user mode would).
struct DropToUser {
  static constexpr std::uint32_t kNumber = 5;
  static constexpr const char* kName = "drop";
  template <typename Ctx>
  static std::int64_t call(Ctx& ctx, HypercallArgs&) {
    ctx.kernel_mode = false;
    return 0;
  }
};

class MulticallTest : public ::testing::Test {
 protected:
  // Maps `n` entries at kList (all poisoned results).
  MulticallEntry* map_list(std::size_t n, bool writable = true) {
    auto* p = reinterpret_cast<MulticallEntry*>(
        ctx.mem.map(VirtAddr{kList}, n * sizeof(MulticallEntry), writable));
    for (std::size_t i = 0; i < n; ++i) p[i] = {0, kPoison, {}};
    return p;
  }
  std::int64_t call(std::uint64_t list, std::uint64_t n) {
    HypercallArgs a = make_args(xen::hc::kMulticall, list, n);
    last = a;
    const EntryResult r = hypercall_entry<Table>(ctx, a);
    last = a;
    action = r.action;
    return r.rax;
  }
  // Re-executes as the platform does; returns the guest-visible RAX.
  std::int64_t run(std::uint64_t list, std::uint64_t n, int& invocations) {
    HypercallArgs a = make_args(xen::hc::kMulticall, list, n);
    for (invocations = 1; invocations < 100000; ++invocations) {
      const EntryResult r = hypercall_entry<Table>(ctx, a);
      if (r.action == EntryAction::kReturnToGuest) return r.rax;
      EXPECT_EQ(r.action, EntryAction::kReexecute);
      EXPECT_EQ(a.nr, xen::hc::kMulticall);
    }
    return INT64_MIN;
  }
  TestCtx ctx;
  HypercallArgs last;
  EntryAction action{};
};

TEST_F(MulticallTest, RunsEntriesInOrderAndWritesEachResult) {
  ctx.mem.map(VirtAddr{kData}, 4096);
  MulticallEntry* e = map_list(5);
  e[0] = {2, kPoison, {1, 2, 3, 4, 5, 6}};
  e[1] = {xen::hc::kXenVersion, kPoison, {xen::kXenVerVersion}};
  e[2] = {11, kPoison, {}};             // unknown: -ENOSYS, batch goes on
  e[3] = {UINT64_MAX, kPoison, {}};     // unknown, huge op
  e[4] = {xen::hc::kVmAssist, kPoison, {xen::kVmAsstCmdEnable, xen::kVmAsstTypeWritablePagetables}};
  EXPECT_EQ(call(kList, 5), 0);
  EXPECT_EQ(action, EntryAction::kReturnToGuest);
  EXPECT_EQ(e[0].result, 2u + 1 + 2 + 3 + 4 + 5);  // args[5] is not a register on x86-64
  EXPECT_EQ(e[1].result, (4u << 16) | 17);
  EXPECT_EQ(static_cast<std::int64_t>(e[2].result), -38);
  EXPECT_EQ(static_cast<std::int64_t>(e[3].result), -38);
  EXPECT_EQ(e[4].result, 0u);
  EXPECT_TRUE(vm_assist_enabled(ctx.assist, xen::kVmAsstTypeWritablePagetables));
  EXPECT_EQ(ctx.trace, (std::vector<std::uint64_t>{2}));
  // Inner calls are counted like top-level ones; the unknown ones as unknown.
  EXPECT_EQ(ctx.stats.calls[xen::hc::kMulticall], 1u);
  EXPECT_EQ(ctx.stats.calls[2], 1u);
  EXPECT_EQ(ctx.stats.calls[xen::hc::kXenVersion], 1u);
  EXPECT_EQ(ctx.stats.unknown, 2u);
  // Ops and arguments are left as the guest wrote them.
  EXPECT_EQ(e[0].op, 2u);
  EXPECT_EQ(e[0].args[5], 6u);
}

TEST_F(MulticallTest, EmptyBatchTouchesNothing) {
  EXPECT_EQ(call(0, 0), 0);
  EXPECT_EQ(call(kList, 0), 0);
  EXPECT_EQ(ctx.mem.reads(), 0u);
}

TEST_F(MulticallTest, UpperHalfOfCountIsIgnoredLikeXen) {
  MulticallEntry* e = map_list(3);
  for (int i = 0; i < 3; ++i) e[i] = {1, kPoison, {}};
  EXPECT_EQ(call(kList, (std::uint64_t{1} << 32) | 2), 0);  // uint32_t nr_calls = 2
  EXPECT_EQ(e[2].result, kPoison);
  EXPECT_EQ(ctx.trace.size(), 2u);
}

TEST_F(MulticallTest, Inv02_IretEndsTheBatch_XSA213) {
  MulticallEntry* e = map_list(4);
  e[0] = {1, kPoison, {}};
  e[1] = {xen::hc::kIret, kPoison, {}};
  e[2] = {2, kPoison, {}};
  e[3] = {xen::hc::kVmAssist, kPoison, {xen::kVmAsstCmdEnable, xen::kVmAsstTypeWritablePagetables}};
  EXPECT_EQ(call(kList, 4), FakeIret::kResult);
  EXPECT_EQ(action, EntryAction::kReturnToGuest);
  EXPECT_EQ(e[1].result, static_cast<std::uint64_t>(FakeIret::kResult));
  EXPECT_EQ(e[2].result, kPoison);
  EXPECT_EQ(e[3].result, kPoison);
  EXPECT_EQ(ctx.trace, (std::vector<std::uint64_t>{1, xen::hc::kIret}));
  EXPECT_EQ(ctx.assist.load(), 0u);
}

TEST_F(MulticallTest, Inv02_NoEntryRunsAfterTheVcpuLeftKernelMode) {
  // An iret that returns to guest user mode: even if iret did not end batches, nothing may
  // run with user privilege. Here a non-iret handler drops the mode to show the check is
  // general.
  using T = Table::with<DropToUser>;
  MulticallEntry* e = map_list(3);
  e[0] = {5, kPoison, {}};
  e[1] = {xen::hc::kVmAssist, kPoison, {xen::kVmAsstCmdEnable, xen::kVmAsstTypeWritablePagetables}};
  e[2] = {1, kPoison, {}};
  HypercallArgs a = make_args(xen::hc::kMulticall, kList, 3);
  EXPECT_EQ(T::dispatch(ctx, a), 0);
  EXPECT_EQ(e[0].result, 0u);
  EXPECT_EQ(e[1].result, kPoison);
  EXPECT_EQ(e[2].result, kPoison);
  EXPECT_EQ(ctx.assist.load(), 0u);
  EXPECT_TRUE(ctx.trace.empty());
}

TEST_F(MulticallTest, NestedMulticallIsRefusedAndEndsTheBatch) {
  MulticallEntry* e = map_list(4);
  e[0] = {1, kPoison, {}};
  e[1] = {xen::hc::kMulticall, kPoison, {kList, 1}};  // would re-run entry 0
  e[2] = {2, kPoison, {}};
  e[3] = {xen::hc::kMulticall, kPoison, {kList + 2 * sizeof(MulticallEntry), 1}};
  EXPECT_EQ(call(kList, 4), -22);
  EXPECT_EQ(e[0].result, 1u);
  EXPECT_EQ(static_cast<std::int64_t>(e[1].result), -22);
  EXPECT_EQ(e[2].result, kPoison);
  EXPECT_EQ(ctx.trace, (std::vector<std::uint64_t>{1}));
  EXPECT_EQ(ctx.stats.calls[xen::hc::kMulticall], 1u);
}

TEST_F(MulticallTest, Inv04_BadListPointersFaultWithoutDispatching) {
  for (std::uint64_t bad : {std::uint64_t{0}, std::uint64_t{kList - 64}, UINT64_MAX - 63,
                            UINT64_MAX, std::uint64_t{0x8000000000000000ULL}}) {
    EXPECT_EQ(call(bad, 1), -14) << bad;
    EXPECT_EQ(call(bad, 0xFFFFFFFF), -14) << bad;
  }
  EXPECT_TRUE(ctx.trace.empty());
  EXPECT_EQ(ctx.stats.calls[1] + ctx.stats.calls[2] + ctx.stats.unknown, 0u);
}

TEST_F(MulticallTest, Inv04_EachEntryIsCheckedNotOnlyTheFirst) {
  // Room for two and a half entries; the guest claims four.
  auto* raw = ctx.mem.map(VirtAddr{kList}, 2 * sizeof(MulticallEntry) + 32);
  auto* e = reinterpret_cast<MulticallEntry*>(raw);
  e[0] = {1, kPoison, {}};
  e[1] = {2, kPoison, {}};
  std::memset(raw + 2 * sizeof(MulticallEntry), 0, 32);  // entry 2 would be op 0 if read short
  EXPECT_EQ(call(kList, 4), -14);
  EXPECT_EQ(e[0].result, 1u);
  EXPECT_EQ(e[1].result, 2u);
  EXPECT_EQ(ctx.trace, (std::vector<std::uint64_t>{1, 2}));
}

TEST_F(MulticallTest, Inv04_UnwritableResultStopsTheBatchWithEFAULT) {
  MulticallEntry* e = map_list(2, /*writable=*/false);
  e[0] = {1, kPoison, {}};
  e[1] = {2, kPoison, {}};
  EXPECT_EQ(call(kList, 2), -14);
  EXPECT_EQ(ctx.trace, (std::vector<std::uint64_t>{1}));  // the first ran, then its write failed
  EXPECT_EQ(e[0].result, kPoison);
}

TEST_F(MulticallTest, Inv06_HugeCountIsBoundedPerInvocation) {
  constexpr std::size_t kMapped = 200;
  MulticallEntry* e = map_list(kMapped);
  for (std::size_t i = 0; i < kMapped; ++i) e[i] = {i % 2 + 1, kPoison, {i}};
  // First invocation: exactly the budget, then a continuation in the multicall's own args.
  EXPECT_EQ(call(kList, 0xFFFFFFFF), 13);  // kReexecute carries the number
  EXPECT_EQ(action, EntryAction::kReexecute);
  EXPECT_EQ(last.a[0], kList + 64 * sizeof(MulticallEntry));
  EXPECT_EQ(last.a[1], 0xFFFFFFFFu - 64);
  EXPECT_EQ(ctx.trace.size(), 64u);
  EXPECT_EQ(e[63].result, 2u + 63);  // Echo<N>: N + its arguments
  EXPECT_EQ(e[64].result, kPoison);
  // Then to the end: 200 entries run once each, and the unmapped 201st faults.
  ctx.trace.clear();
  int inv = 0;
  EXPECT_EQ(run(kList, 0xFFFFFFFF, inv), -14);
  EXPECT_EQ(inv, 4);  // 64 + 64 + 64 + 8 then fault
  EXPECT_EQ(ctx.trace.size(), kMapped);
  for (std::size_t i = 0; i < kMapped; ++i) ASSERT_EQ(e[i].result, i % 2 + 1 + i) << i;
}

TEST_F(MulticallTest, Inv06_PreemptCheckEndsTheInvocationEarly) {
  MulticallEntry* e = map_list(5);
  for (int i = 0; i < 5; ++i) e[i] = {1, kPoison, {}};
  ctx.preempt_after = 1;  // the second check (before entry 2) asks to preempt
  EXPECT_EQ(call(kList, 5), 13);
  EXPECT_EQ(action, EntryAction::kReexecute);
  EXPECT_EQ(last.a[0], kList + 2 * sizeof(MulticallEntry));
  EXPECT_EQ(last.a[1], 3u);
  EXPECT_EQ(ctx.trace.size(), 2u);
  // Preemption never stops the first entry of an invocation: progress is guaranteed.
  ctx.preempt_after = 0;
  ctx.preempt_checks = 0;
  int inv = 0;
  EXPECT_EQ(run(last.a[0], last.a[1], inv), 0);
  EXPECT_EQ(inv, 3);
  EXPECT_EQ(ctx.trace.size(), 5u);
}

TEST_F(MulticallTest, Inv03_InnerContinuationContinuesTheMulticallItself) {
  std::uint8_t* data = ctx.mem.map(VirtAddr{kData}, 64);
  MulticallEntry* e = map_list(3);
  e[0] = {1, kPoison, {}};
  e[1] = {xen::hc::kArch0, kPoison, {kData, 10, 0, 0, 0, 77}};
  e[2] = {2, kPoison, {}};
  EXPECT_EQ(call(kList, 3), 13);
  EXPECT_EQ(action, EntryAction::kReexecute);
  // The multicall resumes at entry 1, whose own progress is saved in guest memory.
  EXPECT_EQ(last.a[0], kList + sizeof(MulticallEntry));
  EXPECT_EQ(last.a[1], 2u);
  EXPECT_EQ(e[1].args[2], 4u);
  EXPECT_EQ(e[1].args[5], 77u);  // untouched
  EXPECT_EQ(e[1].result, kPoison);
  int inv = 0;
  EXPECT_EQ(run(last.a[0], last.a[1], inv), 0);
  EXPECT_EQ(inv, 2);  // the first call did 4 bytes; then 4 + 2
  EXPECT_EQ(e[1].result, 10u);
  EXPECT_EQ(e[2].result, 2u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(data[i], 0xA0 + i);
  // Entry 0 ran once, entry 2 once; -ERESTART never reached the guest or an entry.
  EXPECT_EQ(ctx.trace, (std::vector<std::uint64_t>{1, xen::hc::kArch0, xen::hc::kArch0,
                                                   xen::hc::kArch0, 2}));
}

TEST_F(MulticallTest, Inv03_InnerContinuationWithUnwritableListFaults) {
  ctx.mem.map(VirtAddr{kData}, 64);
  MulticallEntry* e = map_list(1, /*writable=*/false);
  e[0] = {xen::hc::kArch0, kPoison, {kData, 10, 0}};
  EXPECT_EQ(call(kList, 1), -14);
  EXPECT_EQ(action, EntryAction::kReturnToGuest);
}

TEST_F(MulticallTest, Inv03_MalformedProgressIsJustAnotherBatch) {
  MulticallEntry* e = map_list(4);
  for (int i = 0; i < 4; ++i) e[i] = {1, kPoison, {}};
  // A "resumed" multicall pointing into the middle of an entry reads shifted garbage: the
  // ops it finds are result/args words, and every access stays inside the mapping.
  int inv = 0;
  const std::int64_t r = run(kList + 8, 4, inv);
  EXPECT_EQ(r, -14);  // the fourth shifted entry straddles the end of the list
  EXPECT_EQ(inv, 1);
  // Ops read from shifted entries: poison (unknown) or 0 (unknown): no handler ran.
  EXPECT_TRUE(ctx.trace.empty());
}

}  // namespace
}  // namespace pvkit
