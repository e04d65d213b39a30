// Tests for the simple handlers: xen_version, console_io, vm_assist, sched_op.
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pvkit/hypercall/entry.h"
#include "pvkit/hypercall/table.h"
#include "pvkit/hypercall/testing/test_context.h"

namespace pvkit {
namespace {

using testing::make_args;
using testing::TestCtx;

using Table = HypercallTable<XenVersion, BasicConsoleIo<256>, VmAssist, SchedOp>;

constexpr std::uint64_t kBuf = 0x10000;
constexpr std::size_t kBufSize = 4096;
constexpr std::uint8_t kPoison = 0xCC;

class HandlersTest : public ::testing::Test {
 protected:
  HandlersTest() {
    buf = ctx.mem.map(VirtAddr{kBuf}, kBufSize);
    std::memset(buf, kPoison, kBufSize);
    ctx.mem.map(VirtAddr{0x30000}, 4096, /*writable=*/false);
  }
  std::int64_t call(std::uint64_t nr, std::uint64_t a0 = 0, std::uint64_t a1 = 0,
                    std::uint64_t a2 = 0) {
    HypercallArgs a = make_args(nr, a0, a1, a2);
    return Table::dispatch(ctx, a);
  }
  std::int64_t version(std::uint64_t cmd, std::uint64_t arg = kBuf) {
    return call(xen::hc::kXenVersion, cmd, arg);
  }
  std::vector<std::uint8_t> bytes(std::size_t n) const { return {buf, buf + n}; }
  // Invariant 5: the first n bytes were all written, the rest untouched.
  void expect_fully_written(std::size_t n) const {
    for (std::size_t i = 0; i < n; ++i) ASSERT_NE(buf[i], kPoison) << "byte " << i;
    for (std::size_t i = n; i < n + 16; ++i) ASSERT_EQ(buf[i], kPoison) << "byte " << i;
  }
  std::string str_at(std::size_t off = 0) const {
    return std::string(reinterpret_cast<const char*>(buf + off));
  }
  TestCtx ctx;
  std::uint8_t* buf;
};

// ---- xen_version ----------------------------------------------------------------------------

TEST_F(HandlersTest, XenVersionNumbersIgnoreTheArgument) {
  EXPECT_EQ(version(xen::kXenVerVersion, 0), (4 << 16) | 17);
  ctx.info.major = 3;
  ctx.info.minor = 2;
  EXPECT_EQ(version(xen::kXenVerVersion, 0xDEAD), 0x30002);
  EXPECT_EQ(version(xen::kXenVerPagesize, 0), 4096);
  EXPECT_EQ(ctx.mem.writes(), 0u);
}

TEST_F(HandlersTest, Inv05_XenVersionStringsAreNulPaddedToTheFullBuffer) {
  ctx.info.extraversion = ".3";
  ASSERT_EQ(version(xen::kXenVerExtraversion), 0);
  expect_fully_written(16);
  EXPECT_EQ(str_at(), ".3");
  for (int i = 2; i < 16; ++i) EXPECT_EQ(buf[i], 0);

  std::memset(buf, kPoison, kBufSize);
  ASSERT_EQ(version(xen::kXenVerCapabilities), 0);
  expect_fully_written(1024);
  EXPECT_EQ(str_at(), "xen-3.0-x86_64");

  std::memset(buf, kPoison, kBufSize);
  ctx.info.changeset = "abc";
  ASSERT_EQ(version(xen::kXenVerChangeset), 0);
  expect_fully_written(64);
  EXPECT_EQ(str_at(), "abc");

  std::memset(buf, kPoison, kBufSize);
  ctx.info.compiler = "cc";
  ctx.info.compile_by = nullptr;  // absent strings are empty
  ctx.info.compile_domain = "example.org";
  ctx.info.compile_date = "today";
  ASSERT_EQ(version(xen::kXenVerCompileInfo), 0);
  expect_fully_written(144);
  EXPECT_EQ(str_at(0), "cc");
  EXPECT_EQ(str_at(64), "");
  EXPECT_EQ(str_at(80), "example.org");
  EXPECT_EQ(str_at(112), "today");
}

TEST_F(HandlersTest, Inv05_XenVersionTruncatesLongStringsAndKeepsTheNul) {
  ctx.info.extraversion = "0123456789abcdefghijklmnop";
  ASSERT_EQ(version(xen::kXenVerExtraversion), 0);
  expect_fully_written(16);
  EXPECT_EQ(str_at(), "0123456789abcde");
}

TEST_F(HandlersTest, Inv05_XenVersionStructsAreFullyWritten) {
  ASSERT_EQ(version(xen::kXenVerPlatformParameters), 0);
  expect_fully_written(8);
  std::uint64_t vs;
  std::memcpy(&vs, buf, 8);
  EXPECT_EQ(vs, 0xFFFF800000000000ULL);

  std::memset(buf, kPoison, kBufSize);
  for (std::size_t i = 0; i < 16; ++i) ctx.handle[i] = static_cast<std::uint8_t>(i + 1);
  ASSERT_EQ(version(xen::kXenVerGuestHandle), 0);
  expect_fully_written(16);
  EXPECT_EQ(buf[15], 16);
}

TEST_F(HandlersTest, XenVersionGetFeaturesReadsTheIndexAndFillsTheSubmap) {
  ctx.info.features[0] = 0x85;
  xen::XenFeatureInfo fi{0, 0xCCCCCCCC};
  std::memcpy(buf, &fi, sizeof fi);
  ASSERT_EQ(version(xen::kXenVerGetFeatures), 0);
  std::memcpy(&fi, buf, sizeof fi);
  EXPECT_EQ(fi.submap_idx, 0u);
  EXPECT_EQ(fi.submap, 0x85u);
  EXPECT_EQ(buf[8], kPoison);
  // Out-of-range index: -EINVAL, nothing written (invariant 4 on the guest's index).
  for (std::uint32_t idx : {1u, 2u, 0x80000000u, 0xFFFFFFFFu}) {
    fi = {idx, 0x11111111};
    std::memcpy(buf, &fi, sizeof fi);
    const auto w = ctx.mem.writes();
    EXPECT_EQ(version(xen::kXenVerGetFeatures), -22) << idx;
    EXPECT_EQ(ctx.mem.writes(), w);
  }
  EXPECT_EQ(version(xen::kXenVerGetFeatures, 0x50000), -14);  // unmapped
  EXPECT_EQ(version(xen::kXenVerGetFeatures, 0x30000), -14);  // read-only
}

TEST_F(HandlersTest, XenVersionFaultsOnBadBuffers) {
  for (std::uint32_t cmd : {xen::kXenVerExtraversion, xen::kXenVerCompileInfo,
                            xen::kXenVerCapabilities, xen::kXenVerChangeset,
                            xen::kXenVerPlatformParameters, xen::kXenVerGuestHandle}) {
    EXPECT_EQ(version(cmd, 0), -14) << cmd;
    EXPECT_EQ(version(cmd, 0x30000), -14) << cmd;                  // read-only
    EXPECT_EQ(version(cmd, kBuf + kBufSize - 4), -14) << cmd;      // straddles the end
    EXPECT_EQ(version(cmd, UINT64_MAX - 3), -14) << cmd;           // wraps the address space
  }
  EXPECT_EQ(bytes(kBufSize), std::vector<std::uint8_t>(kBufSize, kPoison));
}

TEST_F(HandlersTest, XenVersionPrivilegedSubOps) {
  EXPECT_EQ(version(xen::kXenVerCommandline), -1);
  EXPECT_EQ(version(xen::kXenVerBuildId), -1);
  EXPECT_EQ(ctx.mem.writes(), 0u);
  ctx.privileged = true;
  ctx.info.commandline = "console=com1";
  ASSERT_EQ(version(xen::kXenVerCommandline), 0);
  expect_fully_written(1024);
  EXPECT_EQ(str_at(), "console=com1");
  EXPECT_EQ(version(xen::kXenVerBuildId), -61);
}

TEST_F(HandlersTest, Inv01_XenVersionUnknownSubOpsAreENOSYSWithoutSideEffect) {
  for (std::uint64_t cmd : {11ULL, 12ULL, 100ULL, 0x7FFFFFFFULL, 0x80000000ULL, 0xFFFFFFFFULL}) {
    EXPECT_EQ(version(cmd), -38) << cmd;
  }
  EXPECT_EQ(ctx.mem.writes(), 0u);
  EXPECT_EQ(ctx.mem.reads(), 0u);
  EXPECT_EQ(bytes(kBufSize), std::vector<std::uint8_t>(kBufSize, kPoison));
  // `int cmd`: like Xen, only the low 32 bits of RDI are the sub-op.
  EXPECT_EQ(version((1ULL << 32) | xen::kXenVerPagesize), 4096);
}

// ---- console_io -----------------------------------------------------------------------------

TEST_F(HandlersTest, ConsoleWritePrivilegedPassesBytesThrough) {
  ctx.privileged = true;
  const char msg[] = "hi\x01\tthere\n";
  std::memcpy(buf, msg, sizeof msg - 1);
  EXPECT_EQ(call(xen::hc::kConsoleIo, xen::kConsoleIoWrite, sizeof msg - 1, kBuf), 0);
  EXPECT_EQ(ctx.console_sink.out, std::string(msg, sizeof msg - 1));
}

TEST_F(HandlersTest, ConsoleWriteUnprivilegedIsFilteredOrRefused) {
  const char msg[] = "a\x1b[2Jb\x7f\xff\n";
  std::memcpy(buf, msg, sizeof msg - 1);
  EXPECT_EQ(call(xen::hc::kConsoleIo, xen::kConsoleIoWrite, sizeof msg - 1, kBuf), 0);
  EXPECT_EQ(ctx.console_sink.out, "a[2Jb\n");
  ctx.console_sink.out.clear();
  ctx.console_sink.unprivileged_writes = false;  // Xen's default policy
  EXPECT_EQ(call(xen::hc::kConsoleIo, xen::kConsoleIoWrite, 3, kBuf), -1);
  EXPECT_EQ(ctx.console_sink.out, "");
  EXPECT_EQ(ctx.mem.reads(), 1u);  // only the first, allowed write read guest memory
}

TEST_F(HandlersTest, ConsoleWriteFaults) {
  EXPECT_EQ(call(xen::hc::kConsoleIo, xen::kConsoleIoWrite, 0, 0), 0);  // nothing to do
  EXPECT_EQ(call(xen::hc::kConsoleIo, xen::kConsoleIoWrite, 10, 0x50000), -14);
  EXPECT_EQ(call(xen::hc::kConsoleIo, xen::kConsoleIoWrite, 100, UINT64_MAX - 10), -14);
  // A buffer running off its mapping: the mapped part is written, then -EFAULT.
  std::memset(buf + kBufSize - 200, 'x', 200);
  EXPECT_EQ(call(xen::hc::kConsoleIo, xen::kConsoleIoWrite, 250, kBuf + kBufSize - 200), -14);
  EXPECT_EQ(ctx.console_sink.out, std::string(128, 'x'));
}

TEST_F(HandlersTest, Inv06_LongConsoleWriteIsPreemptedAndContinued) {
  for (std::size_t i = 0; i < kBufSize; ++i) buf[i] = static_cast<std::uint8_t>('a' + i % 26);
  HypercallArgs a = make_args(xen::hc::kConsoleIo, xen::kConsoleIoWrite, 1000, kBuf);
  // Budget 256 bytes per invocation: the first call stops there.
  EntryResult r = hypercall_entry<Table>(ctx, a);
  EXPECT_EQ(r.action, EntryAction::kReexecute);
  EXPECT_EQ(a.a[0], xen::kConsoleIoWrite);
  EXPECT_EQ(a.a[1], 1000u - 256);
  EXPECT_EQ(a.a[2], kBuf + 256);
  EXPECT_EQ(ctx.console_sink.out.size(), 256u);
  int invocations = 1;
  while (r.action == EntryAction::kReexecute && invocations < 100) {
    r = hypercall_entry<Table>(ctx, a);
    ++invocations;
  }
  EXPECT_EQ(r.action, EntryAction::kReturnToGuest);
  EXPECT_EQ(r.rax, 0);
  EXPECT_EQ(invocations, 4);
  EXPECT_EQ(ctx.console_sink.out, std::string(reinterpret_cast<char*>(buf), 1000));
  // A preempt request ends an invocation after the first chunk.
  ctx.console_sink.out.clear();
  ctx.preempt_after = 0;
  a = make_args(xen::hc::kConsoleIo, xen::kConsoleIoWrite, 200, kBuf);
  EXPECT_EQ(hypercall_entry<Table>(ctx, a).action, EntryAction::kReexecute);
  EXPECT_EQ(a.a[1], 200u - 128);
  EXPECT_EQ(ctx.console_sink.out.size(), 128u);
}

TEST_F(HandlersTest, ConsoleReadNeedsPrivilege) {
  ctx.console_sink.input = "input";
  EXPECT_EQ(call(xen::hc::kConsoleIo, xen::kConsoleIoRead, 10, kBuf), -1);
  EXPECT_EQ(ctx.console_sink.input, "input");
  ctx.privileged = true;
  EXPECT_EQ(call(xen::hc::kConsoleIo, xen::kConsoleIoRead, 3, kBuf), 3);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), 3), "inp");
  EXPECT_EQ(buf[3], kPoison);
  EXPECT_EQ(call(xen::hc::kConsoleIo, xen::kConsoleIoRead, 10, kBuf), 2);
  EXPECT_EQ(call(xen::hc::kConsoleIo, xen::kConsoleIoRead, 10, kBuf), 0);  // nothing pending
  EXPECT_EQ(call(xen::hc::kConsoleIo, xen::kConsoleIoRead, 0x80000000u, kBuf), -7);
  ctx.console_sink.input = "zz";
  EXPECT_EQ(call(xen::hc::kConsoleIo, xen::kConsoleIoRead, 10, 0x50000), -14);
}

