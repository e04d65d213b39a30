// pvkit/guest/memory.h — pseudo-physical to machine translation and frame mapping for a PV
// guest kernel.
//
// What it is: `PhysMap` answers virt_to_pfn / pfn_to_mfn / virt_to_mfn for the kernel's own
// pages, from the phys-to-machine list the domain builder put at start_info.mfn_list (every
// lookup bounds-checked against start_info.nr_pages: Errno::Range outside). `map_frame` points
// one page-aligned kernel virtual address at a machine frame through
// HYPERVISOR_update_va_mapping (P|US|A|D|NX, RW on request, INVLPG on this vCPU).
//
// How to use it:
//   PhysMap p2m(si);
//   auto mfn = p2m.virt_to_mfn(&ring_page);            // Result<std::uint64_t>
//   if (auto s = map_frame(&slot, mfn_of_shared_info, true); !s) ...
//
// Concurrency: the p2m list is the guest's own memory and only read here; map_frame changes
// this vCPU's mappings (flushes only the local TLB).
#pragma once

#include <cstdint>

#include "pvkit/base/status.h"
#include "pvkit/guest/hypercall.h"
#include "pvkit/guest/layout.h"
#include "pvkit/guest/xen_boot_abi.h"
#include "pvkit/guest/xen_mm_abi.h"

namespace pvkit::guest {

/// A hypercall result as a Status (0 / -errno).
inline Status status_from_rc(long rc) {
  return rc >= 0 ? Status::ok() : Status{static_cast<Errno>(static_cast<std::int32_t>(-rc))};
}

/// The kernel's pseudo-physical map.
class PhysMap {
 public:
  constexpr PhysMap() = default;
  /// From start_info: mfn_list (a virtual address) and nr_pages; pfn 0 at guest_virt_base().
  explicit PhysMap(const xen::StartInfo& si)
      : mfn_list_(reinterpret_cast<const std::uint64_t*>(si.mfn_list)),
        nr_pages_(si.nr_pages),
        virt_base_(guest_virt_base()) {}
  constexpr PhysMap(const std::uint64_t* mfn_list, std::uint64_t nr_pages,
                    std::uint64_t virt_base = kGuestVirtBase)
      : mfn_list_(mfn_list), nr_pages_(nr_pages), virt_base_(virt_base) {}

  /// Pseudo-physical frame of a kernel virtual address (Errno::Range below VIRT_BASE or past
  /// the domain's pages).
  [[nodiscard]] Result<std::uint64_t> virt_to_pfn(std::uint64_t va) const {
    if (va < virt_base_) return Errno::Range;
    const std::uint64_t pfn = (va - virt_base_) >> kPageShift;
    if (pfn >= nr_pages_) return Errno::Range;
    return pfn;
  }
  /// Machine frame of a pseudo-physical frame.
  [[nodiscard]] Result<std::uint64_t> pfn_to_mfn(std::uint64_t pfn) const {
    if (mfn_list_ == nullptr || pfn >= nr_pages_) return Errno::Range;
    return mfn_list_[pfn];
  }
  /// Machine frame backing a kernel virtual address.
  [[nodiscard]] Result<std::uint64_t> virt_to_mfn(const void* p) const {
    auto pfn = virt_to_pfn(va_of(p));
    if (!pfn) return pfn.status();
    return pfn_to_mfn(*pfn);
  }
  /// Pages of the domain (start_info's nr_pages).
  [[nodiscard]] std::uint64_t nr_pages() const { return nr_pages_; }

 private:
  const std::uint64_t* mfn_list_ = nullptr;
  std::uint64_t nr_pages_ = 0;
  std::uint64_t virt_base_ = kGuestVirtBase;
};

/// Maps machine frame `mfn` at the page `slot` (its old frame is dropped from this mapping).
inline Status map_frame(PageSlot* slot, std::uint64_t mfn, bool writable) {
  const xen::Pte pte = xen::Pte::page(mfn).with_writable(writable);
  return status_from_rc(HYPERVISOR_update_va_mapping(va_of(slot), pte.raw(),
                                                     xen::kUvmfInvlpg | xen::kUvmfLocal));
}

}  // namespace pvkit::guest
