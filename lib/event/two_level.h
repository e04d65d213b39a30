// pvkit/event/two_level.h — the 2-level event ABI: bitmaps in shared_info, selector in vcpu_info.
//
// What it is: free functions implementing Xen's 2-level delivery on a guest's shared_info and
// vcpu_info, for both layouts (64-bit guests: 64 x 64-bit words = 4096 ports; 32-bit guests:
// 32 x 32-bit words = 1024 ports; pick with the `Layout` parameter, xen::SharedInfo or
// xen::CompatSharedInfo).
//   set_pending: set the port's PENDING bit; if it was already set, stop. Otherwise, if the
//     port is not MASKED and the selector bit of its word goes 0->1, the vCPU needs an upcall
//     (returns true: the caller marks upcall_pending and kicks).
//   unmask: clear MASK (the guest asked for it); if it was masked and the port is pending,
//     redo the selector step.
//   clear_pending: on close, so a re-bound port starts quiet.
// The hypervisor never sets MASK.
//
// How to use it: callers check the port against two_level_nr_ports<Layout>() first.
//
// Concurrency: every guest word is touched with one atomic operation; the guest may change any
// of them at any time, which only ever affects its own notifications.
#pragma once

#include <cstdint>
#include <type_traits>

#include "pvkit/event/guest_atomic.h"
#include "pvkit/event/shared_info_abi.h"

namespace pvkit::event {

/// The word type of a layout's bitmaps (u64 for 64-bit guests, u32 for 32-bit guests).
template <typename Layout>
using TwoLevelWord = std::remove_extent_t<decltype(Layout::evtchn_pending)>;

/// Number of ports the 2-level ABI of `Layout` can address (4096 for 64-bit guests, 1024 for 32-bit).
template <typename Layout>
constexpr std::uint32_t two_level_nr_ports() {
  constexpr std::uint32_t bits = sizeof(TwoLevelWord<Layout>) * 8;
  return bits * (sizeof(Layout::evtchn_pending) / sizeof(TwoLevelWord<Layout>));
}
static_assert(two_level_nr_ports<xen::SharedInfo>() == xen::kEvtchn2lNrChannels);
static_assert(two_level_nr_ports<xen::CompatSharedInfo>() == xen::kEvtchn2lNrChannelsCompat);

/// The vcpu_info type that goes with a shared_info layout.
template <typename Layout>
using TwoLevelVcpuInfo = std::remove_extent_t<decltype(Layout::vcpu_info)>;

namespace detail {
template <typename Layout>
struct BitPos {
  using W = TwoLevelWord<Layout>;
  static constexpr std::uint32_t kBits = sizeof(W) * 8;
  std::uint32_t word;
  W bit;
  explicit BitPos(std::uint32_t port)
      : word(port / kBits), bit(static_cast<W>(W{1} << (port % kBits))) {}
  [[nodiscard]] W sel_bit() const { return static_cast<W>(W{1} << word); }
};
}  // namespace detail

/// Sets `port` pending. Returns true when the vCPU (whose vcpu_info is `vi`, may be null)
/// must get an upcall: the port was not pending, not masked, and its selector bit went 0->1.
template <typename Layout>
bool two_level_set_pending(Layout* s, TwoLevelVcpuInfo<Layout>* vi, std::uint32_t port) {
  const detail::BitPos<Layout> b(port);
  // Already pending: stop (a plain read first spares the locked operation on repeats).
  if ((guest_load(&s->evtchn_pending[b.word]) & b.bit) != 0) return false;
  if ((guest_fetch_or(&s->evtchn_pending[b.word], b.bit) & b.bit) != 0) return false;
  if ((guest_load(&s->evtchn_mask[b.word]) & b.bit) != 0) return false;
  if (vi == nullptr) return false;
  return (guest_fetch_or(&vi->evtchn_pending_sel, b.sel_bit()) & b.sel_bit()) == 0;
}

/// Clears MASK for `port` on the guest's request. Returns true when an upcall is needed.
template <typename Layout>
bool two_level_unmask(Layout* s, TwoLevelVcpuInfo<Layout>* vi, std::uint32_t port) {
  const detail::BitPos<Layout> b(port);
  const auto inv = static_cast<TwoLevelWord<Layout>>(~b.bit);
  if ((guest_fetch_and(&s->evtchn_mask[b.word], inv) & b.bit) == 0) return false;
  if ((guest_load(&s->evtchn_pending[b.word]) & b.bit) == 0) return false;
  if (vi == nullptr) return false;
  return (guest_fetch_or(&vi->evtchn_pending_sel, b.sel_bit()) & b.sel_bit()) == 0;
}

/// Clears PENDING[port] in shared_info.
template <typename Layout>
void two_level_clear_pending(Layout* s, std::uint32_t port) {
  const detail::BitPos<Layout> b(port);
  guest_fetch_and(&s->evtchn_pending[b.word], static_cast<TwoLevelWord<Layout>>(~b.bit));
}

/// Reads PENDING[port] in shared_info.
template <typename Layout>
[[nodiscard]] bool two_level_is_pending(const Layout* s, std::uint32_t port) {
  const detail::BitPos<Layout> b(port);
  return (guest_load(&s->evtchn_pending[b.word]) & b.bit) != 0;
}

/// Reads MASK[port] in shared_info.
template <typename Layout>
[[nodiscard]] bool two_level_is_masked(const Layout* s, std::uint32_t port) {
  const detail::BitPos<Layout> b(port);
  return (guest_load(&s->evtchn_mask[b.word]) & b.bit) != 0;
}

/// Marks the vCPU's upcall pending. Returns true if it went 0->1 (the vCPU must be kicked).
/// Both vcpu_info layouts keep evtchn_upcall_pending in their first byte.
inline bool mark_upcall_pending(void* vcpu_info) {
  static_assert(offsetof(xen::VcpuInfo, evtchn_upcall_pending) == 0);
  static_assert(offsetof(xen::CompatVcpuInfo, evtchn_upcall_pending) == 0);
  if (vcpu_info == nullptr) return false;
  auto* p = static_cast<std::uint8_t*>(vcpu_info);
  return guest_exchange(p, std::uint8_t{1}) == 0;
}

}  // namespace pvkit::event
