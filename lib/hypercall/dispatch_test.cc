// Tests for the compile-time hypercall table, the platform entry, continuations and counters.
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <vector>

#include <gtest/gtest.h>

#include "pvkit/hypercall/arg_view.h"
#include "pvkit/hypercall/entry.h"
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

using Table = HypercallTable<Echo<xen::hc::kMmuUpdate>, Echo<xen::hc::kEventChannelOp>,
                             XenVersion, ConsoleIo, VmAssist, SchedOp, Multicall, FakeIret,
                             Countdown<xen::hc::kArch7>>;

constexpr std::uint64_t kBuf = 0x10000;

// Snapshot of everything a hypercall could change in a TestCtx.
struct Snapshot {
  std::vector<std::uint8_t> bytes;
  std::uint64_t writes;
  HypercallStats stats;
  std::uint64_t assist;
  std::size_t console_writes;
  std::size_t trace;
  int yields, blocks;
};
Snapshot snapshot(TestCtx& ctx) {
  const std::uint8_t* p = ctx.mem.host_ptr(VirtAddr{kBuf});
  return {std::vector<std::uint8_t>(p, p + 4096), ctx.mem.writes(), ctx.stats,
          ctx.assist.load(), ctx.console_sink.writes, ctx.trace.size(),
          ctx.sched.yields, ctx.sched.blocks};
}
void expect_unchanged_except_unknown(const Snapshot& a, const Snapshot& b) {
  EXPECT_EQ(a.bytes, b.bytes);
  EXPECT_EQ(a.writes, b.writes);
  EXPECT_EQ(a.stats.calls, b.stats.calls);
  EXPECT_EQ(a.stats.restarts, b.stats.restarts);
  EXPECT_EQ(a.assist, b.assist);
  EXPECT_EQ(a.console_writes, b.console_writes);
  EXPECT_EQ(a.trace, b.trace);
  EXPECT_EQ(a.yields, b.yields);
  EXPECT_EQ(a.blocks, b.blocks);
}

class DispatchTest : public ::testing::Test {
 protected:
  DispatchTest() {
    std::uint8_t* p = ctx.mem.map(VirtAddr{kBuf}, 4096);
    std::memset(p, 0x5A, 4096);
  }
  TestCtx ctx;
};

TEST_F(DispatchTest, ConstantsMatchTheContract) {
  EXPECT_EQ(kRestartValue, -85);
  EXPECT_EQ(kNoSysValue, -38);
  EXPECT_EQ(Table::kSlots, 64u);
  EXPECT_EQ(Table::kSize, 9u);
  EXPECT_STREQ(Table::name(xen::hc::kXenVersion), "xen_version");
  EXPECT_STREQ(Table::name(xen::hc::kMulticall), "multicall");
  EXPECT_EQ(Table::name(11), nullptr);
  EXPECT_EQ(Table::name(UINT64_MAX), nullptr);
}

TEST_F(DispatchTest, DispatchesEveryRegisteredHandlerAndCountsIt) {
  struct Case {
    std::uint64_t nr;
    HypercallArgs args;
    std::int64_t expect;
  };
  const std::vector<Case> cases = {
      {1, make_args(1, 10, 20), 1 + 30},
      {32, make_args(32, 1, 2, 3, 4, 5), 32 + 15},
      {17, make_args(17, xen::kXenVerVersion), (4 << 16) | 17},
      {18, make_args(18, xen::kConsoleIoWrite, 0, kBuf), 0},
      {21, make_args(21, xen::kVmAsstCmdEnable, xen::kVmAsstTypeWritablePagetables), 0},
      {29, make_args(29, xen::kSchedOpYield), 0},
      {13, make_args(13, kBuf, 0), 0},
      {23, make_args(23), FakeIret::kResult},
      {55, make_args(55, kBuf, 3, 0), 3},
  };
  for (const Case& c : cases) {
    HypercallStats before = ctx.stats;
    HypercallArgs a = c.args;
    EXPECT_EQ(Table::dispatch(ctx, a), c.expect) << "hypercall " << c.nr;
    for (std::uint32_t n = 0; n < Table::kSlots; ++n) {
      EXPECT_EQ(ctx.stats.calls[n], before.calls[n] + (n == c.nr ? 1 : 0)) << n;
    }
    EXPECT_EQ(ctx.stats.unknown, before.unknown);
  }
  EXPECT_EQ(ctx.sched.yields, 1);
  EXPECT_TRUE(vm_assist_enabled(ctx.assist, xen::kVmAsstTypeWritablePagetables));
}

