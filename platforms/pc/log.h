// pvkit/platforms/pc/log.h — the PC image's serial log: a tiny printf for the hypervisor.
//
// What it is: `log::printf` with %s %c %d %u %x %lx %lu %ld %llx %p %% (width and zero padding
// for numbers), writing to COM1. Lines written with one call are not interleaved with other
// CPUs' lines (a lock is held for the call).
// How to use it: `pvkit::pc::printf("pvkit: booted %u domains\n", n);`
// Concurrency: thread-safe (one spinlock); never call from an NMI.
#pragma once

#include <cstdarg>
#include <cstddef>

namespace pvkit::pc {

void console_init();
void console_write(const char* s, std::size_t n);
void printf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void vprintf(const char* fmt, va_list ap);
/// Formats into `buf` (always NUL-terminated when size > 0); returns the length written.
std::size_t vsnprintf(char* buf, std::size_t size, const char* fmt, va_list ap);
std::size_t snprintf(char* buf, std::size_t size, const char* fmt, ...) __attribute__((format(printf, 3, 4)));

}  // namespace pvkit::pc
