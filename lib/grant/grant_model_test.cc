// Model-based property test: random grant operations across three domains (granting,
// revoking, mapping host/device/read-only parts, partial and bogus unmaps, copies, version
// switches), each checked against a simple model of what Xen's rules predict: the exact
// GNTST / errno result of every step, and after every step the pin counters, the status bits,
// every frame's reference counts, the maptrack handles in use and the grant PTEs present.
#include <cstdint>
#include <iterator>
#include <map>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "pvkit/grant/grant_table_op.h"
#include "pvkit/grant/xen_abi.h"
#include "pvkit/platforms/host/grant/grant_harness.h"

namespace pvkit {
namespace {

using host::GrantHarness;
constexpr int kDoms = 3;
constexpr std::uint32_t kFirstRef = 8, kRefs = 12;  // refs 8..19: never reserved
constexpr std::uint64_t kFramesPerDom = 5;
std::int16_t st(GrantStatus s) { return guest_value(s); }

Mfn frame_of(int dom, int i) { return Mfn{1 + dom * kFramesPerDom + i}; }

struct ModelEntry {
  bool permit = false;
  int grantee = 0;
  Mfn frame{};
  bool readonly = false;
};
struct ModelMap {
  int mapper = 0, granter = 0;
  std::uint32_t ref = 0;
  bool host = false, dev = false, ro = false;
  std::uint64_t addr = 0;
  Mfn frame{};
};

class Model {
 public:
  std::map<std::pair<int, std::uint32_t>, ModelEntry> entries;
  std::map<std::pair<int, std::uint32_t>, ModelMap> maps;  // (mapper, handle)
  std::array<int, kDoms> version{1, 1, 1};

  std::uint32_t pins(int g, std::uint32_t ref) const {
    std::uint32_t p = 0;
    for (auto& [k, m] : maps) {
      if (m.granter != g || m.ref != ref) continue;
      if (m.host) p += grant::PinCounts::increment(false, m.ro);
      if (m.dev) p += grant::PinCounts::increment(true, m.ro);
    }
    return p;
  }
  int pin_holder(int g, std::uint32_t ref) const {
    for (auto& [k, m] : maps) {
      if (m.granter == g && m.ref == ref) return m.mapper;
    }
    return -1;
  }
  bool any_pins(int g) const {
    for (auto& [k, m] : maps) {
      if (m.granter == g) return true;
    }
    return false;
  }
  std::pair<int, int> frame_refs(Mfn f) const {
    int refs = 0, wrefs = 0;
    for (auto& [k, m] : maps) {
      if (m.frame != f) continue;
      const int parts = (m.host ? 1 : 0) + (m.dev ? 1 : 0);
      refs += parts;
      if (!m.ro) wrefs += parts;
    }
    return {refs, wrefs};
  }
};

class GrantModel : public ::testing::TestWithParam<unsigned> {
 protected:
  void SetUp() override {
    for (int d = 0; d < kDoms; ++d) {
      for (int i = 0; i < static_cast<int>(kFramesPerDom); ++i) h.platform.give_frame(frame_of(d, i), DomId(d));
    }
    rng.seed(GetParam());
  }
  int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); }
  bool coin(int percent) { return pick(100) < percent; }

  void write_entry(int g, std::uint32_t ref, const ModelEntry& e) {
    const std::uint16_t flags =
        e.permit ? static_cast<std::uint16_t>(xen::kGtfPermitAccess | (e.readonly ? xen::kGtfReadonly : 0)) : 0;
    if (model.version[g] == 2) {
      h.grant_v2(DomId(g), ref, DomId(e.grantee), e.frame, flags);
    } else {
      h.grant_v1(DomId(g), ref, DomId(e.grantee), e.frame, flags);
    }
  }

  void step_grant() {
    const int g = pick(kDoms);
    const std::uint32_t ref = kFirstRef + pick(kRefs);
    if (model.pins(g, ref) != 0) return;  // a well-behaved granter never rewrites a pinned entry
    ModelEntry e;
    e.permit = coin(85);
    e.grantee = pick(kDoms);
    e.frame = coin(90) ? frame_of(g, pick(kFramesPerDom)) : frame_of((g + 1) % kDoms, 0);  // sometimes not g's
    e.readonly = coin(30);
    model.entries[{g, ref}] = e;
    write_entry(g, ref, e);
  }

