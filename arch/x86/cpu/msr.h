// pvkit/arch/x86/cpu/msr.h — model-specific registers and control registers pvkit programs,
// with their layouts as named fields.
//
// What it is: MSR numbers (EFER, STAR, LSTAR, CSTAR, FMASK, FS/GS bases, APIC base,
// SYSENTER_CS) and the bit layouts of EFER, CR0, CR4 and IA32_APIC_BASE.
// How to use it: `wrmsr(kMsrEfer, Efer::SyscallEnable::set(rdmsr(kMsrEfer), true))`.
// Concurrency: constants only.
#pragma once

#include <cstdint>

#include "pvkit/arch/x86/cpu/bitfield.h"

namespace pvkit::x86 {

inline constexpr std::uint32_t kMsrApicBase = 0x1B;
inline constexpr std::uint32_t kMsrSysenterCs = 0x174;
inline constexpr std::uint32_t kMsrEfer = 0xC0000080;
inline constexpr std::uint32_t kMsrStar = 0xC0000081;
inline constexpr std::uint32_t kMsrLstar = 0xC0000082;
inline constexpr std::uint32_t kMsrCstar = 0xC0000083;
inline constexpr std::uint32_t kMsrFmask = 0xC0000084;
inline constexpr std::uint32_t kMsrFsBase = 0xC0000100;
inline constexpr std::uint32_t kMsrGsBase = 0xC0000101;
inline constexpr std::uint32_t kMsrKernelGsBase = 0xC0000102;

/// Layout of the EFER MSR.
struct Efer {
  using SyscallEnable = BitFlag<0>;
  using LongModeEnable = BitFlag<8>;
  using LongModeActive = BitFlag<10>;
  using NoExecuteEnable = BitFlag<11>;
};

/// Layout of CR0.
struct Cr0 {
  using ProtectionEnable = BitFlag<0>;
  using MonitorCoprocessor = BitFlag<1>;
  using Emulation = BitFlag<2>;
  using TaskSwitched = BitFlag<3>;
  using WriteProtect = BitFlag<16>;
  using AlignmentMask = BitFlag<18>;
  using Paging = BitFlag<31>;
};

/// Layout of CR4.
struct Cr4 {
  using Pae = BitFlag<5>;
  using PageGlobal = BitFlag<7>;
  using Pcid = BitFlag<17>;
  using Smep = BitFlag<20>;
  using Smap = BitFlag<21>;
};

/// Layout of the IA32_APIC_BASE MSR.
struct ApicBaseMsr {
  using BootstrapProcessor = BitFlag<8>;
  using X2ApicEnable = BitFlag<10>;
  using GlobalEnable = BitFlag<11>;
  using BasePage = BitField<12, 40>;  // physical address >> 12
};

}  // namespace pvkit::x86
