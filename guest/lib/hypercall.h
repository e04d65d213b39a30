// pvkit/guest/hypercall.h — Xen x86-64 PV hypercalls from a guest kernel.
//
// What it is: `hypercall<Nr>(a1..a5)` calls the stub the hypervisor wrote at
// `hypercall_page + Nr * 32` with the PV register ABI (number in RAX, arguments in RDI RSI
// RDX R10 R8, result in RAX: >= 0 or -errno), plus one typed wrapper per hypercall family in
// Xen's naming (HYPERVISOR_console_io, HYPERVISOR_sched_op, ...). The stub itself issues
// `syscall` and preserves RCX/R11; argument registers are treated as clobbered because Xen's
// debug builds scribble on them. HYPERVISOR_iret is special: it never returns.
//
// How to use it:
//   long rc = HYPERVISOR_console_io(xen::kConsoleIoWrite, len, buf);
//   if (rc < 0) ...   // Xen errno, see pvkit/guest/errno_name.h
//
// The symbol `hypercall_page` is defined by the guest runtime (guest/runtime/hypercall_page.S,
// a 4 KiB-aligned page named by the XEN_ELFNOTE_HYPERCALL_PAGE note). x86-64 only; host code
// may include this header but must not call it.
//
// Concurrency: each call is a synchronous trap on the calling vCPU.
#pragma once

#include <cstdint>

#include "pvkit/guest/xen_grant_abi.h"
#include "pvkit/guest/xen_hypercall_abi.h"
#include "pvkit/guest/xen_mm_abi.h"

