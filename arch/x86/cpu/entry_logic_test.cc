// The pure logic of the entry/exit paths (host): ring-3 return checks, RFLAGS sanitizing,
// the SYSRET decision, hypercall register mapping and re-execution, #GP decoding, the dump.
#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#include "pvkit/arch/x86/cpu/fault_decode.h"
#include "pvkit/arch/x86/cpu/frame.h"
#include "pvkit/arch/x86/cpu/hypercall_regs.h"
#include "pvkit/arch/x86/cpu/trap_dump.h"
#include "pvkit/arch/x86/mm/guest_copy.h"

namespace pvkit::x86 {
namespace {

TrapFrame syscall_frame(std::uint64_t rip) {
  TrapFrame f = make_user_frame(rip, 0x7000);
  f.vector = kVecSyscall;
  f.rcx = f.rip;
  f.r11 = f.rflags;
  return f;
}

TEST(Entry, Canonical) {
  EXPECT_TRUE(is_canonical(0));
  EXPECT_TRUE(is_canonical(0x00007FFFFFFFFFFFull));
  EXPECT_FALSE(is_canonical(0x0000800000000000ull));
  EXPECT_FALSE(is_canonical(0xFFFF7FFFFFFFFFFFull));
  EXPECT_TRUE(is_canonical(0xFFFF800000000000ull));
  EXPECT_TRUE(is_canonical(~0ull));
  EXPECT_FALSE(is_canonical(0x8000000000000000ull));
}

TEST(Entry, FreshUserFrame) {
  const TrapFrame f = make_user_frame(0x400000, 0x801000);
  EXPECT_EQ(f.cs, kGuestCs64.raw());
  EXPECT_EQ(f.ss, kGuestSs64.raw());
  EXPECT_TRUE(f.from_user());
  EXPECT_TRUE(Rflags::Interrupt::test(f.rflags));
  EXPECT_EQ(check_user_return(f), UserReturnCheck::kOk);
  EXPECT_FALSE(sysret_safe(f));  // RCX != RIP: the first entry uses IRET
}

TEST(Entry, SyscallFrameReturnsBySysret) {
  EXPECT_TRUE(sysret_safe(syscall_frame(0x401000)));
}

TEST(EntryAdversarial, SysretNeverSeesNonCanonicalRip_SysretGpInRing0) {
  // The classic hole: SYSRET with a non-canonical RCX faults in ring 0 on the guest's stack.
  for (std::uint64_t rip : {0x0000800000000000ull, 0x8000000000000000ull, 0xFFFF7FFFFFFFF000ull}) {
    TrapFrame f = syscall_frame(rip);
    EXPECT_FALSE(sysret_safe(f)) << std::hex << rip;
    EXPECT_EQ(check_user_return(f), UserReturnCheck::kNonCanonicalRip) << std::hex << rip;
  }
}

TEST(EntryAdversarial, NonCanonicalRspRefused) {
  TrapFrame f = syscall_frame(0x401000);
  f.rsp = 0x0000800000000000ull;
  EXPECT_EQ(check_user_return(f), UserReturnCheck::kNonCanonicalRsp);
  f.rsp = 0x00007FFFFFFFF000ull;
  EXPECT_EQ(check_user_return(f), UserReturnCheck::kOk);
}

TEST(EntryAdversarial, RingZeroSelectorsRefused) {
  TrapFrame f = syscall_frame(0x401000);
  f.cs = kHvCs.raw();
  EXPECT_EQ(check_user_return(f), UserReturnCheck::kBadCodeSelector);
  f.cs = kHvCs.raw() | 3;  // RPL 3 on a DPL-0 descriptor
  EXPECT_EQ(check_user_return(f), UserReturnCheck::kBadCodeSelector);
  f = syscall_frame(0x401000);
  f.ss = kHvDs.raw();
  EXPECT_EQ(check_user_return(f), UserReturnCheck::kBadStackSelector);
  f.ss = 0;
  EXPECT_EQ(check_user_return(f), UserReturnCheck::kBadStackSelector);
  f = syscall_frame(0x401000);
  f.cs = kGuestCs32.raw();  // compatibility mode is a legitimate guest selector (IRET only)
  EXPECT_EQ(check_user_return(f), UserReturnCheck::kOk);
  EXPECT_FALSE(sysret_safe(f));
}

TEST(EntryAdversarial, GuestFlagsNeverCarryIoplNtVmOrInterruptsOff) {
  const std::uint64_t evil = Rflags::Iopl::make(3) | Rflags::NestedTask::kBit | Rflags::Virtual8086::kBit |
                             Rflags::VirtualInterrupt::kBit | Rflags::VirtualInterruptPending::kBit;
  const std::uint64_t s = sanitize_user_rflags(evil);
  EXPECT_EQ(Rflags::Iopl::get(s), 0u);
  EXPECT_FALSE(Rflags::NestedTask::test(s));
  EXPECT_FALSE(Rflags::Virtual8086::test(s));
  EXPECT_FALSE(Rflags::VirtualInterrupt::test(s) || Rflags::VirtualInterruptPending::test(s));
  EXPECT_TRUE(Rflags::Interrupt::test(s));
  EXPECT_TRUE(Rflags::Reserved1::test(s));
  // Arithmetic flags, TF, DF, AC, RF, ID stay the guest's.
  const std::uint64_t user = 0x8D5 | Rflags::Trap::kBit | Rflags::Direction::kBit |
                             Rflags::AlignmentCheck::kBit | Rflags::Resume::kBit | Rflags::Id::kBit;
  EXPECT_EQ(sanitize_user_rflags(user) & user, user);
}

TEST(Entry, SysretOnlyWhenExact) {
  TrapFrame f = syscall_frame(0x401000);
  f.rcx = 0x401002;  // an interrupted frame whose RCX is live
  EXPECT_FALSE(sysret_safe(f));
  f = syscall_frame(0x401000);
  f.r11 ^= Rflags::Carry::kBit;
  EXPECT_FALSE(sysret_safe(f));
  f = syscall_frame(0x401000);
  f.rflags |= Rflags::Resume::kBit;
  f.r11 = f.rflags;
  EXPECT_FALSE(sysret_safe(f));  // SYSRET cannot set RF
}

TEST(Entry, SyscallMaskClearsWhatTheHypervisorMustNotInherit) {
  EXPECT_TRUE(kSyscallFlagMask & Rflags::Interrupt::kBit);
  EXPECT_TRUE(kSyscallFlagMask & Rflags::Trap::kBit);
  EXPECT_TRUE(kSyscallFlagMask & Rflags::Direction::kBit);
  EXPECT_TRUE(kSyscallFlagMask & Rflags::AlignmentCheck::kBit);
  EXPECT_EQ(kSyscallFlagMask & Rflags::Iopl::kMask, Rflags::Iopl::kMask);
}

TEST(HypercallRegs, ArgsFromRegisters) {
  TrapFrame f = syscall_frame(0x401002);
  f.rax = 26;
  f.rdi = 1, f.rsi = 2, f.rdx = 3, f.r10 = 4, f.r8 = 5, f.rcx = 0x401002, f.r9 = 99;
  const HypercallArgs a = hypercall_args(f);
  EXPECT_EQ(a.nr, 26u);
  EXPECT_EQ(a.a, (std::array<std::uint64_t, 5>{1, 2, 3, 4, 5}));
}

TEST(HypercallRegs, ResultGoesToRax) {
  TrapFrame f = syscall_frame(0x401002);
  f.rax = 17;
  complete_hypercall(f, hypercall_args(f), -22);
  EXPECT_EQ(static_cast<std::int64_t>(f.rax), -22);
  EXPECT_EQ(f.rip, 0x401002u);
}

TEST(HypercallRegsAdversarial, Inv03_RestartNeverReachesTheGuest) {
  TrapFrame f = syscall_frame(0x401002);
  f.rax = 1;
  f.rdx = 0x80000005;
  HypercallArgs a = hypercall_args(f);
  a.a[2] = 0x80000003;  // progress encoded in the argument
  complete_hypercall(f, a, -85);
  EXPECT_EQ(f.rax, 1u) << "RAX must still hold the hypercall number";
  EXPECT_EQ(f.rdx, 0x80000003u);
  EXPECT_EQ(f.rip, 0x401000u) << "RIP moved back over the 2-byte syscall";
  EXPECT_TRUE(is_restart(-85));
  EXPECT_FALSE(is_restart(-38));
}

TEST(FaultDecode, SoftIntArchitecturalAndQemuEncodings) {
  const std::uint8_t int80[2] = {0xCD, 0x80};
  EXPECT_EQ(decode_soft_int_gp(0x80 * 8 + 2, int80, 2), 0x80u);
  EXPECT_EQ(decode_soft_int_gp(0x80 * 16 + 2, int80, 2), 0x80u);  // QEMU 7.2 TCG
  const std::uint8_t int82[2] = {0xCD, 0x82};
  EXPECT_EQ(decode_soft_int_gp(0x82 * 8 + 2, int82, 2), 0x82u);
  const std::uint8_t int3[2] = {0xCD, 0x03};
  EXPECT_EQ(decode_soft_int_gp(3 * 8 + 2, int3, 2), 3u);
}

TEST(FaultDecodeAdversarial, NotASoftIntUnlessBytesAndCodeAgree) {
  const std::uint8_t int80[2] = {0xCD, 0x80};
  const std::uint8_t cli[2] = {0xFA, 0x90};
  EXPECT_FALSE(decode_soft_int_gp(0, int80, 2));            // #GP(0): not a gate fault
  EXPECT_FALSE(decode_soft_int_gp(0x81 * 8 + 2, int80, 2)); // code names another vector
  EXPECT_FALSE(decode_soft_int_gp(0x80 * 8 + 3, int80, 2)); // EXT set: an external event
  EXPECT_FALSE(decode_soft_int_gp(0x80 * 8 + 2, cli, 2));   // not an `int` instruction
  EXPECT_FALSE(decode_soft_int_gp(0x80 * 8 + 2, int80, 1)); // bytes unreadable
  EXPECT_FALSE(decode_soft_int_gp(0x80 * 8 + 2, nullptr, 0));
  EXPECT_FALSE(decode_soft_int_gp(0x80 * 8 + 0, int80, 2)); // GDT selector, not the IDT
}

TEST(GuestCopyAdversarial, RangesNeverReachTheHypervisorOrWrap) {
  EXPECT_TRUE(guest_range_ok(0x400000, 4096));
  EXPECT_TRUE(guest_range_ok(0x1234, 0));
  EXPECT_TRUE(guest_range_ok(0x00007FFFFFFFF000ull, 0x1000));
  EXPECT_FALSE(guest_range_ok(0x00007FFFFFFFF000ull, 0x1001));  // into the canonical hole
  EXPECT_FALSE(guest_range_ok(0x0000800000000000ull, 1));
  EXPECT_FALSE(guest_range_ok(0xFFFF800000000000ull, 1));       // first hypervisor byte
  EXPECT_FALSE(guest_range_ok(0xFFFF82D000100000ull, 8));
  EXPECT_FALSE(guest_range_ok(0xFFFF87FFFFFFFFFFull, 1));       // last hypervisor byte
  EXPECT_FALSE(guest_range_ok(0xFFFF7FFFFFFFFFF8ull, 16));      // non-canonical start
  EXPECT_TRUE(guest_range_ok(0xFFFF880000000000ull, 8));        // guest kernel space (slot 272)
  EXPECT_FALSE(guest_range_ok(0xFFFF87FFFFFFFFF8ull, 16));      // straddles the end of the hv range
  EXPECT_TRUE(guest_range_ok(0xFFFFFFFFFFFFF000ull, 0x1000));   // the very top
  EXPECT_FALSE(guest_range_ok(0xFFFFFFFFFFFFF000ull, 0x1001));  // wraps to 0
  EXPECT_FALSE(guest_range_ok(0x10, UINT64_MAX));
  EXPECT_FALSE(guest_range_ok(0x7FFFFFFF0000ull, 0xFFFF800000000000ull));  // low to high across all
}

TEST(TrapDump, HasEveryRegisterAndControlRegister) {
  TrapFrame f{};
  f.vector = 14;
  f.error_code = 2;
  f.rip = 0xFFFF82D000104F2Aull;
  f.cs = 0xe008;
  f.rax = 0xA1;
  f.r15 = 0xF15;
  f.rsp = 0xFFFF82D00010FF20ull;
  std::string out;
  dump_trap(f, ControlRegs{0x80010011, 0x1000, 0x131000, 0x100020},
            [&](const char* s, std::size_t n) { out.append(s, n); });
  EXPECT_NE(out.find("vector 14 (#PF) error 0x0000000000000002 in ring 0"), std::string::npos) << out;
  for (const char* reg : {"rip=ffff82d000104f2a", "cs=e008", "rflags=", "rsp=ffff82d00010ff20", "ss=",
                          "rax=00000000000000a1", "rbx=", "rcx=", "rdx=", "rsi=", "rdi=", "rbp=", "r8 =",
                          "r9 =", "r10=", "r11=", "r12=", "r13=", "r14=", "r15=0000000000000f15",
                          "cr0=0000000080010011", "cr2=0000000000001000", "cr3=0000000000131000", "cr4="}) {
    EXPECT_NE(out.find(reg), std::string::npos) << reg << "\n" << out;
  }
  EXPECT_EQ(out.back(), '\n');
}

}  // namespace
}  // namespace pvkit::x86