TEST_F(HandlersTest, Inv05_ConsoleReadNeverCopiesMoreThanTheSinkStored) {
  ctx.privileged = true;
  ctx.console_sink.input = "ab";
  ctx.console_sink.read_overreport = 1000;  // a buggy sink claims more than it stored
  const std::int64_t n = call(xen::hc::kConsoleIo, xen::kConsoleIoRead, 4, kBuf);
  EXPECT_EQ(n, 4);  // clamped to the request
  EXPECT_EQ(buf[4], kPoison);
}

TEST_F(HandlersTest, Inv01_ConsoleUnknownCommandIsENOSYS) {
  ctx.privileged = true;
  for (std::uint64_t cmd : {2ULL, 3ULL, 0xFFFFFFFFULL}) {
    EXPECT_EQ(call(xen::hc::kConsoleIo, cmd, 10, kBuf), -38);
  }
  EXPECT_EQ(ctx.mem.reads() + ctx.mem.writes(), 0u);
  EXPECT_EQ(ctx.console_sink.writes, 0u);
}

// ---- vm_assist ------------------------------------------------------------------------------

TEST_F(HandlersTest, VmAssistEnablesAndDisablesValidTypes) {
  EXPECT_EQ(call(xen::hc::kVmAssist, xen::kVmAsstCmdEnable, xen::kVmAsstTypeWritablePagetables), 0);
  EXPECT_EQ(ctx.assist.load(), 1u << 2);
  EXPECT_EQ(call(xen::hc::kVmAssist, xen::kVmAsstCmdEnable, xen::kVmAsstTypeWritablePagetables), 0);
  EXPECT_EQ(call(xen::hc::kVmAssist, xen::kVmAsstCmdDisable, xen::kVmAsstTypeWritablePagetables), 0);
  EXPECT_EQ(ctx.assist.load(), 0u);
}

