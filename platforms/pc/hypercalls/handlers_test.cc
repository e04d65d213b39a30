// The PC platform's own hypercall handlers against hostile arguments: every bad pointer is
// -EFAULT with nothing changed, bad types/counts -EINVAL, unknown sub-ops -ENOSYS; good calls
// record exactly what the guest asked for.
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "pvkit/platforms/host/flat_guest_memory.h"
#include "pvkit/platforms/pc/hypercalls/callback_op.h"
#include "pvkit/platforms/pc/hypercalls/iret.h"
#include "pvkit/platforms/pc/hypercalls/sched_op.h"
#include "pvkit/platforms/pc/hypercalls/set_trap_table.h"

namespace pvkit::pc {
namespace {

constexpr VirtAddr kArg{0x10000};
constexpr VirtAddr kStack{0x20000};
constexpr std::uint64_t kUnmapped = 0x900000;
constexpr std::uint64_t kHole = 0xFFFF800000001000ull;

struct TestCtx {
  host::FlatGuestMemory mem;
  GuestCallbacks cb;
  std::uint64_t rsp = kStack.value();
  bool resumed = false, crashed = false;
  xen::IretContext ic{};
  // PcSchedPolicy
  int yields = 0, blocks = 0;
  std::vector<std::uint32_t> shutdowns, polled;
  std::uint32_t valid_ports = 4;

