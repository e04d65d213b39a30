// pvkit/guest/xen_hypercall_abi.h — the Xen x86-64 PV hypercall numbers and the small argument
// structs of the hypercalls every guest kernel uses (console_io, xen_version, sched_op,
// callback_op, set_callbacks, vcpu_op, iret, multicall).
//
// What it is: the guest library's own definitions of facts from Xen's public headers (xen.h,
// sched.h, callback.h, vcpu.h, version.h, arch-x86/xen-x86_64.h), with named fields, in
// namespace pvkit::guest::xen. //guest/test:abi_conformance_test checks every size, offset and
// value against /usr/include/xen. Guest code never includes Xen's own headers.
//
// How to use it: pass these to the wrappers of pvkit/guest/hypercall.h.
//
// Concurrency: constants and plain value types only.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pvkit::guest::xen {

/// domid_t.
using DomId = std::uint16_t;
/// DOMID_SELF: "the calling domain" wherever a hypercall takes a domain id.
inline constexpr DomId kDomIdSelf = 0x7FF0;

/// __HYPERVISOR_* numbers (xen.h). The hypercall page holds one 32-byte stub per number.
namespace hc {
inline constexpr std::uint32_t kMmuUpdate = 1;
inline constexpr std::uint32_t kSetCallbacks = 4;
inline constexpr std::uint32_t kMemoryOp = 12;
inline constexpr std::uint32_t kMulticall = 13;
inline constexpr std::uint32_t kUpdateVaMapping = 14;
inline constexpr std::uint32_t kXenVersion = 17;
inline constexpr std::uint32_t kConsoleIo = 18;
inline constexpr std::uint32_t kGrantTableOp = 20;
inline constexpr std::uint32_t kVmAssist = 21;
inline constexpr std::uint32_t kIret = 23;
inline constexpr std::uint32_t kVcpuOp = 24;
inline constexpr std::uint32_t kMmuextOp = 26;
inline constexpr std::uint32_t kSchedOp = 29;
inline constexpr std::uint32_t kCallbackOp = 30;
inline constexpr std::uint32_t kEventChannelOp = 32;
}  // namespace hc

/// Size of one stub in the hypercall page, and the number of stubs in the 4 KiB page.
inline constexpr std::uint32_t kHypercallStubSize = 32;
inline constexpr std::uint32_t kHypercallPageStubs = 4096 / kHypercallStubSize;

/// CONSOLEIO_* (xen.h).
inline constexpr std::uint32_t kConsoleIoWrite = 0;
inline constexpr std::uint32_t kConsoleIoRead = 1;

/// XENVER_* (version.h) used by guests.
inline constexpr std::uint32_t kXenVerVersion = 0;
inline constexpr std::uint32_t kXenVerExtraversion = 1;
inline constexpr std::uint32_t kXenVerGetFeatures = 6;
inline constexpr std::uint32_t kXenVerPagesize = 7;
/// xen_extraversion_t: 16 chars.
inline constexpr std::size_t kXenExtraversionLen = 16;

/// xen_feature_info (XENVER_get_features).
struct FeatureInfo {
  std::uint32_t submap_idx;  ///< IN: which 32-bit submap
  std::uint32_t submap;      ///< OUT: feature bits
};

/// SCHEDOP_* (sched.h).
inline constexpr std::uint32_t kSchedOpYield = 0;
inline constexpr std::uint32_t kSchedOpBlock = 1;
inline constexpr std::uint32_t kSchedOpShutdown = 2;
inline constexpr std::uint32_t kSchedOpPoll = 3;

/// SHUTDOWN_* reasons (sched.h).
inline constexpr std::uint32_t kShutdownPoweroff = 0;
inline constexpr std::uint32_t kShutdownReboot = 1;
inline constexpr std::uint32_t kShutdownSuspend = 2;
inline constexpr std::uint32_t kShutdownCrash = 3;
inline constexpr std::uint32_t kShutdownWatchdog = 4;

/// struct sched_shutdown.
struct SchedShutdown {
  std::uint32_t reason;  ///< SHUTDOWN_*
};

/// CALLBACKTYPE_* and CALLBACKOP_* (callback.h).
inline constexpr std::uint16_t kCallbackTypeEvent = 0;
inline constexpr std::uint16_t kCallbackTypeFailsafe = 1;
inline constexpr std::uint16_t kCallbackTypeSyscall = 2;
inline constexpr std::uint16_t kCallbackTypeNmi = 4;
inline constexpr std::uint16_t kCallbackFlagMaskEvents = 1u << 0;  ///< CALLBACKF_mask_events
inline constexpr std::uint32_t kCallbackOpRegister = 0;
inline constexpr std::uint32_t kCallbackOpUnregister = 1;

/// struct callback_register (x86-64: xen_callback_t is the handler's virtual address).
struct CallbackRegister {
  std::uint16_t type;     ///< CALLBACKTYPE_*
  std::uint16_t flags;    ///< CALLBACKF_*
  std::uint64_t address;  ///< entry point (virtual address)
};

/// struct callback_unregister.
struct CallbackUnregister {
  std::uint16_t type;
  std::uint16_t unused;
};

/// VCPUOP_* (vcpu.h) used by guests.
inline constexpr std::uint32_t kVcpuOpUp = 1;
inline constexpr std::uint32_t kVcpuOpDown = 2;
inline constexpr std::uint32_t kVcpuOpIsUp = 3;
inline constexpr std::uint32_t kVcpuOpRegisterVcpuInfo = 10;

/// struct vcpu_register_vcpu_info.
struct VcpuRegisterVcpuInfo {
  std::uint64_t mfn;     ///< machine frame holding the new vcpu_info
  std::uint32_t offset;  ///< offset of vcpu_info within that frame
  std::uint32_t rsvd;
};

/// VGCF_in_syscall (xen-x86_64.h): iret flag "return as sysret would" (RCX/R11 discarded).
inline constexpr std::uint64_t kVgcfInSyscall = 1u << 8;

/// struct iret_context (xen-x86_64.h): the stack HYPERVISOR_iret consumes, top first.
/// The iret stub pushes rcx, r11 and rax itself; a guest jumps to it with `flags` on top.
struct IretContext {
  std::uint64_t rax;
  std::uint64_t r11;
  std::uint64_t rcx;
  std::uint64_t flags;  ///< VGCF_in_syscall or 0
  std::uint64_t rip;
  std::uint64_t cs;
  std::uint64_t rflags;
  std::uint64_t rsp;
  std::uint64_t ss;
};

/// multicall_entry_t.
struct MulticallEntry {
  std::uint64_t op;       ///< hypercall number
  std::uint64_t result;   ///< OUT: its RAX
  std::uint64_t args[6];  ///< RDI RSI RDX R10 R8 (the sixth is unused on x86-64)
};

static_assert(sizeof(CallbackRegister) == 16);
static_assert(sizeof(IretContext) == 72);
static_assert(sizeof(MulticallEntry) == 64);

}  // namespace pvkit::guest::xen
