// pvkit/mm/xen_abi.h — pvkit's own definitions of Xen's x86-64 PV memory-management ABI.
//
// What it is: the hypercall numbers, request structures and constants of mmu_update,
// update_va_mapping and mmuext_op (Xen public/xen.h), written independently with named
// fields. abi_conformance_test.cc checks every size, offset and value against Xen's headers.
//
// How to use it: handlers copy `MmuUpdate` / `MmuextOp` out of guest memory with
// GuestArray and interpret them with these constants.
//
// Concurrency: constants and plain structs only.
#pragma once

#include "pvkit/xen/xen_abi.h"
#include <cstddef>
#include <cstdint>

namespace pvkit::xen {

inline constexpr std::uint32_t kHypercallMmuUpdate = 1;
inline constexpr std::uint32_t kHypercallUpdateVaMapping = 14;
inline constexpr std::uint32_t kHypercallMmuextOp = 26;

/// One mmu_update request: `ptr` = machine address of the target (low bits: command),
/// `val` = new contents.
struct MmuUpdate {
  std::uint64_t ptr;
  std::uint64_t val;
};
static_assert(sizeof(MmuUpdate) == 16);

// mmu_update commands (ptr's low bits; Xen decodes ptr & 7, so values 4-7 are unknown).
inline constexpr std::uint32_t kMmuNormalPtUpdate = 0;
inline constexpr std::uint32_t kMmuMachphysUpdate = 1;
inline constexpr std::uint32_t kMmuPtUpdatePreserveAd = 2;
inline constexpr std::uint32_t kMmuPtUpdateNoTranslate = 3;
inline constexpr std::uint64_t kMmuCmdMask = 7;

/// Set in `count` of mmu_update/mmuext_op when the call is a continuation.
inline constexpr std::uint32_t kMmuUpdatePreempted = ~(~0U >> 1);

/// One mmuext_op request. arg1 is mfn or linear_addr; arg2 is nr_ents, vcpumask or src_mfn.
struct MmuextOp {
  std::uint32_t cmd;
  std::uint32_t pad0;  // implicit padding in Xen's layout
  std::uint64_t arg1;
  std::uint64_t arg2;
};
static_assert(sizeof(MmuextOp) == 24);
static_assert(offsetof(MmuextOp, arg1) == 8);
static_assert(offsetof(MmuextOp, arg2) == 16);

inline constexpr std::uint32_t kMmuextPinL1Table = 0;
inline constexpr std::uint32_t kMmuextPinL2Table = 1;
inline constexpr std::uint32_t kMmuextPinL3Table = 2;
inline constexpr std::uint32_t kMmuextPinL4Table = 3;
inline constexpr std::uint32_t kMmuextUnpinTable = 4;
inline constexpr std::uint32_t kMmuextNewBaseptr = 5;
inline constexpr std::uint32_t kMmuextTlbFlushLocal = 6;
inline constexpr std::uint32_t kMmuextInvlpgLocal = 7;
inline constexpr std::uint32_t kMmuextTlbFlushMulti = 8;
inline constexpr std::uint32_t kMmuextInvlpgMulti = 9;
inline constexpr std::uint32_t kMmuextTlbFlushAll = 10;
inline constexpr std::uint32_t kMmuextInvlpgAll = 11;
inline constexpr std::uint32_t kMmuextFlushCache = 12;
inline constexpr std::uint32_t kMmuextSetLdt = 13;
inline constexpr std::uint32_t kMmuextNewUserBaseptr = 15;
inline constexpr std::uint32_t kMmuextClearPage = 16;
inline constexpr std::uint32_t kMmuextCopyPage = 17;
inline constexpr std::uint32_t kMmuextFlushCacheGlobal = 18;
inline constexpr std::uint32_t kMmuextMarkSuper = 19;
inline constexpr std::uint32_t kMmuextUnmarkSuper = 20;

// update_va_mapping flags: flush type in bits 0-1, scope/vcpumask pointer above.
inline constexpr std::uint64_t kUvmfNone = 0;
inline constexpr std::uint64_t kUvmfTlbFlush = 1;
inline constexpr std::uint64_t kUvmfInvlpg = 2;
inline constexpr std::uint64_t kUvmfFlushTypeMask = 3;
inline constexpr std::uint64_t kUvmfMulti = 0;
inline constexpr std::uint64_t kUvmfLocal = 0;
inline constexpr std::uint64_t kUvmfAll = 4;

/// foreigndom encoding: bits 0-15 data-page owner (FD), bits 16-31 page-table owner + 1.
inline constexpr std::uint32_t kForeigndomPtOwnerShift = 16;

/// The guest-inaccessible hypervisor area of x86-64 PV is kHypervisorVirtStart..End
/// (pvkit/xen/xen_abi.h): L4 slots 256..271.
inline constexpr unsigned kFirstXenL4Slot = 256;
inline constexpr unsigned kLastXenL4Slot = 271;

}  // namespace pvkit::xen
