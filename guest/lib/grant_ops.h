// pvkit/guest/grant_ops.h — grant-table hypercalls of a guest kernel: set up its own v1
// table, map a peer's grant at a kernel page, unmap it.
//
// What it is:
//   setup_grant_table(table, slots, nr_frames): GNTTABOP_setup_table for DOMID_SELF, then
//     maps each returned frame at slots[i] with update_va_mapping and attaches `table`.
//   grant_map(dom, ref, slot, readonly): GNTTABOP_map_grant_ref (GNTMAP_host_map) at the
//     virtual address of `slot`; answers the hypercall rc, the GNTST status and the handle.
//   grant_unmap(handle, slot): GNTTABOP_unmap_grant_ref of that host mapping; answers the
//     hypercall rc and the GNTST status.
//
// How to use it:
//   constinit PageSlot gnttab_frames[1]{};
//   constinit GrantTable<512> gt;
//   if (auto s = setup_grant_table(gt, gnttab_frames, 1); !s) ...
//   GrantMapping m = grant_map(peer, ref, &ring_slot, false);  if (!m.ok()) ...
//
// Concurrency: hypercalls on the calling vCPU.
#pragma once

#include <cstdint>

#include "pvkit/base/status.h"
#include "pvkit/guest/grant_table.h"
#include "pvkit/guest/hypercall.h"
#include "pvkit/guest/layout.h"
#include "pvkit/guest/memory.h"
#include "pvkit/guest/xen_grant_abi.h"

namespace pvkit::guest {

/// Most grant frames setup_grant_table asks for at once.
inline constexpr std::uint32_t kMaxGrantSetupFrames = 4;

/// Sets up `nr_frames` v1 grant frames, maps them at `slots[0..nr_frames)` and attaches
/// `table` to them. A GNTST failure of the hypercall is reported as Errno::Inval.
template <std::uint32_t NrEntries>
Status setup_grant_table(GrantTable<NrEntries>& table, PageSlot* slots, std::uint32_t nr_frames) {
  if (nr_frames == 0 || nr_frames > kMaxGrantSetupFrames ||
      nr_frames * xen::kGrantEntriesPerFrameV1 > NrEntries) {
    return Errno::Inval;
  }
  std::uint64_t frames[kMaxGrantSetupFrames] = {};
  xen::GnttabSetupTable op{};
  op.dom = xen::kDomIdSelf;
  op.nr_frames = nr_frames;
  op.frame_list = va_of(frames);
  const long rc = HYPERVISOR_grant_table_op(xen::kGnttabOpSetupTable, &op, 1);
  if (rc < 0) return status_from_rc(rc);
  if (op.status != static_cast<std::int16_t>(xen::GntStatus::Okay)) return Errno::Inval;
  for (std::uint32_t i = 0; i < nr_frames; ++i) {
    if (auto s = map_frame(&slots[i], frames[i], true); !s) return s;
  }
  return table.attach(reinterpret_cast<xen::GrantEntryV1*>(slots),
                      nr_frames * xen::kGrantEntriesPerFrameV1);
}

/// The outcome of one map_grant_ref.
struct GrantMapping {
  long rc = 0;                                ///< the hypercall's own result
  std::int16_t status = 0;                    ///< GNTST_* of the element
  xen::GrantHandle handle = 0;                ///< valid when ok()
  /// True if both the hypercall and the element succeeded.
  [[nodiscard]] bool ok() const { return rc == 0 && status == 0; }
};

/// Maps grant `ref` of domain `dom` at the page `slot` (host mapping).
inline GrantMapping grant_map(xen::DomId dom, xen::GrantRef ref, PageSlot* slot, bool readonly) {
  xen::GnttabMapGrantRef op{};
  op.host_addr = va_of(slot);
  op.flags = xen::kGntmapHostMap | (readonly ? xen::kGntmapReadonly : 0);
  op.ref = ref;
  op.dom = dom;
  op.status = static_cast<std::int16_t>(xen::GntStatus::GeneralError);
  GrantMapping out;
  out.rc = HYPERVISOR_grant_table_op(xen::kGnttabOpMapGrantRef, &op, 1);
  out.status = op.status;
  out.handle = op.handle;
  return out;
}

/// The outcome of one unmap_grant_ref.
struct GrantUnmapping {
  long rc = 0;              ///< the hypercall's own result
  std::int16_t status = 0;  ///< GNTST_* of the element
  /// True if both the hypercall and the element succeeded.
  [[nodiscard]] bool ok() const { return rc == 0 && status == 0; }
};

/// Unmaps the host mapping `handle` at `slot` (the slot is unmapped afterwards).
inline GrantUnmapping grant_unmap(xen::GrantHandle handle, PageSlot* slot) {
  xen::GnttabUnmapGrantRef op{};
  op.host_addr = va_of(slot);
  op.dev_bus_addr = 0;
  op.handle = handle;
  op.status = static_cast<std::int16_t>(xen::GntStatus::GeneralError);
  GrantUnmapping out;
  out.rc = HYPERVISOR_grant_table_op(xen::kGnttabOpUnmapGrantRef, &op, 1);
  out.status = op.status;
  return out;
}

}  // namespace pvkit::guest
