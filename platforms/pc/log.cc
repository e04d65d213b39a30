// The PC image's serial log (see log.h).
#include "pvkit/platforms/pc/log.h"

#include <cstdint>

#include "pvkit/arch/x86/uart16550.h"
#include "pvkit/base/spinlock.h"

namespace pvkit::pc {
namespace {

constinit x86::Uart16550 g_uart{};
constinit SpinLock* g_lock_ptr = nullptr;
SpinLock g_lock;

struct Out {
  char* buf;
  std::size_t size;
  std::size_t len = 0;
  void put(char c) {
    if (len + 1 < size) buf[len] = c;
    ++len;
  }
};

void put_num(Out& o, std::uint64_t v, unsigned base, int width, char pad, bool neg) {
  char tmp[24];
  int n = 0;
  do {
    unsigned d = static_cast<unsigned>(v % base);
    tmp[n++] = static_cast<char>(d < 10 ? '0' + d : 'a' + d - 10);
    v /= base;
  } while (v != 0);
  if (neg) tmp[n++] = '-';
  for (int i = n; i < width; ++i) o.put(pad);
  while (n > 0) o.put(tmp[--n]);
}

}  // namespace

std::size_t vsnprintf(char* buf, std::size_t size, const char* fmt, va_list ap) {
  Out o{buf, size};
  for (const char* p = fmt; *p != '\0'; ++p) {
    if (*p != '%') {
      o.put(*p);
      continue;
    }
    ++p;
    char pad = ' ';
    int width = 0;
    if (*p == '0') {
      pad = '0';
      ++p;
    }
    while (*p >= '0' && *p <= '9') width = width * 10 + (*p++ - '0');
    int longs = 0;
    while (*p == 'l') {
      ++longs;
      ++p;
    }
    switch (*p) {
      case 's': {
        const char* s = va_arg(ap, const char*);
        if (s == nullptr) s = "(null)";
        int len = 0;
        while (s[len] != '\0') ++len;
        for (int i = len; i < width; ++i) o.put(' ');
        for (int i = 0; i < len; ++i) o.put(s[i]);
        break;
      }
      case 'c':
        o.put(static_cast<char>(va_arg(ap, int)));
        break;
      case 'd': {
        std::int64_t v = longs ? va_arg(ap, std::int64_t) : va_arg(ap, int);
        put_num(o, v < 0 ? 0 - static_cast<std::uint64_t>(v) : static_cast<std::uint64_t>(v), 10,
                width, pad, v < 0);
        break;
      }
      case 'u':
        put_num(o, longs ? va_arg(ap, std::uint64_t) : va_arg(ap, unsigned), 10, width, pad, false);
        break;
      case 'x':
        put_num(o, longs ? va_arg(ap, std::uint64_t) : va_arg(ap, unsigned), 16, width, pad, false);
        break;
      case 'p':
        o.put('0');
        o.put('x');
        put_num(o, reinterpret_cast<std::uint64_t>(va_arg(ap, void*)), 16, 16, '0', false);
        break;
      case '%':
        o.put('%');
        break;
      case '\0':
        --p;
        break;
      default:
        o.put('%');
        o.put(*p);
        break;
    }
  }
  if (size > 0) buf[o.len < size ? o.len : size - 1] = '\0';
  return o.len;
}

std::size_t snprintf(char* buf, std::size_t size, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::size_t n = vsnprintf(buf, size, fmt, ap);
  va_end(ap);
  return n;
}

void console_init() {
  g_uart.init();
  g_lock_ptr = &g_lock;
}

void console_write(const char* s, std::size_t n) {
  if (g_lock_ptr == nullptr) console_init();
  LockGuard g(*g_lock_ptr);
  g_uart.write(s, n);
}

void vprintf(const char* fmt, va_list ap) {
  char buf[512];
  std::size_t n = vsnprintf(buf, sizeof buf, fmt, ap);
  console_write(buf, n < sizeof buf ? n : sizeof buf - 1);
}

void printf(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
}

}  // namespace pvkit::pc
