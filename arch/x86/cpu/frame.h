// pvkit/arch/x86/cpu/frame.h — the saved register frame of every entry into the hypervisor,
// and the rules for returning to ring 3.
//
// What it is: `TrapFrame`, the layout the entry stubs (arch/x86/entry/entry.S) build on the
// hypervisor stack for exceptions, interrupts and SYSCALL alike: all 15 general registers,
// the vector and error code, then the hardware's IRET frame (RIP CS RFLAGS RSP SS). A
// SYSCALL frame is made to look the same (RIP = RCX, RFLAGS = R11, CS/SS = the guest's
// 64-bit selectors, vector kVecSyscall). Offsets are shared with the assembly through the
// PVKIT_FRAME_* macros and checked by static_assert.
//
// Returning to ring 3 goes through `check_user_return` (refuse frames that could fault in
// ring 0: a non-canonical RIP — the SYSRET #GP-in-ring-0 class of bug — a non-canonical RSP,
// or a selector that is not a ring-3 guest selector), `sanitize_user_rflags` (IF on, IOPL 0, no NT/VM, so the I/O
// bitmap always applies and the guest stays preemptible) and `sysret_safe` (SYSRET only when
// it restores exactly this frame: RCX == RIP, R11 == RFLAGS, 64-bit selectors, no RF).
//
// How to use it: hooks receive `TrapFrame&` and may edit it; what they leave is what the CPU
// resumes. Functions here are pure, so host tests exercise them directly.
//
// Concurrency: a frame belongs to the CPU whose stack holds it.
#pragma once

#define PVKIT_FRAME_R15 0
#define PVKIT_FRAME_R14 8
#define PVKIT_FRAME_R13 16
#define PVKIT_FRAME_R12 24
#define PVKIT_FRAME_R11 32
#define PVKIT_FRAME_R10 40
#define PVKIT_FRAME_R9 48
#define PVKIT_FRAME_R8 56
#define PVKIT_FRAME_RBP 64
#define PVKIT_FRAME_RDI 72
#define PVKIT_FRAME_RSI 80
#define PVKIT_FRAME_RDX 88
#define PVKIT_FRAME_RCX 96
#define PVKIT_FRAME_RBX 104
#define PVKIT_FRAME_RAX 112
#define PVKIT_FRAME_VECTOR 120
#define PVKIT_FRAME_ERROR 128
#define PVKIT_FRAME_RIP 136
#define PVKIT_FRAME_CS 144
#define PVKIT_FRAME_RFLAGS 152
#define PVKIT_FRAME_RSP 160
#define PVKIT_FRAME_SS 168
#define PVKIT_FRAME_SIZE 176
/// Pseudo vectors for entries that are not IDT vectors.
#define PVKIT_VEC_SYSCALL 0x100
#define PVKIT_VEC_SYSCALL32 0x101
/// Selectors the assembly needs (checked against segment.h below).
#define PVKIT_SEL_HV_CS 0xe008
#define PVKIT_SEL_HV_DS 0xe010
#define PVKIT_SEL_GUEST_CS32 0xe023
#define PVKIT_SEL_GUEST_SS 0xe02b
#define PVKIT_SEL_GUEST_CS64 0xe033

#ifndef __ASSEMBLER__
#include <cstddef>
#include <cstdint>

#include "pvkit/arch/x86/cpu/bitfield.h"
#include "pvkit/arch/x86/cpu/segment.h"

namespace pvkit::x86 {

/// Every register of an interrupted context, saved by the entry code (ring 3 or ring 0).
struct TrapFrame {
  std::uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
  std::uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
  std::uint64_t vector;      // IDT vector, or kVecSyscall / kVecSyscall32 / kVecBadUserReturn
  std::uint64_t error_code;  // the CPU's error code, 0 when the vector has none
  // The hardware IRET frame.
  std::uint64_t rip, cs, rflags, rsp, ss;

