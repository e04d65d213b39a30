// pvkit/guest/console.h — guest console output through HYPERVISOR_console_io(CONSOLEIO_write).
//
// What it is: `print(fmt, args...)` formats with pvkit/guest/format.h into a 128-byte buffer
// on the stack and writes it with console_io, flushing whenever the buffer fills and at the
// end; `console_write(s, n)` writes raw bytes. Output errors are counted in
// `console_errors()` (the only thing a guest could do with them).
//
// How to use it:
//   pvkit::guest::print("hello from %s, nr_pages=%lu\n", "pvkit", si.nr_pages);
//
// Concurrency: lines from different vCPUs may interleave; each flush is one hypercall. Safe
// from the event upcall (no shared buffer).
#pragma once

#include <cstddef>
#include <cstdint>

#include "pvkit/guest/format.h"
#include "pvkit/guest/hypercall.h"

namespace pvkit::guest {

namespace detail {
inline constinit std::uint64_t g_console_errors = 0;
}  // namespace detail

/// Failed console_io writes since boot.
inline std::uint64_t console_errors() { return detail::g_console_errors; }

/// Writes `n` bytes to the Xen console (in chunks the hypervisor accepts).
inline void console_write(const char* s, std::size_t n) {
  while (n > 0) {
    const std::uint32_t chunk = n > 1024 ? 1024 : static_cast<std::uint32_t>(n);
    const long rc = HYPERVISOR_console_io(xen::kConsoleIoWrite, chunk, s);
    if (rc < 0) {
      ++detail::g_console_errors;
      return;
    }
    s += chunk;
    n -= chunk;
  }
}

/// A sink that batches characters into one console_io per 128 bytes.
class ConsoleSink {
 public:
  ConsoleSink() = default;
  ConsoleSink(const ConsoleSink&) = delete;
  ConsoleSink& operator=(const ConsoleSink&) = delete;
  ~ConsoleSink() { flush(); }
  /// Buffers one character (writes the buffer out when it is full).
  void put(char c) {
    buf_[n_++] = c;
    if (n_ == sizeof(buf_)) flush();
  }
  /// Writes the buffered characters to the console now.
  void flush() {
    if (n_ != 0) console_write(buf_, n_);
    n_ = 0;
  }

 private:
  char buf_[128];
  std::size_t n_ = 0;
};

/// printf to the Xen console.
template <typename... Args>
inline void print(const char* fmt, const Args&... args) {
  ConsoleSink sink;
  format_to(sink, fmt, args...);
}

}  // namespace pvkit::guest
