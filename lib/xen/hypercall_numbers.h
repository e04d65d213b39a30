// pvkit/xen/hypercall_numbers.h — Xen's hypercall numbers (xen.h __HYPERVISOR_*), x86-64 PV.
//
// What it is: one constant per hypercall of Xen's public xen.h (0..42 and arch_0..7), in
// namespace pvkit::xen::hc, plus the size of the dispatch space (kNrHypercalls, Xen's
// NR_hypercalls). These are the *current* numbers (interface version >= 0x00030202): the
// "_compat" numbers 6, 16 and 19 are separate hypercalls, not aliases.
//
// How to use it: a handler says `static constexpr std::uint32_t kNumber = xen::hc::kMmuUpdate;`.
//
// Concurrency: constants only.
#pragma once

#include <cstdint>

namespace pvkit::xen::hc {

inline constexpr std::uint32_t kSetTrapTable = 0;
inline constexpr std::uint32_t kMmuUpdate = 1;
inline constexpr std::uint32_t kSetGdt = 2;
inline constexpr std::uint32_t kStackSwitch = 3;
inline constexpr std::uint32_t kSetCallbacks = 4;
inline constexpr std::uint32_t kFpuTaskswitch = 5;
inline constexpr std::uint32_t kSchedOpCompat = 6;
inline constexpr std::uint32_t kPlatformOp = 7;
inline constexpr std::uint32_t kSetDebugreg = 8;
inline constexpr std::uint32_t kGetDebugreg = 9;
inline constexpr std::uint32_t kUpdateDescriptor = 10;
// 11 is unused by Xen.
inline constexpr std::uint32_t kMemoryOp = 12;
inline constexpr std::uint32_t kMulticall = 13;
inline constexpr std::uint32_t kUpdateVaMapping = 14;
inline constexpr std::uint32_t kSetTimerOp = 15;
inline constexpr std::uint32_t kEventChannelOpCompat = 16;
inline constexpr std::uint32_t kXenVersion = 17;
inline constexpr std::uint32_t kConsoleIo = 18;
inline constexpr std::uint32_t kPhysdevOpCompat = 19;
inline constexpr std::uint32_t kGrantTableOp = 20;
inline constexpr std::uint32_t kVmAssist = 21;
inline constexpr std::uint32_t kUpdateVaMappingOtherdomain = 22;
inline constexpr std::uint32_t kIret = 23;
inline constexpr std::uint32_t kVcpuOp = 24;
inline constexpr std::uint32_t kSetSegmentBase = 25;
inline constexpr std::uint32_t kMmuextOp = 26;
inline constexpr std::uint32_t kXsmOp = 27;
inline constexpr std::uint32_t kNmiOp = 28;
inline constexpr std::uint32_t kSchedOp = 29;
inline constexpr std::uint32_t kCallbackOp = 30;
inline constexpr std::uint32_t kXenoprofOp = 31;
inline constexpr std::uint32_t kEventChannelOp = 32;
inline constexpr std::uint32_t kPhysdevOp = 33;
inline constexpr std::uint32_t kHvmOp = 34;
inline constexpr std::uint32_t kSysctl = 35;
inline constexpr std::uint32_t kDomctl = 36;
inline constexpr std::uint32_t kKexecOp = 37;
inline constexpr std::uint32_t kTmemOp = 38;
inline constexpr std::uint32_t kArgoOp = 39;
inline constexpr std::uint32_t kXenpmuOp = 40;
inline constexpr std::uint32_t kDmOp = 41;
inline constexpr std::uint32_t kHypfsOp = 42;
// Architecture-specific hypercalls (x86: arch_1 is paging_domctl_cont).
inline constexpr std::uint32_t kArch0 = 48;
inline constexpr std::uint32_t kArch1 = 49;
inline constexpr std::uint32_t kArch2 = 50;
inline constexpr std::uint32_t kArch3 = 51;
inline constexpr std::uint32_t kArch4 = 52;
inline constexpr std::uint32_t kArch5 = 53;
inline constexpr std::uint32_t kArch6 = 54;
inline constexpr std::uint32_t kArch7 = 55;

/// Size of the hypercall number space (Xen's NR_hypercalls); every number >= this is unknown.
inline constexpr std::uint32_t kNrHypercalls = 64;

/// Size of one stub in the hypercall page, and the number of stubs (4 KiB / 32).
inline constexpr std::uint32_t kHypercallStubSize = 32;
inline constexpr std::uint32_t kHypercallPageStubs = 128;

}  // namespace pvkit::xen::hc
