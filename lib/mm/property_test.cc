// Model-based property test: long seeded random sequences of page-table operations by several
// domains (updates of any entry with good and bad values, pins, unpins, base pointers, va
// updates, privileged foreign mappings, grant mappings, TLB flushes, preempted calls left
// half-done), checked after every step against the global invariants by recomputing every
// count from scratch (host::check_mm_invariants); finally every domain is torn down step by
// step and every count must return to zero.
#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <tuple>
#include <vector>

#include "pvkit/mm/domain_teardown.h"
#include "pvkit/mm/grant_mapping.h"
#include "pvkit/platforms/host/machine/mm_fixture.h"
#include "pvkit/platforms/host/machine/mm_invariants.h"

namespace pvkit {
namespace {

using host::make_pte;
using host::MmWorld;

struct GrantRecord {
  Domain* mapper;
  Domain* granter;
  MachAddr pte;
  Mfn frame;
  bool readonly;
};

class Model {
 public:
  Model(std::uint64_t seed, std::uint32_t budget) : w_(112, 4, 0), rng_(seed) {
    w_.mm.set_budget_per_call(budget);
    doms_.push_back(&w_.domain(0, {.privileged = true, .max_pages = 30, .nr_vcpus = 2}));
    doms_.push_back(&w_.domain(1, {.max_pages = 30, .nr_vcpus = 2}));
    doms_.push_back(&w_.domain(2, {.max_pages = 30, .nr_vcpus = 1}));
    for (Domain* d : doms_) {
      auto& b = w_.builder(*d);
      for (int i = 0; i < 4; ++i) b.map(VirtAddr{0x400000u + 0x1000u * i}, b.alloc(), i % 2 == 0);
      b.map(VirtAddr{0x40000000}, b.alloc(), true);
      while (d->tot_pages < 24) (void)b.alloc();
      EXPECT_TRUE(b.pin_and_load(VcpuId{0}));
    }
  }

  std::string check() {
    host::ExtraRefs extra;
    for (auto& g : grants_) {
      auto& e = extra[g.frame.value()];
      e.first += 1;
      e.second += g.readonly ? 0 : 1;
    }
    return host::check_mm_invariants(w_.machine, w_.mm, w_.domains, &extra);
  }

  /// One random operation. Some are run to completion, some left preempted.
  void step() {
    Domain& d = *pick(doms_);
    const int op = static_cast<int>(rng_() % 100);
    if (op < 45) {
      update(d);
    } else if (op < 55) {
      Mfn m = own_frame(d);
      const auto t = table_type(1 + rng_() % 4);
      call([&] { return w_.mm.pin(d, m, t); });
    } else if (op < 62) {
      Mfn m = own_frame(d);
      call([&] { return w_.mm.unpin(d, m); });
    } else if (op < 67) {
      Mfn m = own_frame(d);
      const VcpuId v{static_cast<std::uint32_t>(rng_() % d.nr_vcpus)};
      call([&] { return rng_() % 4 ? w_.mm.new_baseptr(d, v, m) : w_.mm.new_user_baseptr(d, v, m); });
    } else if (op < 75) {
      const VirtAddr va{0x400000u + 0x1000u * (rng_() % 6)};
      const std::uint64_t val = random_value(d, 1);
      call([&] { return w_.mm.update_va(d, VcpuId{0}, va, val); });
    } else if (op < 83) {
      grant_map(d);
    } else if (op < 90) {
      grant_unmap();
    } else if (op < 95) {
      LockGuard g(w_.mm.lock());
      if (rng_() % 2) {
        w_.machine.flush_tlb(d.id, VcpuMask::all(d.nr_vcpus));
      } else {
        w_.machine.invlpg(d.id, VcpuMask::one(VcpuId{0}), VirtAddr{0x400000});
      }
    } else {
      w_.settle();
    }
    w_.machine.observe_all();  // the guests run between hypercalls
    w_.machine.frame_db().for_each([&](Mfn, FrameInfo& f) {
      seen_partial_ += f.partial ? 1 : 0;
      seen_linear_ += f.linear_out;
      seen_devalidating_ += f.devalidating ? 1 : 0;
      seen_tables_ += is_page_table(f.type) && f.type_count > 0 ? 1 : 0;
    });
  }

  void print_stats() const {
    std::printf("ok %llu restarts %llu grants %llu implicit-unmaps %llu | frame-steps: partial %llu linear %llu "
                "devalidating %llu tables %llu | full flushes %llu\n",
                (unsigned long long)ok_, (unsigned long long)restarts_, (unsigned long long)grant_maps_,
                (unsigned long long)w_.mm.implicit_grant_unmaps(), (unsigned long long)seen_partial_,
                (unsigned long long)seen_linear_, (unsigned long long)seen_devalidating_,
                (unsigned long long)seen_tables_, (unsigned long long)w_.mm.full_flushes());
  }