TEST_F(HandlersTest, VmAssistRefusesTypesOutsideTheValidMask) {
  for (std::uint64_t type : {0ULL, 1ULL, 3ULL, 5ULL, 32ULL, 63ULL, 64ULL, 0xFFFFFFFFULL}) {
    EXPECT_EQ(call(xen::hc::kVmAssist, xen::kVmAsstCmdEnable, type), -22) << type;
  }
  EXPECT_EQ(ctx.assist.load(), 0u);
  // A platform that honours more can say so.
  using Wide = HypercallTable<BasicVmAssist<(1ULL << 2) | (1ULL << 32)>>;
  HypercallArgs a = make_args(xen::hc::kVmAssist, xen::kVmAsstCmdEnable, xen::kVmAsstTypeM2pStrict);
  EXPECT_EQ(Wide::dispatch(ctx, a), 0);
  EXPECT_TRUE(vm_assist_enabled(ctx.assist, xen::kVmAsstTypeM2pStrict));
  EXPECT_FALSE(vm_assist_enabled(ctx.assist, 64));
}

TEST_F(HandlersTest, Inv01_VmAssistUnknownCommandIsENOSYSWithoutSideEffect) {
  for (std::uint64_t cmd : {2ULL, 3ULL, 0xFFFFFFFFULL}) {
    EXPECT_EQ(call(xen::hc::kVmAssist, cmd, xen::kVmAsstTypeWritablePagetables), -38) << cmd;
  }
  EXPECT_EQ(ctx.assist.load(), 0u);
}

