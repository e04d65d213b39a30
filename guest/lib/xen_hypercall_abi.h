// pvkit/guest/xen_hypercall_abi.h — the Xen x86-64 PV hypercall numbers and the small argument
// structs of the hypercalls every guest kernel uses (console_io, xen_version, sched_op,
// callback_op, set_callbacks, vcpu_op, iret, multicall).
//
// What it is: facts from Xen's public headers (xen.h, sched.h, callback.h, vcpu.h, version.h,
// arch-x86/xen-x86_64.h) in namespace pvkit::guest::xen: pvkit's own definitions from lib/xen
// re-exported where they exist, the guest library's own (callbacks, iret frame, multicall
// entry, console_io) otherwise, all with named fields. //guest/test:abi_conformance_test checks
// every size, offset and value against /usr/include/xen. Guest code never includes Xen's own
// headers.
//
// How to use it: pass these to the wrappers of pvkit/guest/hypercall.h.
//
// Concurrency: constants and plain value types only.
#pragma once

#include <cstddef>
#include <cstdint>

#include "pvkit/base/types.h"
#include "pvkit/xen/hypercall_numbers.h"
#include "pvkit/xen/sched_abi.h"
#include "pvkit/xen/vcpu_abi.h"
#include "pvkit/xen/version_abi.h"

namespace pvkit::guest::xen {

/// domid_t.
using DomId = std::uint16_t;
/// DOMID_SELF: "the calling domain" wherever a hypercall takes a domain id.
inline constexpr DomId kDomIdSelf = pvkit::kDomidSelf.value();

/// __HYPERVISOR_* numbers (xen.h): hc::kConsoleIo, hc::kSchedOp, ... The hypercall page holds
/// one 32-byte stub per number.
namespace hc = pvkit::xen::hc;

/// Size of one stub in the hypercall page, and the number of stubs in the 4 KiB page.
inline constexpr std::uint32_t kHypercallStubSize = 32;
inline constexpr std::uint32_t kHypercallPageStubs = 4096 / kHypercallStubSize;

/// CONSOLEIO_* (xen.h). (Own definitions, like MulticallEntry below: pvkit/xen/xen_abi.h has
/// them too but cannot be included together with pvkit/mm/xen_abi.h — both define
/// kHypervisorVirtStart.)
inline constexpr std::uint32_t kConsoleIoWrite = 0;
inline constexpr std::uint32_t kConsoleIoRead = 1;

/// XENVER_* (version.h) used by guests, xen_extraversion_t's length, xen_feature_info.
using pvkit::xen::kXenVerExtraversion;
using pvkit::xen::kXenVerGetFeatures;
using pvkit::xen::kXenVerPagesize;
using pvkit::xen::kXenVerVersion;
inline constexpr std::size_t kXenExtraversionLen = sizeof(pvkit::xen::XenExtraversion);
/// xen_feature_info_t (XENVER_get_features).
using FeatureInfo = pvkit::xen::XenFeatureInfo;

/// SCHEDOP_* and SHUTDOWN_* (sched.h), struct sched_shutdown {reason}.
using pvkit::xen::kSchedOpBlock;
using pvkit::xen::kSchedOpPoll;
using pvkit::xen::kSchedOpShutdown;
using pvkit::xen::kSchedOpYield;
using pvkit::xen::kShutdownCrash;
using pvkit::xen::kShutdownPoweroff;
using pvkit::xen::kShutdownReboot;
using pvkit::xen::kShutdownSuspend;
using pvkit::xen::kShutdownWatchdog;
using pvkit::xen::SchedShutdown;

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
using pvkit::xen::kVcpuOpDown;
using pvkit::xen::kVcpuOpIsUp;
using pvkit::xen::kVcpuOpRegisterVcpuInfo;
using pvkit::xen::kVcpuOpUp;

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
