// ABI conformance: pvkit's grant-table definitions against Xen's public grant_table.h.
// Every struct size, field offset, sub-op number, flag and GNTST code is compared.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <gtest/gtest.h>

// The current interface (v2 entries, set_version, ...), as a guest built today sees it.
#define __XEN_INTERFACE_VERSION__ 0x00040e00
extern "C" {
#include <xen/xen.h>
#include <xen/grant_table.h>
}

#include "pvkit/grant/active_entry.h"
#include "pvkit/grant/grant_status.h"
#include "pvkit/grant/shared_entry.h"
#include "pvkit/grant/xen_abi.h"

namespace pvkit {
namespace {

#define EXPECT_SAME_LAYOUT(Ours, Theirs) EXPECT_EQ(sizeof(Ours), sizeof(Theirs)) << #Ours
#define EXPECT_SAME_FIELD(Ours, of, Theirs, tf)                                   \
  do {                                                                             \
    EXPECT_EQ(offsetof(Ours, of), offsetof(Theirs, tf)) << #Ours "." #of;           \
    EXPECT_EQ(sizeof(Ours::of), sizeof(((Theirs*)nullptr)->tf)) << #Ours "." #of;   \
  } while (0)

TEST(GrantAbi, HypercallAndSubOpNumbers) {
  EXPECT_EQ(xen::kHypervisorGrantTableOp, static_cast<std::uint32_t>(__HYPERVISOR_grant_table_op));
  EXPECT_EQ(xen::kGnttabOpMapGrantRef, GNTTABOP_map_grant_ref);
  EXPECT_EQ(xen::kGnttabOpUnmapGrantRef, GNTTABOP_unmap_grant_ref);
  EXPECT_EQ(xen::kGnttabOpSetupTable, GNTTABOP_setup_table);
  EXPECT_EQ(xen::kGnttabOpDumpTable, GNTTABOP_dump_table);
  EXPECT_EQ(xen::kGnttabOpTransfer, GNTTABOP_transfer);
  EXPECT_EQ(xen::kGnttabOpCopy, GNTTABOP_copy);
  EXPECT_EQ(xen::kGnttabOpQuerySize, GNTTABOP_query_size);
  EXPECT_EQ(xen::kGnttabOpUnmapAndReplace, GNTTABOP_unmap_and_replace);
  EXPECT_EQ(xen::kGnttabOpSetVersion, GNTTABOP_set_version);
  EXPECT_EQ(xen::kGnttabOpGetStatusFrames, GNTTABOP_get_status_frames);
  EXPECT_EQ(xen::kGnttabOpGetVersion, GNTTABOP_get_version);
  EXPECT_EQ(xen::kGnttabOpSwapGrantRef, GNTTABOP_swap_grant_ref);
  EXPECT_EQ(xen::kGnttabOpCacheFlush, GNTTABOP_cache_flush);
  // Every sub-op number fits below the continuation field.
  EXPECT_LT(xen::kGnttabOpCacheFlush, 1u << xen::kGnttabOpContShift);
}

TEST(GrantAbi, ReservedEntries) {
  EXPECT_EQ(xen::kGnttabNrReservedEntries, GNTTAB_NR_RESERVED_ENTRIES);
  EXPECT_EQ(xen::kGnttabReservedConsole, GNTTAB_RESERVED_CONSOLE);
  EXPECT_EQ(xen::kGnttabReservedXenstore, GNTTAB_RESERVED_XENSTORE);
}

TEST(GrantAbi, EntryFlags) {
  EXPECT_EQ(xen::kGtfInvalid, GTF_invalid);
  EXPECT_EQ(xen::kGtfPermitAccess, GTF_permit_access);
  EXPECT_EQ(xen::kGtfAcceptTransfer, GTF_accept_transfer);
  EXPECT_EQ(xen::kGtfTransitive, GTF_transitive);
  EXPECT_EQ(xen::kGtfTypeMask, GTF_type_mask);
  EXPECT_EQ(xen::kGtfReadonly, GTF_readonly);
  EXPECT_EQ(xen::kGtfReading, GTF_reading);
  EXPECT_EQ(xen::kGtfWriting, GTF_writing);
  EXPECT_EQ(xen::kGtfPwt, GTF_PWT);
  EXPECT_EQ(xen::kGtfPcd, GTF_PCD);
  EXPECT_EQ(xen::kGtfPat, GTF_PAT);
  EXPECT_EQ(xen::kGtfSubPage, GTF_sub_page);
  EXPECT_EQ(xen::kGtfTransferCommitted, GTF_transfer_committed);
  EXPECT_EQ(xen::kGtfTransferCompleted, GTF_transfer_completed);
}

TEST(GrantAbi, MapAndCopyFlags) {
  EXPECT_EQ(xen::kGntmapDeviceMap, static_cast<std::uint32_t>(GNTMAP_device_map));
  EXPECT_EQ(xen::kGntmapHostMap, static_cast<std::uint32_t>(GNTMAP_host_map));
  EXPECT_EQ(xen::kGntmapReadonly, static_cast<std::uint32_t>(GNTMAP_readonly));
  EXPECT_EQ(xen::kGntmapApplicationMap, static_cast<std::uint32_t>(GNTMAP_application_map));
  EXPECT_EQ(xen::kGntmapContainsPte, static_cast<std::uint32_t>(GNTMAP_contains_pte));
  EXPECT_EQ(xen::kGntmapGuestAvailMask, static_cast<std::uint32_t>(GNTMAP_guest_avail_mask));
  EXPECT_EQ(xen::kGntcopySourceGref, GNTCOPY_source_gref);
  EXPECT_EQ(xen::kGntcopyDestGref, GNTCOPY_dest_gref);
}

TEST(GrantAbi, StatusCodes) {
  EXPECT_EQ(guest_value(GrantStatus::Okay), GNTST_okay);
  EXPECT_EQ(guest_value(GrantStatus::GeneralError), GNTST_general_error);
  EXPECT_EQ(guest_value(GrantStatus::BadDomain), GNTST_bad_domain);
  EXPECT_EQ(guest_value(GrantStatus::BadGntref), GNTST_bad_gntref);
  EXPECT_EQ(guest_value(GrantStatus::BadHandle), GNTST_bad_handle);
  EXPECT_EQ(guest_value(GrantStatus::BadVirtAddr), GNTST_bad_virt_addr);
  EXPECT_EQ(guest_value(GrantStatus::BadDevAddr), GNTST_bad_dev_addr);
  EXPECT_EQ(guest_value(GrantStatus::NoDeviceSpace), GNTST_no_device_space);
  EXPECT_EQ(guest_value(GrantStatus::PermissionDenied), GNTST_permission_denied);
  EXPECT_EQ(guest_value(GrantStatus::BadPage), GNTST_bad_page);
  EXPECT_EQ(guest_value(GrantStatus::BadCopyArg), GNTST_bad_copy_arg);
  EXPECT_EQ(guest_value(GrantStatus::AddressTooBig), GNTST_address_too_big);
  EXPECT_EQ(guest_value(GrantStatus::Eagain), GNTST_eagain);
  EXPECT_EQ(guest_value(GrantStatus::NoSpace), GNTST_no_space);
  // Xen's table of messages has one entry per code, 0 down to the last: no code is missing.
  static const char* const kMsgs[] = GNTTABOP_error_msgs;
  EXPECT_EQ(sizeof(kMsgs) / sizeof(kMsgs[0]), static_cast<std::size_t>(-guest_value(GrantStatus::NoSpace)) + 1);
}

TEST(GrantAbi, ErrnoMappingIsAlwaysNegativeOrOkay) {
  for (int e = 0; e < 130; ++e) {
    const GrantStatus s = to_grant_status(static_cast<Errno>(e));
    if (e == 0) {
      EXPECT_EQ(s, GrantStatus::Okay);
    } else {
      EXPECT_LT(guest_value(s), 0) << e;
      EXPECT_GE(guest_value(s), GNTST_no_space) << e;
    }
  }
}

TEST(GrantAbi, SharedEntries) {
  EXPECT_SAME_LAYOUT(xen::GrantEntryV1, grant_entry_v1_t);
  EXPECT_SAME_FIELD(xen::GrantEntryV1, flags, grant_entry_v1_t, flags);
  EXPECT_SAME_FIELD(xen::GrantEntryV1, domid, grant_entry_v1_t, domid);
  EXPECT_SAME_FIELD(xen::GrantEntryV1, frame, grant_entry_v1_t, frame);
  EXPECT_SAME_LAYOUT(xen::GrantEntryHeader, grant_entry_header_t);
  EXPECT_SAME_FIELD(xen::GrantEntryHeader, flags, grant_entry_header_t, flags);
  EXPECT_SAME_FIELD(xen::GrantEntryHeader, domid, grant_entry_header_t, domid);
  EXPECT_SAME_LAYOUT(xen::GrantEntryV2, grant_entry_v2_t);
  EXPECT_EQ(offsetof(xen::GrantEntryV2FullPage, frame), offsetof(grant_entry_v2_t, full_page.frame));
  EXPECT_EQ(offsetof(xen::GrantEntryV2FullPage, pad0), offsetof(grant_entry_v2_t, full_page.pad0));
  EXPECT_EQ(offsetof(xen::GrantEntryV2SubPage, page_off), offsetof(grant_entry_v2_t, sub_page.page_off));
  EXPECT_EQ(offsetof(xen::GrantEntryV2SubPage, length), offsetof(grant_entry_v2_t, sub_page.length));
  EXPECT_EQ(offsetof(xen::GrantEntryV2SubPage, frame), offsetof(grant_entry_v2_t, sub_page.frame));
  EXPECT_EQ(offsetof(xen::GrantEntryV2Transitive, trans_domid),
            offsetof(grant_entry_v2_t, transitive.trans_domid));
  EXPECT_EQ(offsetof(xen::GrantEntryV2Transitive, gref), offsetof(grant_entry_v2_t, transitive.gref));
  EXPECT_EQ(sizeof(xen::GrantStatusEntry), sizeof(grant_status_t));
  EXPECT_EQ(grant::kEntriesPerFrameV1, 4096 / sizeof(grant_entry_v1_t));
  EXPECT_EQ(grant::kEntriesPerFrameV2, 4096 / sizeof(grant_entry_v2_t));
  EXPECT_EQ(grant::kStatusPerFrame, 4096 / sizeof(grant_status_t));
}

TEST(GrantAbi, HeaderWordMatchesTheHeaderLayout) {
  grant_entry_header_t h{};
  h.flags = GTF_permit_access | GTF_readonly;
  h.domid = 0x1234;
  std::uint32_t word = 0;
  std::memcpy(&word, &h, sizeof(word));
  const grant::HeaderWord w{word};
  EXPECT_EQ(w.flags(), h.flags);
  EXPECT_EQ(w.domid(), DomId{0x1234});
  EXPECT_TRUE(w.readonly());
  EXPECT_EQ(grant::HeaderWord::make(h.flags, DomId{h.domid}).raw(), word);
}

// In C++ the nested C struct is gnttab_copy::gnttab_copy_ptr.
using XenCopyPtr = decltype(gnttab_copy_t::source);

TEST(GrantAbi, RequestStructs) {
  EXPECT_SAME_LAYOUT(xen::GnttabMapGrantRef, gnttab_map_grant_ref_t);
  EXPECT_SAME_FIELD(xen::GnttabMapGrantRef, host_addr, gnttab_map_grant_ref_t, host_addr);
  EXPECT_SAME_FIELD(xen::GnttabMapGrantRef, flags, gnttab_map_grant_ref_t, flags);
  EXPECT_SAME_FIELD(xen::GnttabMapGrantRef, ref, gnttab_map_grant_ref_t, ref);
  EXPECT_SAME_FIELD(xen::GnttabMapGrantRef, dom, gnttab_map_grant_ref_t, dom);
  EXPECT_SAME_FIELD(xen::GnttabMapGrantRef, status, gnttab_map_grant_ref_t, status);
  EXPECT_SAME_FIELD(xen::GnttabMapGrantRef, handle, gnttab_map_grant_ref_t, handle);
  EXPECT_SAME_FIELD(xen::GnttabMapGrantRef, dev_bus_addr, gnttab_map_grant_ref_t, dev_bus_addr);

  EXPECT_SAME_LAYOUT(xen::GnttabUnmapGrantRef, gnttab_unmap_grant_ref_t);
  EXPECT_SAME_FIELD(xen::GnttabUnmapGrantRef, host_addr, gnttab_unmap_grant_ref_t, host_addr);
  EXPECT_SAME_FIELD(xen::GnttabUnmapGrantRef, dev_bus_addr, gnttab_unmap_grant_ref_t, dev_bus_addr);
  EXPECT_SAME_FIELD(xen::GnttabUnmapGrantRef, handle, gnttab_unmap_grant_ref_t, handle);
  EXPECT_SAME_FIELD(xen::GnttabUnmapGrantRef, status, gnttab_unmap_grant_ref_t, status);

  EXPECT_SAME_LAYOUT(xen::GnttabSetupTable, gnttab_setup_table_t);
  EXPECT_SAME_FIELD(xen::GnttabSetupTable, dom, gnttab_setup_table_t, dom);
  EXPECT_SAME_FIELD(xen::GnttabSetupTable, nr_frames, gnttab_setup_table_t, nr_frames);
  EXPECT_SAME_FIELD(xen::GnttabSetupTable, status, gnttab_setup_table_t, status);
  EXPECT_SAME_FIELD(xen::GnttabSetupTable, frame_list, gnttab_setup_table_t, frame_list);

  EXPECT_SAME_LAYOUT(xen::GnttabDumpTable, gnttab_dump_table_t);
  EXPECT_SAME_FIELD(xen::GnttabDumpTable, dom, gnttab_dump_table_t, dom);
  EXPECT_SAME_FIELD(xen::GnttabDumpTable, status, gnttab_dump_table_t, status);

  EXPECT_SAME_LAYOUT(xen::GnttabTransfer, gnttab_transfer_t);
  EXPECT_SAME_FIELD(xen::GnttabTransfer, mfn, gnttab_transfer_t, mfn);
  EXPECT_SAME_FIELD(xen::GnttabTransfer, domid, gnttab_transfer_t, domid);
  EXPECT_SAME_FIELD(xen::GnttabTransfer, ref, gnttab_transfer_t, ref);
  EXPECT_SAME_FIELD(xen::GnttabTransfer, status, gnttab_transfer_t, status);

  EXPECT_SAME_LAYOUT(xen::GnttabCopyPtr, XenCopyPtr);
  EXPECT_SAME_FIELD(xen::GnttabCopyPtr, u, XenCopyPtr, u);
  EXPECT_SAME_FIELD(xen::GnttabCopyPtr, domid, XenCopyPtr, domid);
  EXPECT_SAME_FIELD(xen::GnttabCopyPtr, offset, XenCopyPtr, offset);
  EXPECT_EQ(offsetof(xen::GnttabCopyPtr, u.ref), offsetof(XenCopyPtr, u.ref));
  EXPECT_EQ(offsetof(xen::GnttabCopyPtr, u.gmfn), offsetof(XenCopyPtr, u.gmfn));
  EXPECT_SAME_LAYOUT(xen::GnttabCopy, gnttab_copy_t);
  EXPECT_SAME_FIELD(xen::GnttabCopy, source, gnttab_copy_t, source);
  EXPECT_SAME_FIELD(xen::GnttabCopy, dest, gnttab_copy_t, dest);
  EXPECT_SAME_FIELD(xen::GnttabCopy, len, gnttab_copy_t, len);
  EXPECT_SAME_FIELD(xen::GnttabCopy, flags, gnttab_copy_t, flags);
  EXPECT_SAME_FIELD(xen::GnttabCopy, status, gnttab_copy_t, status);

  EXPECT_SAME_LAYOUT(xen::GnttabQuerySize, gnttab_query_size_t);
  EXPECT_SAME_FIELD(xen::GnttabQuerySize, dom, gnttab_query_size_t, dom);
  EXPECT_SAME_FIELD(xen::GnttabQuerySize, nr_frames, gnttab_query_size_t, nr_frames);
  EXPECT_SAME_FIELD(xen::GnttabQuerySize, max_nr_frames, gnttab_query_size_t, max_nr_frames);
  EXPECT_SAME_FIELD(xen::GnttabQuerySize, status, gnttab_query_size_t, status);

  EXPECT_SAME_LAYOUT(xen::GnttabUnmapAndReplace, gnttab_unmap_and_replace_t);
  EXPECT_SAME_FIELD(xen::GnttabUnmapAndReplace, host_addr, gnttab_unmap_and_replace_t, host_addr);
  EXPECT_SAME_FIELD(xen::GnttabUnmapAndReplace, new_addr, gnttab_unmap_and_replace_t, new_addr);
  EXPECT_SAME_FIELD(xen::GnttabUnmapAndReplace, handle, gnttab_unmap_and_replace_t, handle);
  EXPECT_SAME_FIELD(xen::GnttabUnmapAndReplace, status, gnttab_unmap_and_replace_t, status);

  EXPECT_SAME_LAYOUT(xen::GnttabSetVersion, gnttab_set_version_t);
  EXPECT_SAME_FIELD(xen::GnttabSetVersion, version, gnttab_set_version_t, version);

  EXPECT_SAME_LAYOUT(xen::GnttabGetStatusFrames, gnttab_get_status_frames_t);
  EXPECT_SAME_FIELD(xen::GnttabGetStatusFrames, nr_frames, gnttab_get_status_frames_t, nr_frames);
  EXPECT_SAME_FIELD(xen::GnttabGetStatusFrames, dom, gnttab_get_status_frames_t, dom);
  EXPECT_SAME_FIELD(xen::GnttabGetStatusFrames, status, gnttab_get_status_frames_t, status);
  EXPECT_SAME_FIELD(xen::GnttabGetStatusFrames, frame_list, gnttab_get_status_frames_t, frame_list);

  EXPECT_SAME_LAYOUT(xen::GnttabGetVersion, gnttab_get_version_t);
  EXPECT_SAME_FIELD(xen::GnttabGetVersion, dom, gnttab_get_version_t, dom);
  EXPECT_SAME_FIELD(xen::GnttabGetVersion, pad, gnttab_get_version_t, pad);
  EXPECT_SAME_FIELD(xen::GnttabGetVersion, version, gnttab_get_version_t, version);

  EXPECT_SAME_LAYOUT(xen::GnttabSwapGrantRef, gnttab_swap_grant_ref_t);
  EXPECT_SAME_FIELD(xen::GnttabSwapGrantRef, ref_a, gnttab_swap_grant_ref_t, ref_a);
  EXPECT_SAME_FIELD(xen::GnttabSwapGrantRef, ref_b, gnttab_swap_grant_ref_t, ref_b);
  EXPECT_SAME_FIELD(xen::GnttabSwapGrantRef, status, gnttab_swap_grant_ref_t, status);
}

TEST(GrantAbi, PinCounterLayout) {
  // Four 8-bit counters; the overflow guard is each counter's top bit.
  grant::PinCounts p;
  p.raw = grant::PinCounts::kHostWriteInc * 3 + grant::PinCounts::kHostReadInc * 5 +
          grant::PinCounts::kDevWriteInc * 7 + grant::PinCounts::kDevReadInc * 9;
  EXPECT_EQ(p.host_write(), 3u);
  EXPECT_EQ(p.host_read(), 5u);
  EXPECT_EQ(p.dev_write(), 7u);
  EXPECT_EQ(p.dev_read(), 9u);
  EXPECT_FALSE(p.would_overflow());
  p.raw += grant::PinCounts::kDevReadInc * 0x77;  // dev_read = 0x80
  EXPECT_TRUE(p.would_overflow());
}

}  // namespace
}  // namespace pvkit
