// pvkit host platform: FakeGrantPlatform — a small simulated machine for grant-table tests.
//
// What it is: a thread-safe `GrantPlatform` with a frame database (owner, general and
// writable-type reference counts, page-table type), per-domain simulated host PTEs that
// remember which entries are grant mappings (an ordinary update of such an entry is refused,
// as the real verifier does), device-mapping and TLB-flush counters, and the sharing state
// of hypervisor table pages (a test can say "the guest still maps this status frame").
// Reference-count underflows and other impossible events are counted in `violations()`, so
// every test can assert that none happened.
//
// How to use it:
//   FakeGrantPlatform p;                 // frames 0..kFrames-1, all unowned
//   p.give_frame(Mfn{5}, DomId{1});      // domain 1 owns frame 5
//   GrantTables<FakeGrantPlatform, 8> gt{p};
//   ... EXPECT_EQ(p.frame(Mfn{5}).refs, 0); EXPECT_EQ(p.violations(), 0);
//
// Concurrency: every member takes one internal SpinLock (never held while calling out); safe
// from any number of threads.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <tuple>
#include <vector>

#include "pvkit/base/spinlock.h"
#include "pvkit/base/status.h"
#include "pvkit/base/types.h"
#include "pvkit/grant/grant_platform.h"
#include "pvkit/grant/grant_status.h"
#include "pvkit/platforms/host/heap_page_allocator.h"

namespace pvkit::host {

class FakeGrantPlatform {
 public:
  static constexpr std::uint64_t kFrames = 64;
  /// Hypervisor table pages are given frame numbers from here on.
  static constexpr std::uint64_t kFirstTablePageMfn = 0x10000;

  enum class Type { None, Writable, PageTable };
  struct Frame {
    bool owned = false;
    DomId owner{};
    int refs = 0;
    int wrefs = 0;  ///< writable-type references
    Type type = Type::None;
  };
  struct Pte {
    Mfn frame{};
    bool present = false;
    bool rw = false;
    bool user = false;
    bool grant = false;
  };

  FakeGrantPlatform() : bytes_(std::make_unique<std::array<std::array<std::uint8_t, 4096>, kFrames>>()) {}

  // ---- test setup and inspection ---------------------------------------------------
  void give_frame(Mfn m, DomId d) {
    LockGuard g(mu_);
    frames_[m.value()].owned = true;
    frames_[m.value()].owner = d;
  }
  void make_page_table(Mfn m) {
    LockGuard g(mu_);
    frames_[m.value()].type = Type::PageTable;
  }
  Frame frame(Mfn m) {
    LockGuard g(mu_);
    return frames_[m.value()];
  }
  std::uint8_t* bytes(Mfn m) { return (*bytes_)[m.value()].data(); }
  std::optional<Pte> pte(DomId d, std::uint64_t addr) {
    LockGuard g(mu_);
    auto it = ptes_.find({d.value(), addr});
    if (it == ptes_.end()) return std::nullopt;
    return it->second;
  }
  /// An ordinary guest page-table update (mmu_update): refused over a grant PTE.
  Status guest_write_pte(DomId d, std::uint64_t addr, Pte v) {
    LockGuard g(mu_);
    auto it = ptes_.find({d.value(), addr});
    if (it != ptes_.end() && it->second.grant) return Errno::Inval;
    v.grant = false;
    ptes_[{d.value(), addr}] = v;
    return Status::ok();
  }
  /// Test hook: corrupt a grant PTE behind the grant table's back (as a buggy verifier might).
  void force_pte(DomId d, std::uint64_t addr, Pte v) {
    LockGuard g(mu_);
    ptes_[{d.value(), addr}] = v;
  }
  int flushes(DomId d) {
    LockGuard g(mu_);
    return flushes_[d.value()];
  }
  int device_maps() {
    LockGuard g(mu_);
    return device_maps_;
  }
  int grant_ptes(DomId d) {
    LockGuard g(mu_);
    int n = 0;
    for (auto& [k, v] : ptes_) n += (std::get<0>(k) == d.value() && v.grant && v.present) ? 1 : 0;
    return n;
  }
  int violations() {
    LockGuard g(mu_);
    return violations_;
  }
  /// Whether domain `d` maps the table page with frame number `m` (set_version/destroy tests).
  void set_guest_maps_table_frame(Mfn m, bool mapped) {
    LockGuard g(mu_);
    mapped_tables_[m.value()] = mapped;
  }
  void clear_guest_table_maps() {
    LockGuard g(mu_);
    mapped_tables_.clear();
  }
  bool is_shared(Mfn m) {
    LockGuard g(mu_);
    for (auto& [p, s] : tables_) {
      if (s.mfn == m) return s.shared;
    }
    return false;
  }
  void set_controls(DomId caller, DomId target) {
    LockGuard g(mu_);
    controls_.push_back({caller.value(), target.value()});
  }
  HeapPageAllocator& allocator() { return alloc_; }
  /// The host pointer behind a table-page frame number (nullptr if unknown).
  std::uint8_t* table_page(Mfn m) {
    LockGuard g(mu_);
    for (auto& [p, s] : tables_) {
      if (s.mfn == m) return static_cast<std::uint8_t*>(p);
    }
    return nullptr;
  }

