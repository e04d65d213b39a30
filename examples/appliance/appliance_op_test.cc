// Host tests of the appliance's custom hypercall: every path a hostile guest can reach
// (bad buffer, overlong line, bad report slot, unknown command) answers Xen's error code and
// leaves the context untouched.
#include "appliance/appliance_op.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "pvkit/platforms/host/flat_guest_memory.h"

namespace {

using pvkit::HypercallArgs;
using pvkit::VirtAddr;

struct TestCtx {
  pvkit::host::FlatGuestMemory mem;
  std::string log;
  unsigned lines = 0;
  std::uint64_t reports[appliance::kMaxChecks] = {};
  bool off = false;
  pvkit::host::FlatGuestMemory& guest_memory() { return mem; }
  void log_line(std::span<const char> s) {
    log.append(s.data(), s.size());
    ++lines;
  }
  void report(std::uint32_t c, std::uint64_t v) { reports[c] = v; }
  void poweroff() { off = true; }
};
static_assert(appliance::ApplianceOpContext<TestCtx>);

std::int64_t call(TestCtx& ctx, std::uint64_t cmd, std::uint64_t a1, std::uint64_t a2) {
  HypercallArgs args{appliance::kApplianceOpNumber, {cmd, a1, a2, 0, 0}};
  return appliance::ApplianceOp::call(ctx, args);
}

constexpr std::uint64_t kBuf = 0x10000;

TEST(ApplianceOp, LogCopiesTheLineAndReturnsItsLength) {
  TestCtx ctx;
  std::memcpy(ctx.mem.map(VirtAddr{kBuf}, 4096), "hi there\n", 9);
  EXPECT_EQ(call(ctx, appliance::kCmdLog, kBuf, 9), 9);
  EXPECT_EQ(ctx.log, "hi there\n");
}

TEST(ApplianceOp, LogReplacesNonPrintableBytes) {
  TestCtx ctx;
  std::memcpy(ctx.mem.map(VirtAddr{kBuf}, 4096), "a\x1b[2Jb\x7f\n", 8);
  EXPECT_EQ(call(ctx, appliance::kCmdLog, kBuf, 8), 8);
  EXPECT_EQ(ctx.log, "a.[2Jb.\n");
}

TEST(ApplianceOpAdversarial, LogOfUnmappedOrPartlyMappedBufferIsFault) {
  TestCtx ctx;
  (void)ctx.mem.map(VirtAddr{kBuf}, 4096);
  EXPECT_EQ(call(ctx, appliance::kCmdLog, 0xFFFF82D000100000, 16), -14);
  EXPECT_EQ(call(ctx, appliance::kCmdLog, kBuf + 4096 - 8, 16), -14);  // runs off the mapping
  EXPECT_EQ(call(ctx, appliance::kCmdLog, ~0ull - 4, 16), -14);         // wraps the address space
  EXPECT_EQ(ctx.lines, 0u);
}

TEST(ApplianceOpAdversarial, OverlongLogIsInvalAndNothingIsRead) {
  TestCtx ctx;
  (void)ctx.mem.map(VirtAddr{kBuf}, 4096);
  EXPECT_EQ(call(ctx, appliance::kCmdLog, kBuf, appliance::kMaxLogBytes + 1), -22);
  EXPECT_EQ(call(ctx, appliance::kCmdLog, kBuf, ~0ull), -22);
  EXPECT_EQ(call(ctx, appliance::kCmdLog, kBuf, appliance::kMaxLogBytes), 256);  // the limit itself is fine
  EXPECT_EQ(ctx.lines, 1u);
}

TEST(ApplianceOpAdversarial, ReportSlotIsBoundsChecked) {
  TestCtx ctx;
  EXPECT_EQ(call(ctx, appliance::kCmdReport, appliance::kMaxChecks, 5), -22);
  EXPECT_EQ(call(ctx, appliance::kCmdReport, (1ull << 32) | 3, 5), 0);  // unsigned int: low 32 bits
  EXPECT_EQ(ctx.reports[3], 5u);
}

TEST(ApplianceOpAdversarial, UnknownCommandIsNoSys) {
  TestCtx ctx;
  EXPECT_EQ(call(ctx, 7, 0, 0), -38);
  EXPECT_EQ(call(ctx, (1ull << 32) | 7, 0, 0), -38);
  EXPECT_FALSE(ctx.off);
  EXPECT_EQ(call(ctx, appliance::kCmdPoweroff, 0, 0), 0);
  EXPECT_TRUE(ctx.off);
}

}  // namespace
