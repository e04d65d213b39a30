// pvkit/grant/grant_platform.h — the whole policy bundle GrantTables is instantiated with, and
// its compile-time limits.
//
// What it is: `GrantPlatform` = GrantFramePolicy + GrantMappingPolicy + PageAllocator (grant,
// status, active-entry and maptrack pages all come from the platform's allocator), and
// `GrantLimits`, the named concept for the sizing parameters (`DefaultGrantLimits` is a
// ready-made one).
//
// How to use it: `static_assert(GrantPlatform<MyPlatform>)`; pass your own limits type as the
// third template argument of GrantTables to change the maxima.
//
// Concurrency: see the two policy headers.
#pragma once

#include <concepts>
#include <cstdint>

#include "pvkit/base/page_allocator.h"
#include "pvkit/grant/grant_frame_policy.h"
#include "pvkit/grant/grant_mapping_policy.h"

namespace pvkit {

/// The whole policy bundle GrantTables is instantiated with.
template <typename P>
concept GrantPlatform = GrantFramePolicy<P> && GrantMappingPolicy<P> && PageAllocator<P>;

/// Sizing of the grant tables (all per domain except kOpsPerCall).
template <typename L>
concept GrantLimits = requires {
  { L::kMaxGrantFrames } -> std::convertible_to<std::uint32_t>;     // max_grant_frames
  { L::kInitialGrantFrames } -> std::convertible_to<std::uint32_t>; // frames at creation
  { L::kMaxMaptrackFrames } -> std::convertible_to<std::uint32_t>;  // maptrack pages
  { L::kMaxVersion } -> std::convertible_to<std::uint32_t>;         // 1 or 2
  { L::kOpsPerCall } -> std::convertible_to<std::uint32_t>;         // elements per invocation
  { L::kUnmapBatch } -> std::convertible_to<std::uint32_t>;         // unmaps per TLB flush
  { L::kCasRetries } -> std::convertible_to<std::uint32_t>;         // on an unstable entry
} && (L::kMaxGrantFrames >= 1) && (L::kInitialGrantFrames >= 1) &&
    (L::kInitialGrantFrames <= L::kMaxGrantFrames) && (L::kMaxMaptrackFrames >= 1) &&
    (L::kMaxVersion == 1 || L::kMaxVersion == 2) && (L::kOpsPerCall >= 1) &&
    (L::kUnmapBatch >= 1) && (L::kUnmapBatch <= 64) && (L::kCasRetries >= 1);

/// Ready-made GrantLimits (32 grant frames, 64 maptrack pages, v1 and v2).
struct DefaultGrantLimits {
  static constexpr std::uint32_t kMaxGrantFrames = 32;
  static constexpr std::uint32_t kInitialGrantFrames = 1;
  static constexpr std::uint32_t kMaxMaptrackFrames = 64;
  static constexpr std::uint32_t kMaxVersion = 2;
  static constexpr std::uint32_t kOpsPerCall = 64;
  static constexpr std::uint32_t kUnmapBatch = 32;
  static constexpr std::uint32_t kCasRetries = 4;
};
static_assert(GrantLimits<DefaultGrantLimits>);

}  // namespace pvkit
