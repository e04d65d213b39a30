// pvkit/ring/shared_access.h — how pvkit touches memory it shares with another domain.
//
// What it is: the barriers io/ring.h calls xen_wmb / xen_rmb / xen_mb (`write_barrier`,
// `read_barrier`, `full_barrier`, as std::atomic_thread_fence), single-access loads and stores
// of the 32-bit ring indices, and `snapshot_from_shared` / `copy_to_shared`, which move a
// whole message between shared memory and private memory with word-sized atomic accesses.
//
// Why: the other end may write any shared byte at any time. Plain C++ reads of such memory
// let the compiler read a field twice (a double fetch: XSA-155) or tear it; the single-access
// primitives here cannot be duplicated or merged by the compiler, so a value checked after a
// snapshot is the value used. Index stores are also release and index loads acquire, so the
// C++ memory model (and ThreadSanitizer, which does not model stand-alone fences) sees the
// same ordering the fences give.
//
// How to use it: only through FrontRing / BackRing; they call these at the points io/ring.h
// places its barriers.
//
// Concurrency: every function is safe against a concurrent (even hostile) writer of the same
// shared bytes; the result of a racing read is some mix of old and new words, never UB for
// pvkit's own code.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "pvkit/ring/xen_abi.h"

namespace pvkit::ring {

/// xen_wmb(): earlier accesses to the slots happen before the index store that follows.
inline void write_barrier() { std::atomic_thread_fence(std::memory_order_release); }
/// xen_rmb(): the index load before happens before reading the slots it covers.
inline void read_barrier() { std::atomic_thread_fence(std::memory_order_acquire); }
/// xen_mb(): full fence (publishing an index, then reading the peer's event index).
inline void full_barrier() { std::atomic_thread_fence(std::memory_order_seq_cst); }

/// One read of a shared ring index (acquire).
[[nodiscard]] inline xen::RingIdx load_index(const xen::RingIdx* p) {
  return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
/// One write of a shared ring index (release).
inline void store_index(xen::RingIdx* p, xen::RingIdx v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

namespace detail {
// The private side goes through memcpy (no aliasing assumptions about the message type); the
// shared side is accessed one word at a time with a relaxed atomic access.
template <typename W>
inline void copy_words_in(void* dst, const void* shared_src, std::size_t n) {
  auto* d = static_cast<unsigned char*>(dst);
  const auto* s = static_cast<const W*>(shared_src);
  for (std::size_t i = 0; i < n / sizeof(W); ++i) {
    const W w = __atomic_load_n(&s[i], __ATOMIC_RELAXED);
    std::memcpy(d + i * sizeof(W), &w, sizeof(W));
  }
}
template <typename W>
inline void copy_words_out(void* shared_dst, const void* src, std::size_t n) {
  auto* d = static_cast<W*>(shared_dst);
  const auto* s = static_cast<const unsigned char*>(src);
  for (std::size_t i = 0; i < n / sizeof(W); ++i) {
    W w;
    std::memcpy(&w, s + i * sizeof(W), sizeof(W));
    __atomic_store_n(&d[i], w, __ATOMIC_RELAXED);
  }
}
inline std::uintptr_t alignment_bits(const void* a, const void* b, std::size_t n) {
  return reinterpret_cast<std::uintptr_t>(a) | reinterpret_cast<std::uintptr_t>(b) | n;
}
}  // namespace detail

/// Copies `n` bytes out of shared memory exactly once (io/ring.h's RING_COPY_REQUEST): every
/// shared byte is read by one atomic access; the copy is private afterwards.
inline void snapshot_from_shared(void* dst, const void* shared_src, std::size_t n) {
  const std::uintptr_t bits = detail::alignment_bits(dst, shared_src, n);
  if ((bits & 7) == 0) {
    detail::copy_words_in<std::uint64_t>(dst, shared_src, n);
  } else if ((bits & 3) == 0) {
    detail::copy_words_in<std::uint32_t>(dst, shared_src, n);
  } else {
    detail::copy_words_in<std::uint8_t>(dst, shared_src, n);
  }
}

/// Copies `n` private bytes into shared memory, one atomic access per word.
inline void copy_to_shared(void* shared_dst, const void* src, std::size_t n) {
  const std::uintptr_t bits = detail::alignment_bits(shared_dst, src, n);
  if ((bits & 7) == 0) {
    detail::copy_words_out<std::uint64_t>(shared_dst, src, n);
  } else if ((bits & 3) == 0) {
    detail::copy_words_out<std::uint32_t>(shared_dst, src, n);
  } else {
    detail::copy_words_out<std::uint8_t>(shared_dst, src, n);
  }
}

}  // namespace pvkit::ring
