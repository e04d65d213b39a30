// pvkit/hypercall/fill.h — building fully initialised output buffers for the guest.
//
// What it is: `copy_cstr_padded`, which fills a fixed-size char array from a C string:
// every byte is written (the tail is zero), the result is always NUL-terminated, and a
// longer string is truncated. Output structs built with it never carry stale hypervisor
// bytes to a guest (invariant 5).
//
// How to use it: `xen::XenExtraversion out; copy_cstr_padded(out, info.extraversion);`
//
// Concurrency: pure functions.
#pragma once

#include <array>
#include <cstddef>

namespace pvkit {

/// Copies `s` (nullptr = empty) into `out`, zero-filling the rest; truncates to N-1 chars.
template <std::size_t N>
constexpr void copy_cstr_padded(std::array<char, N>& out, const char* s) {
  static_assert(N >= 1);
  std::size_t i = 0;
  if (s != nullptr) {
    for (; i + 1 < N && s[i] != '\0'; ++i) out[i] = s[i];
  }
  for (; i < N; ++i) out[i] = '\0';
}

}  // namespace pvkit
