// pvkit/grant/xen_abi.h — pvkit's own definitions of Xen's grant-table ABI (grant_table.h).
//
// What it is: the numbers and layouts of the guest-visible grant-table interface on x86-64:
// GNTTABOP_* sub-op numbers, GTF_* entry flags, GNTMAP_* / GNTCOPY_* request flags, the
// v1 and v2 shared entry formats and every gnttab_* request struct, with named fields.
// Written for pvkit from the published ABI; abi_conformance_test.cc checks every size,
// offset and value against /usr/include/xen/grant_table.h. GNTST_* codes live in
// pvkit/grant/grant_status.h.
//
// How to use it: copy a request out of guest memory with GuestArray<xen::GnttabMapGrantRef>,
// validate the copy, write results back field by field.
//
// Concurrency: constants and plain value types only. Shared entries live in guest-writable
// memory; read them through pvkit/grant/shared_entry.h, never through these structs directly.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pvkit::xen {

/// __HYPERVISOR_grant_table_op.
inline constexpr std::uint32_t kHypervisorGrantTableOp = 20;

/// GNTTABOP_* sub-op numbers (low 12 bits of `cmd`).
inline constexpr std::uint32_t kGnttabOpMapGrantRef = 0;
inline constexpr std::uint32_t kGnttabOpUnmapGrantRef = 1;
inline constexpr std::uint32_t kGnttabOpSetupTable = 2;
inline constexpr std::uint32_t kGnttabOpDumpTable = 3;
inline constexpr std::uint32_t kGnttabOpTransfer = 4;
inline constexpr std::uint32_t kGnttabOpCopy = 5;
inline constexpr std::uint32_t kGnttabOpQuerySize = 6;
inline constexpr std::uint32_t kGnttabOpUnmapAndReplace = 7;
inline constexpr std::uint32_t kGnttabOpSetVersion = 8;
inline constexpr std::uint32_t kGnttabOpGetStatusFrames = 9;
inline constexpr std::uint32_t kGnttabOpGetVersion = 10;
inline constexpr std::uint32_t kGnttabOpSwapGrantRef = 11;
inline constexpr std::uint32_t kGnttabOpCacheFlush = 12;

/// Xen's GNTTABOP_CONT_SHIFT: `cmd` bits >= 12 are reserved for continuation state.
inline constexpr unsigned kGnttabOpContShift = 12;
inline constexpr std::uint32_t kGnttabOpCmdMask = (1u << kGnttabOpContShift) - 1;

/// Reserved entries preserved across version changes (GNTTAB_NR_RESERVED_ENTRIES ...).
inline constexpr std::uint32_t kGnttabNrReservedEntries = 8;
inline constexpr std::uint32_t kGnttabReservedConsole = 0;
inline constexpr std::uint32_t kGnttabReservedXenstore = 1;

/// GTF_* bits of a shared entry's `flags`.
inline constexpr std::uint16_t kGtfInvalid = 0;
inline constexpr std::uint16_t kGtfPermitAccess = 1;
inline constexpr std::uint16_t kGtfAcceptTransfer = 2;
inline constexpr std::uint16_t kGtfTransitive = 3;
inline constexpr std::uint16_t kGtfTypeMask = 3;
inline constexpr std::uint16_t kGtfReadonly = 1u << 2;
inline constexpr std::uint16_t kGtfReading = 1u << 3;
inline constexpr std::uint16_t kGtfWriting = 1u << 4;
inline constexpr std::uint16_t kGtfPwt = 1u << 5;
inline constexpr std::uint16_t kGtfPcd = 1u << 6;
inline constexpr std::uint16_t kGtfPat = 1u << 7;
inline constexpr std::uint16_t kGtfSubPage = 1u << 8;
inline constexpr std::uint16_t kGtfTransferCommitted = 1u << 2;
inline constexpr std::uint16_t kGtfTransferCompleted = 1u << 3;

/// GNTMAP_* bits of a map request's `flags`.
inline constexpr std::uint32_t kGntmapDeviceMap = 1u << 0;
inline constexpr std::uint32_t kGntmapHostMap = 1u << 1;
inline constexpr std::uint32_t kGntmapReadonly = 1u << 2;
inline constexpr std::uint32_t kGntmapApplicationMap = 1u << 3;
inline constexpr std::uint32_t kGntmapContainsPte = 1u << 4;
inline constexpr std::uint32_t kGntmapGuestAvailMask = 0xFFFFFFFFu << 16;

/// GNTCOPY_* bits of a copy request's `flags`.
inline constexpr std::uint16_t kGntcopySourceGref = 1u << 0;
inline constexpr std::uint16_t kGntcopyDestGref = 1u << 1;

/// grant_entry_header_t: the first 4 bytes of every entry (v1 and v2).
struct GrantEntryHeader {
  std::uint16_t flags;
  std::uint16_t domid;
};
static_assert(sizeof(GrantEntryHeader) == 4);

/// grant_entry_v1_t.
struct GrantEntryV1 {
  std::uint16_t flags;  ///< GTF_*
  std::uint16_t domid;  ///< the domain granted access
  std::uint32_t frame;  ///< MFN (PV) granted, or accepting/received a transfer
};
static_assert(sizeof(GrantEntryV1) == 8);

