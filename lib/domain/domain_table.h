// pvkit/domain/domain_table.h — a fixed-capacity table of domains, looked up by DomId.
//
// What it is: `DomainTable<kCapacity>` stores up to kCapacity `Domain`s in place (no heap).
// `create` claims a slot for a new DomId, `find` looks a live domain up, `begin_destroy` moves it
// to Dying (teardown itself is pvkit/mm/domain_teardown.h, which knows the references a domain
// holds), `release` frees the slot of a Dead domain.
//
// How to use it:
//   DomainTable<8> table;
//   Result<Domain*> d = table.create(DomId{1}, {.max_pages = 256, .nr_vcpus = 2});
//   Domain* same = table.find(DomId{1});
// It satisfies the `DomainDirectory` concept that hypercall contexts expose for foreign
// operations (mmu_update's foreigndom, grant maps, interdomain event channels).
//
// Cost: create, find, begin_destroy, release and size are O(1) whatever the number of domains
// (a DomId-indexed slot index plus a free-slot list); for_each is O(slots ever used).
//
// Concurrency: create/find/release take the table's SpinLock; a Domain* stays valid until
// `release`, which the caller must only invoke once no other area can still use the domain
// (its state is Dead and every area has dropped it).
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "pvkit/base/spinlock.h"
#include "pvkit/base/status.h"
#include "pvkit/base/types.h"
#include "pvkit/domain/domain.h"

namespace pvkit {

/// What a hypercall context offers to resolve a DomId (nullptr if no such live domain).
template <typename T>
concept DomainDirectory = requires(T& t, DomId id) {
  { t.find(id) } -> std::same_as<Domain*>;
};

/// A fixed-capacity table of up to kCapacity domains, looked up by DomId (see the file comment).
///
/// Every operation is O(1): `index_` maps each ordinary DomId (< kDomidFirstReserved) to its
/// slot, and free slots are handed out from an intrusive free list (slots released earlier,
/// most recent first) before the high-water mark advances into never-used slots. The table
/// is constant-initialisable (all zero but the Domains' Dead state): it can be a global of a
/// freestanding image without a static constructor. The index costs 2 bytes per possible
/// DomId (1 byte while kCapacity < 255): 64 KiB (32 KiB).
template <std::size_t kCapacity>
class DomainTable {
  static_assert(kCapacity > 0 && kCapacity < kDomidFirstReserved, "one slot per ordinary DomId at most");

 public:
  constexpr DomainTable() = default;
  DomainTable(const DomainTable&) = delete;
  DomainTable& operator=(const DomainTable&) = delete;

  /// Creates a domain. Errors: Inval (reserved id, nr_vcpus out of range, target == self),
  /// Exist (id in use, including by a Dead domain whose slot was not released yet: a domid is
  /// not reused while a zombie holds it), NoSpc (table full).
  [[nodiscard]] Result<Domain*> create(DomId id, const DomainConfig& cfg) {
    if (id.value() >= kDomidFirstReserved) return Errno::Inval;
    if (cfg.nr_vcpus == 0 || cfg.nr_vcpus > kMaxVcpusPerDomain) return Errno::Inval;
    if (cfg.has_target && cfg.target == id) return Errno::Inval;
    LockGuard g(lock_);
    if (index_[id.value()] != kNoSlot) return Errno::Exist;
    SlotNo n;
    if (free_head_ != kNoSlot) {
      n = free_head_;
      free_head_ = slots_[n - 1].next_free;
    } else if (high_water_ < kCapacity) {
      n = static_cast<SlotNo>(++high_water_);
    } else {
      return Errno::NoSpc;
    }
    Slot& s = slots_[n - 1];
    s.used = true;
    s.next_free = kNoSlot;
    index_[id.value()] = n;
    ++used_;
    Domain& d = s.dom;
    d.id = id;
    d.privileged = cfg.privileged;
    d.has_target = cfg.has_target;
    d.target = cfg.target;
    d.max_pages = cfg.max_pages;
    d.tot_pages = 0;
    d.nr_vcpus = cfg.nr_vcpus;
    d.vcpu_mm = {};
    d.teardown_phase = 0;
    d.teardown_cursor = 0;
    d.state.store(DomainState::Running, std::memory_order_release);
    return &d;
  }

  /// The domain with this id (Running or Dying), or nullptr. DOMID_SELF is not resolved here;
  /// reserved and unknown ids answer nullptr.
  [[nodiscard]] Domain* find(DomId id) {
    if (id.value() >= kDomidFirstReserved) return nullptr;
    LockGuard g(lock_);
    Slot* s = slot_locked(id);
    if (s == nullptr || s->dom.state.load(std::memory_order_acquire) == DomainState::Dead) return nullptr;
    return &s->dom;
  }

  /// Marks the domain Dying (idempotent). Errors: Srch if unknown or already Dead.
  [[nodiscard]] Status begin_destroy(DomId id) {
    Domain* d = find(id);
    if (d == nullptr) return Errno::Srch;
    DomainState expected = DomainState::Running;
    d->state.compare_exchange_strong(expected, DomainState::Dying, std::memory_order_acq_rel);
    return Status::ok();
  }

  /// Frees the slot of a Dead domain; its id may then be created again. Errors: Srch (unknown,
  /// reserved or already released), Busy (not Dead yet).
  [[nodiscard]] Status release(DomId id) {
    if (id.value() >= kDomidFirstReserved) return Errno::Srch;
    LockGuard g(lock_);
    Slot* s = slot_locked(id);
    if (s == nullptr) return Errno::Srch;
    if (s->dom.state.load(std::memory_order_acquire) != DomainState::Dead) return Errno::Busy;
    const SlotNo n = index_[id.value()];
    index_[id.value()] = kNoSlot;
    s->used = false;
    s->next_free = free_head_;
    free_head_ = n;
    --used_;
    return Status::ok();
  }

  /// Number of slots in use, Dead-but-unreleased domains included (for tests and statistics).
  [[nodiscard]] std::size_t size() {
    LockGuard g(lock_);
    return used_;
  }

  /// Visits every used slot (for whole-system checks in tests); `f(Domain&)`. Not locked: the
  /// caller must exclude concurrent create/release.
  template <typename F>
  void for_each(F&& f) {
    for (std::size_t i = 0; i < high_water_; ++i) {
      if (slots_[i].used) f(slots_[i].dom);
    }
  }

  /// How many domains the table can hold.
  static constexpr std::size_t capacity() { return kCapacity; }

 private:
  /// Slot number + 1 (0 = none): the smallest type that holds kCapacity.
  using SlotNo = std::conditional_t<(kCapacity < 0xFF), std::uint8_t, std::uint16_t>;
  static constexpr SlotNo kNoSlot = 0;

  struct Slot {
    Domain dom;
    bool used = false;
    SlotNo next_free = kNoSlot;  ///< next slot of the free list while !used
  };

  /// The slot holding `id` (an ordinary id), or nullptr. Caller holds lock_.
  Slot* slot_locked(DomId id) {
    const SlotNo n = index_[id.value()];
    return n == kNoSlot ? nullptr : &slots_[n - 1];
  }

  SpinLock lock_;
  std::size_t high_water_ = 0;  ///< slots [0, high_water_) have been used at least once
  std::size_t used_ = 0;        ///< slots in use
  SlotNo free_head_ = kNoSlot;  ///< released slots, most recently released first
  std::array<SlotNo, kDomidFirstReserved> index_{};  ///< DomId -> slot number + 1
  Slot slots_[kCapacity];
};

}  // namespace pvkit
