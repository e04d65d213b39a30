// pvkit host platform: Machine — simulated machine memory and per-vCPU fake TLBs for tests of
// the PV page-table verifier.
//
// What it is: N frames of 4 KiB (addressable by Mfn) with their FrameDb; the first
// `xen_frames` frames are reserved for the hypervisor. Machine satisfies pvkit::MmPlatform:
// `frame_entries` gives a frame's 512 words, `fill_xen_l4_slots` writes recognisable
// hypervisor entries into L4 slots 256..271, and the TLB calls act on fake TLBs.
// A fake TLB per (domain, vCPU) remembers every translation (va -> mfn, writable) the vCPU
// could have cached from its current root: `observe()` walks the current tree and adds what it
// finds (call it wherever the guest could run, e.g. after each hypercall), and only the
// flushes the verifier or the guest's requests actually perform remove entries. Tests then
// assert that no stale writable translation of a frame survives its change into a page table.
//
// How to use it:
//   Machine m(256, 4);                      // 256 frames, frames 0..3 hypervisor-owned
//   PageTableVerifier<Machine> v(m.frame_db(), m);
//   m.observe_all(); EXPECT_FALSE(m.any_writable_translation(table_mfn));
//
// Concurrency: single-threaded test use only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <tuple>
#include <memory>
#include <utility>
#include <vector>

#include "pvkit/base/types.h"
#include "pvkit/mm/frame_db.h"
#include "pvkit/mm/mm_platform.h"
#include "pvkit/mm/pte.h"
#include "pvkit/mm/xen_abi.h"

namespace pvkit::host {

class Machine {
 public:
  /// (va, mfn, writable): a va may have several cached translations if its mapping changed
  /// without a flush.
  using Key = std::tuple<std::uint64_t, std::uint64_t, bool>;
  struct Tlb {
    bool has_root = false;
    Mfn root{};
    std::set<Key> entries;
  };

  Machine(std::uint64_t nr_frames, std::uint64_t xen_frames)
      : memory_(nr_frames * 512, 0), info_(nr_frames), db_(std::span<FrameInfo>(info_)), xen_frames_(xen_frames) {
    for (std::uint64_t i = 0; i < xen_frames && i < nr_frames; ++i) (void)db_.reserve_xen(Mfn{i});
  }
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  FrameDb& frame_db() { return db_; }
  [[nodiscard]] std::uint64_t nr_frames() const { return info_.size(); }
  [[nodiscard]] std::uint64_t xen_frames() const { return xen_frames_; }

  // ---- MmPlatform ----
  std::uint64_t* frame_entries(Mfn m) {
    if (m.value() >= info_.size()) return nullptr;
    return memory_.data() + m.value() * 512;
  }
  void fill_xen_l4_slots(Mfn, std::uint64_t* e) {
    for (unsigned i = xen::kFirstXenL4Slot; i <= xen::kLastXenL4Slot; ++i) e[i] = xen_slot_value(i);
  }
  void flush_tlb_all() {
    ++full_flushes_;
    if (on_full_flush) on_full_flush();
    for (auto& [k, t] : tlbs_) t.entries.clear();
  }
  void flush_tlb(DomId d, const VcpuMask& mask) {
    ++guest_flushes_;
    for (auto& [k, t] : tlbs_) {
      if (k.first == d.value() && mask.test(VcpuId{k.second})) t.entries.clear();
    }
  }
  void invlpg(DomId d, const VcpuMask& mask, VirtAddr va) {
    ++guest_invlpgs_;
    for (auto& [k, t] : tlbs_) {
      if (k.first != d.value() || !mask.test(VcpuId{k.second})) continue;
      const std::uint64_t page = va.value() & kPageMask;
      t.entries.erase(t.entries.lower_bound(Key{page, 0, false}), t.entries.upper_bound(Key{page, ~std::uint64_t{0}, true}));
    }
  }
  void load_root(DomId d, VcpuId v, Mfn m) {
    Tlb& t = tlbs_[{d.value(), v.value()}];
    t.has_root = true;
    t.root = m;
    t.entries.clear();  // a CR3 load flushes non-global translations
  }

