// pvkit/platforms/pc/embedded_guest.h — reach a guest ELF built into the image
// (//platforms/pc:embed.bzl).
//
// How to use it: at namespace scope `PVKIT_EMBEDDED_GUEST(hello);` then
// `pvkit_embedded_hello()` is a std::span<const std::uint8_t> over the ELF file.
// Concurrency: read-only data.
#pragma once

#include <cstdint>
#include <span>

#define PVKIT_EMBEDDED_GUEST(key)                                                                   \
  extern "C" __attribute__((visibility("hidden"))) const std::uint8_t pvkit_guest_##key##_start[];  \
  extern "C" __attribute__((visibility("hidden"))) const std::uint8_t pvkit_guest_##key##_end[];    \
  inline std::span<const std::uint8_t> pvkit_embedded_##key() {                                     \
    return {pvkit_guest_##key##_start,                                                              \
            static_cast<std::size_t>(pvkit_guest_##key##_end - pvkit_guest_##key##_start)};         \
  }
