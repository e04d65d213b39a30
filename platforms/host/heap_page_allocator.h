// pvkit host platform: HeapPageAllocator — zeroed 4 KiB pages from the host heap, counted.
//
// What it is: the host's `PageAllocator`. It counts pages handed out and returned, and can be
// given a limit so tests can drive a primitive into its out-of-memory path.
//
// How to use it: `HeapPageAllocator alloc; alloc.set_limit(3);` then pass it to a primitive;
// after teardown, `EXPECT_EQ(alloc.live_pages(), 0)`.
//
// Concurrency: thread-safe (atomic counters; the host allocator is thread-safe).
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "pvkit/base/page_allocator.h"

namespace pvkit::host {

/// A PageAllocator over the host heap that counts live pages and can be limited.
class HeapPageAllocator {
 public:
  /// A zero-filled 4 KiB page, or nullptr beyond the limit.
  void* alloc_page() {
    if (live_.fetch_add(1) >= limit_.load()) {
      live_.fetch_sub(1);
      return nullptr;
    }
    void* p = std::aligned_alloc(4096, 4096);
    if (p == nullptr) {
      live_.fetch_sub(1);
      return nullptr;
    }
    std::memset(p, 0, 4096);
    return p;
  }
  /// Frees a page from alloc_page() (nullptr is ignored).
  void free_page(void* p) {
    if (p == nullptr) return;
    live_.fetch_sub(1);
    std::free(p);
  }
  /// Limits the live pages (later allocations fail: out-of-memory tests).
  void set_limit(std::int64_t pages) { limit_.store(pages); }
  /// Pages allocated and not yet freed.
  [[nodiscard]] std::int64_t live_pages() const { return live_.load(); }

 private:
  std::atomic<std::int64_t> live_{0};
  std::atomic<std::int64_t> limit_{INT64_MAX};
};

static_assert(PageAllocator<HeapPageAllocator>);

}  // namespace pvkit::host
