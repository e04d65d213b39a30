// pvkit host platform: GuestBuilder — builds a small PV guest address space for tests.
//
// What it is: a helper that allocates frames to a domain from a host::Machine and writes a
// 4-level page-table tree into them *before* it is pinned (as a guest builds its tables in
// ordinary writable pages), then pins the root and loads it through the verifier exactly as a
// guest would (MMUEXT_PIN_L4_TABLE, MMUEXT_NEW_BASEPTR), re-invoking on continuations.
//
// How to use it:
//   GuestBuilder b(machine, verifier, *dom);
//   Mfn data = b.alloc();
//   b.map(VirtAddr{0x400000}, data, /*writable=*/true);
//   ASSERT_TRUE(b.pin_and_load(VcpuId{0}));
//   MachAddr pte = b.pte_maddr(VirtAddr{0x400000});   // for mmu_update requests
//
// Concurrency: single-threaded test use only.
#pragma once

#include <cstdint>

#include "pvkit/base/spinlock.h"
#include "pvkit/base/status.h"
#include "pvkit/base/types.h"
#include "pvkit/domain/domain.h"
#include "pvkit/mm/pte.h"
#include "pvkit/mm/verifier.h"
#include "pvkit/platforms/host/machine/machine.h"

namespace pvkit::host {

/// PTE helpers for tests (named-field construction).
inline std::uint64_t make_pte(Mfn m, bool writable, bool user = true) {
  std::uint64_t v = X86Pte::Present::set(0, 1);
  if (writable) v = X86Pte::Rw::set(v, 1);
  if (user) v = X86Pte::User::set(v, 1);
  return X86Pte::with_frame(v, m);
}

template <typename V>
class GuestBuilder {
 public:
  GuestBuilder(Machine& m, V& v, Domain& d) : m_(m), v_(v), d_(d) {}

  /// Assigns the next free frame of the machine to the domain (zeroed). Mfn{0} if none.
  Mfn alloc() {
    FrameDb& db = m_.frame_db();
    for (std::uint64_t i = next_; i < db.size(); ++i) {
      if (db.assign(Mfn{i}, d_)) {
        next_ = i + 1;
        std::uint64_t* e = m_.frame_entries(Mfn{i});
        for (unsigned k = 0; k < 512; ++k) e[k] = 0;
        return Mfn{i};
      }
    }
    return Mfn{0};
  }

  /// The root L4 (allocated on first use).
  Mfn root() {
    if (!has_root_) {
      root_ = alloc();
      has_root_ = true;
    }
    return root_;
  }

  /// Writes a leaf mapping va -> frame, creating intermediate tables (raw writes; the tree
  /// must not be validated yet).
  void map(VirtAddr va, Mfn frame, bool writable, bool user = true) {
    Mfn t = root();
    for (PtLevel level = 4; level >= 2; --level) {
      std::uint64_t* e = m_.frame_entries(t);
      std::uint64_t& x = e[pt_index(va, level)];
      if (!X86Pte::Present::test(x)) x = make_pte(alloc(), true, true);
      t = X86Pte::frame(x);
    }
    m_.frame_entries(t)[pt_index(va, 1)] = make_pte(frame, writable, user);
  }

  /// The frame of the level-`level` table on the path to va (level 4 = root); Mfn{0} if absent.
  Mfn table(VirtAddr va, PtLevel level) {
    Mfn t = root();
    for (PtLevel l = 4; l > level; --l) {
      const std::uint64_t x = m_.frame_entries(t)[pt_index(va, l)];
      if (!X86Pte::Present::test(x)) return Mfn{0};
      t = X86Pte::frame(x);
    }
    return t;
  }

  /// Machine address of the level-`level` entry for va (default: the L1 entry).
  MachAddr pte_maddr(VirtAddr va, PtLevel level = 1) {
    return MachAddr{to_maddr(table(va, level)).value() + 8 * pt_index(va, level)};
  }

  /// Pins the root as L4 and loads it on vCPU v, looping over continuations.
  Status pin_and_load(VcpuId v) {
    LockGuard g(v_.lock());
    Status s;
    do {
      v_.begin_call();
      s = v_.pin(d_, root(), PageType::L4);
    } while (s.is_restart());
    if (!s) return s;
    do {
      v_.begin_call();
      s = v_.new_baseptr(d_, v, root());
    } while (s.is_restart());
    return s;
  }

  Domain& domain() { return d_; }

 private:
  Machine& m_;
  V& v_;
  Domain& d_;
  std::uint64_t next_ = 0;
  Mfn root_{};
  bool has_root_ = false;
};

}  // namespace pvkit::host
