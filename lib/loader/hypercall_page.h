// pvkit/loader/hypercall_page.h — fill a 64-bit PV guest's hypercall page.
//
// What it is: `fill_hypercall_page(page)` writes the 128 32-byte stubs Xen gives an x86-64
// PV kernel. Stub n (at offset 32 * n) is
//     51                push %rcx
//     41 53             push %r11
//     b8 <n:imm32>      mov  $n, %eax
//     0f 05             syscall
//     41 5b             pop  %r11
//     59                pop  %rcx
//     c3                ret
// except stub 23 (HYPERVISOR_iret), which never returns to its caller:
//     51 / 41 53 / 50 (push %rax) / b8 17 00 00 00 / 0f 05
// Every other byte of the page is int3 (0xcc). The guest calls hypercall n with
// `call hypercall_page + 32 * n`; Xen sees rcx/r11 clobbered by syscall, which the stub saves.
//
// How to use it: the platform maps the frame of DomainLayout::hypercall_page and calls
//   fill_hypercall_page(std::span<std::uint8_t, 4096>(frame_bytes, 4096));
//
// Concurrency: writes only the given page; call before the guest runs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace pvkit::loader {

inline constexpr std::size_t kHypercallPageSize = 4096;
inline constexpr std::size_t kHypercallStubSize = 32;
inline constexpr std::size_t kHypercallStubs = kHypercallPageSize / kHypercallStubSize;  // 128
/// __HYPERVISOR_iret: its stub pushes RAX and does not return.
inline constexpr std::uint32_t kIretHypercall = 23;
inline constexpr std::uint8_t kInt3 = 0xcc;

/// Writes stub `nr` into `stub` (32 bytes, pre-filled with int3 by the caller).
inline void write_hypercall_stub(std::span<std::uint8_t, kHypercallStubSize> stub,
                                 std::uint32_t nr) {
  std::uint8_t* p = stub.data();
  std::size_t i = 0;
  p[i++] = 0x51;                 // push %rcx
  p[i++] = 0x41; p[i++] = 0x53;  // push %r11
  if (nr == kIretHypercall) p[i++] = 0x50;  // push %rax
  p[i++] = 0xb8;                 // mov $imm32, %eax
  for (unsigned b = 0; b < 4; ++b) p[i++] = static_cast<std::uint8_t>(nr >> (8 * b));
  p[i++] = 0x0f; p[i++] = 0x05;  // syscall
  if (nr == kIretHypercall) return;  // iret does not come back: int3 follows
  p[i++] = 0x41; p[i++] = 0x5b;  // pop %r11
  p[i++] = 0x59;                 // pop %rcx
  p[i++] = 0xc3;                 // ret
}

/// Fills a whole hypercall page.
inline void fill_hypercall_page(std::span<std::uint8_t, kHypercallPageSize> page) {
  std::memset(page.data(), kInt3, page.size());
  for (std::uint32_t nr = 0; nr < kHypercallStubs; ++nr) {
    write_hypercall_stub(page.subspan(nr * kHypercallStubSize).first<kHypercallStubSize>(), nr);
  }
}

}  // namespace pvkit::loader
