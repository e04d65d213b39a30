// The per-domain list of owned frames (Domain::owned_head, FrameInfo::owned_prev/next) and the
// teardown that walks it: the list is exact after ownership churn (checked against a model),
// teardown touches only the dying domain's frames and its work does not grow with the RAM, and
// hostile cases (frames freed in the middle of the walk, page tables mapping another domain's
// frames) leave every other domain's state intact.
#include <gtest/gtest.h>

#include <cstdint>
#include <list>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "pvkit/domain/domain_table.h"
#include "pvkit/mm/domain_teardown.h"
#include "pvkit/mm/frame_db.h"
#include "pvkit/platforms/host/machine/mm_fixture.h"
#include "pvkit/platforms/host/machine/mm_invariants.h"

namespace pvkit {
namespace {

using host::make_pte;
using host::MmWorld;

/// "" if d's list is exactly the frames whose owner is d (both directions, count), else why.
std::string check_list(FrameDb& db, const Domain& d) {
  std::ostringstream err;
  std::uint64_t n = 0;
  std::uint32_t prev = kNoFrameLink;
  for (std::uint32_t i = d.owned_head; i != kNoFrameLink; i = db.info(Mfn{i})->owned_next) {
    const FrameInfo* f = db.info(Mfn{i});
    if (f == nullptr) return "link to a frame outside the database";
    if (f->owner != &d) err << "frame " << i << " on d" << d.id.value() << "'s list is not its own; ";
    if (f->owned_prev != prev) err << "frame " << i << " has a wrong prev link; ";
    prev = i;
    if (++n > db.size()) return "cycle";
  }
  if (d.owned_tail != prev) err << "wrong tail; ";
  if (n != d.owned_count) err << "count " << d.owned_count << " but " << n << " on the list; ";
  std::uint64_t owned = 0;
  db.for_each([&](Mfn, FrameInfo& f) { owned += f.owner == &d ? 1 : 0; });
  if (owned != n) err << owned << " frames owned but " << n << " listed; ";
  return err.str();
}

/// The exact list, in order.
std::vector<std::uint64_t> list_of(FrameDb& db, const Domain& d) {
  std::vector<std::uint64_t> v;
  db.for_each_owned(d, [&](Mfn m, FrameInfo&) { v.push_back(m.value()); });
  return v;
}

TEST(OwnedFrameList, ExactAfterAssignTransferStealShareReleaseChurn) {
  constexpr std::uint64_t kFrames = 48;
  constexpr std::uint64_t kXen = 4;  // frames 0..3: hypervisor frames, shareable
  std::vector<FrameInfo> info(kFrames);
  FrameDb db{std::span<FrameInfo>(info)};
  DomainTable<4> domains;
  Domain* dom[3];
  for (int i = 0; i < 3; ++i) dom[i] = *domains.create(DomId{static_cast<std::uint16_t>(i + 1)}, {.max_pages = 20});
  for (std::uint64_t m = 0; m < kXen; ++m) ASSERT_TRUE(db.reserve_xen(Mfn{m}));

  // The model: per frame its owner and general references; per domain its frames in the order
  // they were gained (the database appends on gain and unlinks on loss).
  struct ModelFrame {
    Domain* owner = nullptr;
    std::uint32_t refs = 0;
    bool allocated = false;
    bool stolen = false;
  };
  std::vector<ModelFrame> model(kFrames);
  std::map<const Domain*, std::list<std::uint64_t>> order;
  auto gain = [&](std::uint64_t m, Domain* d) {
    model[m].owner = d;
    order[d].push_back(m);
  };
  auto lose = [&](std::uint64_t m) {
    order[model[m].owner].remove(m);
    model[m].owner = nullptr;
  };

  std::mt19937 rng(12345);
  int changes = 0;
  for (int step = 0; step < 4000; ++step) {
    const std::uint64_t m = rng() % kFrames;
    Domain* a = dom[rng() % 3];
    Domain* b = dom[rng() % 3];
    ModelFrame& mf = model[m];
    switch (rng() % 8) {
      case 0:
      case 1:
        if (db.assign(Mfn{m}, *a)) {
          ASSERT_EQ(mf.owner, nullptr);
          gain(m, a);
          mf.refs = 1;
          mf.allocated = true;
          ++changes;
        }
        break;
      case 2:
        if (db.get_page(Mfn{m}, a)) ++mf.refs;
        break;
      case 3:
        if (mf.refs > 0 && !(m < kXen && mf.refs == 1)) {  // shared frames: unshare instead
          db.put_page(Mfn{m});
          if (--mf.refs == 0) lose(m), ++changes;
        }
        break;
      case 4:
        if (db.release_allocation(Mfn{m}, *a)) {
          mf.allocated = false;
          if (--mf.refs == 0) lose(m), ++changes;
        }
        break;
      case 5:
        if (db.transfer(Mfn{m}, *a, *b)) {
          if (a != b) lose(m), gain(m, b), ++changes;
        }
        break;
      case 6:
        if (mf.stolen) {
          if (rng() % 2 == 0 && db.assign_stolen(Mfn{m}, *b)) {
            mf.stolen = false;
            gain(m, b);
            mf.refs = 1;
            mf.allocated = true;
            ++changes;
          } else if (db.free_stolen(Mfn{m})) {
            mf.stolen = false;
          }
        } else if (db.steal(Mfn{m}, *a)) {
          lose(m);
          mf.refs = 0;
          mf.allocated = false;
          mf.stolen = true;
          ++changes;
        }
        break;
      default:
        if (m < kXen) {
          if (mf.owner == nullptr && db.share_xen(Mfn{m}, *a, false)) {
            gain(m, a);
            mf.refs = 1;
            ++changes;
          } else if (mf.owner != nullptr && db.unshare_xen(Mfn{m}, *mf.owner)) {
            lose(m);
            mf.refs = 0;
            ++changes;
          }
        }
        break;
    }
    for (Domain* d : dom) {
      ASSERT_EQ(check_list(db, *d), "") << "step " << step;
      const auto& want = order[d];
      ASSERT_EQ(list_of(db, *d), std::vector<std::uint64_t>(want.begin(), want.end())) << "step " << step;
    }
    for (std::uint64_t i = 0; i < kFrames; ++i) ASSERT_EQ(db.info(Mfn{i})->owner, model[i].owner) << i;
  }
  EXPECT_GT(changes, 500);  // the churn really moved frames between lists
}

TEST(OwnedFrameList, NextOwnedAndFirstOwned) {
  std::vector<FrameInfo> info(8);
  FrameDb db{std::span<FrameInfo>(info)};
  DomainTable<2> domains;
  Domain& d = **domains.create(DomId{1}, {.max_pages = 8});
  EXPECT_FALSE(db.first_owned(d).has_value());
  ASSERT_TRUE(db.assign(Mfn{5}, d));
  ASSERT_TRUE(db.assign(Mfn{2}, d));
  ASSERT_EQ(db.first_owned(d), Mfn{5});
  EXPECT_EQ(db.next_owned(Mfn{5}), Mfn{2});
  EXPECT_FALSE(db.next_owned(Mfn{2}).has_value());
  EXPECT_FALSE(db.next_owned(Mfn{3}).has_value());   // not owned
  EXPECT_FALSE(db.next_owned(Mfn{99}).has_value());  // no such frame
}

// ---- teardown walks the domain, not the machine --------------------------------------------

/// Field-wise equality of frame records (padding bytes are not compared).
bool same(const FrameInfo& a, const FrameInfo& b) {
  return a.owner == b.owner && a.refcount == b.refcount && a.type_count == b.type_count && a.type == b.type &&
         a.xen == b.xen && a.allocated == b.allocated && a.pinned == b.pinned && a.validated == b.validated &&
         a.partial == b.partial && a.devalidating == b.devalidating && a.in_transit == b.in_transit &&
         a.shared_xen == b.shared_xen && a.shared_ro == b.shared_ro && a.next_index == b.next_index &&
         a.linear_out == b.linear_out && a.linear_in == b.linear_in && a.owned_prev == b.owned_prev &&
         a.owned_next == b.owned_next && a.tlb_epoch == b.tlb_epoch && a.m2p == b.m2p &&
         a.next_pending == b.next_pending && a.grant_ptes == b.grant_ptes;
}

/// Builds the same small guest (a pinned, loaded 4-level tree over 12 data pages, a second
/// pinned L1) in a machine of `frames` frames where another domain owns `others` frames,
/// destroys it with a budget of 1 unit per step and returns the number of steps. Checks that
/// no frame outside the dying domain changed.
int teardown_steps(std::uint64_t frames, std::uint64_t others) {
  MmWorld w(frames, 4, 1);
  Domain& other = w.domain(2, DomainConfig{.max_pages = others, .nr_vcpus = 1});
  auto& ob = w.builder(other);
  for (std::uint64_t i = 0; i < others; ++i) {
    if (ob.alloc().value() == 0) ADD_FAILURE() << "machine too small";
  }
  Domain& d = w.domain(1, DomainConfig{.max_pages = 64, .nr_vcpus = 2});
  auto& b = w.builder(d);
  for (int i = 0; i < 12; ++i) b.map(VirtAddr{0x400000u + 0x1000u * i}, b.alloc(), i % 3 != 0);
  if (!b.pin_and_load(VcpuId{0})) ADD_FAILURE() << "pin";
  Mfn l1 = b.alloc();
  if (!w.run([&] { return w.mm.pin(d, l1, PageType::L1); })) ADD_FAILURE() << "pin L1";
  w.settle();

  std::vector<FrameInfo> before(frames);
  for (std::uint64_t i = 0; i < frames; ++i) before[i] = *w.machine.frame_db().info(Mfn{i});
  if (!w.domains.begin_destroy(d.id)) ADD_FAILURE() << "begin_destroy";
  int steps = 1;
  Status s;
  while ((s = domain_teardown_step(w.mm, d)).is_restart()) ++steps;
  EXPECT_TRUE(s);
  EXPECT_EQ(d.state.load(), DomainState::Dead);
  EXPECT_EQ(d.owned_count, 0u);
  EXPECT_EQ(d.owned_head, kNoFrameLink);
  for (std::uint64_t i = 0; i < frames; ++i) {
    if (before[i].owner == &d) continue;
    EXPECT_TRUE(same(before[i], *w.machine.frame_db().info(Mfn{i}))) << "frame " << i << " was touched";
  }
  EXPECT_EQ(check_list(w.machine.frame_db(), other), "");
  EXPECT_EQ(other.owned_count, others);
  EXPECT_EQ(host::check_mm_invariants(w.machine, w.mm, w.domains), "");
  return steps;
}

TEST(TeardownScaling, StepsDependOnTheDomainNotOnTheRamAndOthersAreUntouched) {
  const int small = teardown_steps(96, 16);
  const int large = teardown_steps(6000, 5000);  // 60x the RAM, 300x the others' frames
  EXPECT_EQ(small, large);
  // Bounded by the domain: 3 list walks over its 17 frames, plus devalidation of its 5
  // tables' entries (budget 1: one unit per step) — not by the 6,000 frames of the machine.
  EXPECT_LE(large, 3 * 17 + 5 * 512 + 8);
}

// ---- hostile cases ------------------------------------------------------------------------

// A balloon-style guest releases the allocation of pages its own half-validated (partial)
// tables still map. Abandoning those partial tables during teardown frees the pages in the
// middle of the walk — including the very frame the walk's cursor was about to visit — and the
// walk must go on over the rest of the list (a second partial table behind them), not end or
// follow a stale link. The budget is tiny so every phase is preempted many times.
TEST(TeardownAdversarial, Inv14_FramesFreedMidWalkDoNotBreakTheWalk_XSA214) {
  MmWorld w(256, 4, 1);
  Domain& other = w.domain(2, DomainConfig{.max_pages = 32, .nr_vcpus = 1});
  auto& ob = w.builder(other);
  for (int i = 0; i < 20; ++i) ob.alloc();
  Domain& d = w.domain(1, DomainConfig{.max_pages = 64, .nr_vcpus = 1});
  auto& b = w.builder(d);
  // List order: table A, A's 8 data pages, table B, B's 8 data pages.
  Mfn tables[2];
  for (auto& t : tables) {
    t = b.alloc();
    std::uint64_t* e = w.machine.frame_entries(t);
    for (unsigned i = 0; i < 8; ++i) e[i] = make_pte(b.alloc(), true);
  }
  for (Mfn t : tables) {
    LockGuard g(w.mm.lock());
    w.mm.set_budget_per_call(4);
    w.mm.begin_call();
    ASSERT_TRUE(w.mm.pin(d, t, PageType::L1).is_restart());  // left partial at entry 4
    ASSERT_TRUE(w.machine.frame_db().info(t)->partial);
  }
  // Release every allocation (balloon out): entries 0..3 of each table keep 4 pages alive,
  // the other pages are freed at once.
  std::vector<std::uint64_t> mine = list_of(w.machine.frame_db(), d);
  for (std::uint64_t m : mine) {
    LockGuard g(w.mm.lock());
    ASSERT_TRUE(w.machine.frame_db().release_allocation(Mfn{m}, d));
  }
  ASSERT_EQ(d.owned_count, 2u + 2 * 4);  // two partial tables and the pages they still map
  ASSERT_EQ(check_list(w.machine.frame_db(), d), "");
  const std::vector<std::uint64_t> theirs_before = list_of(w.machine.frame_db(), other);
  std::vector<FrameInfo> others;
  for (std::uint64_t m : theirs_before) others.push_back(*w.machine.frame_db().info(Mfn{m}));

  w.mm.set_budget_per_call(1);
  ASSERT_TRUE(w.domains.begin_destroy(d.id));
  int steps = 1;
  Status s;
  while ((s = domain_teardown_step(w.mm, d)).is_restart()) {
    ++steps;
    ASSERT_EQ(check_list(w.machine.frame_db(), d), "") << "step " << steps;
    ASSERT_LT(steps, 10000);
  }
  ASSERT_TRUE(s) << "a walk missed the second partial table";
  EXPECT_EQ(d.state.load(), DomainState::Dead);
  EXPECT_EQ(d.tot_pages, 0u);
  EXPECT_EQ(d.owned_count, 0u);
  const std::vector<std::uint64_t> theirs = list_of(w.machine.frame_db(), other);
  ASSERT_EQ(theirs, theirs_before);
  for (std::uint64_t i = 0; i < theirs.size(); ++i) EXPECT_TRUE(same(others[i], *w.machine.frame_db().info(Mfn{theirs[i]}))) << i;
  EXPECT_EQ(host::check_mm_invariants(w.machine, w.mm, w.domains), "");
}

// A privileged domain's page tables map another domain's frames (foreign mmu_update, as a
// toolstack or backend does). Tearing it down drops exactly those references: the other
// domain's frames stay its own, on its list, with the state they had before the mapping.
TEST(TeardownAdversarial, Inv12_ForeignMappingsReleasedOthersFramesStayTheirs_XSA248) {
  MmWorld w(256, 4, 3);
  Domain& peer = w.domain(2, DomainConfig{.max_pages = 32, .nr_vcpus = 1});
  auto& pb = w.builder(peer);
  Mfn pf[4];
  for (auto& m : pf) m = pb.alloc();
  std::vector<FrameInfo> peer_before(4);
  for (int i = 0; i < 4; ++i) peer_before[i] = *w.machine.frame_db().info(pf[i]);

  Domain& d = w.domain(1, DomainConfig{.privileged = true, .max_pages = 64, .nr_vcpus = 1});
  auto& b = w.builder(d);
  b.map(VirtAddr{0x400000}, b.alloc(), true);
  ASSERT_TRUE(b.pin_and_load(VcpuId{0}));
  const Mfn l1 = b.table(VirtAddr{0x400000}, 1);
  for (unsigned i = 0; i < 4; ++i) {
    const MachAddr slot{to_maddr(l1).value() + 8 * (10 + i)};
    ASSERT_TRUE(w.run([&] { return w.mm.mod_entry(d, peer, slot, make_pte(pf[i], i % 2 == 0), false); }));
  }
  EXPECT_EQ(w.machine.frame_db().info(pf[0])->refcount, 2u);
  EXPECT_EQ(w.machine.frame_db().info(pf[0])->type, PageType::Writable);

  ASSERT_TRUE(w.domains.begin_destroy(d.id));
  Status s;
  int steps = 1;
  while ((s = domain_teardown_step(w.mm, d)).is_restart()) ASSERT_LT(++steps, 10000);
  ASSERT_TRUE(s);
  EXPECT_EQ(d.state.load(), DomainState::Dead);
  EXPECT_EQ(check_list(w.machine.frame_db(), peer), "");
  EXPECT_EQ(list_of(w.machine.frame_db(), peer),
            (std::vector<std::uint64_t>{pf[0].value(), pf[1].value(), pf[2].value(), pf[3].value()}));
  for (int i = 0; i < 4; ++i) {
    const FrameInfo& f = *w.machine.frame_db().info(pf[i]);
    EXPECT_EQ(f.owner, &peer);
    EXPECT_EQ(f.refcount, peer_before[i].refcount) << i;
    EXPECT_EQ(f.type_count, 0u) << i;
  }
  EXPECT_EQ(host::check_mm_invariants(w.machine, w.mm, w.domains), "");
}

// A privileged domain maps (read-only, foreign) a hypervisor frame shared with the dying
// domain, e.g. its grant-table frame. The dying domain stays a zombie — it still owns that
// frame, and a Dead domain's slot may be reused — until the mapping goes; the next step then
// ends the sharing and the frame is the hypervisor's again, on nobody's list.
TEST(TeardownAdversarial, Inv14_SharedFrameStillMappedKeepsTheDomainAZombie_XSA214) {
  MmWorld w(128, 4, 4096);
  Domain& d = w.domain(1, DomainConfig{.max_pages = 16, .nr_vcpus = 1});
  w.builder(d).alloc();
  const Mfn shared{2};  // a hypervisor frame
  {
    LockGuard g(w.mm.lock());
    ASSERT_TRUE(w.machine.frame_db().share_xen(shared, d, false));
  }
  Domain& priv = w.domain(2, DomainConfig{.privileged = true, .max_pages = 16, .nr_vcpus = 1});
  auto& pb = w.builder(priv);
  pb.map(VirtAddr{0x400000}, pb.alloc(), true);
  ASSERT_TRUE(pb.pin_and_load(VcpuId{0}));
  const MachAddr slot{to_maddr(pb.table(VirtAddr{0x400000}, 1)).value() + 8 * 5};
  ASSERT_TRUE(w.run([&] { return w.mm.mod_entry(priv, d, slot, make_pte(shared, false), false); }));
  ASSERT_EQ(w.machine.frame_db().info(shared)->refcount, 2u);

  ASSERT_TRUE(w.domains.begin_destroy(d.id));
  Status s;
  while ((s = domain_teardown_step(w.mm, d)).is_restart()) {
  }
  EXPECT_EQ(s.error(), Errno::Busy);
  EXPECT_EQ(d.state.load(), DomainState::Dying);
  EXPECT_EQ(d.tot_pages, 0u);
  EXPECT_EQ(list_of(w.machine.frame_db(), d), std::vector<std::uint64_t>{shared.value()});
  EXPECT_EQ(w.domains.release(d.id).error(), Errno::Busy);
  // Still Busy while mapped, however often it is called.
  while ((s = domain_teardown_step(w.mm, d)).is_restart()) {
  }
  EXPECT_EQ(s.error(), Errno::Busy);

  ASSERT_TRUE(w.run([&] { return w.mm.mod_entry(priv, d, slot, 0, false); }));
  while ((s = domain_teardown_step(w.mm, d)).is_restart()) {
  }
  ASSERT_TRUE(s);
  EXPECT_EQ(d.state.load(), DomainState::Dead);
  EXPECT_EQ(d.owned_count, 0u);
  const FrameInfo& f = *w.machine.frame_db().info(shared);
  EXPECT_EQ(f.owner, nullptr);
  EXPECT_TRUE(f.xen);
  EXPECT_FALSE(f.shared_xen);
  EXPECT_EQ(f.refcount, 0u);
  EXPECT_EQ(check_list(w.machine.frame_db(), priv), "");
  EXPECT_TRUE(w.domains.release(d.id));
}

}  // namespace
}  // namespace pvkit