  // ---- PageAllocator -----------------------------------------------------------------
  void* alloc_page() { return alloc_.alloc_page(); }
  void free_page(void* p) {
    {
      LockGuard g(mu_);
      auto it = tables_.find(p);
      if (it != tables_.end()) {
        if (it->second.shared) ++violations_;  // freeing a page the guest may still map
        tables_.erase(it);
      }
    }
    alloc_.free_page(p);
  }

  // ---- GrantFramePolicy --------------------------------------------------------------
  GrantStatus get_frame(Mfn m, DomId d, bool writable) {
    LockGuard g(mu_);
    if (m.value() >= kFrames) return GrantStatus::BadPage;
    Frame& f = frames_[m.value()];
    if (!f.owned || f.owner != d) return GrantStatus::BadPage;
    if (writable) {
      if (f.type == Type::PageTable) return GrantStatus::GeneralError;
      f.type = Type::Writable;
      ++f.wrefs;
    }
    set_refs(f, f.refs + 1);
    return GrantStatus::Okay;
  }
  void put_frame(Mfn m, bool writable) {
    LockGuard g(mu_);
    if (m.value() >= kFrames) {
      ++violations_;
      return;
    }
    Frame& f = frames_[m.value()];
    if (f.refs <= 0 || (writable && f.wrefs <= 0)) {
      ++violations_;
      return;
    }
    set_refs(f, f.refs - 1);
    if (writable && --f.wrefs == 0) f.type = Type::None;
  }
  /// Lock-free, as a hypervisor's direct map is: the bytes of a frame never move, and the
  /// caller holds a reference. The check that it does (a violation otherwise) reads the
  /// reference count atomically; every write of `refs` is atomic too (under mu_).
  /// (The violation path is out of line so that this inlines into the copy loop.)
  std::uint8_t* frame_bytes(Mfn m) {
    if (m.value() >= kFrames) return nullptr;
    if (std::atomic_ref<int>(frames_[m.value()].refs).load(std::memory_order_relaxed) <= 0) [[unlikely]] {
      note_violation();
    }
    return (*bytes_)[m.value()].data();
  }
  GrantStatus steal_frame(DomId d, Mfn m) {
    LockGuard g(mu_);
    if (m.value() >= kFrames) return GrantStatus::BadPage;
    Frame& f = frames_[m.value()];
    if (!f.owned || f.owner != d) return GrantStatus::BadPage;
    if (f.refs != 0 || f.wrefs != 0 || f.type == Type::PageTable) return GrantStatus::GeneralError;
    f.owned = false;
    return GrantStatus::Okay;
  }
  GrantStatus assign_frame(DomId d, Mfn m) {
    LockGuard g(mu_);
    if (m.value() >= kFrames) return GrantStatus::BadPage;
    Frame& f = frames_[m.value()];
    if (f.owned) return GrantStatus::GeneralError;
    if (refuse_assign_to_ && *refuse_assign_to_ == d) return GrantStatus::GeneralError;
    set_refs(f, 0);  // f = Frame{}, with refs written atomically
    f.wrefs = 0;
    f.type = Type::None;
    f.owned = true;
    f.owner = d;
    return GrantStatus::Okay;
  }
  /// Test hook: make assign_frame to `d` fail (receiver over its memory limit).
  void refuse_assign_to(std::optional<DomId> d) {
    LockGuard g(mu_);
    refuse_assign_to_ = d;
  }
  Result<Mfn> share_table_page(DomId d, void* page, bool writable) {
    LockGuard g(mu_);
    auto it = tables_.find(page);
    if (it == tables_.end()) it = tables_.emplace(page, Table{Mfn{next_table_mfn_++}, d, false, false}).first;
    it->second.shared = true;
    it->second.owner = d;
    it->second.writable = writable;
    return it->second.mfn;
  }
  Status unshare_table_page(DomId, void* page) {
    LockGuard g(mu_);
    auto it = tables_.find(page);
    if (it == tables_.end()) {
      ++violations_;
      return Errno::Inval;
    }
    if (mapped_tables_[it->second.mfn.value()]) return Errno::Busy;
    it->second.shared = false;
    return Status::ok();
  }
  bool controls(DomId caller, DomId target) {
    LockGuard g(mu_);
    for (auto& [c, t] : controls_) {
      if (c == caller.value() && t == target.value()) return true;
    }
    return false;
  }

