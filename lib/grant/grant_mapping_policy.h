// pvkit/grant/grant_mapping_policy.h — how grant mappings reach the mapper's page tables.
//
// What it is: the `GrantMappingPolicy` concept, implemented by the platform on top of its
// page-table verifier (see platforms/host/grant/ for the adapter to lib/mm):
//   p.install_host_mapping(mapper, m, frame) -> GrantStatus
//       write a grant PTE for `frame` at m.addr (a virtual address, or with m.contains_pte
//       the 8-byte-aligned machine address of the PTE), read-only if m.readonly, user-visible
//       if m.application. The PTE is marked as a grant mapping so that an ordinary page-table
//       update cannot overwrite or drop it (invariant 13). It takes no frame references:
//       the grant code holds those. Errors: BadVirtAddr, GeneralError.
//   p.remove_host_mapping(mapper, m, frame) -> GrantStatus
//       remove the grant PTE at m.addr only if it is present, maps exactly `frame`, and its
//       RW bit matches !m.readonly (invariant 22); otherwise GeneralError and nothing changes.
//   p.release_host_mapping(mapper, m, frame) -> void
//       domain teardown: remove that grant PTE if it is still there; never fails.
//   p.install_device_mapping(mapper, frame, readonly) -> GrantStatus   (IOMMU hook; Okay or
//       NoDeviceSpace), p.remove_device_mapping(mapper, frame) -> void
//   p.flush_tlb(mapper) -> void
//       called once per unmap batch, after the PTEs are gone and BEFORE the frames'
//       references and pins are dropped.
//
// How to use it: `static_assert(GrantMappingPolicy<MyPlatform>)`.
//
// Concurrency: called with the granter's grant lock held; may take page-table and frame
// locks, must never call back into grant tables.
#pragma once

#include <concepts>
#include <cstdint>

#include "pvkit/base/types.h"
#include "pvkit/grant/grant_status.h"

namespace pvkit {

/// A host mapping request or record, as given to map_grant_ref / unmap_grant_ref.
struct GrantHostMapping {
  std::uint64_t addr = 0;         ///< VA, or the PTE's machine address with contains_pte
  VcpuId vcpu{};                  ///< whose page tables a VA refers to (the calling vCPU;
                                  ///< vCPU 0 at domain teardown)
  bool contains_pte = false;      ///< GNTMAP_contains_pte
  bool readonly = false;          ///< GNTMAP_readonly
  bool application = false;       ///< GNTMAP_application_map (user-accessible)
  std::uint16_t cache_flags = 0;  ///< the granter's GTF_PWT/PCD/PAT bits
};

/// How grant mappings reach the mapper's page tables (see the file comment).
template <typename P>
concept GrantMappingPolicy = requires(P& p, DomId d, const GrantHostMapping& m, Mfn f, bool ro) {
  { p.install_host_mapping(d, m, f) } -> std::same_as<GrantStatus>;
  { p.remove_host_mapping(d, m, f) } -> std::same_as<GrantStatus>;
  { p.release_host_mapping(d, m, f) } -> std::same_as<void>;
  { p.install_device_mapping(d, f, ro) } -> std::same_as<GrantStatus>;
  { p.remove_device_mapping(d, f) } -> std::same_as<void>;
  { p.flush_tlb(d) } -> std::same_as<void>;
};

}  // namespace pvkit
