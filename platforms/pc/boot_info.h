// pvkit/platforms/pc/boot_info.h — what the PC platform learned at boot, handed to the image.
//
// What it is: `BootInfo` carries the PVH start info (command line, boot modules) translated to
// hypervisor virtual addresses. An image defines `int pvkit_main(const BootInfo&)`; returning 0
// exits QEMU with success, anything else with failure (after the image printed its result).
// Concurrency: read-only after boot.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pvkit::pc {

struct BootModule {
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;
  const char* cmdline = "";
};

struct BootInfo {
  static constexpr std::size_t kMaxModules = 16;
  const char* cmdline = "";
  BootModule modules[kMaxModules];
  std::size_t nr_modules = 0;

  /// True if the command line contains `word` as a whole space-separated token.
  [[nodiscard]] bool has_arg(const char* word) const;
  /// The value of `key=value` on the command line, or nullptr (value runs to the next space).
  [[nodiscard]] const char* arg_value(const char* key, char* out, std::size_t out_size) const;
};

}  // namespace pvkit::pc

/// Defined by each image.
int pvkit_main(const pvkit::pc::BootInfo& boot);
