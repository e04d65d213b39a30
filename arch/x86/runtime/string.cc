// pvkit freestanding string functions for x86-64 images (hypervisor and guests alike).
//
// memcpy, memmove, memset and memcmp (the compiler emits calls to them even without
// <cstring>), strlen and strcmp. Simple string instructions and loops: the hot paths that
// move pages use their own copies. Each image adds its own abort() (see mem.cc, and the
// guest runtime's), which is where the two differ.
#include <cstddef>
#include <cstdint>

extern "C" {

// Quadwords first, then the tail (memcpy and memset): the copies the compiler emits are mostly
// whole frames and structs (TrapFrame, bounce frames), frames are cleared whole, and under
// QEMU -icount every iteration of a REP string instruction counts as one instruction.
void* memcpy(void* __restrict dst, const void* __restrict src, std::size_t n) {
  auto* d = static_cast<unsigned char*>(dst);
  const auto* s = static_cast<const unsigned char*>(src);
  std::size_t q = n >> 3, tail = n & 7;
  asm volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(q) : : "memory");
  asm volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(tail) : : "memory");
  return dst;
}

void* memmove(void* dst, const void* src, std::size_t n) {
  auto* d = static_cast<unsigned char*>(dst);
  const auto* s = static_cast<const unsigned char*>(src);
  if (d == s || n == 0) return dst;
  if (d < s || d >= s + n) return memcpy(dst, src, n);
  for (std::size_t i = n; i > 0; --i) d[i - 1] = s[i - 1];
  return dst;
}

void* memset(void* dst, int c, std::size_t n) {
  auto* d = static_cast<unsigned char*>(dst);
  // The byte replicated into a quadword: frames are cleared 8 bytes per REP iteration.
  const std::uint64_t pattern = static_cast<std::uint8_t>(c) * 0x0101010101010101ull;
  std::size_t q = n >> 3, tail = n & 7;
  asm volatile("rep stosq" : "+D"(d), "+c"(q) : "a"(pattern) : "memory");
  asm volatile("rep stosb" : "+D"(d), "+c"(tail) : "a"(pattern) : "memory");
  return dst;
}

int memcmp(const void* a, const void* b, std::size_t n) {
  const auto* x = static_cast<const unsigned char*>(a);
  const auto* y = static_cast<const unsigned char*>(b);
  for (std::size_t i = 0; i < n; ++i) {
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return 0;
}

std::size_t strlen(const char* s) {
  std::size_t n = 0;
  while (s[n] != '\0') ++n;
  return n;
}

int strcmp(const char* a, const char* b) {
  while (*a != '\0' && *a == *b) {
    ++a;
    ++b;
  }
  return static_cast<unsigned char>(*a) - static_cast<unsigned char>(*b);
}

}  // extern "C"
