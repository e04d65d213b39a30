// pvkit/platforms/pc/hv/frame_pool.h — the machine frames the PC hypervisor hands out.
//
// What it is: `FramePool<Map>`, a LIFO free list of 4 KiB machine frames threaded through the
// free frames themselves (the first word of a free frame names the next one), reached through
// a PhysMap (the hypervisor's direct map on bare metal, identity over heap pages in host
// tests). Frames are added as ranges at boot (RAM above the image, minus boot modules);
// `alloc` hands out a zeroed frame, `free` takes one back; `move_to` moves frames to another
// pool as they are (no zeroing: a way to set frames aside cheaply, e.g. to run the hypervisor
// with a nearly empty pool in a test). It also satisfies PageAllocator (`alloc_page`/
// `free_page`) for hypervisor-private pages.
// How to use it: `FramePool<x86::HvDirectMap> pool; pool.add_range(first, end); pool.alloc();`
// Concurrency: not synchronised; the PC hypervisor runs its hooks with interrupts off on one
// CPU.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>

#include "pvkit/arch/x86/mm/phys_map.h"
#include "pvkit/base/types.h"

namespace pvkit::pc {

template <x86::PhysMap Map>
class FramePool {
 public:
  explicit constexpr FramePool(Map map = {}) : map_(map) {}

  /// Adds machine frames [first, end) to the pool.
  void add_range(Mfn first, Mfn end) {
    for (std::uint64_t m = first.value(); m < end.value(); ++m) free(Mfn{m});
  }
  /// A zeroed frame, or nullopt when the pool is empty.
  [[nodiscard]] std::optional<Mfn> alloc() {
    if (head_ == kNone) return std::nullopt;
    const Mfn m{head_};
    auto* p = static_cast<std::uint64_t*>(map_.to_virt(head_ << kPageShift));
    head_ = p[0];
    std::memset(p, 0, kPageSize);
    --free_;
    return m;
  }
  /// Returns a frame to the pool.
  void free(Mfn m) {
    auto* p = static_cast<std::uint64_t*>(map_.to_virt(m.value() << kPageShift));
    p[0] = head_;
    head_ = m.value();
    ++free_;
  }
  /// Moves up to `n` frames from this pool to `other` without zeroing them (the contents
  /// stay: only the free-list links change). Returns how many moved.
  std::uint64_t move_to(FramePool& other, std::uint64_t n) {
    std::uint64_t moved = 0;
    for (; moved < n && head_ != kNone; ++moved) {
      const Mfn m{head_};
      head_ = *static_cast<const std::uint64_t*>(map_.to_virt(head_ << kPageShift));
      --free_;
      other.free(m);
    }
    return moved;
  }
  /// PageAllocator: hypervisor-private pages (direct-map pointers).
  void* alloc_page() {
    auto m = alloc();
    return m ? map_.to_virt(m->value() << kPageShift) : nullptr;
  }
  void free_page(void* p) { free(Mfn{map_.to_phys(p) >> kPageShift}); }

  [[nodiscard]] std::uint64_t free_frames() const { return free_; }
  [[nodiscard]] void* virt(Mfn m) const { return map_.to_virt(m.value() << kPageShift); }
  [[nodiscard]] Mfn mfn_of(const void* p) const { return Mfn{map_.to_phys(p) >> kPageShift}; }

 private:
  static constexpr std::uint64_t kNone = ~std::uint64_t{0};
  Map map_;
  std::uint64_t head_ = kNone;
  std::uint64_t free_ = 0;
};

}  // namespace pvkit::pc
