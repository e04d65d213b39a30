// pvkit/guest/start_info.h — reading the start_info page: magic check and command line.
//
// What it is: pure helpers over a `xen::StartInfo` (no hypercalls, host-testable):
// `start_info_magic_ok` (the magic is "xen-3.0-x86_64" followed by NUL, no more), and
// `cmdline_value` / `cmdline_u64`, which look up `key=value` words in start_info.cmd_line
// (space-separated, bounded by MAX_GUEST_CMDLINE even without a NUL).
//
// How to use it:
//   if (!start_info_magic_ok(si)) return 1;
//   std::uint64_t peer = cmdline_u64(si, "peer").value_or(2);
//
// Concurrency: the page is read-only after boot.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "pvkit/guest/xen_boot_abi.h"

namespace pvkit::guest {

/// True when start_info.magic is exactly the 64-bit PV magic.
constexpr bool start_info_magic_ok(const xen::StartInfo& si) {
  constexpr std::size_t n = sizeof(xen::kStartInfoMagic);  // includes the NUL
  for (std::size_t i = 0; i < n; ++i) {
    if (si.magic[i] != xen::kStartInfoMagic[i]) return false;
  }
  return true;
}

/// A value found on the command line (not NUL-terminated).
struct CmdlineValue {
  const char* data = nullptr;
  std::size_t size = 0;
};

/// The value of the first `key=value` word of `line` (at most `cap` chars, stops at NUL).
constexpr std::optional<CmdlineValue> cmdline_value(const char* line, std::size_t cap,
                                                    const char* key) {
  std::size_t len = 0;
  while (len < cap && line[len] != '\0') ++len;
  std::size_t i = 0;
  while (i < len) {
    while (i < len && line[i] == ' ') ++i;
    const std::size_t word = i;
    while (i < len && line[i] != ' ') ++i;
    std::size_t k = 0;
    while (key[k] != '\0' && word + k < i && line[word + k] == key[k]) ++k;
    if (key[k] == '\0' && word + k < i && line[word + k] == '=') {
      return CmdlineValue{line + word + k + 1, i - (word + k + 1)};
    }
  }
  return std::nullopt;
}

/// cmdline_value over start_info.cmd_line.
inline std::optional<CmdlineValue> cmdline_value(const xen::StartInfo& si, const char* key) {
  return cmdline_value(reinterpret_cast<const char*>(si.cmd_line.data()), xen::kMaxGuestCmdline, key);
}

/// Parses a decimal or 0x-hex unsigned number; nullopt if empty, malformed or too large.
constexpr std::optional<std::uint64_t> parse_u64(CmdlineValue v) {
  if (v.size == 0) return std::nullopt;
  std::size_t i = 0;
  unsigned base = 10;
  if (v.size > 2 && v.data[0] == '0' && (v.data[1] == 'x' || v.data[1] == 'X')) {
    base = 16;
    i = 2;
  }
  std::uint64_t out = 0;
  for (; i < v.size; ++i) {
    const char c = v.data[i];
    unsigned d;
    if (c >= '0' && c <= '9') d = static_cast<unsigned>(c - '0');
    else if (base == 16 && c >= 'a' && c <= 'f') d = static_cast<unsigned>(c - 'a' + 10);
    else if (base == 16 && c >= 'A' && c <= 'F') d = static_cast<unsigned>(c - 'A' + 10);
    else return std::nullopt;
    if (out > (~std::uint64_t{0} - d) / base) return std::nullopt;
    out = out * base + d;
  }
  return out;
}

/// The numeric value of `key` on the command line.
inline std::optional<std::uint64_t> cmdline_u64(const xen::StartInfo& si, const char* key) {
  auto v = cmdline_value(si, key);
  if (!v) return std::nullopt;
  return parse_u64(*v);
}

/// True when `v` equals the NUL-terminated `s`.
constexpr bool cmdline_equals(CmdlineValue v, const char* s) {
  std::size_t k = 0;
  for (; k < v.size; ++k) {
    if (s[k] == '\0' || s[k] != v.data[k]) return false;
  }
  return s[k] == '\0';
}

}  // namespace pvkit::guest
