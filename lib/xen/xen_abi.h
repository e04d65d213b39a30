// pvkit/xen/xen_abi.h — generic layouts and sub-op numbers of Xen's xen.h used by pvkit's
// hypercall layer: multicall_entry_t, CONSOLEIO_*, VMASST_*, xen_domain_handle_t and the
// x86-64 PV hypervisor virtual range.
//
// What it is: pvkit's own definitions with named fields (namespace pvkit::xen); the ABI test
// //tests/abi:abi_conformance_test checks every size, offset and value against Xen's headers.
//
// How to use it: copy a `MulticallEntry` out of guest memory with GuestArray, use the copy.
//
// Concurrency: constants and plain value types only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace pvkit::xen {

/// xen_ulong_t on x86-64.
using XenUlong = std::uint64_t;

/// multicall_entry_t: one call of a HYPERVISOR_multicall batch.
struct MulticallEntry {
  XenUlong op;                  ///< hypercall number
  XenUlong result;              ///< written back by the hypervisor
  std::array<XenUlong, 6> args; ///< arguments (x86-64 PV hypercalls use at most five)
};
static_assert(sizeof(MulticallEntry) == 64);
inline constexpr std::size_t kMulticallEntryResultOffset = offsetof(MulticallEntry, result);
inline constexpr std::size_t kMulticallEntryArgsOffset = offsetof(MulticallEntry, args);

/// HYPERVISOR_console_io commands.
inline constexpr std::uint32_t kConsoleIoWrite = 0;
inline constexpr std::uint32_t kConsoleIoRead = 1;

/// HYPERVISOR_vm_assist commands and types.
inline constexpr std::uint32_t kVmAsstCmdEnable = 0;
inline constexpr std::uint32_t kVmAsstCmdDisable = 1;
inline constexpr std::uint32_t kVmAsstType4gbSegments = 0;
inline constexpr std::uint32_t kVmAsstType4gbSegmentsNotify = 1;
inline constexpr std::uint32_t kVmAsstTypeWritablePagetables = 2;
inline constexpr std::uint32_t kVmAsstTypePaeExtendedCr3 = 3;
inline constexpr std::uint32_t kVmAsstTypeArchitecturalIopl = 4;
inline constexpr std::uint32_t kVmAsstTypeRunstateUpdateFlag = 5;
inline constexpr std::uint32_t kVmAsstTypeM2pStrict = 32;

/// xen_domain_handle_t: 16 opaque bytes (the toolstack's UUID of the domain).
using DomainHandle = std::array<std::uint8_t, 16>;

/// The x86-64 PV hypervisor hole (HYPERVISOR_VIRT_START / _END).
inline constexpr std::uint64_t kHypervisorVirtStart = 0xFFFF800000000000ULL;
inline constexpr std::uint64_t kHypervisorVirtEnd = 0xFFFF880000000000ULL;

}  // namespace pvkit::xen
