// pvkit/arch/x86/mm/static_page_pool.h — a PageAllocator over a fixed array of pages.
//
// What it is: `StaticPagePool<N>`, N zero-filled 4 KiB pages living in the image's .bss,
// handed out one at a time and returned to a free list. For the hypervisor's own early tables
// (before any real frame allocator exists) and for small test images. Out of pages: nullptr.
//
// How to use it: `constinit StaticPagePool<8> pool;` then `pool.alloc_page()`.
//
// Concurrency: not locked; boot CPU only (wrap it in a lock to share it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "pvkit/base/page_allocator.h"

namespace pvkit::x86 {

/// N zero-filled 4 KiB pages in the image's .bss: a PageAllocator without a heap.
template <std::size_t N>
class StaticPagePool {
 public:
  /// A zero-filled page, or nullptr when all N are in use.
  void* alloc_page() {
    void* p = nullptr;
    if (free_ != nullptr) {
      p = free_;
      free_ = free_->next;
    } else if (used_ < N) {
      p = pages_[used_++].bytes;
    } else {
      return nullptr;
    }
    std::memset(p, 0, 4096);
    ++live_;
    return p;
  }
  /// Returns a page from alloc_page() (nullptr is ignored).
  void free_page(void* p) {
    if (p == nullptr) return;
    auto* node = static_cast<FreeNode*>(p);
    node->next = free_;
    free_ = node;
    --live_;
  }
  /// Pages currently handed out.
  [[nodiscard]] std::size_t live_pages() const { return live_; }
  /// The number of pages in the pool.
  [[nodiscard]] static constexpr std::size_t capacity() { return N; }

 private:
  struct FreeNode {
    FreeNode* next;
  };
  struct alignas(4096) Page {
    std::uint8_t bytes[4096];
  };
  Page pages_[N];
  FreeNode* free_ = nullptr;
  std::size_t used_ = 0;
  std::size_t live_ = 0;
};

static_assert(PageAllocator<StaticPagePool<1>>);

}  // namespace pvkit::x86
