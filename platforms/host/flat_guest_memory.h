// pvkit host platform: FlatGuestMemory — a guest virtual address space made of host buffers.
//
// What it is: a simple `GuestMemory` for host tests of hypercall handlers. The test maps
// regions (base address, size, writable) backed by host memory; any byte outside a mapped
// region, or a write to a read-only region, answers Errno::Fault exactly like a guest page
// fault would in the image. Copies never partially cross into an unmapped hole: a range is
// checked byte-exactly before any byte moves.
//
// How to use it:
//   FlatGuestMemory mem;
//   auto* buf = mem.map(VirtAddr{0x10000}, 4096);      // zero-filled, writable
//   mem.map(VirtAddr{0x20000}, 4096, /*writable=*/false);
//   GuestArray<std::uint32_t> a{{VirtAddr{0x10000}}, 16};
//
// Concurrency: mapping is not thread-safe; copies may run concurrently once mapping is done
// (they are plain memcpy on shared bytes, as with a real guest page).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "pvkit/base/guest_memory.h"

namespace pvkit::host {

/// A GuestMemory made of host buffers mapped at guest addresses (see the file comment).
class FlatGuestMemory {
 public:
  /// Maps `size` zeroed bytes at `base`; returns the host pointer backing them.
  std::uint8_t* map(VirtAddr base, std::size_t size, bool writable = true) {
    auto r = std::make_unique<Region>();
    r->base = base.value();
    r->bytes.assign(size, 0);
    r->writable = writable;
    regions_.push_back(std::move(r));
    return regions_.back()->bytes.data();
  }
  /// Host pointer for a mapped guest address (nullptr if unmapped), for test setup.
  std::uint8_t* host_ptr(VirtAddr va) {
    Region* r = find(va.value(), 1);
    return r ? r->bytes.data() + (va.value() - r->base) : nullptr;
  }
  /// The host object of type T at guest address `va`, or nullptr if not fully mapped.
  template <typename T>
  T* host_obj(VirtAddr va) {
    Region* r = find(va.value(), sizeof(T));
    return r ? reinterpret_cast<T*>(r->bytes.data() + (va.value() - r->base)) : nullptr;
  }

  /// GuestMemory: Errno::Fault unless every byte is mapped.
  Status copy_from_guest(void* dst, VirtAddr va, std::size_t n) {
    ++reads_;
    if (n == 0) return Status::ok();
    Region* r = find(va.value(), n);
    if (r == nullptr) return Errno::Fault;
    std::memcpy(dst, r->bytes.data() + (va.value() - r->base), n);
    return Status::ok();
  }
  /// GuestMemory: Errno::Fault unless every byte is mapped writable.
  Status copy_to_guest(VirtAddr va, const void* src, std::size_t n) {
    ++writes_;
    if (n == 0) return Status::ok();
    Region* r = find(va.value(), n);
    if (r == nullptr || !r->writable) return Errno::Fault;
    std::memcpy(r->bytes.data() + (va.value() - r->base), src, n);
    return Status::ok();
  }

  /// How many copies were attempted (tests assert "no side effect" with these).
  [[nodiscard]] std::uint64_t reads() const { return reads_; }
  /// How many copies to the guest were attempted.
  [[nodiscard]] std::uint64_t writes() const { return writes_; }

 private:
  struct Region {
    std::uint64_t base = 0;
    std::vector<std::uint8_t> bytes;
    bool writable = true;
  };
  Region* find(std::uint64_t va, std::size_t n) {
    for (auto& r : regions_) {
      if (va >= r->base && n <= r->bytes.size() && va - r->base <= r->bytes.size() - n) return r.get();
    }
    return nullptr;
  }
  std::vector<std::unique_ptr<Region>> regions_;
  std::uint64_t reads_ = 0;
  std::uint64_t writes_ = 0;
};

static_assert(GuestMemory<FlatGuestMemory>);

}  // namespace pvkit::host
