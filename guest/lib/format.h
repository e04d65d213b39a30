// pvkit/guest/format.h — a tiny, type-safe printf formatter for freestanding guests.
//
// What it is: `format_to(sink, fmt, args...)` writes `fmt` to `sink` with each conversion
// replaced by the next argument. The argument's C++ type decides how it is read (no va_list,
// so a wrong length modifier cannot read garbage): %d %i (signed), %u, %x %X, %p, %s, %c, %%;
// flags '0', '-' and '#' (0x prefix), a decimal width, and length modifiers l ll z h hh (accepted, ignored).
// A conversion without an argument prints "<?>", a %s of nullptr prints "(null)".
//
// How to use it:
//   struct Buf { char b[64]; std::size_t n = 0; void put(char c) { if (n < 63) b[n++] = c; } };
//   Buf out; format_to(out, "port %u rc %d\n", port, rc);
// pvkit/guest/console.h prints through HYPERVISOR_console_io with it.
//
// Concurrency: pure; the sink decides.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace pvkit::guest {

/// Something characters can be written to one at a time.
template <typename S>
concept CharSink = requires(S& s, char c) { s.put(c); };

/// One formatted argument, type-erased by value (no pointers into the caller's varargs).
struct FmtArg {
  /// What the argument holds.
  enum class Kind : std::uint8_t { Signed, Unsigned, Pointer, String, Char };
  Kind kind = Kind::Unsigned;
  std::uint64_t u = 0;        ///< integer value (two's complement for Signed), pointer, char
  const char* s = nullptr;    ///< String

  constexpr FmtArg() = default;
  template <std::signed_integral T>
  constexpr FmtArg(T v) : kind(Kind::Signed), u(static_cast<std::uint64_t>(static_cast<std::int64_t>(v))) {}  // NOLINT
  template <std::unsigned_integral T>
    requires(!std::same_as<T, bool>)
  constexpr FmtArg(T v) : kind(Kind::Unsigned), u(v) {}  // NOLINT
  constexpr FmtArg(bool v) : kind(Kind::Unsigned), u(v ? 1 : 0) {}  // NOLINT
  constexpr FmtArg(char v) : kind(Kind::Char), u(static_cast<unsigned char>(v)) {}  // NOLINT
  constexpr FmtArg(const char* v) : kind(Kind::String), s(v) {}  // NOLINT
  constexpr FmtArg(char* v) : kind(Kind::String), s(v) {}  // NOLINT
  template <typename E>
    requires std::is_enum_v<E>
  constexpr FmtArg(E v) : FmtArg(static_cast<std::underlying_type_t<E>>(v)) {}  // NOLINT
  template <typename T>
    requires(!std::same_as<std::remove_cv_t<T>, char>)
  FmtArg(T* v) : kind(Kind::Pointer), u(reinterpret_cast<std::uintptr_t>(v)) {}  // NOLINT
};

namespace detail {

template <CharSink S>
constexpr void emit_padded(S& sink, const char* text, std::size_t len, std::size_t width,
                           bool left, char pad) {
  // A zero pad goes after a leading sign or 0x prefix.
  std::size_t i = 0;
  if (pad == '0' && !left && len > 0 && text[0] == '-') {
    sink.put('-');
    i = 1;
  } else if (pad == '0' && !left && len > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    sink.put(text[0]);
    sink.put(text[1]);
    i = 2;
  }
  if (width >= i) width -= i; else width = 0;
  len -= i;
  text += i;
  i = 0;
  if (!left) {
    for (std::size_t k = len; k < width; ++k) sink.put(pad);
  }
  for (; i < len; ++i) sink.put(text[i]);
  if (left) {
    for (std::size_t k = len; k < width; ++k) sink.put(' ');
  }
}

// Digits of v in `base`, written backwards into the end of buf[24]; returns the start.
constexpr char* to_digits(std::uint64_t v, unsigned base, bool upper, char* end) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  char* p = end;
  do {
    *--p = digits[v % base];
    v /= base;
  } while (v != 0);
  return p;
}

