// pvkit/xen/vcpu_abi.h — HYPERVISOR_vcpu_op sub-op numbers (vcpu.h).
//
// What it is: pvkit's own constants (namespace pvkit::xen); the argument structs belong to
// whichever area implements the sub-op. Checked by //tests/abi:abi_conformance_test.
//
// Concurrency: constants only.
#pragma once

#include <cstdint>

namespace pvkit::xen {

inline constexpr std::uint32_t kVcpuOpInitialise = 0;
inline constexpr std::uint32_t kVcpuOpUp = 1;
inline constexpr std::uint32_t kVcpuOpDown = 2;
inline constexpr std::uint32_t kVcpuOpIsUp = 3;
inline constexpr std::uint32_t kVcpuOpGetRunstateInfo = 4;
inline constexpr std::uint32_t kVcpuOpRegisterRunstateMemoryArea = 5;
inline constexpr std::uint32_t kVcpuOpSetPeriodicTimer = 6;
inline constexpr std::uint32_t kVcpuOpStopPeriodicTimer = 7;
inline constexpr std::uint32_t kVcpuOpSetSingleshotTimer = 8;
inline constexpr std::uint32_t kVcpuOpStopSingleshotTimer = 9;
inline constexpr std::uint32_t kVcpuOpRegisterVcpuInfo = 10;
inline constexpr std::uint32_t kVcpuOpSendNmi = 11;
inline constexpr std::uint32_t kVcpuOpGetPhysid = 12;
inline constexpr std::uint32_t kVcpuOpRegisterVcpuTimeMemoryArea = 13;

}  // namespace pvkit::xen
