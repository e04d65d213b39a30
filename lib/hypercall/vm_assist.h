// pvkit/hypercall/vm_assist.h — HYPERVISOR_vm_assist (21).
//
// What it is: the `VmAssist` handler: enables or disables one VMASST_TYPE_* bit in the
// calling domain's assist word. Like Xen, the type is checked first (a type outside the
// valid mask, or >= 64, answers -EINVAL), then the command (enable/disable, anything else
// -ENOSYS with no change). The valid mask is a template parameter: pvkit only accepts what
// the composing hypervisor actually honours (default: writable_pagetables, which lib/mm's
// trapped-write emulation implements; add runstate_update_flag / m2p_strict when supported).
//
// How to use it: add `VmAssist` or `BasicVmAssist<mask>` to the table; the context provides
// `std::atomic<std::uint64_t>& vm_assist()`, the current domain's word (read it with
// `vm_assist_enabled(word, type)`).
//
// Concurrency: the word is domain-wide; bits are set/cleared with atomic fetch_or/fetch_and.
#pragma once

#include <atomic>
#include <concepts>
#include <cstdint>

#include "pvkit/base/status.h"
#include "pvkit/hypercall/arg_view.h"
#include "pvkit/hypercall/args.h"
#include "pvkit/hypercall/handler.h"
#include "pvkit/xen/hypercall_numbers.h"
#include "pvkit/xen/xen_abi.h"

namespace pvkit {

/// What VmAssist needs: the calling domain's assist word.
template <typename Ctx>
concept VmAssistContext = requires(Ctx& ctx) {
  { ctx.vm_assist() } -> std::same_as<std::atomic<std::uint64_t>&>;
};

/// `HYPERVISOR_vm_assist(unsigned int cmd, unsigned int type)`.
struct VmAssistArgs {
  std::uint32_t cmd = 0;   ///< RDI
  std::uint32_t type = 0;  ///< RSI

  /// Decodes (unsigned int cmd, unsigned int type).
  [[nodiscard]] static constexpr VmAssistArgs from(const HypercallArgs& r) {
    return {hcarg::u32(r, 0), hcarg::u32(r, 1)};
  }
  /// Writes the arguments back.
  constexpr void store(HypercallArgs& r) const {
    r.a[0] = cmd;
    r.a[1] = type;
  }
};

/// Whether assist `type` is enabled in a domain's word.
[[nodiscard]] inline bool vm_assist_enabled(const std::atomic<std::uint64_t>& word,
                                            std::uint32_t type) {
  return type < 64 && (word.load(std::memory_order_relaxed) >> type) & 1u;
}

inline constexpr std::uint64_t kDefaultVmAssistValid = std::uint64_t{1}
                                                       << xen::kVmAsstTypeWritablePagetables;

/// HYPERVISOR_vm_assist (21) accepting the types in kValidMask.
template <std::uint64_t kValidMask = kDefaultVmAssistValid>
struct BasicVmAssist {
  static constexpr std::uint32_t kNumber = xen::hc::kVmAssist;
  static constexpr const char* kName = "vm_assist";

  /// Handles one vm_assist call.
  template <VmAssistContext Ctx>
  static std::int64_t call(Ctx& ctx, HypercallArgs& args) {
    const VmAssistArgs v = VmAssistArgs::from(args);
    if (v.type >= 64 || ((kValidMask >> v.type) & 1u) == 0) return Status{Errno::Inval}.guest_value();
    const std::uint64_t bit = std::uint64_t{1} << v.type;
    switch (v.cmd) {
      case xen::kVmAsstCmdEnable:
        ctx.vm_assist().fetch_or(bit, std::memory_order_relaxed);
        return 0;
      case xen::kVmAsstCmdDisable:
        ctx.vm_assist().fetch_and(~bit, std::memory_order_relaxed);
        return 0;
      default:
        return Status{Errno::NoSys}.guest_value();
    }
  }
};

/// vm_assist accepting the default types (writable_pagetables).
using VmAssist = BasicVmAssist<>;

}  // namespace pvkit