template <CharSink S>
constexpr void format_args(S& sink, const char* fmt, const FmtArg* args, std::size_t nargs) {
  std::size_t next = 0;
  for (const char* p = fmt; *p != '\0'; ++p) {
    if (*p != '%') {
      sink.put(*p);
      continue;
    }
    ++p;
    if (*p == '\0') break;
    if (*p == '%') {
      sink.put('%');
      continue;
    }
    bool left = false;
    bool alt = false;
    char pad = ' ';
    for (;; ++p) {
      if (*p == '-') left = true;
      else if (*p == '0') pad = '0';
      else if (*p == '#') alt = true;
      else break;
    }
    std::size_t width = 0;
    while (*p >= '0' && *p <= '9') width = width * 10 + static_cast<std::size_t>(*p++ - '0');
    while (*p == 'l' || *p == 'h' || *p == 'z') ++p;
    const char conv = *p;
    if (conv == '\0') break;
    if (next >= nargs) {
      emit_padded(sink, "<?>", 3, width, left, ' ');
      continue;
    }
    const FmtArg& a = args[next++];
    char buf[24];
    char* end = buf + sizeof(buf);
    switch (conv) {
      case 's': {
        const char* s = a.kind == FmtArg::Kind::String ? (a.s ? a.s : "(null)") : "<?>";
        std::size_t n = 0;
        while (s[n] != '\0') ++n;
        emit_padded(sink, s, n, width, left, ' ');
        break;
      }
      case 'c': {
        const char c = static_cast<char>(a.u);
        emit_padded(sink, &c, 1, width, left, ' ');
        break;
      }
      case 'd':
      case 'i': {
        const bool neg = a.kind == FmtArg::Kind::Signed && static_cast<std::int64_t>(a.u) < 0;
        const std::uint64_t mag = neg ? (~a.u + 1) : a.u;
        char* s = to_digits(mag, 10, false, end);
        if (neg) *--s = '-';
        emit_padded(sink, s, static_cast<std::size_t>(end - s), width, left, pad);
        break;
      }
      case 'u': {
        char* s = to_digits(a.u, 10, false, end);
        emit_padded(sink, s, static_cast<std::size_t>(end - s), width, left, pad);
        break;
      }
      case 'x':
      case 'X': {
        char* s = to_digits(a.u, 16, conv == 'X', end);
        if (alt) {
          *--s = conv;
          *--s = '0';
        }
        emit_padded(sink, s, static_cast<std::size_t>(end - s), width, left, pad);
        break;
      }
      case 'p': {
        char* s = to_digits(a.u, 16, false, end);
        *--s = 'x';
        *--s = '0';
        emit_padded(sink, s, static_cast<std::size_t>(end - s), width, left, ' ');
        break;
      }
      default:  // unknown conversion: show it verbatim, consume the argument
        sink.put('%');
        sink.put(conv);
        break;
    }
  }
}

}  // namespace detail

/// Formats `fmt` with `args` into `sink`.
template <CharSink S, typename... Args>
constexpr void format_to(S& sink, const char* fmt, const Args&... args) {
  if constexpr (sizeof...(Args) == 0) {
    detail::format_args(sink, fmt, nullptr, 0);
  } else {
    const FmtArg packed[] = {FmtArg(args)...};
    detail::format_args(sink, fmt, packed, sizeof...(Args));
  }
}

/// A sink over a caller's array; always NUL-terminates, counts what did not fit.
struct ArraySink {
  char* buf;
  std::size_t cap;  ///< including the NUL
  std::size_t len = 0;
  std::size_t dropped = 0;
  /// Appends one character (counted as dropped when the buffer is full; always NUL-terminated).
  constexpr void put(char c) {
    if (len + 1 < cap) {
      buf[len++] = c;
      buf[len] = '\0';
    } else {
      ++dropped;
    }
  }
};

/// snprintf-like: formats into buf[cap] and returns the length written (excluding the NUL).
template <typename... Args>
constexpr std::size_t format_buf(char* buf, std::size_t cap, const char* fmt, const Args&... args) {
  if (cap == 0) return 0;
  buf[0] = '\0';
  ArraySink s{buf, cap};
  format_to(s, fmt, args...);
  return s.len;
}

}  // namespace pvkit::guest
