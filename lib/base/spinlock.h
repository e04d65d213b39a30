// pvkit/base/spinlock.h — the lock pvkit's primitives use, and the concept a replacement meets.
//
// What it is: `SpinLock`, a test-and-test-and-set lock on std::atomic that works the same in
// the freestanding image (lock-prefixed instructions, no libcalls) and on the host (where the
// thread sanitizer understands it); `Lockable` is the named concept any platform lock type
// must satisfy; `LockGuard` and `lock_two` (fixed global order) use any Lockable.
//
// How to use it: `LockGuard g(d.lock);`. To hold two locks of the same kind (two domains, two
// channels), call `lock_two(a, key_a, b, key_b)`: it always locks the lower key first, so two
// vCPUs locking the same pair in opposite roles cannot deadlock.
//
// Concurrency: SpinLock is not recursive and not fair; hold it for bounded work only.
#pragma once

#include <atomic>
#include <concepts>
#include <cstdint>

namespace pvkit {

/// A lock type pvkit's primitives accept: lock(), unlock(), try_lock().
template <typename L>
concept Lockable = requires(L& l) {
  { l.lock() } -> std::same_as<void>;
  { l.unlock() } -> std::same_as<void>;
  { l.try_lock() } -> std::same_as<bool>;
};

/// A test-and-test-and-set spin lock (not recursive, not fair), usable freestanding.
class SpinLock {
 public:
  SpinLock() = default;
  SpinLock(const SpinLock&) = delete;
  SpinLock& operator=(const SpinLock&) = delete;

  /// Spins until the lock is taken.
  void lock() {
    for (;;) {
      if (!locked_.exchange(true, std::memory_order_acquire)) return;
      while (locked_.load(std::memory_order_relaxed)) cpu_relax();
    }
  }
  /// Takes the lock if it is free; returns whether it did.
  [[nodiscard]] bool try_lock() {
    return !locked_.load(std::memory_order_relaxed) &&
           !locked_.exchange(true, std::memory_order_acquire);
  }
  /// Releases the lock (release ordering).
  void unlock() { locked_.store(false, std::memory_order_release); }
  /// For assertions in tests only: whether somebody holds the lock right now.
  [[nodiscard]] bool is_locked() const { return locked_.load(std::memory_order_relaxed); }

 private:
  static void cpu_relax() {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
  }
  std::atomic<bool> locked_{false};
};
static_assert(Lockable<SpinLock>);

/// Holds a Lockable for the lifetime of the guard (RAII).
template <Lockable L>
class [[nodiscard]] LockGuard {
 public:
  explicit LockGuard(L& l) : l_(l) { l_.lock(); }
  ~LockGuard() { l_.unlock(); }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;

 private:
  L& l_;
};

/// Locks two locks in a fixed order given by their keys (domain ids, port numbers, ...).
/// If both are the same lock (equal keys), it is locked once.
template <Lockable L>
void lock_two(L& a, std::uint64_t key_a, L& b, std::uint64_t key_b) {
  if (&a == &b) {
    a.lock();
  } else if (key_a < key_b || (key_a == key_b && &a < &b)) {
    a.lock();
    b.lock();
  } else {
    b.lock();
    a.lock();
  }
}

/// Releases two locks taken by lock_two (either order is fine for unlocking).
template <Lockable L>
void unlock_two(L& a, L& b) {
  a.unlock();
  if (&a != &b) b.unlock();
}

}  // namespace pvkit
