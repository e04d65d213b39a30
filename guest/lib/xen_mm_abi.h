// pvkit/guest/xen_mm_abi.h — the PV memory-management ABI a guest uses (xen.h): mmu_update
// requests, mmuext_op commands, update_va_mapping flags, and the x86-64 page-table entry as
// named fields.
//
// What it is: the guest library's own definitions; //guest/test:abi_conformance_test checks
// them against /usr/include/xen. `Pte` builds and reads entries through constexpr accessors
// instead of scattered masks.
//
// How to use it:
//   auto pte = xen::Pte::page(mfn).with_writable(true);   // P|US|A|D (+RW)
//   HYPERVISOR_update_va_mapping(va, pte.raw(), xen::kUvmfInvlpg);
//
// Concurrency: plain value types.
#pragma once

#include <cstdint>

namespace pvkit::guest::xen {

/// MMU_* commands in mmu_update.ptr[1:0].
inline constexpr std::uint64_t kMmuNormalPtUpdate = 0;
inline constexpr std::uint64_t kMmuMachphysUpdate = 1;
inline constexpr std::uint64_t kMmuPtUpdatePreserveAd = 2;

/// struct mmu_update.
struct MmuUpdate {
  std::uint64_t ptr;  ///< machine address of the entry | MMU_* command
  std::uint64_t val;  ///< new entry value
};

/// MMUEXT_* commands (xen.h).
inline constexpr std::uint32_t kMmuextPinL1Table = 0;
inline constexpr std::uint32_t kMmuextPinL4Table = 3;
inline constexpr std::uint32_t kMmuextUnpinTable = 4;
inline constexpr std::uint32_t kMmuextNewBaseptr = 5;
inline constexpr std::uint32_t kMmuextTlbFlushLocal = 6;
inline constexpr std::uint32_t kMmuextInvlpgLocal = 7;

/// struct mmuext_op.
struct MmuextOp {
  std::uint32_t cmd;   ///< MMUEXT_*
  std::uint32_t pad;
  std::uint64_t arg1;  ///< mfn or linear_addr
  std::uint64_t arg2;  ///< nr_ents, vcpumask or src_mfn
};

/// UVMF_* flags of update_va_mapping.
inline constexpr std::uint64_t kUvmfNone = 0;
inline constexpr std::uint64_t kUvmfTlbFlush = 1;
inline constexpr std::uint64_t kUvmfInvlpg = 2;
inline constexpr std::uint64_t kUvmfLocal = 0;
inline constexpr std::uint64_t kUvmfAll = 4;

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
  [[nodiscard]] constexpr Pte with_writable(bool w) const {
    return Pte{w ? (raw_ | kWritable) : (raw_ & ~kWritable)};
  }
  [[nodiscard]] constexpr std::uint64_t raw() const { return raw_; }
  [[nodiscard]] constexpr bool present() const { return (raw_ & kPresent) != 0; }
  [[nodiscard]] constexpr bool writable() const { return (raw_ & kWritable) != 0; }
  [[nodiscard]] constexpr std::uint64_t mfn() const { return (raw_ & kFrameMask) >> kFrameShift; }

 private:
  std::uint64_t raw_ = 0;
};

static_assert(sizeof(MmuUpdate) == 16);
static_assert(sizeof(MmuextOp) == 24);

}  // namespace pvkit::guest::xen
