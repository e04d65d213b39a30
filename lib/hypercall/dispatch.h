// pvkit/hypercall/dispatch.h — everything a platform needs to compose and run hypercalls.
//
// What it is: the umbrella header for the dispatcher: the handler shape and its concepts
// (handler.h), the context concept (context.h), per-vCPU counters (stats.h), the compile-time
// table with its extension point (table.h) and the platform entry with the re-execution
// protocol (entry.h). Handlers for individual families live in their own headers
// (multicall.h, xen_version.h, console_io.h, vm_assist.h, sched_op.h, and lib/<area>/).
//
// How to use it:
//   #include "pvkit/hypercall/dispatch.h"
//   using Table = pvkit::HypercallTable<MmuUpdate, EventChannelOp, pvkit::Multicall, ...>;
//   pvkit::EntryResult r = pvkit::hypercall_entry<Table>(ctx, args);   // see entry.h
// Full design: docs/hypercalls.md.
//
// Concurrency: see the included headers (immutable table, per-vCPU counters).
#pragma once

#include "pvkit/hypercall/args.h"
#include "pvkit/hypercall/context.h"
#include "pvkit/hypercall/entry.h"
#include "pvkit/hypercall/handler.h"
#include "pvkit/hypercall/stats.h"
#include "pvkit/hypercall/table.h"
