// pvkit/platforms/pc/hypercalls/xen_abi.h — the Xen x86-64 PV ABI pieces the PC platform's own
// hypercall handlers use: callback registration (callback.h), HYPERVISOR_iret's frame
// (arch-x86/xen-x86_64.h), set_trap_table's trap_info (arch-x86/xen.h), and SCHEDOP_poll's
// argument (sched.h, via lib/xen).
//
// How to use it: include; `//platforms/pc/hypercalls:abi_conformance_test` checks every size,
// offset and value against /usr/include/xen.
// Concurrency: constants and plain layouts only.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pvkit::pc::xen {

// ---- callback.h --------------------------------------------------------------------------
inline constexpr std::uint32_t kCallbackOpRegister = 0;
inline constexpr std::uint32_t kCallbackOpUnregister = 1;
inline constexpr std::uint16_t kCallbackTypeEvent = 0;
inline constexpr std::uint16_t kCallbackTypeFailsafe = 1;
inline constexpr std::uint16_t kCallbackTypeSyscall = 2;
inline constexpr std::uint16_t kCallbackTypeNmi = 4;
inline constexpr std::uint16_t kCallbackFMaskEvents = 1u << 0;

/// struct callback_register.
struct CallbackRegister {
  std::uint16_t type;
  std::uint16_t flags;
  std::uint32_t pad;  // implicit in Xen's layout (xen_callback_t is 8-byte aligned)
  std::uint64_t address;
};
static_assert(sizeof(CallbackRegister) == 16);

/// struct callback_unregister.
struct CallbackUnregister {
  std::uint16_t type;
  std::uint16_t pad;
};
static_assert(sizeof(CallbackUnregister) == 4);

// ---- xen-x86_64.h --------------------------------------------------------------------------
inline constexpr std::uint64_t kVgcfInSyscall = 1u << 8;

/// struct iret_context: what HYPERVISOR_iret finds at the guest's RSP (lowest address first).
struct IretContext {
  std::uint64_t rax, r11, rcx, flags, rip, cs, rflags, rsp, ss;
};
static_assert(sizeof(IretContext) == 72);

// ---- arch-x86/xen.h ------------------------------------------------------------------------
/// struct trap_info: one entry of set_trap_table's array (terminated by address 0).
struct TrapInfo {
  std::uint8_t vector;
  std::uint8_t flags;  // bits 0-1: DPL; bit 2: clear upcall mask ("interrupt gate")
  std::uint16_t cs;
  std::uint32_t pad;
  std::uint64_t address;
};
static_assert(sizeof(TrapInfo) == 16);

}  // namespace pvkit::pc::xen