  /// Mostly a live grant and its grantee (the interesting paths), sometimes anything.
  void choose(int& who, int& g, std::uint32_t& ref) {
    who = pick(kDoms);
    g = pick(kDoms);
    ref = kFirstRef + pick(kRefs);
    if (model.entries.empty() || coin(30)) return;
    auto it = model.entries.begin();
    std::advance(it, pick(static_cast<int>(model.entries.size())));
    g = it->first.first;
    ref = it->first.second;
    who = it->second.grantee;
  }

  void step_map() {
    int m, g;
    std::uint32_t ref;
    choose(m, g, ref);
    std::uint32_t flags = 0;
    if (coin(80)) flags |= xen::kGntmapHostMap;
    if (coin(35)) flags |= xen::kGntmapDeviceMap;
    if (coin(40)) flags |= xen::kGntmapReadonly;
    const std::uint64_t addr = coin(5) ? 0 : 0x100000 + (next_addr++) * 0x1000;
    const bool host = flags & xen::kGntmapHostMap, dev = flags & xen::kGntmapDeviceMap, ro = flags & xen::kGntmapReadonly;
    const ModelEntry e = model.entries.count({g, ref}) ? model.entries[{g, ref}] : ModelEntry{};
    const int holder = model.pin_holder(g, ref);
    // Predict.
    GrantStatus want = GrantStatus::Okay;
    Mfn frame = e.frame;
    if (!host && !dev) {
      want = GrantStatus::BadGntref;
    } else if (holder >= 0) {
      // Pinned: the hypervisor's captured state rules; the frame is the pinned one.
      frame = model.maps.begin()->second.frame;
      for (auto& [k, mm] : model.maps) {
        if (mm.granter == g && mm.ref == ref) frame = mm.frame;
      }
      if (holder != m || (!ro && e.readonly)) want = GrantStatus::GeneralError;
    } else if (!e.permit || e.grantee != m || (!ro && e.readonly)) {
      want = GrantStatus::GeneralError;
    } else if (frame.value() < frame_of(g, 0).value() || frame.value() > frame_of(g, kFramesPerDom - 1).value()) {
      want = GrantStatus::BadPage;
    }
    if (want == GrantStatus::Okay && host && addr == 0) want = GrantStatus::BadVirtAddr;
    auto r = h.map(DomId(m), DomId(g), ref, flags, addr);
    ASSERT_EQ(h.last_rc, 0);
    ASSERT_EQ(r.status, st(want)) << "map m" << m << " g" << g << " ref " << ref << " flags " << flags;
    if (want != GrantStatus::Okay) {
      ASSERT_EQ(r.handle, 0xFFFFFFFFu);
      return;
    }
    ASSERT_EQ(model.maps.count({m, r.handle}), 0u) << "handle handed out twice";
    ++ok_maps;
    ASSERT_EQ(r.dev_bus_addr, dev ? to_maddr(frame).value() : 0u);
    model.maps[{m, r.handle}] = ModelMap{m, g, ref, host, dev, ro, host ? addr : 0, frame};
  }

  void step_unmap() {
    const int m = pick(kDoms);
    std::vector<std::uint32_t> mine;
    for (auto& [k, mm] : model.maps) {
      if (k.first == m) mine.push_back(k.second);
    }
    std::uint32_t handle;
    if (mine.empty() || coin(10)) {
      handle = coin(50) ? 100000u : static_cast<std::uint32_t>(pick(400));
      if (model.maps.count({m, handle})) return;  // happened to be live: skip
      ASSERT_EQ(h.unmap(DomId(m), handle, 0x4000, 0x4000), st(GrantStatus::BadHandle));
      return;
    }
    handle = mine[pick(static_cast<int>(mine.size()))];
    ModelMap& mm = model.maps[{m, handle}];
    const int hchoice = pick(10), dchoice = pick(10);
    const std::uint64_t haddr = hchoice < 6 ? mm.addr : hchoice < 9 ? 0 : 0x7000;
    const std::uint64_t daddr = dchoice < 6 ? to_maddr(mm.frame).value() : dchoice < 9 ? 0 : 0x7000;
    GrantStatus want = GrantStatus::Okay;
    if (daddr != 0 && mm.dev && daddr != to_maddr(mm.frame).value()) {
      want = GrantStatus::BadDevAddr;
    } else if (haddr != 0 && mm.host && haddr != mm.addr) {
      want = GrantStatus::GeneralError;  // no grant PTE of that frame there
    }
    ASSERT_EQ(h.unmap(DomId(m), handle, haddr, daddr), st(want)) << "unmap m" << m << " h" << handle;
    if (want != GrantStatus::Okay) return;
    ++ok_unmaps;
    if (haddr != 0) mm.host = false;
    if (daddr != 0) mm.dev = false;
    if (!mm.host && !mm.dev) model.maps.erase({m, handle});
  }