TEST_F(DispatchTest, Inv01_UnknownNumbersAnswerENOSYSWithoutSideEffect) {
  std::vector<std::uint64_t> unknown;
  for (std::uint64_t n = 0; n < Table::kSlots; ++n) {
    if (!Table::contains(n)) unknown.push_back(n);
  }
  // Beyond the table, and values whose low bits name registered hypercalls: the number is
  // never truncated.
  for (std::uint64_t n : std::initializer_list<std::uint64_t>{64ULL, 65ULL, 127ULL, 128ULL, 0x80000000ULL, 0xFFFFFFFFULL,
                          (1ULL << 32) | xen::hc::kXenVersion, (1ULL << 63) | xen::hc::kMulticall,
                          (1ULL << 6) | xen::hc::kVmAssist, UINT64_MAX, UINT64_MAX - 63}) {
    unknown.push_back(n);
  }
  ASSERT_GT(unknown.size(), 50u);
  for (std::uint64_t n : unknown) {
    const Snapshot before = snapshot(ctx);
    HypercallArgs a = make_args(n, xen::kVmAsstCmdEnable, xen::kVmAsstTypeWritablePagetables, kBuf,
                                kBuf, kBuf);
    const HypercallArgs orig = a;
    const EntryResult r = hypercall_entry<Table>(ctx, a);
    EXPECT_EQ(r.action, EntryAction::kReturnToGuest) << n;
    EXPECT_EQ(r.rax, -38) << n;
    EXPECT_EQ(a.nr, orig.nr);
    EXPECT_EQ(a.a, orig.a);
    expect_unchanged_except_unknown(before, snapshot(ctx));
    EXPECT_EQ(ctx.stats.unknown, before.stats.unknown + 1);
  }
}

TEST_F(DispatchTest, Inv02_UserModeSyscallIsNeverDispatched) {
  ctx.kernel_mode = false;
  for (std::uint64_t n : {std::uint64_t{xen::hc::kVmAssist}, std::uint64_t{xen::hc::kMulticall},
                          std::uint64_t{xen::hc::kSchedOp}, std::uint64_t{99}}) {
    const Snapshot before = snapshot(ctx);
    HypercallArgs a = make_args(n, xen::kVmAsstCmdEnable, xen::kVmAsstTypeWritablePagetables);
    const HypercallArgs orig = a;
    const EntryResult r = hypercall_entry<Table>(ctx, a);
    EXPECT_EQ(r.action, EntryAction::kBounceToGuestKernel);
    EXPECT_EQ(a.a, orig.a);
    expect_unchanged_except_unknown(before, snapshot(ctx));
    EXPECT_EQ(ctx.stats.unknown, before.stats.unknown);
    EXPECT_EQ(ctx.stats.user_mode_denied, before.stats.user_mode_denied + 1);
  }
  EXPECT_EQ(ctx.assist.load(), 0u);
}

// Runs a hypercall the way a platform does: re-execute while the entry says so. Returns the
// guest-visible RAX and counts the re-executions.
template <typename T>
std::int64_t run_to_completion(TestCtx& ctx, HypercallArgs& a, int& reexecutions,
                               int limit = 10000) {
  reexecutions = 0;
  for (;;) {
    const EntryResult r = hypercall_entry<T>(ctx, a);
    if (r.action != EntryAction::kReexecute) return r.rax;
    EXPECT_EQ(static_cast<std::uint64_t>(r.rax), a.nr) << "RAX must be the number again";
    if (++reexecutions > limit) return INT64_MIN;
  }
}