  /// What fill_xen_l4_slots writes into slot i (present, writable, a hypervisor frame).
  [[nodiscard]] std::uint64_t xen_slot_value(unsigned i) const {
    std::uint64_t v = X86Pte::Present::set(0, 1);
    v = X86Pte::Rw::set(v, 1);
    return X86Pte::with_frame(v, Mfn{xen_frames_ == 0 ? 0 : (i % xen_frames_)});
  }

  // ---- fake TLB ----

  /// Adds every translation reachable from vCPU (d, v)'s current root to its TLB.
  void observe(DomId d, VcpuId v) {
    auto it = tlbs_.find({d.value(), v.value()});
    if (it == tlbs_.end() || !it->second.has_root) return;
    walk(it->second.root, 4, 0, true, it->second.entries);
  }
  void observe_all() {
    for (auto& [k, t] : tlbs_) {
      if (t.has_root) walk(t.root, 4, 0, true, t.entries);
    }
  }
  /// Whether any vCPU's TLB holds a writable translation to `m`.
  [[nodiscard]] bool any_writable_translation(Mfn m) const {
    for (auto& [k, t] : tlbs_) {
      for (auto& [va, mfn, w] : t.entries) {
        if (mfn == m.value() && w) return true;
      }
    }
    return false;
  }
  [[nodiscard]] const Tlb* tlb(DomId d, VcpuId v) const {
    auto it = tlbs_.find({d.value(), v.value()});
    return it == tlbs_.end() ? nullptr : &it->second;
  }
  /// Forgets a vCPU (domain destroyed).
  void forget_domain(DomId d) {
    for (auto it = tlbs_.begin(); it != tlbs_.end();) {
      it = it->first.first == d.value() ? tlbs_.erase(it) : std::next(it);
    }
  }

  /// Called at every full flush before the TLBs are cleared (tests inspect the state the
  /// verifier has published at that moment).
  std::function<void()> on_full_flush;

  [[nodiscard]] std::uint64_t full_flushes() const { return full_flushes_; }
  [[nodiscard]] std::uint64_t guest_flushes() const { return guest_flushes_; }
  [[nodiscard]] std::uint64_t guest_invlpgs() const { return guest_invlpgs_; }

 private:
  /// Walks a table as the MMU would: present entries, RW ANDed down the levels.
  void walk(Mfn table, unsigned level, std::uint64_t va, bool writable, std::set<Key>& out) {
    std::uint64_t* e = frame_entries(table);
    if (e == nullptr) return;
    for (unsigned i = 0; i < 512; ++i) {
      if (level == 4 && i >= xen::kFirstXenL4Slot && i <= xen::kLastXenL4Slot) continue;
      const std::uint64_t x = e[i];
      if (!X86Pte::Present::test(x)) continue;
      std::uint64_t cva = va | (std::uint64_t{i} << (12 + 9 * (level - 1)));
      if (level == 4 && i >= 256) cva |= 0xFFFF000000000000ULL;
      const bool w = writable && X86Pte::Rw::test(x);
      if (level == 1) {
        out.insert(Key{cva, X86Pte::frame(x).value(), w});
      } else if (!X86Pte::PsePat::test(x)) {
        walk(X86Pte::frame(x), level - 1, cva, w, out);
      }
    }
  }

  std::vector<std::uint64_t> memory_;
  std::vector<FrameInfo> info_;
  FrameDb db_;
  std::uint64_t xen_frames_;
  std::map<std::pair<std::uint16_t, std::uint32_t>, Tlb> tlbs_;
  std::uint64_t full_flushes_ = 0;
  std::uint64_t guest_flushes_ = 0;
  std::uint64_t guest_invlpgs_ = 0;
};

static_assert(MmPlatform<Machine>);

}  // namespace pvkit::host