  // ---- GrantMappingPolicy ------------------------------------------------------------
  GrantStatus install_host_mapping(DomId d, const GrantHostMapping& m, Mfn f) {
    LockGuard g(mu_);
    if (m.addr == 0) return GrantStatus::BadVirtAddr;
    if (m.contains_pte && (m.addr & 7) != 0) return GrantStatus::GeneralError;
    auto& e = ptes_[{d.value(), m.addr}];
    if (e.grant && e.present) return GrantStatus::GeneralError;  // never overwrite a grant PTE
    e = Pte{f, true, !m.readonly, m.application, true};
    return GrantStatus::Okay;
  }
  GrantStatus remove_host_mapping(DomId d, const GrantHostMapping& m, Mfn f) {
    LockGuard g(mu_);
    auto it = ptes_.find({d.value(), m.addr});
    if (it == ptes_.end()) return GrantStatus::GeneralError;
    const Pte& e = it->second;
    if (!e.grant || !e.present || e.frame != f || e.rw == m.readonly) return GrantStatus::GeneralError;
    ptes_.erase(it);
    return GrantStatus::Okay;
  }
  void release_host_mapping(DomId d, const GrantHostMapping& m, Mfn f) {
    LockGuard g(mu_);
    auto it = ptes_.find({d.value(), m.addr});
    if (it != ptes_.end() && it->second.grant && it->second.frame == f) ptes_.erase(it);
  }
  GrantStatus install_device_mapping(DomId, Mfn, bool) {
    LockGuard g(mu_);
    if (device_space_ == 0) return GrantStatus::NoDeviceSpace;
    --device_space_;
    ++device_maps_;
    return GrantStatus::Okay;
  }
  void remove_device_mapping(DomId, Mfn) {
    LockGuard g(mu_);
    if (device_maps_ <= 0) ++violations_;
    --device_maps_;
    ++device_space_;
  }
  void flush_tlb(DomId d) {
    LockGuard g(mu_);
    ++flushes_[d.value()];
  }
  void set_device_space(int n) {
    LockGuard g(mu_);
    device_space_ = n;
  }

 private:
  /// Counts a contract violation seen without holding mu_.
  [[gnu::noinline, gnu::cold]] void note_violation() {
    LockGuard g(mu_);
    ++violations_;
  }
  /// Writes a frame's reference count (caller holds mu_): atomically, because frame_bytes
  /// reads it without mu_.
  static void set_refs(Frame& f, int v) { std::atomic_ref<int>(f.refs).store(v, std::memory_order_relaxed); }

  struct Table {
    Mfn mfn{};
    DomId owner{};
    bool shared = false;
    bool writable = false;
  };
  /// One lock for the whole fake machine. A SpinLock, as the GrantFramePolicy contract asks of
  /// a platform: GrantTables calls it while holding a grant (spin) lock, so it must not sleep.
  SpinLock mu_;
  std::array<Frame, kFrames> frames_{};
  std::unique_ptr<std::array<std::array<std::uint8_t, 4096>, kFrames>> bytes_;
  std::map<std::tuple<std::uint16_t, std::uint64_t>, Pte> ptes_;
  std::map<void*, Table> tables_;
  std::map<std::uint64_t, bool> mapped_tables_;
  std::map<std::uint16_t, int> flushes_;
  std::vector<std::pair<std::uint16_t, std::uint16_t>> controls_;
  std::optional<DomId> refuse_assign_to_;
  std::uint64_t next_table_mfn_ = kFirstTablePageMfn;
  int device_maps_ = 0;
  int device_space_ = 1 << 20;
  int violations_ = 0;
  HeapPageAllocator alloc_;
};

static_assert(GrantPlatform<FakeGrantPlatform>);

}  // namespace pvkit::host
