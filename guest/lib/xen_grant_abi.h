// pvkit/guest/xen_grant_abi.h — the v1 grant-table ABI a guest uses (grant_table.h): the
// shared entry, GTF_* flags, GNTMAP_* flags, GNTST_* statuses, and the setup_table,
// map_grant_ref, unmap_grant_ref and query_size arguments.
//
// What it is: the guest library's own definitions with named fields; checked against
// /usr/include/xen/grant_table.h by //guest/test:abi_conformance_test.
//
// How to use it: through pvkit/guest/grant_table.h (granter side) and grant_map.h (mapper).
//
// Concurrency: GrantEntryV1 lives in memory the hypervisor writes concurrently (GTF_reading /
// GTF_writing); grant_table.h accesses it atomically.
#pragma once

#include <cstdint>

#include "pvkit/guest/xen_hypercall_abi.h"

namespace pvkit::guest::xen {

using GrantRef = std::uint32_t;     ///< grant_ref_t
using GrantHandle = std::uint32_t;  ///< grant_handle_t

/// GNTTABOP_* (grant_table.h).
inline constexpr std::uint32_t kGnttabOpMapGrantRef = 0;
inline constexpr std::uint32_t kGnttabOpUnmapGrantRef = 1;
inline constexpr std::uint32_t kGnttabOpSetupTable = 2;
inline constexpr std::uint32_t kGnttabOpQuerySize = 6;

/// GNTTAB_NR_RESERVED_ENTRIES: refs 0..7 belong to the toolstack (console, xenstore).
inline constexpr GrantRef kGnttabNrReservedEntries = 8;
/// v1 entries per 4 KiB grant frame.
inline constexpr std::uint32_t kGrantEntriesPerFrameV1 = 4096 / 8;

/// GTF_* bits of GrantEntryV1::flags.
inline constexpr std::uint16_t kGtfInvalid = 0;
inline constexpr std::uint16_t kGtfPermitAccess = 1;
inline constexpr std::uint16_t kGtfTypeMask = 3;
inline constexpr std::uint16_t kGtfReadonly = 1u << 2;
inline constexpr std::uint16_t kGtfReading = 1u << 3;
inline constexpr std::uint16_t kGtfWriting = 1u << 4;

/// GNTMAP_* flags of map_grant_ref.
inline constexpr std::uint32_t kGntmapDeviceMap = 1u << 0;
inline constexpr std::uint32_t kGntmapHostMap = 1u << 1;
inline constexpr std::uint32_t kGntmapReadonly = 1u << 2;
inline constexpr std::uint32_t kGntmapApplicationMap = 1u << 3;
inline constexpr std::uint32_t kGntmapContainsPte = 1u << 4;

/// GNTST_* per-operation statuses (always <= 0).
enum class GntStatus : std::int16_t {
  Okay = 0,
  GeneralError = -1,
  BadDomain = -2,
  BadGntref = -3,
  BadHandle = -4,
  BadVirtAddr = -5,
  BadDevAddr = -6,
  NoDeviceSpace = -7,
  PermissionDenied = -8,
  BadPage = -9,
  BadCopyArg = -10,
  AddressTooBig = -11,
  Eagain = -12,
  NoSpace = -13,
};

/// struct grant_entry_v1: written by the granter, GTF_reading/writing set by the hypervisor.
struct GrantEntryV1 {
  std::uint16_t flags;  ///< GTF_*
  DomId domid;          ///< the domain allowed to map
  std::uint32_t frame;  ///< the granted frame (a machine frame for a PV granter)
};

/// struct gnttab_setup_table.
struct GnttabSetupTable {
  DomId dom;                ///< IN: DOMID_SELF
  std::uint32_t nr_frames;  ///< IN
  std::int16_t status;      ///< OUT: GNTST_*
  std::uint64_t frame_list; ///< IN: guest address of nr_frames xen_pfn_t (OUT: the frames)
};

/// struct gnttab_map_grant_ref.
struct GnttabMapGrantRef {
  std::uint64_t host_addr;  ///< IN: virtual address to map at (GNTMAP_host_map)
  std::uint32_t flags;      ///< IN: GNTMAP_*
  GrantRef ref;             ///< IN
  DomId dom;                ///< IN: the granting domain
  std::int16_t status;      ///< OUT: GNTST_*
  GrantHandle handle;       ///< OUT
  std::uint64_t dev_bus_addr;  ///< OUT
};

/// struct gnttab_unmap_grant_ref.
struct GnttabUnmapGrantRef {
  std::uint64_t host_addr;     ///< IN (0: leave the host part)
  std::uint64_t dev_bus_addr;  ///< IN (0: leave the device part)
  GrantHandle handle;          ///< IN
  std::int16_t status;         ///< OUT
};

/// struct gnttab_query_size.
struct GnttabQuerySize {
  DomId dom;                    ///< IN
  std::uint32_t nr_frames;      ///< OUT
  std::uint32_t max_nr_frames;  ///< OUT
  std::int16_t status;          ///< OUT
};

static_assert(sizeof(GrantEntryV1) == 8);
static_assert(sizeof(GnttabSetupTable) == 24);
static_assert(sizeof(GnttabMapGrantRef) == 32);
static_assert(sizeof(GnttabUnmapGrantRef) == 24);
static_assert(sizeof(GnttabQuerySize) == 16);

}  // namespace pvkit::guest::xen
