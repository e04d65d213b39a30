// pvkit/base/page_allocator.h — the policy through which primitives get hypervisor-private pages.
//
// What it is: the `PageAllocator` concept. pvkit's freestanding core never uses a heap; a
// primitive that needs memory proportional to a guest's use (event-channel buckets, grant
// frames, maptrack pages) asks its platform's allocator for whole 4 KiB pages. Pages are
// returned zero-filled, 4 KiB aligned, or nullptr when the platform is out of memory (the
// primitive then answers -ENOMEM / GNTST_no_space; it never crashes).
//
// How to use it: take the allocator as a template parameter constrained by PageAllocator.
// The host platform provides pvkit::host::HeapPageAllocator, which counts live pages so tests
// can assert that teardown returns every page.
//
// Concurrency: implementations must be safe to call from several vCPUs at once.
#pragma once

#include <concepts>

namespace pvkit {

/// A source of zero-filled, 4 KiB-aligned hypervisor pages (nullptr when exhausted).
template <typename A>
concept PageAllocator = requires(A& a, void* page) {
  { a.alloc_page() } -> std::same_as<void*>;
  { a.free_page(page) } -> std::same_as<void>;
};

}  // namespace pvkit
