// pvkit/platforms/pc/hypercalls/set_trap_table.h — HYPERVISOR_set_trap_table (0).
//
// What it is: the handler that installs a guest kernel's exception handlers. RDI points at an
// array of struct trap_info terminated by an entry with address 0; NULL clears the table (as
// Xen). Entries are read one by one (-EFAULT on a bad pointer: entries before it stay
// installed, as in Xen); vectors >= 32 are ignored (pvkit bounces only architectural
// exceptions); at most 256 entries are read per call, then the call continues (re-executed
// with the pointer advanced), so a guest cannot make one call run unbounded.
// How to use it: add `SetTrapTable` to the table; the fault path bounces a ring-3 exception
// to `callbacks().traps[vector]` when set, else crashes the domain.
// Concurrency: per-vCPU.
#pragma once

#include <cstdint>

#include "pvkit/base/guest_memory.h"
#include "pvkit/base/status.h"
#include "pvkit/hypercall/args.h"
#include "pvkit/platforms/pc/hypercalls/callbacks.h"
#include "pvkit/platforms/pc/hypercalls/xen_abi.h"
#include "pvkit/xen/hypercall_numbers.h"

namespace pvkit::pc {

struct SetTrapTable {
  static constexpr std::uint32_t kNumber = pvkit::xen::hc::kSetTrapTable;
  static constexpr const char* kName = "set_trap_table";
  static constexpr unsigned kEntriesPerCall = 256;

  template <CallbackContext Ctx>
  static std::int64_t call(Ctx& ctx, HypercallArgs& args) {
    GuestCallbacks& cb = ctx.callbacks();
    const GuestHandle<xen::TrapInfo> table{VirtAddr{args.a[0]}};
    if (table.is_null()) {
      cb.traps = {};
      cb.trap_masks_events = {};
      return 0;
    }
    for (unsigned i = 0; i < kEntriesPerCall; ++i) {
      xen::TrapInfo t;
      if (!table.read(ctx.guest_memory(), i, t)) return Status{Errno::Fault}.guest_value();
      if (t.address == 0) return 0;
      if (t.vector < kTrapTableVectors) {
        cb.traps[t.vector] = t.address;
        cb.trap_masks_events[t.vector] = (t.flags & 4) != 0;
      }
    }
    args.a[0] += kEntriesPerCall * sizeof(xen::TrapInfo);
    return Status{Errno::Restart}.guest_value();
  }
};

}  // namespace pvkit::pc
