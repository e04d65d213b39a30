// pvkit/event/guest_atomic.h — atomic access to words the guest shares with the hypervisor.
//
// What it is: tiny wrappers over the compiler's __atomic builtins for reading and updating
// guest-shared integers in place (shared_info bitmaps, vcpu_info bytes, FIFO event words and
// control blocks). They work on plain integer fields of the ABI structs, compile to locked
// instructions both on the host and in the freestanding image, and are understood by the
// thread sanitizer.
//
// How to use it: read a guest word ONCE with guest_load and decide on that copy; change it only
// with a read-modify-write (guest_fetch_or / guest_fetch_and / guest_cas) — the guest may be
// changing the same word on another CPU at the same moment. Never loop on a guest word without
// a bound.
//
// Concurrency: every function is a single atomic operation (sequentially consistent unless
// named otherwise).
#pragma once

#include <cstdint>
#include <type_traits>

namespace pvkit::event {

/// The integer types a guest-shared word may have (1, 2, 4 or 8 bytes).
template <typename T>
concept GuestWord = std::is_integral_v<T> && (sizeof(T) == 1 || sizeof(T) == 2 ||
                                              sizeof(T) == 4 || sizeof(T) == 8);

/// One read of a guest word.
template <GuestWord T>
[[nodiscard]] inline T guest_load(const T* p) {
  return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
/// One write of a guest word (published with release order).
template <GuestWord T>
inline void guest_store(T* p, T v) {
  __atomic_store_n(p, v, __ATOMIC_RELEASE);
}
/// Atomically ORs `bits` in; returns the previous value.
template <GuestWord T>
inline T guest_fetch_or(T* p, T bits) {
  return __atomic_fetch_or(p, bits, __ATOMIC_SEQ_CST);
}
/// Atomically ANDs `bits` in; returns the previous value.
template <GuestWord T>
inline T guest_fetch_and(T* p, T bits) {
  return __atomic_fetch_and(p, bits, __ATOMIC_SEQ_CST);
}
/// Atomically replaces the word; returns the previous value.
template <GuestWord T>
inline T guest_exchange(T* p, T v) {
  return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
}
/// One compare-exchange attempt; on failure `expected` receives the current value.
template <GuestWord T>
[[nodiscard]] inline bool guest_cas(T* p, T& expected, T desired) {
  return __atomic_compare_exchange_n(p, &expected, desired, /*weak=*/false, __ATOMIC_SEQ_CST,
                                     __ATOMIC_SEQ_CST);
}

}  // namespace pvkit::event
