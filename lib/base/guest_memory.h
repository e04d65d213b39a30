// pvkit/base/guest_memory.h — copying to and from guest virtual memory, element by element.
//
// What it is: the `GuestMemory` concept a platform implements (copy bytes from/to the
// current vCPU's guest address space, answering Errno::Fault for any byte that is not
// accessible), and typed helpers over it: `GuestHandle<T>` (Xen's XEN_GUEST_HANDLE(T)) and
// `GuestArray<T>` (a handle plus a guest-supplied count).
//
// How to use it: never compute `base + i * sizeof(T)` by hand. Use
//   GuestArray<mmu_update_t> reqs{handle, count};
//   mmu_update_t r; if (auto s = reqs.read(mem, i, r); !s) return s;
// Each element access checks the index against the count AND the address arithmetic for
// overflow, and the platform checks every byte (invariant 4: never only the array's base).
//
// Concurrency: guest memory is shared with the guest's other vCPUs and with other domains;
// a value read once may change afterwards. Copy once, validate the copy, use the copy.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "pvkit/base/status.h"
#include "pvkit/base/types.h"

namespace pvkit {

/// A platform's access to the current guest address space. Both calls either copy all `n`
/// bytes and return ok, or return Errno::Fault (a partial copy may have happened).
template <typename M>
concept GuestMemory = requires(M& m, VirtAddr va, void* dst, const void* src, std::size_t n) {
  { m.copy_from_guest(dst, va, n) } -> std::same_as<Status>;
  { m.copy_to_guest(va, src, n) } -> std::same_as<Status>;
};

/// The address of element `index` of an array of `elem_size`-byte elements at `base`,
/// or an error if the arithmetic overflows the 64-bit address space.
[[nodiscard]] constexpr Result<VirtAddr> guest_element_address(VirtAddr base, std::uint64_t index,
                                                               std::uint64_t elem_size) {
  if (elem_size != 0 && index > (UINT64_MAX / elem_size)) return Errno::Fault;
  const std::uint64_t off = index * elem_size;
  if (base.value() > UINT64_MAX - off) return Errno::Fault;
  if (elem_size != 0 && base.value() + off > UINT64_MAX - (elem_size - 1)) return Errno::Fault;
  return VirtAddr{base.value() + off};
}

/// Xen's XEN_GUEST_HANDLE(T): a guest virtual address of one or more T.
template <typename T>
struct GuestHandle {
  static_assert(std::is_trivially_copyable_v<T>, "guest data is copied bytewise");
  VirtAddr addr{};

  /// True for a NULL guest handle (address 0).
  [[nodiscard]] constexpr bool is_null() const { return addr.value() == 0; }

  /// Reads element `index` (no count check: use GuestArray when the count is guest-given).
  template <GuestMemory M>
  [[nodiscard]] Status read(M& mem, std::uint64_t index, T& out) const {
    auto a = guest_element_address(addr, index, sizeof(T));
    if (!a) return a.status();
    return mem.copy_from_guest(&out, *a, sizeof(T));
  }
  /// Writes element `index` (no count check: use GuestArray when the count is guest-given).
  template <GuestMemory M>
  [[nodiscard]] Status write(M& mem, std::uint64_t index, const T& in) const {
    auto a = guest_element_address(addr, index, sizeof(T));
    if (!a) return a.status();
    return mem.copy_to_guest(*a, &in, sizeof(T));
  }
  /// A handle to the field at byte offset `off` of element `index` (for writing one field
  /// of a guest struct back, as Xen's __copy_field_to_guest does).
  template <typename F, GuestMemory M>
  [[nodiscard]] Status write_field(M& mem, std::uint64_t index, std::size_t off, const F& v) const {
    static_assert(std::is_trivially_copyable_v<F>);
    if (off + sizeof(F) > sizeof(T)) return Errno::Inval;
    auto a = guest_element_address(addr, index, sizeof(T));
    if (!a) return a.status();
    return mem.copy_to_guest(VirtAddr{a->value() + off}, &v, sizeof(F));
  }
};

/// A guest array whose length the guest chose: every access is checked against `count`.
template <typename T>
struct GuestArray {
  GuestHandle<T> handle{};
  std::uint64_t count = 0;

  /// Copies element `index` into `out`: Errno::Fault if the index is >= count, the address arithmetic overflows or any byte is unreadable.
  template <GuestMemory M>
  [[nodiscard]] Status read(M& mem, std::uint64_t index, T& out) const {
    if (index >= count) return Errno::Fault;
    return handle.read(mem, index, out);
  }
  /// Copies `value` into element `index`, with the same checks as read().
  template <GuestMemory M>
  [[nodiscard]] Status write(M& mem, std::uint64_t index, const T& in) const {
    if (index >= count) return Errno::Fault;
    return handle.write(mem, index, in);
  }
};

}  // namespace pvkit
