// pvkit/guest/xen_shared_info_abi.h — the shared_info page and vcpu_info (xen.h, arch-x86),
// 64-bit PV layout: the 2-level event-channel bitmaps and the per-vCPU upcall state.
//
// What it is: the guest library's own layouts with named fields, checked against
// /usr/include/xen by //guest/test:abi_conformance_test.
//
// How to use it: map the page with map_shared_info() (pvkit/guest/shared_info.h), then read
// and write the event fields only through pvkit/guest/event_dispatch.h, which uses atomic
// accesses.
//
// Concurrency: the hypervisor sets pending bits, upcall_pending and pending_sel at any time,
// from any CPU; every access to these fields must be atomic.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pvkit::guest::xen {

/// XEN_LEGACY_MAX_VCPUS (x86).
inline constexpr std::uint32_t kLegacyMaxVcpus = 32;
/// 2-level ABI on a 64-bit guest: 64 words of 64 bits.
inline constexpr std::uint32_t kEvtchnWords = 64;
inline constexpr std::uint32_t kEvtchnBitsPerWord = 64;
inline constexpr std::uint32_t kEvtchn2LevelPorts = kEvtchnWords * kEvtchnBitsPerWord;

/// vcpu_time_info_t.
struct VcpuTimeInfo {
  std::uint32_t version;
  std::uint32_t pad0;
  std::uint64_t tsc_timestamp;
  std::uint64_t system_time;
  std::uint32_t tsc_to_system_mul;
  std::int8_t tsc_shift;
  std::uint8_t flags;
  std::uint8_t pad1[2];
};

/// arch_vcpu_info_t (x86-64).
struct ArchVcpuInfo {
  std::uint64_t cr2;  ///< faulting address of the last bounced page fault
  std::uint64_t pad;
};

/// struct vcpu_info (64 bytes).
struct VcpuInfo {
  std::uint8_t evtchn_upcall_pending;  ///< set by Xen, cleared by the guest's handler
  std::uint8_t evtchn_upcall_mask;     ///< guest-owned: non-zero blocks upcalls ("cli")
  std::uint64_t evtchn_pending_sel;    ///< bit w: pending word w may have work
  ArchVcpuInfo arch;
  VcpuTimeInfo time;
};

/// arch_shared_info_t (x86-64).
struct ArchSharedInfo {
  std::uint64_t max_pfn;
  std::uint64_t pfn_to_mfn_frame_list_list;
  std::uint64_t nmi_reason;
  std::uint64_t p2m_cr3;
  std::uint64_t p2m_vaddr;
  std::uint64_t p2m_generation;
};

/// struct shared_info (x86-64).
struct SharedInfo {
  VcpuInfo vcpu_info[kLegacyMaxVcpus];
  std::uint64_t evtchn_pending[kEvtchnWords];  ///< set by Xen, cleared by the guest
  std::uint64_t evtchn_mask[kEvtchnWords];     ///< guest-owned
  std::uint32_t wc_version;
  std::uint32_t wc_sec;
  std::uint32_t wc_nsec;
  std::uint32_t wc_sec_hi;
  ArchSharedInfo arch;
};

static_assert(sizeof(VcpuInfo) == 64);
static_assert(offsetof(SharedInfo, evtchn_pending) == 2048);
static_assert(sizeof(SharedInfo) <= 4096);

}  // namespace pvkit::guest::xen