  /// Destroys one unprivileged domain in the middle of the run: its grant table releases
  /// what it mapped; frames others still reference (grants, dom0's foreign mappings) keep it a
  /// zombie until they go.
  void destroy_one() {
    Domain* d = doms_.back();
    if (d->privileged || doms_.size() < 3) return;
    for (std::size_t i = 0; i < grants_.size();) {
      if (grants_[i].mapper == d) {
        grant_release_pte(w_.mm, *d, grants_[i].pte, grants_[i].frame, grants_[i].readonly);
        grant_flush_tlb(w_.mm, *d);
        grant_put_frame(w_.mm, grants_[i].frame, !grants_[i].readonly);
        grants_.erase(grants_.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        ++i;
      }
    }
    ASSERT_TRUE(w_.domains.begin_destroy(d->id));
    doms_.pop_back();
    dead_.push_back(d);
    int steps = 0;
    Status s;
    while ((s = domain_teardown_step(w_.mm, *d)).is_restart()) {
      if (++steps % 8 == 0) ASSERT_EQ(check(), "");
    }
    EXPECT_TRUE(s || s.error() == Errno::Busy);
  }

  /// Destroys every domain step by step, checking invariants along the way.
  void teardown_all() {
    // The "grant table" of a dying mapper releases its mappings first (as pvkit/grant does).
    for (auto& g : grants_) {
      grant_release_pte(w_.mm, *g.mapper, g.pte, g.frame, g.readonly);
      grant_put_frame(w_.mm, g.frame, !g.readonly);
    }
    grants_.clear();
    for (Domain* d : doms_) ASSERT_TRUE(w_.domains.begin_destroy(d->id));
    for (Domain* d : dead_) doms_.push_back(d);
    for (int round = 0; round < 3; ++round) {
      for (Domain* d : doms_) {
        int steps = 0;
        Status s;
        while ((s = domain_teardown_step(w_.mm, *d)).is_restart()) {
          if (++steps % 16 == 0) ASSERT_EQ(check(), "");
        }
      }
    }
    for (Domain* d : doms_) {
      EXPECT_EQ(d->state.load(), DomainState::Dead) << d->id.value();
      EXPECT_EQ(d->tot_pages, 0u);
    }
    w_.machine.frame_db().for_each([&](Mfn m, FrameInfo& f) {
      EXPECT_EQ(f.refcount, 0u) << m.value();
      EXPECT_EQ(f.type_count, 0u) << m.value();
      EXPECT_EQ(f.owner, nullptr) << m.value();
    });
    EXPECT_FALSE(w_.mm.has_pending());
  }

  std::uint64_t restarts() const { return restarts_; }
  std::uint64_t successes() const { return ok_; }
  std::uint64_t grant_maps() const { return grant_maps_; }

 private:
  template <typename T>
  T& pick(std::vector<T>& v) { return v[rng_() % v.size()]; }

  /// One invocation with a fresh budget; sometimes retried to completion, sometimes abandoned
  /// half-way (a guest that never re-executes its continuation).
  template <typename Op>
  void call(Op&& op) {
    const bool complete = rng_() % 4 != 0;
    LockGuard g(w_.mm.lock());
    for (int i = 0; i < 1000; ++i) {
      w_.mm.begin_call();
      Status s;
      if (w_.mm.has_pending()) s = w_.mm.drain();
      if (s) s = op();
      if (!s.is_restart()) {
        if (s) ++ok_;
        return;
      }
      ++restarts_;
      if (!complete) return;
    }
  }

  Mfn own_frame(Domain& d) {
    std::vector<Mfn> mine;
    w_.machine.frame_db().for_each([&](Mfn m, FrameInfo& f) {
      if (f.owner == &d) mine.push_back(m);
    });
    return mine.empty() ? Mfn{0} : pick(mine);
  }
  Mfn any_frame() { return Mfn{rng_() % w_.machine.nr_frames()}; }
  Mfn frame_of_type(Domain& d, PageType t) {
    std::vector<Mfn> v;
    w_.machine.frame_db().for_each([&](Mfn m, FrameInfo& f) {
      if (f.owner == &d && f.type == t && f.type_count > 0 && f.validated) v.push_back(m);
    });
    return v.empty() ? own_frame(d) : pick(v);
  }

  std::uint64_t random_value(Domain& d, PtLevel level) {
    const int k = static_cast<int>(rng_() % 20);
    if (k < 3) return 0;
    Mfn target;
    if (k < 11) {
      target = own_frame(d);
    } else if (k < 14 && level > 1) {
      target = frame_of_type(d, table_type(rng_() % 2 ? level - 1 : level));  // incl. linear
    } else if (k < 16) {
      target = frame_of_type(d, table_type(1 + rng_() % 4));
    } else {
      target = any_frame();
    }
    std::uint64_t v = make_pte(target, rng_() % 2 == 0, rng_() % 4 != 0);
    const int f = static_cast<int>(rng_() % 16);
    if (f == 0) v |= X86Pte::Pcd::kMask;
    if (f == 1) v |= X86Pte::PsePat::kMask;
    if (f == 2) v |= X86Pte::Global::kMask;
    if (f == 3) v |= X86Pte::Nx::kMask | X86Pte::Accessed::kMask;
    if (f == 4) v = X86Pte::Avail::set(v, rng_() % 8);
    if (f == 5) v |= std::uint64_t{1} << (52 + rng_() % 11);  // reserved
    return v;
  }

  void update(Domain& d) {
    // Mostly entries of the domain's live tables; sometimes any frame (plain or foreign).
    const int k = static_cast<int>(rng_() % 10);
    Mfn m = k < 7 ? frame_of_type(d, table_type(1 + rng_() % 4)) : (k < 9 ? own_frame(d) : any_frame());
    static constexpr unsigned kIdx[] = {0, 1, 2, 3, 4, 5, 255, 256, 300, 511};
    const unsigned idx = kIdx[rng_() % 10];
    const FrameInfo& f = *w_.machine.frame_db().info(m);
    const PtLevel level = is_page_table(f.type) ? table_level(f.type) : 1;
    std::uint64_t val = random_value(d, level);
    if (rng_() % 8 == 0) {  // fast-path-only change of the current value
      val = w_.machine.frame_entries(m)[idx] ^ (X86Pte::Accessed::kMask | X86Pte::Nx::kMask);
    }
    // Privileged domain 0 sometimes maps a frame of another domain (FD = that domain).
    Domain* pg = &d;
    if (d.privileged && rng_() % 3 == 0) {
      pg = pick(doms_);
      val = make_pte(own_frame(*pg), rng_() % 2 == 0);
    }
    const MachAddr ptr{to_maddr(m).value() + 8 * idx};
    const bool ad = rng_() % 5 == 0;
    call([&] { return w_.mm.mod_entry(d, *pg, ptr, val, ad); });
  }

  void grant_map(Domain& mapper) {
    Domain& granter = *pick(doms_);
    if (&granter == &mapper) return;
    Mfn frame = own_frame(granter);
    const bool ro = rng_() % 2 == 0;
    if (!grant_get_frame(w_.mm, frame, granter, !ro)) return;
    Mfn l1 = frame_of_type(mapper, PageType::L1);
    const MachAddr pte{to_maddr(l1).value() + 8 * (rng_() % 8)};
    if (grant_install_pte(w_.mm, mapper, pte, frame, GrantPteFlags{.readonly = ro}).ok()) {
      grants_.push_back({&mapper, &granter, pte, frame, ro});
      ++grant_maps_;
    } else {
      grant_put_frame(w_.mm, frame, !ro);
    }
  }
  void grant_unmap() {
    if (grants_.empty()) return;
    const std::size_t i = rng_() % grants_.size();
    GrantRecord g = grants_[i];
    (void)grant_remove_pte(w_.mm, *g.mapper, g.pte, g.frame, g.readonly);  // may be implicitly gone
    grant_flush_tlb(w_.mm, *g.mapper);
    grant_put_frame(w_.mm, g.frame, !g.readonly);
    grants_.erase(grants_.begin() + static_cast<std::ptrdiff_t>(i));
  }

  MmWorld w_;
  std::mt19937_64 rng_;
  std::vector<Domain*> doms_;
  std::vector<Domain*> dead_;
  std::vector<GrantRecord> grants_;
  std::uint64_t restarts_ = 0, ok_ = 0, grant_maps_ = 0;
  std::uint64_t seen_partial_ = 0, seen_linear_ = 0, seen_devalidating_ = 0, seen_tables_ = 0;
};

/// (seed, work budget per call): a tiny budget makes nearly every validation partial.
class MmProperty : public ::testing::TestWithParam<std::tuple<std::uint64_t, std::uint32_t>> {};

TEST_P(MmProperty, RandomOperationsKeepGlobalInvariants) {
  const auto [seed, budget] = GetParam();
  Model model(seed, budget);
  ASSERT_EQ(model.check(), "");
  for (int i = 0; i < 500; ++i) {
    if (i == 330) model.destroy_one();
    model.step();
    const std::string err = model.check();
    ASSERT_EQ(err, "") << "after step " << i << " (seed " << seed << ", budget " << budget << ")";
  }
  // The run must actually exercise the interesting paths.
  EXPECT_GT(model.successes(), 80u);
  if (budget < 100) EXPECT_GT(model.restarts(), 5u);  // preemption is really exercised
  EXPECT_GT(model.grant_maps(), 3u);
  model.print_stats();
  model.teardown_all();
}

INSTANTIATE_TEST_SUITE_P(Seeds, MmProperty,
                         ::testing::Values(std::make_tuple(1u, 48u), std::make_tuple(2u, 48u),
                                           std::make_tuple(3u, 3u), std::make_tuple(4u, 700u)));

}  // namespace
}  // namespace pvkit