TEST_F(DispatchTest, Inv03_ContinuationReexecutesUntilDoneAndNeverReturnsRestart) {
  HypercallArgs a = make_args(xen::hc::kArch7, kBuf + 100, 10, 0);
  // First invocation: the entry asks for re-execution with progress in the arguments.
  EntryResult r = hypercall_entry<Table>(ctx, a);
  EXPECT_EQ(r.action, EntryAction::kReexecute);
  EXPECT_EQ(r.rax, xen::hc::kArch7);
  EXPECT_EQ(a.a[2], 4u);
  EXPECT_EQ(a.a[0], kBuf + 100);
  int re = 0;
  EXPECT_EQ(run_to_completion<Table>(ctx, a, re), 10);
  EXPECT_EQ(re, 1);  // 4 + 4 + 2 bytes: three invocations in total
  EXPECT_EQ(ctx.stats.restarts, 2u);
  EXPECT_EQ(ctx.stats.calls[xen::hc::kArch7], 3u);
  const std::uint8_t* p = ctx.mem.host_ptr(VirtAddr{kBuf});
  EXPECT_EQ(p[99], 0x5A);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(p[100 + i], 0xA0 + i);
  EXPECT_EQ(p[110], 0x5A);
}

TEST_F(DispatchTest, Inv03_MalformedProgressCannotEscapeBounds) {
  const Snapshot before = snapshot(ctx);
  int re = 0;
  // Progress beyond the length.
  HypercallArgs a = make_args(xen::hc::kArch7, kBuf, 10, 11);
  EXPECT_EQ(run_to_completion<Table>(ctx, a, re), -22);
  a = make_args(xen::hc::kArch7, kBuf, 10, UINT64_MAX);
  EXPECT_EQ(run_to_completion<Table>(ctx, a, re), -22);
  // Progress that would walk off the top of the address space or out of the mapping.
  a = make_args(xen::hc::kArch7, UINT64_MAX - 2, UINT64_MAX, UINT64_MAX - 8);
  EXPECT_EQ(run_to_completion<Table>(ctx, a, re), -14);
  a = make_args(xen::hc::kArch7, kBuf, UINT64_MAX, 4096);
  EXPECT_EQ(run_to_completion<Table>(ctx, a, re), -14);
  EXPECT_EQ(re, 0);
  EXPECT_EQ(before.bytes, snapshot(ctx).bytes);
  // Progress near the end of the mapping finishes within bounds.
  a = make_args(xen::hc::kArch7, kBuf, 4096, 4090);
  EXPECT_EQ(run_to_completion<Table>(ctx, a, re), 4096);
  EXPECT_EQ(re, 1);
}

// --- the extension point -------------------------------------------------------------------

struct MyVersion {  // replaces xen_version
  static constexpr std::uint32_t kNumber = xen::hc::kXenVersion;
  static constexpr const char* kName = "my_version";
  template <typename Ctx>
  static std::int64_t call(Ctx&, HypercallArgs&) {
    return 0x30002;
  }
};
struct MyPlatformOp {  // adds a number pvkit does not implement
  static constexpr std::uint32_t kNumber = xen::hc::kPlatformOp;
  static constexpr const char* kName = "my_platform_op";
  template <typename Ctx>
  static std::int64_t call(Ctx& ctx, HypercallArgs&) {
    ctx.trace.push_back(kNumber);
    return 7;
  }
};
struct OutOfRange {
  static constexpr std::uint32_t kNumber = 64;
  static constexpr const char* kName = "out_of_range";
};

template <typename T, typename H>
concept CanAdd = requires { typename T::template add<H>; };
template <typename T, typename H>
concept CanReplace = requires { typename T::template replace<H>; };
template <typename T, typename H>
concept CanWith = requires { typename T::template with<H>; };

