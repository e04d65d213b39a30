// pvkit/base/types.h — the strong types for every address space and identifier in pvkit.
//
// What it is: distinct types for machine frames (Mfn), guest pseudo-physical frames (Gfn),
// guest virtual addresses (VirtAddr), machine addresses (MachAddr), domain ids (DomId),
// vCPU ids (VcpuId), event-channel ports (EvtchnPort), grant references (GrantRef) and grant
// maptrack handles (GrantHandle). Their widths follow Xen's x86-64 ABI (domid_t is 16 bits,
// evtchn_port_t, grant_ref_t and grant_handle_t are 32 bits, xen_pfn_t is 64 bits).
//
// How to use it: take and return these types in every interface; call `.value()` only where
// the value crosses into a Xen ABI struct or a table index.
//
// Concurrency: value types only.
#pragma once

#include <cstdint>

#include "pvkit/base/strong_id.h"

namespace pvkit {

inline constexpr unsigned kPageShift = 12;
inline constexpr std::uint64_t kPageSize = std::uint64_t{1} << kPageShift;
inline constexpr std::uint64_t kPageMask = ~(kPageSize - 1);

/// Machine frame number: an index of a 4 KiB frame of the real (or simulated) machine.
using Mfn = StrongId<struct MfnTag, std::uint64_t>;
/// Guest (pseudo-)physical frame number, as the guest's phys-to-machine list names it.
using Gfn = StrongId<struct GfnTag, std::uint64_t>;
/// Guest virtual address.
using VirtAddr = StrongId<struct VirtAddrTag, std::uint64_t>;
/// Machine (physical) byte address.
using MachAddr = StrongId<struct MachAddrTag, std::uint64_t>;
/// Domain id (Xen's domid_t).
using DomId = StrongId<struct DomIdTag, std::uint16_t>;
/// vCPU index within a domain.
using VcpuId = StrongId<struct VcpuIdTag, std::uint32_t>;
/// Event-channel port (evtchn_port_t).
using EvtchnPort = StrongId<struct EvtchnPortTag, std::uint32_t>;
/// Grant reference (grant_ref_t).
using GrantRef = StrongId<struct GrantRefTag, std::uint32_t>;
/// Maptrack handle returned by map_grant_ref (grant_handle_t).
using GrantHandle = StrongId<struct GrantHandleTag, std::uint32_t>;

/// Xen's reserved domain ids (xen.h).
inline constexpr DomId kDomidSelf{0x7FF0};
inline constexpr DomId kDomidIo{0x7FF1};
inline constexpr DomId kDomidXen{0x7FF2};
inline constexpr DomId kDomidCow{0x7FF3};
inline constexpr DomId kDomidInvalid{0x7FF4};
inline constexpr DomId kDomidIdle{0x7FFF};
/// Ids below this are ordinary domains.
inline constexpr std::uint16_t kDomidFirstReserved = 0x7FF0;

/// The machine address of the first byte of frame `m`.
constexpr MachAddr to_maddr(Mfn m) { return MachAddr{m.value() << kPageShift}; }
/// The machine frame containing machine address `a`.
constexpr Mfn to_mfn(MachAddr a) { return Mfn{a.value() >> kPageShift}; }

}  // namespace pvkit