  TestCtx() {
    mem.map(kArg, 0x1000);
    mem.map(kStack, 0x1000);
  }
  host::FlatGuestMemory& guest_memory() { return mem; }
  GuestCallbacks& callbacks() { return cb; }
  std::uint64_t guest_rsp() const { return rsp; }
  void resume_from_iret(const xen::IretContext& c) {
    resumed = true;
    ic = c;
  }
  void crash_domain(const char*) { crashed = true; }
  TestCtx& scheduler() { return *this; }
  void yield() { ++yields; }
  void block() { ++blocks; }
  void shutdown(std::uint32_t r) { shutdowns.push_back(r); }
  bool port_valid(std::uint32_t p) { return p != 0 && p < valid_ports; }
  void poll(std::span<const std::uint32_t> ports, std::uint64_t) { polled.assign(ports.begin(), ports.end()); }
};
static_assert(CallbackContext<TestCtx>);
static_assert(IretHypercallContext<TestCtx>);
static_assert(PcSchedContext<TestCtx>);

template <typename H>
std::int64_t call(TestCtx& ctx, std::uint64_t a0, std::uint64_t a1 = 0, std::uint64_t a2 = 0) {
  HypercallArgs args{};
  args.nr = H::kNumber;
  args.a = {a0, a1, a2, 0, 0};
  return H::call(ctx, args);
}

template <typename T>
void put(TestCtx& ctx, VirtAddr at, const T& v) {
  ASSERT_TRUE(ctx.mem.copy_to_guest(at, &v, sizeof v));
}

TEST(PcCallbackOp, RegistersEventFailsafeSyscallAndUnregisters) {
  TestCtx ctx;
  put(ctx, kArg, xen::CallbackRegister{xen::kCallbackTypeEvent, 0, 0, 0xFFFFFFFF80001000});
  EXPECT_EQ(call<CallbackOp>(ctx, xen::kCallbackOpRegister, kArg.value()), 0);
  put(ctx, kArg, xen::CallbackRegister{xen::kCallbackTypeFailsafe, 0, 0, 0xFFFFFFFF80002000});
  EXPECT_EQ(call<CallbackOp>(ctx, xen::kCallbackOpRegister, kArg.value()), 0);
  EXPECT_EQ(ctx.cb.event, 0xFFFFFFFF80001000u);
  EXPECT_EQ(ctx.cb.failsafe, 0xFFFFFFFF80002000u);
  put(ctx, kArg, xen::CallbackUnregister{xen::kCallbackTypeEvent, 0});
  EXPECT_EQ(call<CallbackOp>(ctx, xen::kCallbackOpUnregister, kArg.value()), 0);
  EXPECT_EQ(ctx.cb.event, 0u);
  EXPECT_EQ(ctx.cb.failsafe, 0xFFFFFFFF80002000u);
}

TEST(PcCallbackAdversarial, Inv04_BadPointersFaultAndChangeNothing) {
  TestCtx ctx;
  ctx.cb.event = 0x1234;
  for (std::uint64_t p : {std::uint64_t{0}, kUnmapped, kHole, kArg.value() + 0x1000 - 8}) {
    EXPECT_EQ(call<CallbackOp>(ctx, xen::kCallbackOpRegister, p), -14) << std::hex << p;
    EXPECT_EQ(call<CallbackOp>(ctx, xen::kCallbackOpUnregister, p == kArg.value() + 0x1000 - 8 ? kArg.value() + 0x1000 - 2 : p), -14);
  }
  EXPECT_EQ(ctx.cb.event, 0x1234u);
}

TEST(PcCallbackAdversarial, UnknownTypesAndCommandsRefused) {
  TestCtx ctx;
  for (std::uint16_t t : {xen::kCallbackTypeNmi, std::uint16_t{3}, std::uint16_t{7}, std::uint16_t{0xFFFF}}) {
    put(ctx, kArg, xen::CallbackRegister{t, 0, 0, 0x5000});
    EXPECT_EQ(call<CallbackOp>(ctx, xen::kCallbackOpRegister, kArg.value()), -22) << t;
    put(ctx, kArg, xen::CallbackUnregister{t, 0});
    EXPECT_EQ(call<CallbackOp>(ctx, xen::kCallbackOpUnregister, kArg.value()), -22) << t;
  }
  EXPECT_EQ(call<CallbackOp>(ctx, 2, kArg.value()), -38);
  EXPECT_EQ(call<CallbackOp>(ctx, 0xFFFFFFFF, kArg.value()), -38);
  EXPECT_EQ(ctx.cb.event, 0u);
}

TEST(PcSetCallbacks, StoresAllThree) {
  TestCtx ctx;
  EXPECT_EQ(call<SetCallbacks>(ctx, 0x100, 0x200, 0x300), 0);
  EXPECT_EQ(ctx.cb.event, 0x100u);
  EXPECT_EQ(ctx.cb.failsafe, 0x200u);
  EXPECT_EQ(ctx.cb.syscall, 0x300u);
}

TEST(PcIret, ReadsTheFrameAtRsp) {
  TestCtx ctx;
  const xen::IretContext ic{1, 2, 3, 0, 0xFFFFFFFF80004000, 0xe033, 0x202, 0xFFFFFFFF80009000, 0xe02b};
  put(ctx, kStack, ic);
  call<Iret>(ctx, 0);
  EXPECT_TRUE(ctx.resumed);
  EXPECT_FALSE(ctx.crashed);
  EXPECT_EQ(ctx.ic.rax, 1u);
  EXPECT_EQ(ctx.ic.rip, 0xFFFFFFFF80004000u);
  EXPECT_EQ(ctx.ic.rflags, 0x202u);
}

TEST(PcIretAdversarial, Inv04_UnreadableFrameCrashesTheDomain) {
  for (std::uint64_t rsp : {kUnmapped, kHole, kStack.value() + 0x1000 - 16, std::uint64_t{0x0000800000000000}}) {
    TestCtx ctx;
    ctx.rsp = rsp;
    call<Iret>(ctx, 0);
    EXPECT_TRUE(ctx.crashed) << std::hex << rsp;
    EXPECT_FALSE(ctx.resumed);
  }
}

TEST(PcSchedOp, YieldBlockShutdownPoll) {
  TestCtx ctx;
  EXPECT_EQ(call<PcSchedOp>(ctx, pvkit::xen::kSchedOpYield), 0);
  EXPECT_EQ(call<PcSchedOp>(ctx, pvkit::xen::kSchedOpBlock), 0);
  put(ctx, kArg, pvkit::xen::SchedShutdown{pvkit::xen::kShutdownCrash});
  EXPECT_EQ(call<PcSchedOp>(ctx, pvkit::xen::kSchedOpShutdown, kArg.value()), 0);
  const std::uint32_t ports[2] = {1, 3};
  put(ctx, VirtAddr{kArg.value() + 0x100}, ports);
  put(ctx, kArg, pvkit::xen::SchedPoll{kArg.value() + 0x100, 2, 0, 0});
  EXPECT_EQ(call<PcSchedOp>(ctx, pvkit::xen::kSchedOpPoll, kArg.value()), 0);
  EXPECT_EQ(ctx.yields, 1);
  EXPECT_EQ(ctx.blocks, 1);
  ASSERT_EQ(ctx.shutdowns.size(), 1u);
  EXPECT_EQ(ctx.shutdowns[0], pvkit::xen::kShutdownCrash);
  EXPECT_EQ(ctx.polled, (std::vector<std::uint32_t>{1, 3}));
}

TEST(PcSchedOpAdversarial, Inv04_BadShutdownAndPollArguments) {
  TestCtx ctx;
  EXPECT_EQ(call<PcSchedOp>(ctx, pvkit::xen::kSchedOpShutdown, 0), -14);
  EXPECT_EQ(call<PcSchedOp>(ctx, pvkit::xen::kSchedOpShutdown, kHole), -14);
  put(ctx, kArg, pvkit::xen::SchedShutdown{pvkit::xen::kShutdownMax + 1});
  EXPECT_EQ(call<PcSchedOp>(ctx, pvkit::xen::kSchedOpShutdown, kArg.value()), -22);
  EXPECT_EQ(call<PcSchedOp>(ctx, pvkit::xen::kSchedOpPoll, kUnmapped), -14);
  put(ctx, kArg, pvkit::xen::SchedPoll{kArg.value() + 0x100, 0, 0, 0});  // no ports
  EXPECT_EQ(call<PcSchedOp>(ctx, pvkit::xen::kSchedOpPoll, kArg.value()), -22);
  put(ctx, kArg, pvkit::xen::SchedPoll{kArg.value() + 0x100, 0xFFFFFFFF, 0, 0});  // huge count
  EXPECT_EQ(call<PcSchedOp>(ctx, pvkit::xen::kSchedOpPoll, kArg.value()), -22);
  put(ctx, kArg, pvkit::xen::SchedPoll{kHole, 1, 0, 0});  // ports in the hypervisor hole
  EXPECT_EQ(call<PcSchedOp>(ctx, pvkit::xen::kSchedOpPoll, kArg.value()), -14);
  const std::uint32_t bad[1] = {99};  // not one of the caller's ports
  put(ctx, VirtAddr{kArg.value() + 0x100}, bad);
  put(ctx, kArg, pvkit::xen::SchedPoll{kArg.value() + 0x100, 1, 0, 0});
  EXPECT_EQ(call<PcSchedOp>(ctx, pvkit::xen::kSchedOpPoll, kArg.value()), -22);
  EXPECT_EQ(call<PcSchedOp>(ctx, 4), -38);  // remote_shutdown: not offered
  EXPECT_EQ(call<PcSchedOp>(ctx, 1000), -38);
  EXPECT_TRUE(ctx.shutdowns.empty());
  EXPECT_TRUE(ctx.polled.empty());
}

TEST(PcSetTrapTable, InstallsUntilTerminatorAndNullClears) {
  TestCtx ctx;
  const xen::TrapInfo t[3] = {{14, 0, 0xe033, 0, 0x1400}, {200, 0, 0xe033, 0, 0x2000}, {0, 0, 0, 0, 0}};
  put(ctx, kArg, t);
  EXPECT_EQ(call<SetTrapTable>(ctx, kArg.value()), 0);
  EXPECT_EQ(ctx.cb.traps[14], 0x1400u);
  EXPECT_EQ(call<SetTrapTable>(ctx, 0), 0);
  EXPECT_EQ(ctx.cb.traps[14], 0u);
}

TEST(PcSetTrapTableAdversarial, Inv04_Inv06_BadPointerFaultsAndLongTablesContinue) {
  TestCtx ctx;
  EXPECT_EQ(call<SetTrapTable>(ctx, kHole), -14);
  EXPECT_EQ(call<SetTrapTable>(ctx, kUnmapped), -14);
  // A table without a terminator filling its page (256 entries): the call continues once,
  // then runs into unmapped memory: -EFAULT, never an unbounded loop.
  std::vector<xen::TrapInfo> many(0x1000 / sizeof(xen::TrapInfo), xen::TrapInfo{3, 0, 0xe033, 0, 0x3000});
  ASSERT_TRUE(ctx.mem.copy_to_guest(kArg, many.data(), many.size() * sizeof(xen::TrapInfo)));
  HypercallArgs r{};
  r.a = {kArg.value(), 0, 0, 0, 0};
  EXPECT_EQ(SetTrapTable::call(ctx, r), -85);
  EXPECT_EQ(SetTrapTable::call(ctx, r), -14);
  // 300 entries mapped: the first call stops after 256 and asks to be re-executed.
  host::FlatGuestMemory& m = ctx.mem;
  m.map(VirtAddr{0x40000}, 0x2000);
  std::vector<xen::TrapInfo> t(301, xen::TrapInfo{3, 0, 0xe033, 0, 0x3000});
  t[300] = {};
  ASSERT_TRUE(m.copy_to_guest(VirtAddr{0x40000}, t.data(), t.size() * sizeof(xen::TrapInfo)));
  HypercallArgs a{};
  a.a = {0x40000, 0, 0, 0, 0};
  EXPECT_EQ(SetTrapTable::call(ctx, a), -85);
  EXPECT_EQ(a.a[0], 0x40000u + 256 * sizeof(xen::TrapInfo));
  EXPECT_EQ(SetTrapTable::call(ctx, a), 0);
}

}  // namespace
}  // namespace pvkit::pc