static_assert(CanAdd<Table, MyPlatformOp>);
static_assert(!CanAdd<Table, MyVersion>, "add<> refuses a taken number");
static_assert(CanReplace<Table, MyVersion>);
static_assert(!CanReplace<Table, MyPlatformOp>, "replace<> needs an existing number");
static_assert(!CanWith<Table, OutOfRange>, "numbers >= 64 cannot be registered");
static_assert(!HypercallHandler<OutOfRange>);

TEST_F(DispatchTest, ExtensionPointReplacesAddsAndRemoves) {
  using Mine = Table::with<MyVersion>::with<MyPlatformOp>::without<xen::hc::kConsoleIo>;
  static_assert(Mine::kSize == Table::kSize + 1 - 1);
  static_assert(std::is_same_v<Table::replace<MyVersion>, Table::with<MyVersion>>);
  static_assert(!Mine::contains(xen::hc::kConsoleIo));
  static_assert(Mine::contains(xen::hc::kPlatformOp));
  EXPECT_STREQ(Mine::name(xen::hc::kXenVersion), "my_version");

  HypercallArgs a = make_args(xen::hc::kXenVersion, xen::kXenVerVersion);
  EXPECT_EQ(Mine::dispatch(ctx, a), 0x30002);
  a = make_args(xen::hc::kXenVersion, xen::kXenVerVersion);
  EXPECT_EQ(Table::dispatch(ctx, a), (4 << 16) | 17);  // the original table is unchanged

  a = make_args(xen::hc::kPlatformOp);
  EXPECT_EQ(Mine::dispatch(ctx, a), 7);
  a = make_args(xen::hc::kPlatformOp);
  EXPECT_EQ(Table::dispatch(ctx, a), -38);

  const Snapshot before = snapshot(ctx);
  a = make_args(xen::hc::kConsoleIo, xen::kConsoleIoWrite, 5, kBuf);
  EXPECT_EQ(Mine::dispatch(ctx, a), -38);
  expect_unchanged_except_unknown(before, snapshot(ctx));
  EXPECT_EQ(ctx.console_sink.out, "");

  // Removing a number that is not there, and removing everything.
  static_assert(std::is_same_v<Table::without<11>, Table>);
  using Empty = HypercallTable<>;
  static_assert(Empty::kSize == 0);
  a = make_args(0);
  EXPECT_EQ(Empty::dispatch(ctx, a), -38);
  // A multicall in a table built with<> dispatches through that same table.
  auto* entry = ctx.mem.host_obj<xen::MulticallEntry>(VirtAddr{kBuf});
  *entry = {xen::hc::kXenVersion, 0, {xen::kXenVerVersion, 0, 0, 0, 0, 0}};
  a = make_args(xen::hc::kMulticall, kBuf, 1);
  EXPECT_EQ(Mine::dispatch(ctx, a), 0);
  EXPECT_EQ(entry->result, 0x30002u);
}

TEST_F(DispatchTest, CountersArePerContextAndPlain) {
  TestCtx other;
  for (int i = 0; i < 5; ++i) {
    HypercallArgs a = make_args(xen::hc::kMmuUpdate);
    (void)Table::dispatch(ctx, a);
  }
  HypercallArgs a = make_args(xen::hc::kEventChannelOp);
  (void)Table::dispatch(other, a);
  EXPECT_EQ(ctx.stats.calls[xen::hc::kMmuUpdate], 5u);
  EXPECT_EQ(ctx.stats.calls[xen::hc::kEventChannelOp], 0u);
  EXPECT_EQ(other.stats.calls[xen::hc::kEventChannelOp], 1u);
  EXPECT_EQ(other.stats.calls[xen::hc::kMmuUpdate], 0u);
  static_assert(!std::is_same_v<decltype(ctx.stats.calls[0]), std::atomic<std::uint64_t>&>);
  HypercallStats total;
  total += ctx.stats;
  total += other.stats;
  EXPECT_EQ(total.calls[xen::hc::kMmuUpdate], 5u);
  EXPECT_EQ(total.calls[xen::hc::kEventChannelOp], 1u);
}