// ---- sched_op -------------------------------------------------------------------------------

TEST_F(HandlersTest, SchedOpForwardsToThePolicy) {
  EXPECT_EQ(call(xen::hc::kSchedOp, xen::kSchedOpYield), 0);
  EXPECT_EQ(call(xen::hc::kSchedOp, xen::kSchedOpBlock), 0);
  xen::SchedShutdown s{xen::kShutdownReboot};
  std::memcpy(buf, &s, sizeof s);
  EXPECT_EQ(call(xen::hc::kSchedOp, xen::kSchedOpShutdown, kBuf), 0);
  EXPECT_EQ(ctx.sched.yields, 1);
  EXPECT_EQ(ctx.sched.blocks, 1);
  EXPECT_EQ(ctx.sched.shutdowns, (std::vector<std::uint32_t>{xen::kShutdownReboot}));
}

TEST_F(HandlersTest, SchedOpShutdownValidatesItsArgument) {
  EXPECT_EQ(call(xen::hc::kSchedOp, xen::kSchedOpShutdown, 0x50000), -14);
  xen::SchedShutdown s{xen::kShutdownMax + 1};
  std::memcpy(buf, &s, sizeof s);
  EXPECT_EQ(call(xen::hc::kSchedOp, xen::kSchedOpShutdown, kBuf), -22);
  s.reason = 0xFFFFFFFF;
  std::memcpy(buf, &s, sizeof s);
  EXPECT_EQ(call(xen::hc::kSchedOp, xen::kSchedOpShutdown, kBuf), -22);
  EXPECT_TRUE(ctx.sched.shutdowns.empty());
}

TEST_F(HandlersTest, Inv01_SchedOpUnknownSubOpsAreENOSYS) {
  for (std::uint64_t cmd : {3ULL, 4ULL, 7ULL, 8ULL, 0xFFFFFFFFULL}) {
    EXPECT_EQ(call(xen::hc::kSchedOp, cmd, kBuf), -38) << cmd;
  }
  EXPECT_EQ(ctx.sched.yields + ctx.sched.blocks, 0);
  EXPECT_TRUE(ctx.sched.shutdowns.empty());
  EXPECT_EQ(ctx.mem.reads(), 0u);
}

}  // namespace
}  // namespace pvkit
