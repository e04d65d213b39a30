// pvkit/platforms/pc/run/bundle.h — read a "pvkit guest bundle" (make_bundle.sh): several
// guest kernels and their command lines in one boot module.
//
// What it is: `parse_bundle(module, out)` checks the text header ("PVKIT-GUESTS v1\n", then
// "<size> <command line>\n" per guest within the first 4 KiB) and fills up to out.size()
// entries whose ELF bytes lie at 4 KiB-aligned offsets inside the module. Any malformed
// header, an oversized entry or data running past the module's end is refused (returns 0):
// the module comes from the user's command line, but the parser still trusts nothing.
// How to use it: `BundleEntry e[8]; std::size_t n = parse_bundle(bytes, e);`
// Concurrency: pure function.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace pvkit::pc {

inline constexpr char kBundleMagic[] = "PVKIT-GUESTS v1\n";
inline constexpr std::size_t kBundleHeaderBytes = 4096;
inline constexpr std::size_t kBundleCmdlineMax = 200;

struct BundleEntry {
  std::span<const std::uint8_t> elf;
  char cmdline[kBundleCmdlineMax] = {};
};

inline bool is_bundle(std::span<const std::uint8_t> m) {
  const std::size_t n = sizeof(kBundleMagic) - 1;
  return m.size() >= kBundleHeaderBytes && std::memcmp(m.data(), kBundleMagic, n) == 0;
}

/// Number of entries parsed into `out` (0 = not a well-formed bundle).
inline std::size_t parse_bundle(std::span<const std::uint8_t> m, std::span<BundleEntry> out) {
  if (!is_bundle(m)) return 0;
  std::size_t pos = sizeof(kBundleMagic) - 1;
  std::uint64_t data = kBundleHeaderBytes;
  std::size_t n = 0;
  while (pos < kBundleHeaderBytes && m[pos] != 0) {
    if (n == out.size()) return 0;
    std::uint64_t size = 0;
    std::size_t digits = 0;
    while (pos < kBundleHeaderBytes && m[pos] >= '0' && m[pos] <= '9' && digits < 12) {
      size = size * 10 + (m[pos] - '0');
      ++pos;
      ++digits;
    }
    if (digits == 0 || pos >= kBundleHeaderBytes || m[pos] != ' ') return 0;
    ++pos;
    std::size_t c = 0;
    while (pos < kBundleHeaderBytes && m[pos] != '\n') {
      if (c + 1 >= kBundleCmdlineMax) return 0;
      out[n].cmdline[c++] = static_cast<char>(m[pos++]);
    }
    if (pos >= kBundleHeaderBytes) return 0;
    out[n].cmdline[c] = '\0';
    ++pos;  // '\n'
    if (size == 0 || data > m.size() || size > m.size() - data) return 0;
    out[n].elf = m.subspan(data, size);
    data += (size + 4095) / 4096 * 4096;
    ++n;
  }
  return n;
}

}  // namespace pvkit::pc
