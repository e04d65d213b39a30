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
// Concurrency: create/find/release take the table's SpinLock; a Domain* stays valid until
// `release`, which the caller must only invoke once no other area can still use the domain
// (its state is Dead and every area has dropped it).
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>

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
template <std::size_t kCapacity>
class DomainTable {
 public:
  DomainTable() = default;
  DomainTable(const DomainTable&) = delete;
  DomainTable& operator=(const DomainTable&) = delete;

  /// Creates a domain. Errors: Inval (reserved id, nr_vcpus out of range, target == self),
  /// Exist (id in use), NoSpc (table full).
  [[nodiscard]] Result<Domain*> create(DomId id, const DomainConfig& cfg) {
    if (id.value() >= kDomidFirstReserved) return Errno::Inval;
    if (cfg.nr_vcpus == 0 || cfg.nr_vcpus > kMaxVcpusPerDomain) return Errno::Inval;
    if (cfg.has_target && cfg.target == id) return Errno::Inval;
    LockGuard g(lock_);
    Domain* free_slot = nullptr;
    for (auto& s : slots_) {
      if (s.used) {
        if (s.dom.id == id) return Errno::Exist;
      } else if (free_slot == nullptr) {
        free_slot = &s.dom;
      }
    }
    if (free_slot == nullptr) return Errno::NoSpc;
    Domain& d = *free_slot;
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
    slot_of(d).used = true;
    return &d;
  }

  /// The domain with this id (Running or Dying), or nullptr. DOMID_SELF is not resolved here.
  [[nodiscard]] Domain* find(DomId id) {
    LockGuard g(lock_);
    for (auto& s : slots_) {
      if (s.used && s.dom.id == id && s.dom.state.load(std::memory_order_acquire) != DomainState::Dead) {
        return &s.dom;
      }
    }
    return nullptr;
  }

  /// Marks the domain Dying (idempotent). Errors: Srch if unknown or already Dead.
  [[nodiscard]] Status begin_destroy(DomId id) {
    Domain* d = find(id);
    if (d == nullptr) return Errno::Srch;
    DomainState expected = DomainState::Running;
    d->state.compare_exchange_strong(expected, DomainState::Dying, std::memory_order_acq_rel);
    return Status::ok();
  }

  /// Frees the slot of a Dead domain. Errors: Srch (unknown), Busy (not Dead yet).
  [[nodiscard]] Status release(DomId id) {
    LockGuard g(lock_);
    for (auto& s : slots_) {
      if (s.used && s.dom.id == id) {
        if (s.dom.state.load(std::memory_order_acquire) != DomainState::Dead) return Errno::Busy;
        s.used = false;
        return Status::ok();
      }
    }
    return Errno::Srch;
  }

  /// Number of slots in use (for tests and statistics).
  [[nodiscard]] std::size_t size() {
    LockGuard g(lock_);
    std::size_t n = 0;
    for (auto& s : slots_) n += s.used ? 1 : 0;
    return n;
  }

  /// Visits every used slot (for whole-system checks in tests); `f(Domain&)`.
  template <typename F>
  void for_each(F&& f) {
    for (auto& s : slots_) {
      if (s.used) f(s.dom);
    }
  }

  /// How many domains the table can hold.
  static constexpr std::size_t capacity() { return kCapacity; }

 private:
  struct Slot {
    Domain dom;
    bool used = false;
  };
  Slot& slot_of(Domain& d) {
    for (auto& s : slots_) {
      if (&s.dom == &d) return s;
    }
    return slots_[0];  // unreachable: d is always one of ours
  }
  SpinLock lock_;
  Slot slots_[kCapacity];
};

}  // namespace pvkit
