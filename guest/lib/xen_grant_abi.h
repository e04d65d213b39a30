// pvkit/guest/xen_grant_abi.h — the v1 grant-table ABI a guest uses (grant_table.h): the
// shared entry, GTF_* flags, GNTMAP_* flags, GNTST_* statuses, and the setup_table,
// map_grant_ref, unmap_grant_ref and query_size arguments.
//
// What it is: the guest library's names for pvkit's own definitions (pvkit/grant/xen_abi.h for
// the grant-table ABI, pvkit/ring/xen_abi.h for the GNTST_* codes); checked against
// /usr/include/xen/grant_table.h by //guest/test:abi_conformance_test.
//
// How to use it: through pvkit/guest/grant_table.h (granter side) and grant_ops.h (mapper).
//
// Concurrency: GrantEntryV1 lives in memory the hypervisor writes concurrently (GTF_reading /
// GTF_writing); grant_table.h accesses it atomically.
#pragma once

#include <cstdint>

#include "pvkit/grant/xen_abi.h"
#include "pvkit/guest/xen_hypercall_abi.h"
#include "pvkit/ring/xen_abi.h"

namespace pvkit::guest::xen {

/// grant_ref_t.
using GrantRef = std::uint32_t;     ///< grant_ref_t
/// grant_handle_t.
using GrantHandle = std::uint32_t;  ///< grant_handle_t

/// GNTTABOP_* (grant_table.h).
using pvkit::xen::kGnttabOpMapGrantRef;
using pvkit::xen::kGnttabOpQuerySize;
using pvkit::xen::kGnttabOpSetupTable;
using pvkit::xen::kGnttabOpUnmapGrantRef;

/// GNTTAB_NR_RESERVED_ENTRIES: refs 0..7 belong to the toolstack (console, xenstore).
using pvkit::xen::kGnttabNrReservedEntries;

/// GTF_* bits of GrantEntryV1::flags.
using pvkit::xen::kGtfInvalid;
using pvkit::xen::kGtfPermitAccess;
using pvkit::xen::kGtfReading;
using pvkit::xen::kGtfReadonly;
using pvkit::xen::kGtfTypeMask;
using pvkit::xen::kGtfWriting;

/// GNTMAP_* flags of map_grant_ref.
using pvkit::xen::kGntmapApplicationMap;
using pvkit::xen::kGntmapContainsPte;
using pvkit::xen::kGntmapDeviceMap;
using pvkit::xen::kGntmapHostMap;
using pvkit::xen::kGntmapReadonly;

/// GNTST_* per-operation statuses (always <= 0).
using pvkit::xen::GntStatus;

/// Shared entry and argument structs.
using pvkit::xen::GnttabMapGrantRef;
using pvkit::xen::GnttabQuerySize;
using pvkit::xen::GnttabSetupTable;
using pvkit::xen::GnttabUnmapGrantRef;
using pvkit::xen::GrantEntryV1;

/// v1 entries per 4 KiB grant frame.
inline constexpr std::uint32_t kGrantEntriesPerFrameV1 = 4096 / sizeof(GrantEntryV1);

}  // namespace pvkit::guest::xen
