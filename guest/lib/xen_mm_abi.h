// pvkit/guest/xen_mm_abi.h — the PV memory-management ABI a guest uses (xen.h): mmu_update
// requests, mmuext_op commands, update_va_mapping flags, and the x86-64 page-table entry as
// named fields.
//
// What it is: the guest library's names for pvkit's own definitions (pvkit/mm/xen_abi.h, what
// the page-table verifier consumes), plus `Pte`, which builds and reads the entries a guest
// hands to update_va_mapping / mmu_update through constexpr accessors instead of scattered
// masks. //guest/test:abi_conformance_test checks them against /usr/include/xen.
//
// How to use it:
//   auto pte = xen::Pte::page(mfn).with_writable(true);   // P|US|A|D (+RW)
//   HYPERVISOR_update_va_mapping(va, pte.raw(), xen::kUvmfInvlpg);
//
// Concurrency: plain value types.
#pragma once

#include <cstdint>

#include "pvkit/mm/xen_abi.h"

namespace pvkit::guest::xen {

/// MMU_* commands in mmu_update.ptr[1:0] and struct mmu_update {ptr, val}.
using pvkit::xen::kMmuMachphysUpdate;
using pvkit::xen::kMmuNormalPtUpdate;
using pvkit::xen::kMmuPtUpdatePreserveAd;
using pvkit::xen::MmuUpdate;

/// MMUEXT_* commands and struct mmuext_op {cmd, arg1, arg2}.
using pvkit::xen::kMmuextInvlpgLocal;
using pvkit::xen::kMmuextNewBaseptr;
using pvkit::xen::kMmuextPinL1Table;
using pvkit::xen::kMmuextPinL4Table;
using pvkit::xen::kMmuextTlbFlushLocal;
using pvkit::xen::kMmuextUnpinTable;
using pvkit::xen::MmuextOp;

/// UVMF_* flags of update_va_mapping.
using pvkit::xen::kUvmfAll;
using pvkit::xen::kUvmfInvlpg;
using pvkit::xen::kUvmfLocal;
using pvkit::xen::kUvmfNone;
using pvkit::xen::kUvmfTlbFlush;

/// An x86-64 page-table entry as the guest writes it (machine frame numbers).
class Pte {
 public:
  static constexpr std::uint64_t kPresent = 1ull << 0;
  static constexpr std::uint64_t kWritable = 1ull << 1;
  static constexpr std::uint64_t kUser = 1ull << 2;
  static constexpr std::uint64_t kAccessed = 1ull << 5;
  static constexpr std::uint64_t kDirty = 1ull << 6;
  static constexpr std::uint64_t kNoExecute = 1ull << 63;
  static constexpr unsigned kFrameShift = 12;
  static constexpr std::uint64_t kFrameMask = 0x000F'FFFF'FFFF'F000ull;

  constexpr Pte() = default;
  constexpr explicit Pte(std::uint64_t raw) : raw_(raw) {}
  /// A present, read-only data mapping of machine frame `mfn`, accessible from the PV guest
  /// kernel (ring 3 on x86-64, so US is set), with A and D preset.
  static constexpr Pte page(std::uint64_t mfn) {
    return Pte{((mfn << kFrameShift) & kFrameMask) | kPresent | kUser | kAccessed | kDirty |
               kNoExecute};
  }
  /// This entry with R/W set to `w`.
  [[nodiscard]] constexpr Pte with_writable(bool w) const {
    return Pte{w ? (raw_ | kWritable) : (raw_ & ~kWritable)};
  }
  /// The 64-bit entry as stored.
  [[nodiscard]] constexpr std::uint64_t raw() const { return raw_; }
  /// P: the entry maps something.
  [[nodiscard]] constexpr bool present() const { return (raw_ & kPresent) != 0; }
  /// R/W: writes allowed.
  [[nodiscard]] constexpr bool writable() const { return (raw_ & kWritable) != 0; }
  /// The machine frame the entry names.
  [[nodiscard]] constexpr std::uint64_t mfn() const { return (raw_ & kFrameMask) >> kFrameShift; }

 private:
  std::uint64_t raw_ = 0;
};


}  // namespace pvkit::guest::xen
