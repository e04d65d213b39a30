// pvkit/event/shared_info_abi.h — Xen's shared_info and vcpu_info pages (xen.h, arch-x86).
//
// What it is: pvkit's own layouts of `struct shared_info` / `struct vcpu_info` for 64-bit PV
// guests (SharedInfo, VcpuInfo) and for 32-bit (compat) PV guests (CompatSharedInfo,
// CompatVcpuInfo). The event-channel 2-level ABI lives in them: per-vCPU upcall_pending,
// upcall_mask and pending_sel; per-domain pending and mask bitmaps. The 64-bit layouts are
// checked against /usr/include/xen by //lib/event:abi_conformance_test; the compat ones
// against Xen's documented offsets (static_asserts below).
//
// How to use it: the domain builder owns the shared_info page and hands its address to
// EventChannels::domain_create. The event code never reads or writes these fields as plain
// members: every access goes through pvkit/event/guest_atomic.h, because the guest writes the
// same words concurrently.
//
// Concurrency: guest-shared memory; see guest_atomic.h.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pvkit::xen {

/// XEN_LEGACY_MAX_VCPUS: vcpu_info slots inside shared_info (x86).
inline constexpr std::uint32_t kLegacyMaxVcpus = 32;

/// vcpu_time_info_t (32 bytes).
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
  std::uint64_t cr2;
  std::uint64_t pad;
};

/// vcpu_info_t for a 64-bit guest (64 bytes).
struct VcpuInfo {
  std::uint8_t evtchn_upcall_pending;  ///< set by the hypervisor, cleared by the guest
  std::uint8_t evtchn_upcall_mask;     ///< guest-owned: non-zero blocks upcalls
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

/// shared_info_t for a 64-bit guest.
struct SharedInfo {
  VcpuInfo vcpu_info[kLegacyMaxVcpus];
  std::uint64_t evtchn_pending[64];  ///< 2-level pending bitmap (guest clears bits)
  std::uint64_t evtchn_mask[64];     ///< 2-level mask bitmap (guest-owned)
  std::uint32_t wc_version;
  std::uint32_t wc_sec;
  std::uint32_t wc_nsec;
  std::uint32_t wc_sec_hi;
  ArchSharedInfo arch;
};

/// compat (32-bit guest) arch_vcpu_info.
struct CompatArchVcpuInfo {
  std::uint32_t cr2;
  std::uint32_t pad[5];
};

/// compat vcpu_info (64 bytes): the selector is 32 bits wide.
struct CompatVcpuInfo {
  std::uint8_t evtchn_upcall_pending;
  std::uint8_t evtchn_upcall_mask;
  std::uint16_t pad;
  std::uint32_t evtchn_pending_sel;
  CompatArchVcpuInfo arch;
  VcpuTimeInfo time;
};

/// compat shared_info: 32 words of 32 bits each for pending and mask (1024 ports).
struct CompatSharedInfo {
  CompatVcpuInfo vcpu_info[kLegacyMaxVcpus];
  std::uint32_t evtchn_pending[32];
  std::uint32_t evtchn_mask[32];
  std::uint32_t wc_version;
  std::uint32_t wc_sec;
  std::uint32_t wc_nsec;
  std::uint32_t arch[7];  // compat arch_shared_info (six words) + wc_sec_hi
};

static_assert(sizeof(VcpuTimeInfo) == 32);
static_assert(sizeof(VcpuInfo) == 64);
static_assert(offsetof(VcpuInfo, evtchn_pending_sel) == 8);
static_assert(sizeof(CompatVcpuInfo) == 64);
static_assert(offsetof(CompatVcpuInfo, evtchn_pending_sel) == 4);
static_assert(offsetof(SharedInfo, evtchn_pending) == 2048);
static_assert(offsetof(SharedInfo, evtchn_mask) == 2560);
static_assert(offsetof(CompatSharedInfo, evtchn_pending) == 2048);
static_assert(offsetof(CompatSharedInfo, evtchn_mask) == 2176);
static_assert(sizeof(SharedInfo) <= 4096 && sizeof(CompatSharedInfo) <= 4096);

}  // namespace pvkit::xen
