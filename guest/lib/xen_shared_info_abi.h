// pvkit/guest/xen_shared_info_abi.h — the shared_info page and vcpu_info (xen.h, arch-x86),
// 64-bit PV layout: the 2-level event-channel bitmaps and the per-vCPU upcall state.
//
// What it is: the guest library's names for pvkit's own layouts (pvkit/event/shared_info_abi.h,
// the page the hypervisor's event code writes), plus the 2-level geometry of a 64-bit guest.
// //guest/test:abi_conformance_test checks them against /usr/include/xen.
//
// How to use it: map the page with init_events() (pvkit/guest/events.h), then read and write
// the event fields only through pvkit/guest/event_dispatch.h, which uses atomic accesses.
//
// Concurrency: the hypervisor sets pending bits, upcall_pending and pending_sel at any time,
// from any CPU; every access to these fields must be atomic.
#pragma once

#include <cstdint>

#include "pvkit/event/shared_info_abi.h"

namespace pvkit::guest::xen {

using pvkit::xen::ArchSharedInfo;
using pvkit::xen::ArchVcpuInfo;
using pvkit::xen::kLegacyMaxVcpus;
using pvkit::xen::SharedInfo;
using pvkit::xen::VcpuInfo;
using pvkit::xen::VcpuTimeInfo;

/// 2-level ABI on a 64-bit guest: 64 words of 64 bits (4096 ports).
inline constexpr std::uint32_t kEvtchnBitsPerWord = 64;
inline constexpr std::uint32_t kEvtchnWords =
    sizeof(SharedInfo::evtchn_pending) / sizeof(SharedInfo::evtchn_pending[0]);
inline constexpr std::uint32_t kEvtchn2LevelPorts = kEvtchnWords * kEvtchnBitsPerWord;
static_assert(kEvtchnWords == 64);

}  // namespace pvkit::guest::xen