/// grant_entry_v2_t, full_page view (also the v2 accept_transfer form).
struct GrantEntryV2FullPage {
  GrantEntryHeader hdr;
  std::uint32_t pad0;
  std::uint64_t frame;
};
/// grant_entry_v2_t, sub_page view (GTF_permit_access | GTF_sub_page).
struct GrantEntryV2SubPage {
  GrantEntryHeader hdr;
  std::uint16_t page_off;
  std::uint16_t length;
  std::uint64_t frame;
};
/// grant_entry_v2_t, transitive view (GTF_transitive).
struct GrantEntryV2Transitive {
  GrantEntryHeader hdr;
  std::uint16_t trans_domid;
  std::uint16_t pad0;
  std::uint32_t gref;
};
/// grant_entry_v2_t: 16 bytes; status bits live in a separate status frame.
union GrantEntryV2 {
  GrantEntryHeader hdr;
  GrantEntryV2FullPage full_page;
  GrantEntryV2SubPage sub_page;
  GrantEntryV2Transitive transitive;
  std::uint32_t spacer[4];
};
static_assert(sizeof(GrantEntryV2) == 16);
/// grant_status_t.
using GrantStatusEntry = std::uint16_t;

/// struct gnttab_map_grant_ref.
struct GnttabMapGrantRef {
  std::uint64_t host_addr;
  std::uint32_t flags;
  std::uint32_t ref;
  std::uint16_t dom;
  std::int16_t status;
  std::uint32_t handle;
  std::uint64_t dev_bus_addr;
};
static_assert(sizeof(GnttabMapGrantRef) == 32);

/// struct gnttab_unmap_grant_ref.
struct GnttabUnmapGrantRef {
  std::uint64_t host_addr;
  std::uint64_t dev_bus_addr;
  std::uint32_t handle;
  std::int16_t status;
};
static_assert(sizeof(GnttabUnmapGrantRef) == 24);

/// struct gnttab_setup_table (frame_list: XEN_GUEST_HANDLE(xen_pfn_t)).
struct GnttabSetupTable {
  std::uint16_t dom;
  std::uint32_t nr_frames;
  std::int16_t status;
  std::uint64_t frame_list;
};
static_assert(sizeof(GnttabSetupTable) == 24);

/// struct gnttab_dump_table.
struct GnttabDumpTable {
  std::uint16_t dom;
  std::int16_t status;
};
static_assert(sizeof(GnttabDumpTable) == 4);

/// struct gnttab_transfer.
struct GnttabTransfer {
  std::uint64_t mfn;
  std::uint16_t domid;
  std::uint32_t ref;
  std::int16_t status;
};
static_assert(sizeof(GnttabTransfer) == 24);

/// struct gnttab_copy_ptr: `u` is a grant ref or a gmfn depending on GNTCOPY_*_gref.
struct GnttabCopyPtr {
  union {
    std::uint32_t ref;
    std::uint64_t gmfn;
  } u;
  std::uint16_t domid;
  std::uint16_t offset;
};
static_assert(sizeof(GnttabCopyPtr) == 16);

/// struct gnttab_copy.
struct GnttabCopy {
  GnttabCopyPtr source;
  GnttabCopyPtr dest;
  std::uint16_t len;
  std::uint16_t flags;
  std::int16_t status;
};
static_assert(sizeof(GnttabCopy) == 40);

/// struct gnttab_query_size.
struct GnttabQuerySize {
  std::uint16_t dom;
  std::uint32_t nr_frames;
  std::uint32_t max_nr_frames;
  std::int16_t status;
};
static_assert(sizeof(GnttabQuerySize) == 16);

/// struct gnttab_unmap_and_replace.
struct GnttabUnmapAndReplace {
  std::uint64_t host_addr;
  std::uint64_t new_addr;
  std::uint32_t handle;
  std::int16_t status;
};
static_assert(sizeof(GnttabUnmapAndReplace) == 24);

/// struct gnttab_set_version (IN/OUT).
struct GnttabSetVersion {
  std::uint32_t version;
};
static_assert(sizeof(GnttabSetVersion) == 4);

/// struct gnttab_get_status_frames (frame_list: XEN_GUEST_HANDLE(uint64_t)).
struct GnttabGetStatusFrames {
  std::uint32_t nr_frames;
  std::uint16_t dom;
  std::int16_t status;
  std::uint64_t frame_list;
};
static_assert(sizeof(GnttabGetStatusFrames) == 16);

/// struct gnttab_get_version.
struct GnttabGetVersion {
  std::uint16_t dom;
  std::uint16_t pad;
  std::uint32_t version;
};
static_assert(sizeof(GnttabGetVersion) == 8);

/// struct gnttab_swap_grant_ref.
struct GnttabSwapGrantRef {
  std::uint32_t ref_a;
  std::uint32_t ref_b;
  std::int16_t status;
};
static_assert(sizeof(GnttabSwapGrantRef) == 12);

}  // namespace pvkit::xen
