// pvkit/xen/sched_abi.h — HYPERVISOR_sched_op sub-ops, shutdown reasons and argument
// structs (sched.h).
//
// What it is: pvkit's own definitions (namespace pvkit::xen); checked against Xen's headers by
// //tests/abi:abi_conformance_test.
//
// How to use it: the sched_op skeleton (pvkit/hypercall/sched_op.h) reads `SchedShutdown`
// from the guest; a real scheduler in the image may use the rest.
//
// Concurrency: constants and plain value types only.
#pragma once

#include <cstdint>

namespace pvkit::xen {

inline constexpr std::uint32_t kSchedOpYield = 0;
inline constexpr std::uint32_t kSchedOpBlock = 1;
inline constexpr std::uint32_t kSchedOpShutdown = 2;
inline constexpr std::uint32_t kSchedOpPoll = 3;
inline constexpr std::uint32_t kSchedOpRemoteShutdown = 4;
inline constexpr std::uint32_t kSchedOpShutdownCode = 5;
inline constexpr std::uint32_t kSchedOpWatchdog = 6;
inline constexpr std::uint32_t kSchedOpPinOverride = 7;

inline constexpr std::uint32_t kShutdownPoweroff = 0;
inline constexpr std::uint32_t kShutdownReboot = 1;
inline constexpr std::uint32_t kShutdownSuspend = 2;
inline constexpr std::uint32_t kShutdownCrash = 3;
inline constexpr std::uint32_t kShutdownWatchdog = 4;
inline constexpr std::uint32_t kShutdownSoftReset = 5;
inline constexpr std::uint32_t kShutdownMax = 5;

/// sched_shutdown_t.
struct SchedShutdown {
  std::uint32_t reason;
};

/// sched_remote_shutdown_t.
struct SchedRemoteShutdown {
  std::uint16_t domain_id;
  std::uint16_t pad_;  // implicit padding in Xen's layout; must be ignored
  std::uint32_t reason;
};

/// sched_poll_t: XEN_GUEST_HANDLE(evtchn_port_t) ports; unsigned int nr_ports; uint64 timeout.
struct SchedPoll {
  std::uint64_t ports;  ///< guest virtual address of an evtchn_port_t array
  std::uint32_t nr_ports;
  std::uint32_t pad_;
  std::uint64_t timeout;
};

}  // namespace pvkit::xen
