// pvkit/domain/domain.h — one domain's core state: identity, privilege, memory, vCPUs, life cycle.
//
// What it is: `Domain` holds what every area needs to know about a guest: its DomId, whether it
// is privileged (dom0-like: may act on every domain) or privileged over one target domain only,
// its memory allowance (max_pages) and how many frames it owns (tot_pages), its vCPU count,
// its life-cycle state (Running -> Dying -> Dead), and per-vCPU page-table roots that the PV
// verifier (pvkit/mm) maintains. Domains live in a fixed-capacity `DomainTable`
// (pvkit/domain/domain_table.h); no heap is used.
//
// How to use it: get a `Domain*` from `DomainTable::create/find`. Areas read `id`, `privileged`,
// `state`, `nr_vcpus`; only pvkit/mm's frame database changes `tot_pages` and the vCPU roots.
// `can_act_on(other)` is the privilege test for foreign operations (foreigndom, IS_PRIV_FOR).
//
// Concurrency: identity, privilege and nr_vcpus are set once at creation. `tot_pages`, the
// vCPU roots, the list of owned frames and the teardown cursor are protected by the pvkit/mm
// verifier's lock; `state` is atomic so that other areas may test it without that lock (a Dying domain accepts no new
// mappings, bindings or grants).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "pvkit/base/types.h"

namespace pvkit {

/// Upper bound on vCPUs per domain (per-vCPU state is a fixed array; VcpuMask is one word).
inline constexpr std::uint32_t kMaxVcpusPerDomain = 64;

/// "No frame" in the links of a domain's list of owned frames (`Domain::owned_head/tail`,
/// pvkit/mm's FrameInfo::owned_prev/owned_next); every machine frame number is below it.
inline constexpr std::uint32_t kNoFrameLink = 0xFFFF'FFFFu;

/// Life cycle: Running until destruction starts; Dying while teardown releases references;
/// Dead once the domain owns no frame and holds no reference (its slot may then be reused).
enum class DomainState : std::uint8_t { Running, Dying, Dead };

/// Page-table roots of one vCPU (Xen's guest_table / guest_table_user), owned by pvkit/mm.
/// A root holds one general and one L4-type reference on its frame while `has_*` is set.
struct VcpuMmState {
  Mfn kernel_root{};
  Mfn user_root{};
  bool has_kernel_root = false;
  bool has_user_root = false;
};

/// Creation parameters for a domain.
struct DomainConfig {
  bool privileged = false;         ///< dom0-like: may operate on every domain
  bool has_target = false;         ///< privileged over `target` only (Xen's IS_PRIV_FOR)
  DomId target{};                  ///< meaningful when has_target
  std::uint64_t max_pages = 0;     ///< memory allowance in frames
  std::uint32_t nr_vcpus = 1;      ///< 1..kMaxVcpusPerDomain
};

/// Per-domain core state. Not copyable: areas keep pointers to it.
struct Domain {
  Domain() = default;
  Domain(const Domain&) = delete;
  Domain& operator=(const Domain&) = delete;

  DomId id{};
  bool privileged = false;
  bool has_target = false;
  DomId target{};
  std::uint64_t max_pages = 0;
  /// Frames this domain currently owns (maintained by the frame database).
  std::uint64_t tot_pages = 0;
  /// Every frame whose owner is this domain in pvkit/mm's frame database (its allocation,
  /// frames kept alive by others' references, hypervisor frames shared with it), as an
  /// intrusive doubly linked list of frame numbers threaded through the frames' FrameInfo
  /// (Xen's d->page_list): teardown walks it instead of the whole machine. Maintained only by
  /// the frame database, O(1) per ownership change; empty = kNoFrameLink.
  std::uint32_t owned_head = kNoFrameLink;
  std::uint32_t owned_tail = kNoFrameLink;
  /// Number of frames on that list (tot_pages plus the shared hypervisor frames).
  std::uint64_t owned_count = 0;
  std::uint32_t nr_vcpus = 0;
  std::atomic<DomainState> state{DomainState::Dead};
  std::array<VcpuMmState, kMaxVcpusPerDomain> vcpu_mm{};

  /// Teardown progress (pvkit/mm/domain_teardown.h): phase, and the next frame of the owned
  /// list the current phase visits (the frame database moves it on if that frame leaves the
  /// list meanwhile).
  std::uint32_t teardown_phase = 0;
  std::uint64_t teardown_cursor = 0;

  /// True while the domain runs (not yet dying).
  [[nodiscard]] bool is_running() const { return state.load(std::memory_order_acquire) == DomainState::Running; }
  /// True once destruction has begun.
  [[nodiscard]] bool is_dying() const { return state.load(std::memory_order_acquire) == DomainState::Dying; }
  /// True if `v` is one of the domain's vCPUs.
  [[nodiscard]] bool valid_vcpu(VcpuId v) const { return v.value() < nr_vcpus; }

  /// True if this domain may perform foreign operations on `other` (itself always).
  [[nodiscard]] bool can_act_on(const Domain& other) const {
    if (&other == this) return true;
    if (privileged) return true;
    return has_target && target == other.id;
  }
};

}  // namespace pvkit
