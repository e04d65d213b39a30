// pvkit/hypercall/multicall.h — HYPERVISOR_multicall (13): a batch of hypercalls in one trap.
//
// What it is: the `Multicall` handler. Arguments: RDI = multicall_entry_t call_list[],
// RSI = uint32_t nr_calls. Entries run in order through the same composed table as top-level
// hypercalls (so counters, replacements and removals apply to them too); each entry is copied
// out of guest memory once, element by element with a bounds-checked index (invariant 4), and
// its result is written back to that entry's `result` field.
//   * The batch ends early, returning that value, when:
//       - an entry cannot be read or its result cannot be written: -EFAULT (the results of
//         the earlier entries are in place);
//       - an entry is `iret` (23): it runs, its result is written and becomes the multicall's
//         return value, and no later entry runs (XSA-213, invariant 2);
//       - an entry is itself a multicall: refused, -EINVAL is written to it and returned;
//       - after an entry the vCPU is no longer in guest kernel mode (defensive, invariant 2).
//   * Unknown entry ops get -ENOSYS in their result; the batch goes on (like Xen).
//   * Continuations (invariant 3, 6): after kBudget entries, or earlier when the context's
//     hypercall_preempt_check() fires, the multicall rewrites its own arguments to
//     (call_list + i, nr_calls - i) and returns kRestartValue. When an entry's handler itself
//     asks for a continuation, its updated args[0..4] are written back into that entry in
//     guest memory and the multicall continues at that entry. All progress lives in guest
//     registers and guest memory, and a continued multicall is indistinguishable from a fresh
//     one, so malformed progress is just another bad input. Each invocation does at most
//     kBudget entries plus its first entry's own bounded work.
//
// How to use it: `using Table = HypercallTable<..., Multicall>;` The context needs
// `HasGuestMemory` and `HypercallContext`.
//
// Concurrency: the call list is guest memory that other vCPUs may change: each entry is
// snapshotted before use and only `result` / `args` are written back.
#pragma once

#include <cstddef>
#include <cstdint>

#include "pvkit/base/guest_memory.h"
#include "pvkit/hypercall/args.h"
#include "pvkit/hypercall/context.h"
#include "pvkit/hypercall/handler.h"
#include "pvkit/xen/hypercall_numbers.h"
#include "pvkit/xen/xen_abi.h"

namespace pvkit {

/// `HYPERVISOR_multicall(multicall_entry_t call_list[], uint32_t nr_calls)`.
struct MulticallArgs {
  GuestHandle<xen::MulticallEntry> call_list{};  ///< RDI
  std::uint32_t nr_calls = 0;                    ///< RSI (uint32_t: upper half ignored)

  /// Decodes (multicall_entry_t *call_list, uint32_t nr_calls).
  [[nodiscard]] static constexpr MulticallArgs from(const HypercallArgs& r) {
    return {GuestHandle<xen::MulticallEntry>{VirtAddr{r.a[0]}},
            static_cast<std::uint32_t>(r.a[1])};
  }
  /// Writes the arguments back (for a continuation).
  constexpr void store(HypercallArgs& r) const {
    r.a[0] = call_list.addr.value();
    r.a[1] = nr_calls;
  }
};

/// What Multicall needs: a HypercallContext with guest memory.
template <typename Ctx>
concept MulticallContext = HypercallContext<Ctx> && HasGuestMemory<Ctx>;

/// The multicall handler; kBudget = entries per invocation before a continuation (>= 1).
template <std::uint32_t kBudget = 64>
struct BasicMulticall {
  static_assert(kBudget >= 1);
  static constexpr std::uint32_t kNumber = xen::hc::kMulticall;
  static constexpr const char* kName = "multicall";

  /// Runs the batch, dispatching each entry through the composed table `Table`.
  template <typename Table, MulticallContext Ctx>
  static std::int64_t call_in(Ctx& ctx, HypercallArgs& args) {
    MulticallArgs v = MulticallArgs::from(args);
    const GuestArray<xen::MulticallEntry> list{v.call_list, v.nr_calls};
    auto& mem = ctx.guest_memory();

    for (std::uint32_t i = 0; i < v.nr_calls; ++i) {
      if (i != 0 && (i >= kBudget || hypercall_preempt_requested(ctx))) {
        return continue_at(v, i, args);
      }
      xen::MulticallEntry e;
      if (!list.read(mem, i, e)) return Status{Errno::Fault}.guest_value();

      if (e.op == xen::hc::kMulticall) {  // nesting is refused and ends the batch
        const std::int64_t r = Status{Errno::Inval}.guest_value();
        if (!write_result(mem, v, i, r)) return Status{Errno::Fault}.guest_value();
        return r;
      }

      HypercallArgs inner;
      inner.nr = e.op;
      for (std::size_t k = 0; k < inner.a.size(); ++k) inner.a[k] = e.args[k];
      const std::int64_t r = Table::dispatch(ctx, inner);

      if (r == kRestartValue) {
        // The entry continues later: keep its progress in the entry, ours in our registers.
        for (std::size_t k = 0; k < inner.a.size(); ++k) e.args[k] = inner.a[k];
        if (!v.call_list.write_field(mem, i, xen::kMulticallEntryArgsOffset, e.args)) {
          return Status{Errno::Fault}.guest_value();
        }
        return continue_at(v, i, args);
      }
      if (!write_result(mem, v, i, r)) return Status{Errno::Fault}.guest_value();
      if (e.op == xen::hc::kIret) return r;       // XSA-213: iret ends the batch
      if (!ctx.guest_kernel_mode()) return r;     // never run entries in guest user mode
    }
    return 0;
  }

 private:
  template <typename M>
  static Status write_result(M& mem, const MulticallArgs& v, std::uint32_t i, std::int64_t r) {
    return v.call_list.write_field(mem, i, xen::kMulticallEntryResultOffset,
                                   static_cast<xen::XenUlong>(r));
  }
  // Rewrites our arguments so the re-executed multicall starts at entry i.
  static std::int64_t continue_at(MulticallArgs v, std::uint32_t i, HypercallArgs& args) {
    if (i != 0) {
      auto next = guest_element_address(v.call_list.addr, i, sizeof(xen::MulticallEntry));
      if (!next) return next.status().guest_value();  // unreachable: entry i-1 was read
      v.call_list.addr = *next;
      v.nr_calls -= i;
    }
    v.store(args);
    return kRestartValue;
  }
};

/// multicall with the default per-invocation budget (64 entries).
using Multicall = BasicMulticall<>;

}  // namespace pvkit