  /// True if the frame was interrupted in ring 3.
  [[nodiscard]] constexpr bool from_user() const { return (cs & 3) == 3; }
};
static_assert(sizeof(TrapFrame) == PVKIT_FRAME_SIZE && sizeof(TrapFrame) % 16 == 0);
static_assert(offsetof(TrapFrame, r15) == PVKIT_FRAME_R15 && offsetof(TrapFrame, r11) == PVKIT_FRAME_R11);
static_assert(offsetof(TrapFrame, r14) == PVKIT_FRAME_R14 && offsetof(TrapFrame, r13) == PVKIT_FRAME_R13);
static_assert(offsetof(TrapFrame, r12) == PVKIT_FRAME_R12 && offsetof(TrapFrame, r10) == PVKIT_FRAME_R10);
static_assert(offsetof(TrapFrame, r9) == PVKIT_FRAME_R9 && offsetof(TrapFrame, r8) == PVKIT_FRAME_R8);
static_assert(offsetof(TrapFrame, rbp) == PVKIT_FRAME_RBP && offsetof(TrapFrame, rdi) == PVKIT_FRAME_RDI);
static_assert(offsetof(TrapFrame, rsi) == PVKIT_FRAME_RSI && offsetof(TrapFrame, rdx) == PVKIT_FRAME_RDX);
static_assert(offsetof(TrapFrame, rcx) == PVKIT_FRAME_RCX && offsetof(TrapFrame, rax) == PVKIT_FRAME_RAX);
static_assert(offsetof(TrapFrame, rbx) == PVKIT_FRAME_RBX);
static_assert(offsetof(TrapFrame, vector) == PVKIT_FRAME_VECTOR);
static_assert(offsetof(TrapFrame, error_code) == PVKIT_FRAME_ERROR);
static_assert(offsetof(TrapFrame, rip) == PVKIT_FRAME_RIP && offsetof(TrapFrame, cs) == PVKIT_FRAME_CS);
static_assert(offsetof(TrapFrame, rflags) == PVKIT_FRAME_RFLAGS);
static_assert(offsetof(TrapFrame, rsp) == PVKIT_FRAME_RSP && offsetof(TrapFrame, ss) == PVKIT_FRAME_SS);

static_assert(kHvCs.raw() == PVKIT_SEL_HV_CS && kHvDs.raw() == PVKIT_SEL_HV_DS);
static_assert(kGuestCs32.raw() == PVKIT_SEL_GUEST_CS32 && kGuestSs64.raw() == PVKIT_SEL_GUEST_SS);
static_assert(kGuestCs64.raw() == PVKIT_SEL_GUEST_CS64);

inline constexpr std::uint64_t kVecSyscall = PVKIT_VEC_SYSCALL;
inline constexpr std::uint64_t kVecSyscall32 = PVKIT_VEC_SYSCALL32;
/// Given to the ring-3 fault hook when a hook left a frame that must not be resumed; the
/// error code is the `UserReturnCheck` reason.
inline constexpr std::uint64_t kVecBadUserReturn = 0x102;

/// RFLAGS, as named fields.
struct Rflags {
  using Carry = BitFlag<0>;
  using Reserved1 = BitFlag<1>;  // always 1
  using Trap = BitFlag<8>;
  using Interrupt = BitFlag<9>;
  using Direction = BitFlag<10>;
  using Iopl = BitField<12, 2>;
  using NestedTask = BitFlag<14>;
  using Resume = BitFlag<16>;
  using Virtual8086 = BitFlag<17>;
  using AlignmentCheck = BitFlag<18>;
  using VirtualInterrupt = BitFlag<19>;
  using VirtualInterruptPending = BitFlag<20>;
  using Id = BitFlag<21>;
};

/// Bits IA32_FMASK clears on SYSCALL: no interrupts, no single-step, DF clear, IOPL 0, no NT,
/// no AC (the hypervisor starts every entry from the same flags).
inline constexpr std::uint64_t kSyscallFlagMask =
    Rflags::Interrupt::kBit | Rflags::Trap::kBit | Rflags::Direction::kBit | Rflags::Iopl::kMask |
    Rflags::NestedTask::kBit | Rflags::AlignmentCheck::kBit;

/// x86-64 with 48-bit virtual addresses: bits 63..47 all equal.
inline constexpr bool is_canonical(std::uint64_t va) {
  const std::uint64_t top = va >> 47;
  return top == 0 || top == 0x1FFFF;
}

/// Why a ring-3 frame was refused (the error code of kVecBadUserReturn).
enum class UserReturnCheck : std::uint64_t {
  kOk = 0,
  kNonCanonicalRip = 1,  // IRET/SYSRET would fault in ring 0 (the SYSRET vulnerability class)
  kBadCodeSelector = 2,  // not a ring-3 guest code selector
  kBadStackSelector = 3, // not the ring-3 guest stack selector
  kNonCanonicalRsp = 4,  // never useful to a guest; refused rather than trusting IRET/SYSRET
};

/// Whether `f` may be resumed in ring 3 at all.
inline constexpr UserReturnCheck check_user_return(const TrapFrame& f) {
  if (f.cs != kGuestCs64.raw() && f.cs != kGuestCs32.raw()) return UserReturnCheck::kBadCodeSelector;
  if (f.ss != kGuestSs64.raw()) return UserReturnCheck::kBadStackSelector;
  if (!is_canonical(f.rip)) return UserReturnCheck::kNonCanonicalRip;
  if (!is_canonical(f.rsp)) return UserReturnCheck::kNonCanonicalRsp;
  return UserReturnCheck::kOk;
}

/// The flags a guest may run with: IF forced on, IOPL 0 (so the TSS I/O bitmap decides every
/// port access), no NT, no VM, no VIF/VIP, reserved bit 1 set.
inline constexpr std::uint64_t sanitize_user_rflags(std::uint64_t rflags) {
  constexpr std::uint64_t kGuestSettable =
      Rflags::Carry::kBit | 0x4 /*PF*/ | 0x10 /*AF*/ | 0x40 /*ZF*/ | 0x80 /*SF*/ |
      Rflags::Trap::kBit | Rflags::Direction::kBit | 0x800 /*OF*/ | Rflags::Resume::kBit |
      Rflags::AlignmentCheck::kBit | Rflags::Id::kBit;
  return (rflags & kGuestSettable) | Rflags::Interrupt::kBit | Rflags::Reserved1::kBit;
}

/// Whether SYSRET restores exactly `f` (else IRET is used). SYSRET loads RIP from RCX and
/// RFLAGS from R11, forces the STAR-derived 64-bit selectors and cannot set RF.
inline constexpr bool sysret_safe(const TrapFrame& f) {
  return f.cs == kGuestCs64.raw() && f.ss == kGuestSs64.raw() && is_canonical(f.rip) &&
         f.rcx == f.rip && f.r11 == f.rflags && !Rflags::Resume::test(f.rflags) &&
         !Rflags::Virtual8086::test(f.rflags);
}

/// A fresh ring-3 frame: 64-bit guest selectors, interrupts on, every register zero.
inline constexpr TrapFrame make_user_frame(std::uint64_t rip, std::uint64_t rsp) {
  TrapFrame f{};
  f.rip = rip;
  f.rsp = rsp;
  f.cs = kGuestCs64.raw();
  f.ss = kGuestSs64.raw();
  f.rflags = sanitize_user_rflags(0);
  return f;
}

}  // namespace pvkit::x86
#endif
