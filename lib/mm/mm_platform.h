// pvkit/mm/mm_platform.h — what the PV page-table verifier needs from its platform.
//
// What it is: the `MmPlatform` concept: access to machine frames as 512 64-bit entries, the
// hypervisor's own L4 slots for a new root, and every TLB duty the verifier or the guest's
// requests cause. `VcpuMask` is the set of a domain's vCPUs a guest flush names.
//
// How to use it: a platform type provides
//   std::uint64_t* frame_entries(Mfn)          // the frame's 512 entries, nullptr if not RAM
//   void fill_xen_l4_slots(Mfn, std::uint64_t*) // write slots 256..271 of a new L4; these
//                                               // entries must be supervisor-only (US=0): PV
//                                               // guest kernels run in ring 3, so nothing
//                                               // reached through them (even via a guest's
//                                               // read-only recursive slot) is guest-visible
//   void flush_tlb_all()                        // hypervisor duty: every vCPU of every domain
//   void flush_tlb(DomId, const VcpuMask&)      // guest-requested full flush of some vCPUs
//   void invlpg(DomId, const VcpuMask&, VirtAddr)
//   void load_root(DomId, VcpuId, Mfn)          // the vCPU's CR3 now names this L4 (a flush)
// The bare-metal platform maps frames through its direct map and issues real flushes (IPIs);
// the host platform (pvkit/platforms/host/machine) simulates memory and TLBs for tests.
//
// Concurrency: called with the verifier's lock held; implementations must not call back into
// the verifier. Entry words are accessed with atomic builtins by the verifier.
#pragma once

#include <array>
#include <concepts>
#include <cstdint>

#include "pvkit/base/types.h"
#include "pvkit/domain/domain.h"

namespace pvkit {

/// A set of vCPUs of one domain (bit v = vCPU v).
struct VcpuMask {
  std::array<std::uint64_t, (kMaxVcpusPerDomain + 63) / 64> bits{};

  /// The mask naming only vCPU `v`.
  static constexpr VcpuMask one(VcpuId v) {
    VcpuMask m;
    if (v.value() < kMaxVcpusPerDomain) m.bits[v.value() / 64] |= std::uint64_t{1} << (v.value() % 64);
    return m;
  }
  /// The mask naming vCPUs 0 .. nr_vcpus-1.
  static constexpr VcpuMask all(std::uint32_t nr_vcpus) {
    VcpuMask m;
    for (std::uint32_t v = 0; v < nr_vcpus && v < kMaxVcpusPerDomain; ++v) {
      m.bits[v / 64] |= std::uint64_t{1} << (v % 64);
    }
    return m;
  }
  /// True if vCPU `v` is in the mask.
  [[nodiscard]] constexpr bool test(VcpuId v) const {
    return v.value() < kMaxVcpusPerDomain && ((bits[v.value() / 64] >> (v.value() % 64)) & 1);
  }
  /// True if no vCPU is named.
  [[nodiscard]] constexpr bool empty() const {
    for (auto w : bits) {
      if (w != 0) return false;
    }
    return true;
  }
};

/// What the page-table verifier needs from its platform (see the file comment).
template <typename P>
concept MmPlatform = requires(P& p, Mfn m, DomId d, VcpuId v, VirtAddr va, const VcpuMask& mask,
                              std::uint64_t* entries) {
  { p.frame_entries(m) } -> std::same_as<std::uint64_t*>;
  { p.fill_xen_l4_slots(m, entries) } -> std::same_as<void>;
  { p.flush_tlb_all() } -> std::same_as<void>;
  { p.flush_tlb(d, mask) } -> std::same_as<void>;
  { p.invlpg(d, mask, va) } -> std::same_as<void>;
  { p.load_root(d, v, m) } -> std::same_as<void>;
};

}  // namespace pvkit
