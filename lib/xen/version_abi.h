// pvkit/xen/version_abi.h — HYPERVISOR_xen_version sub-ops and their buffers (version.h),
// and the XENFEAT_* feature bits (features.h).
//
// What it is: pvkit's own definitions (namespace pvkit::xen); checked against Xen's headers by
// //tests/abi:abi_conformance_test.
//
// How to use it: the xen_version handler (pvkit/hypercall/xen_version.h) fills these structs
// completely (invariant 5) and copies them to the guest.
//
// Concurrency: constants and plain value types only.
#pragma once

#include <array>
#include <cstdint>

namespace pvkit::xen {

inline constexpr std::uint32_t kXenVerVersion = 0;
inline constexpr std::uint32_t kXenVerExtraversion = 1;
inline constexpr std::uint32_t kXenVerCompileInfo = 2;
inline constexpr std::uint32_t kXenVerCapabilities = 3;
inline constexpr std::uint32_t kXenVerChangeset = 4;
inline constexpr std::uint32_t kXenVerPlatformParameters = 5;
inline constexpr std::uint32_t kXenVerGetFeatures = 6;
inline constexpr std::uint32_t kXenVerPagesize = 7;
inline constexpr std::uint32_t kXenVerGuestHandle = 8;
inline constexpr std::uint32_t kXenVerCommandline = 9;
inline constexpr std::uint32_t kXenVerBuildId = 10;

/// xen_extraversion_t, xen_capabilities_info_t, xen_changeset_info_t, xen_commandline_t.
using XenExtraversion = std::array<char, 16>;
/// xen_capabilities_info_t.
using XenCapabilitiesInfo = std::array<char, 1024>;
/// xen_changeset_info_t.
using XenChangesetInfo = std::array<char, 64>;
/// xen_commandline_t.
using XenCommandline = std::array<char, 1024>;

/// xen_compile_info_t.
struct XenCompileInfo {
  std::array<char, 64> compiler;
  std::array<char, 16> compile_by;
  std::array<char, 32> compile_domain;
  std::array<char, 32> compile_date;
};
static_assert(sizeof(XenCompileInfo) == 144);

/// xen_platform_parameters_t.
struct XenPlatformParameters {
  std::uint64_t virt_start;
};

/// xen_feature_info_t: IN submap_idx, OUT submap.
struct XenFeatureInfo {
  std::uint32_t submap_idx;
  std::uint32_t submap;
};
static_assert(sizeof(XenFeatureInfo) == 8);

/// XENFEAT_* bit numbers (features.h) and the number of 32-bit submaps.
inline constexpr std::uint32_t kXenFeatWritablePageTables = 0;
inline constexpr std::uint32_t kXenFeatWritableDescriptorTables = 1;
inline constexpr std::uint32_t kXenFeatAutoTranslatedPhysmap = 2;
inline constexpr std::uint32_t kXenFeatSupervisorModeKernel = 3;
inline constexpr std::uint32_t kXenFeatPaePgdirAbove4gb = 4;
inline constexpr std::uint32_t kXenFeatMmuPtUpdatePreserveAd = 5;
inline constexpr std::uint32_t kXenFeatHighmemAssist = 6;
inline constexpr std::uint32_t kXenFeatGnttabMapAvailBits = 7;
inline constexpr std::uint32_t kXenFeatHvmCallbackVector = 8;
inline constexpr std::uint32_t kXenFeatHvmSafePvclock = 9;
inline constexpr std::uint32_t kXenFeatHvmPirqs = 10;
inline constexpr std::uint32_t kXenFeatDom0 = 11;
// 12 (grant_map_identity) is deprecated and commented out in features.h.
inline constexpr std::uint32_t kXenFeatMemoryOpVnodeSupported = 13;
inline constexpr std::uint32_t kXenFeatArmSmcccSupported = 14;
inline constexpr std::uint32_t kXenFeatLinuxRsdpUnrestricted = 15;
inline constexpr std::uint32_t kXenFeatNotDirectMapped = 16;
inline constexpr std::uint32_t kXenFeatDirectMapped = 17;
inline constexpr std::uint32_t kXenFeatNrSubmaps = 1;

}  // namespace pvkit::xen