  void step_copy() {
    int c, g;
    std::uint32_t ref;
    choose(c, g, ref);
    const ModelEntry e = model.entries.count({g, ref}) ? model.entries[{g, ref}] : ModelEntry{};
    const int holder = model.pin_holder(g, ref);
    const std::uint16_t off = static_cast<std::uint16_t>(pick(4096)), len = static_cast<std::uint16_t>(pick(64));
    xen::GnttabCopy op{};
    op.source.u.ref = ref;
    op.source.domid = static_cast<std::uint16_t>(g);
    op.source.offset = off;
    op.dest.u.gmfn = frame_of(c, kFramesPerDom - 1).value();
    op.dest.domid = kDomidSelf.value();
    op.dest.offset = 0;
    op.len = len;
    op.flags = xen::kGntcopySourceGref;
    GrantStatus want = GrantStatus::Okay;
    Mfn src = e.frame;
    if (off + len > 4096) {
      want = GrantStatus::BadCopyArg;
    } else if (holder >= 0) {
      for (auto& [k, mm] : model.maps) {
        if (mm.granter == g && mm.ref == ref) src = mm.frame;
      }
      if (holder != c) want = GrantStatus::GeneralError;
    } else if (!e.permit || e.grantee != c) {
      want = GrantStatus::GeneralError;
    } else if (src.value() < frame_of(g, 0).value() || src.value() > frame_of(g, kFramesPerDom - 1).value()) {
      want = GrantStatus::BadPage;
    }
    // Fill the source with a pattern unique to this step.
    if (want == GrantStatus::Okay) {
      for (int i = 0; i < len; ++i) h.platform.bytes(src)[off + i] = static_cast<std::uint8_t>(step_ + i);
    }
    ASSERT_EQ(h.copy(DomId(c), op), st(want)) << "copy c" << c << " g" << g << " ref " << ref;
    if (want == GrantStatus::Okay) {
      ++ok_copies;
      for (int i = 0; i < len; ++i) {
        ASSERT_EQ(h.platform.bytes(Mfn{op.dest.u.gmfn})[i], static_cast<std::uint8_t>(step_ + i));
      }
    }
  }

  /// Every mapper unmaps everything it holds of `g` (one batched hypercall per mapper).
  void drain(int g) {
    for (int m = 0; m < kDoms; ++m) {
      std::vector<xen::GnttabUnmapGrantRef> ops;
      std::vector<std::uint32_t> handles;
      for (auto& [k, mm] : model.maps) {
        if (k.first != m || mm.granter != g) continue;
        xen::GnttabUnmapGrantRef u{};
        u.handle = k.second;
        u.host_addr = mm.host ? mm.addr : 0;
        u.dev_bus_addr = mm.dev ? to_maddr(mm.frame).value() : 0;
        u.status = 0x5555;
        ops.push_back(u);
        handles.push_back(k.second);
      }
      if (ops.empty()) continue;
      ASSERT_EQ(h.op(DomId(m), xen::kGnttabOpUnmapGrantRef, ops), 0);
      for (std::size_t i = 0; i < ops.size(); ++i) {
        ASSERT_EQ(ops[i].status, 0) << "drain " << i;
        model.maps.erase({m, handles[i]});
      }
    }
  }

  void step_set_version(int d = -1, int v = 0) {
    if (d < 0) d = pick(kDoms);
    if (v == 0) v = 1 + pick(2);
    const std::int64_t want = model.version[d] == v ? 0 : model.any_pins(d) ? -16 : 0;
    ASSERT_EQ(h.set_version(DomId(d), static_cast<std::uint32_t>(v)), want) << "set_version d" << d << " v" << v;
    if (want == 0 && model.version[d] != v) {
      ++switches;
      model.version[d] = v;
      for (auto it = model.entries.begin(); it != model.entries.end();) {
        it = it->first.first == d ? model.entries.erase(it) : std::next(it);
      }
    }
  }

