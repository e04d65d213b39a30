// pvkit/ring/xen_abi.h — pvkit's own definitions of the io/ring.h shared-ring page header and
// of the grant status codes the split-driver helpers translate.
//
// What it is: the fixed 64-byte header at the start of every Xen shared ring page
// (`SharedRingHeader`: req_prod, req_event, rsp_prod, rsp_event, 4 private bytes, 44 bytes of
// padding), the ring index type, and Xen's GNTST_* values. Written from the ABI facts in Xen's
// public headers; lib/ring/abi_conformance_test.cc checks every size, offset and value against
// <xen/io/ring.h> and <xen/grant_table.h>.
//
// How to use it: do not access the header fields directly; FrontRing / BackRing
// (front_ring.h, back_ring.h) read and write them with the right atomicity and barriers.
//
// Concurrency: a layout only. The header lives in memory shared with another domain.
#pragma once

#include <cstddef>
#include <cstdint>

#include "pvkit/grant/grant_status.h"

namespace pvkit::xen {

/// Xen's RING_IDX: a free-running 32-bit index, masked with (ring size - 1) to find a slot.
using RingIdx = std::uint32_t;

/// The first 64 bytes of a shared ring page (the non-array part of `struct X_sring`).
struct SharedRingHeader {
  RingIdx req_prod;   ///< written by the frontend: one past the last published request
  RingIdx req_event;  ///< written by the backend: notify me when req_prod passes this
  RingIdx rsp_prod;   ///< written by the backend: one past the last published response
  RingIdx rsp_event;  ///< written by the frontend: notify me when rsp_prod passes this
  std::uint8_t pvt[4];    ///< protocol-private byte(s) (netif smartpoll_active, ...)
  std::uint8_t pad[44];   ///< padding up to 64 bytes
};
static_assert(sizeof(SharedRingHeader) == 64);
static_assert(alignof(SharedRingHeader) == 4);
static_assert(offsetof(SharedRingHeader, req_prod) == 0);
static_assert(offsetof(SharedRingHeader, req_event) == 4);
static_assert(offsetof(SharedRingHeader, rsp_prod) == 8);
static_assert(offsetof(SharedRingHeader, rsp_event) == 12);
static_assert(offsetof(SharedRingHeader, pvt) == 16);
static_assert(offsetof(SharedRingHeader, pad) == 20);

/// Ring protocols always use 4 KiB pages (io/ring.h's XEN_PAGE_SHIFT).
inline constexpr unsigned kXenPageShift = 12;
inline constexpr std::size_t kXenPageSize = std::size_t{1} << kXenPageShift;

/// Xen's GNTST_* per-operation grant status codes (grant_table.h), always <= 0; the one
/// definition is lib/grant's GrantStatus.
using GntStatus = ::pvkit::GrantStatus;

}  // namespace pvkit::xen