namespace pvkit::guest {

/// The raw hypercall: stub `Nr` of the hypercall page with the given arguments (up to five).
/// Only the argument registers in use are loaded; the rest are declared clobbered, as the
/// hypervisor may scribble on every argument register.
template <std::uint32_t Nr, typename... Args>
inline long hypercall(Args... args) {
  static_assert(Nr < xen::kHypercallPageStubs, "no such stub in the hypercall page");
  static_assert(sizeof...(Args) <= 5, "x86-64 PV hypercalls take at most five arguments");
  const std::uint64_t a[5] = {static_cast<std::uint64_t>(args)...};
  register std::uint64_t rdi asm("rdi") = a[0];
  register std::uint64_t rsi asm("rsi") = a[1];
  register std::uint64_t rdx asm("rdx") = a[2];
  register std::uint64_t r10 asm("r10") = a[3];
  register std::uint64_t r8 asm("r8") = a[4];
  long rax;
  constexpr std::uint32_t kOff = Nr * xen::kHypercallStubSize;
  if constexpr (sizeof...(Args) == 0) {
    asm volatile("call hypercall_page + %c[off]"
                 : "=a"(rax)
                 : [off] "i"(kOff)
                 : "memory", "rcx", "r11", "rdi", "rsi", "rdx", "r10", "r8");
  } else if constexpr (sizeof...(Args) == 1) {
    asm volatile("call hypercall_page + %c[off]"
                 : "=a"(rax), "+r"(rdi)
                 : [off] "i"(kOff)
                 : "memory", "rcx", "r11", "rsi", "rdx", "r10", "r8");
  } else if constexpr (sizeof...(Args) == 2) {
    asm volatile("call hypercall_page + %c[off]"
                 : "=a"(rax), "+r"(rdi), "+r"(rsi)
                 : [off] "i"(kOff)
                 : "memory", "rcx", "r11", "rdx", "r10", "r8");
  } else if constexpr (sizeof...(Args) == 3) {
    asm volatile("call hypercall_page + %c[off]"
                 : "=a"(rax), "+r"(rdi), "+r"(rsi), "+r"(rdx)
                 : [off] "i"(kOff)
                 : "memory", "rcx", "r11", "r10", "r8");
  } else if constexpr (sizeof...(Args) == 4) {
    asm volatile("call hypercall_page + %c[off]"
                 : "=a"(rax), "+r"(rdi), "+r"(rsi), "+r"(rdx), "+r"(r10)
                 : [off] "i"(kOff)
                 : "memory", "rcx", "r11", "r8");
  } else {
    asm volatile("call hypercall_page + %c[off]"
                 : "=a"(rax), "+r"(rdi), "+r"(rsi), "+r"(rdx), "+r"(r10), "+r"(r8)
                 : [off] "i"(kOff)
                 : "memory", "rcx", "r11");
  }
  return rax;
}

namespace detail {
template <typename T>
inline std::uint64_t ptr(T* p) {
  return reinterpret_cast<std::uint64_t>(p);
}
}  // namespace detail

/// xen_version(cmd, arg).
inline long HYPERVISOR_xen_version(std::uint32_t cmd, void* arg) {
  return hypercall<xen::hc::kXenVersion>(cmd, detail::ptr(arg));
}

/// console_io(cmd, count, buffer): CONSOLEIO_write prints `count` bytes.
inline long HYPERVISOR_console_io(std::uint32_t cmd, std::uint32_t count, const char* buf) {
  return hypercall<xen::hc::kConsoleIo>(cmd, count, detail::ptr(buf));
}

/// sched_op(cmd, arg): yield, block, shutdown (arg = SchedShutdown*), poll.
inline long HYPERVISOR_sched_op(std::uint32_t cmd, void* arg) {
  return hypercall<xen::hc::kSchedOp>(cmd, detail::ptr(arg));
}

/// event_channel_op(cmd, arg).
inline long HYPERVISOR_event_channel_op(std::uint32_t cmd, void* arg) {
  return hypercall<xen::hc::kEventChannelOp>(cmd, detail::ptr(arg));
}

/// grant_table_op(cmd, uop array, count).
inline long HYPERVISOR_grant_table_op(std::uint32_t cmd, void* uop, std::uint32_t count) {
  return hypercall<xen::hc::kGrantTableOp>(cmd, detail::ptr(uop), count);
}

/// mmu_update(reqs, count, done, foreigndom).
inline long HYPERVISOR_mmu_update(const xen::MmuUpdate* req, std::uint32_t count,
                                  std::uint32_t* done, std::uint32_t foreigndom) {
  return hypercall<xen::hc::kMmuUpdate>(detail::ptr(req), count, detail::ptr(done), foreigndom);
}

/// mmuext_op(ops, count, done, foreigndom).
inline long HYPERVISOR_mmuext_op(const xen::MmuextOp* op, std::uint32_t count,
                                 std::uint32_t* done, std::uint32_t foreigndom) {
  return hypercall<xen::hc::kMmuextOp>(detail::ptr(op), count, detail::ptr(done), foreigndom);
}

/// update_va_mapping(va, new pte, UVMF_* flags).
inline long HYPERVISOR_update_va_mapping(std::uint64_t va, std::uint64_t pte,
                                         std::uint64_t flags) {
  return hypercall<xen::hc::kUpdateVaMapping>(va, pte, flags);
}

/// set_callbacks(event, failsafe, syscall) (x86-64 form).
inline long HYPERVISOR_set_callbacks(std::uint64_t event, std::uint64_t failsafe,
                                     std::uint64_t syscall) {
  return hypercall<xen::hc::kSetCallbacks>(event, failsafe, syscall);
}

/// callback_op(cmd, arg): CALLBACKOP_register / _unregister.
inline long HYPERVISOR_callback_op(std::uint32_t cmd, const void* arg) {
  return hypercall<xen::hc::kCallbackOp>(cmd, detail::ptr(arg));
}

/// vcpu_op(cmd, vcpu, extra).
inline long HYPERVISOR_vcpu_op(std::uint32_t cmd, std::uint32_t vcpu, void* extra) {
  return hypercall<xen::hc::kVcpuOp>(cmd, vcpu, detail::ptr(extra));
}

/// multicall(entries, count).
inline long HYPERVISOR_multicall(xen::MulticallEntry* calls, std::uint32_t count) {
  return hypercall<xen::hc::kMulticall>(detail::ptr(calls), count);
}

/// iret: returns to the context described by `ctx` and never comes back. The stub pushes
/// RCX, R11 and RAX below `ctx.flags`, i.e. exactly onto ctx.rcx/r11/rax, so `ctx` must be
/// writable memory the caller never needs again (usually the interrupted frame itself).
/// The upcall mask becomes !(ctx.rflags & IF).
[[noreturn]] inline void HYPERVISOR_iret(xen::IretContext& ctx) {
  register std::uint64_t rax asm("rax") = ctx.rax;
  register std::uint64_t r11 asm("r11") = ctx.r11;
  register std::uint64_t rcx asm("rcx") = ctx.rcx;
  asm volatile(
      "mov %[sp], %%rsp\n\t"
      "jmp hypercall_page + %c[off]"
      :
      : [sp] "r"(&ctx.flags), "r"(rax), "r"(r11), "r"(rcx),
        [off] "i"(xen::hc::kIret * xen::kHypercallStubSize)
      : "memory");
  __builtin_unreachable();
}

}  // namespace pvkit::guest