  void check_state() {
    for (int g = 0; g < kDoms; ++g) {
      ASSERT_EQ(h.gt->version(DomId(g)), static_cast<std::uint32_t>(model.version[g]));
      for (std::uint32_t ref = kFirstRef; ref < kFirstRef + kRefs; ++ref) {
        const std::uint32_t p = model.pins(g, ref);
        ASSERT_EQ(h.gt->pin_raw(DomId(g), GrantRef{ref}), p) << "pins g" << g << " ref " << ref;
        grant::PinCounts pc{p};
        const std::uint16_t bits = static_cast<std::uint16_t>((pc.any() ? xen::kGtfReading : 0) |
                                                              (pc.any_write() ? xen::kGtfWriting : 0));
        ASSERT_EQ(h.status_bits(DomId(g), ref), bits) << "status g" << g << " ref " << ref;
      }
    }
    for (std::uint64_t f = 1; f <= kDoms * kFramesPerDom; ++f) {
      const auto [refs, wrefs] = model.frame_refs(Mfn{f});
      ASSERT_EQ(h.platform.frame(Mfn{f}).refs, refs) << "frame " << f;
      ASSERT_EQ(h.platform.frame(Mfn{f}).wrefs, wrefs) << "frame " << f;
    }
    for (int m = 0; m < kDoms; ++m) {
      std::uint32_t handles = 0;
      int ptes = 0;
      for (auto& [k, mm] : model.maps) {
        if (k.first != m) continue;
        ++handles;
        ptes += mm.host ? 1 : 0;
      }
      ASSERT_EQ(h.gt->handles_in_use(DomId(m)), handles) << "handles of " << m;
      ASSERT_EQ(h.platform.grant_ptes(DomId(m)), ptes) << "grant PTEs of " << m;
    }
    ASSERT_EQ(h.platform.violations(), 0);
  }

  GrantHarness h;
  Model model;
  std::mt19937 rng;
  std::uint64_t next_addr = 0;
  int step_ = 0;
  int ok_maps = 0, ok_unmaps = 0, ok_copies = 0, switches = 0;
};

TEST_P(GrantModel, RandomOperationsMatchTheModelAfterEveryStep) {
  for (step_ = 0; step_ < 2000; ++step_) {
    const int op = pick(100);
    const bool crowded = model.maps.size() > 40;
    if (op < 25) {
      step_grant();
    } else if (op < 30) {
      const int g = pick(kDoms);
      const std::uint32_t ref = kFirstRef + pick(kRefs);
      if (model.pins(g, ref) == 0 && model.entries.count({g, ref})) {
        model.entries.erase({g, ref});
        h.revoke(DomId(g), ref);
      }
    } else if (op < (crowded ? 45 : 60)) {
      step_map();
    } else if (op < 88) {
      step_unmap();
    } else if (op < 97) {
      step_copy();
    } else {
      step_set_version();
    }
    if (step_ % 150 == 149) {  // a quiet moment: one granter's grants all unmapped, then a switch
      const int d = pick(kDoms);
      drain(d);
      if (!HasFatalFailure()) step_set_version(d, 3 - model.version[d]);
    }
    if (HasFatalFailure()) {
      ADD_FAILURE() << "at step " << step_ << " (seed " << GetParam() << ")";
      return;
    }
    check_state();
    if (HasFatalFailure()) {
      ADD_FAILURE() << "state diverged after step " << step_ << " (seed " << GetParam() << ")";
      return;
    }
  }
  // The random walk must have exercised the success paths, not only the errors.
  EXPECT_GT(ok_maps, 200);
  EXPECT_GT(ok_unmaps, 200);
  EXPECT_GT(ok_copies, 20);
  EXPECT_GT(switches, 8);
  // Tear down through the domains' release: the model's maps all disappear.
  for (int d = 0; d < kDoms; ++d) {
    while (h.gt->release_domain(DomId(d)).is_restart()) {
    }
  }
  model.maps.clear();
  for (std::uint64_t f = 1; f <= kDoms * kFramesPerDom; ++f) EXPECT_EQ(h.platform.frame(Mfn{f}).refs, 0);
  EXPECT_EQ(h.platform.violations(), 0);
}

INSTANTIATE_TEST_SUITE_P(Seeds, GrantModel, ::testing::Values(1u, 2u, 3u, 42u));

}  // namespace
}  // namespace pvkit