// A context without counters or preemption still dispatches (both are optional).
struct BareCtx {
  std::vector<std::uint64_t> trace;
  bool guest_kernel_mode() { return true; }
};
static_assert(!HasHypercallStats<BareCtx>);

TEST(DispatchBare, ContextWithoutCountersWorks) {
  using T = HypercallTable<Echo<3>>;
  BareCtx ctx;
  HypercallArgs a = make_args(3, 1);
  EXPECT_EQ(hypercall_entry<T>(ctx, a).rax, 4);
  a = make_args(4);
  EXPECT_EQ(hypercall_entry<T>(ctx, a).rax, -38);
  a = make_args(3, 2);
  EXPECT_EQ(dispatch<T>(ctx, a), 5);
  EXPECT_EQ(ctx.trace.size(), 2u);
}


// ---- typed argument views -----------------------------------------------------------------

struct FakeReq {
  std::uint64_t ptr, val;
};

TEST(ArgViews, DecodeWithXensCTypesAndRoundTrip) {
  HypercallArgs r = make_args(1, 0x7000, 0xFFFFFFFF80000003ULL, 0x8000, 0x1234ABCD0007ULL, 9);
  auto m = MmuBatchArgs<FakeReq>::from(r);
  EXPECT_EQ(m.reqs.addr, VirtAddr{0x7000});
  EXPECT_EQ(m.count, 0x80000003u);  // unsigned int: the upper half of RSI is ignored
  EXPECT_TRUE(m.preempted());
  EXPECT_EQ(m.remaining(), 3u);
  EXPECT_EQ(m.pdone.addr, VirtAddr{0x8000});
  EXPECT_EQ(m.foreigndom, 0xABCD0007u);
  EXPECT_EQ(m.foreign_domid(), DomId{7});  // domid_t, as Xen narrows it
  m.count = 1 | MmuBatchArgs<FakeReq>::kPreemptedBit;
  m.reqs.addr = VirtAddr{0x7010};
  m.store(r);
  EXPECT_EQ(r.a[0], 0x7010u);
  EXPECT_EQ(r.a[1], 0x80000001u);
  EXPECT_EQ(r.a[4], 9u);  // untouched
  EXPECT_EQ(MmuBatchArgs<FakeReq>::from(r).remaining(), 1u);

  auto c = CmdArgs::from(make_args(17, (1ULL << 40) | 6, 0xFFFF800000001000ULL));
  EXPECT_EQ(c.cmd, 6u);
  EXPECT_EQ(c.arg, VirtAddr{0xFFFF800000001000ULL});
  auto g = CmdArrayArgs::from(make_args(20, 0x12345005, 0x9000, (1ULL << 32) | 3));
  EXPECT_EQ(g.cmd, 0x12345005u);
  EXPECT_EQ(g.count, 3u);
  auto l = LongCmdArgs::from(make_args(12, 0xFFFFFFFF00000041ULL, 0x10));
  EXPECT_EQ(l.cmd, 0xFFFFFFFF00000041ULL);  // unsigned long keeps continuation bits
  auto v = VcpuOpArgs::from(make_args(24, 1, (1ULL << 33) | 2, 0x4000));
  EXPECT_EQ(v.vcpu, VcpuId{2});
  auto u = UpdateVaMappingArgs::from(make_args(14, 0x1000, 0x8000000000000067ULL, 2));
  EXPECT_EQ(u.val, 0x8000000000000067ULL);
  EXPECT_EQ(hcarg::i32(make_args(0, 0xFFFFFFFF), 0), -1);
  HypercallArgs back;
  g.store(back);
  EXPECT_EQ(CmdArrayArgs::from(back).uop, VirtAddr{0x9000});
}

}  // namespace
}  // namespace pvkit
