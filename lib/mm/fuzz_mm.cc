// libFuzzer target: the fuzzer's bytes drive a guest sequence of page-table operations
// (mmu_update/update_va_mapping requests with arbitrary values, pins, unpins, base pointers,
// grant mappings, half-finished continuations) by three domains on a small simulated machine.
// After every operation the global invariants are recomputed from scratch; any violation, and
// any count not back at zero after tearing every domain down, aborts.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "pvkit/mm/domain_teardown.h"
#include "pvkit/mm/grant_mapping.h"
#include "pvkit/platforms/host/machine/mm_fixture.h"
#include "pvkit/platforms/host/machine/mm_invariants.h"

namespace {

using namespace pvkit;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "invariant violated: %s\n", what.c_str());
  std::abort();
}

struct Reader {
  const std::uint8_t* p;
  std::size_t n;
  std::uint64_t u64() {
    std::uint64_t v = 0;
    const std::size_t k = n < 8 ? n : 8;
    std::memcpy(&v, p, k);
    p += k;
    n -= k;
    return v;
  }
  std::uint8_t u8() { return static_cast<std::uint8_t>(u64() & 0xFF); }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  host::MmWorld w(64, 4, 8);
  Domain* doms[3] = {&w.domain(0, {.privileged = true, .max_pages = 18, .nr_vcpus = 1}),
                     &w.domain(1, {.max_pages = 18, .nr_vcpus = 1}), &w.domain(2, {.max_pages = 18, .nr_vcpus = 1})};
  for (Domain* d : doms) {
    auto& b = w.builder(*d);
    b.map(VirtAddr{0x400000}, b.alloc(), true);
    b.map(VirtAddr{0x401000}, b.alloc(), false);
    while (d->tot_pages < 16) (void)b.alloc();
    if (!b.pin_and_load(VcpuId{0})) fail("setup");
  }
  struct Grant {
    Domain* mapper;
    MachAddr pte;
    Mfn frame;
    bool ro;
  };
  Grant grants[8];
  int nr_grants = 0;
  auto extra = [&] {
    host::ExtraRefs e;
    for (int i = 0; i < nr_grants; ++i) {
      e[grants[i].frame.value()].first += 1;
      e[grants[i].frame.value()].second += grants[i].ro ? 0 : 1;
    }
    return e;
  };
  Reader r{data, size};
  for (int step = 0; step < 64 && r.n > 0; ++step) {
    const std::uint8_t op = r.u8();
    Domain& d = *doms[op % 3];
    const Mfn frame{static_cast<std::uint64_t>(r.u8() % 64)};
    const std::uint64_t val = r.u64();
    const unsigned idx = r.u8() % 8 + (op & 0x80 ? 504 : 0);
    const bool finish = (op & 0x40) != 0;
    auto call = [&](auto&& fn) {
      LockGuard g(w.mm.lock());
      for (int i = 0; i < 2000; ++i) {
        w.mm.begin_call();
        Status s;
        if (w.mm.has_pending()) s = w.mm.drain();
        if (s) s = fn();
        if (!s.is_restart() || !finish) return;
      }
    };
    switch ((op >> 2) % 8) {
      case 0:
      case 1:
        call([&] { return w.mm.mod_entry(d, d, MachAddr{to_maddr(frame).value() + 8 * idx}, val, op & 1); });
        break;
      case 2:
        call([&] { return w.mm.update_va(d, VcpuId{0}, VirtAddr{0x400000 + (val & 0x3000)}, val >> 8); });
        break;
      case 3:
        call([&] { return w.mm.pin(d, frame, table_type(1 + val % 4)); });
        break;
      case 4:
        call([&] { return w.mm.unpin(d, frame); });
        break;
      case 5:
        call([&] { return w.mm.new_baseptr(d, VcpuId{0}, frame); });
        break;
      case 6: {  // a grant mapping of another domain's frame into d's L1 at `idx`
        Domain& granter = *doms[(op % 3 + 1) % 3];
        const bool ro = val & 1;
        if (nr_grants < 8 && grant_get_frame(w.mm, frame, granter, !ro)) {
          const MachAddr pte{to_maddr(Mfn{(val >> 8) % 64}).value() + 8 * idx};
          if (grant_install_pte(w.mm, d, pte, frame, GrantPteFlags{.readonly = ro}).ok()) {
            grants[nr_grants++] = {&d, pte, frame, ro};
          } else {
            grant_put_frame(w.mm, frame, !ro);
          }
        }
        break;
      }
      default:
        if (nr_grants > 0) {
          Grant g = grants[--nr_grants];
          (void)grant_remove_pte(w.mm, *g.mapper, g.pte, g.frame, g.ro);
          grant_flush_tlb(w.mm, *g.mapper);
          grant_put_frame(w.mm, g.frame, !g.ro);
        }
        break;
    }
    w.machine.observe_all();
    const auto e = extra();
    if (std::string err = host::check_mm_invariants(w.machine, w.mm, w.domains, &e); !err.empty()) fail(err);
  }
  for (int i = 0; i < nr_grants; ++i) {
    grant_release_pte(w.mm, *grants[i].mapper, grants[i].pte, grants[i].frame, grants[i].ro);
    grant_put_frame(w.mm, grants[i].frame, !grants[i].ro);
  }
  for (Domain* d : doms) {
    if (!w.domains.begin_destroy(d->id)) fail("destroy");
  }
  for (int round = 0; round < 2; ++round) {
    for (Domain* d : doms) {
      int guard = 0;
      while (domain_teardown_step(w.mm, *d).is_restart() && ++guard < 100000) {
      }
    }
  }
  w.machine.frame_db().for_each([&](Mfn m, FrameInfo& f) {
    if (f.refcount != 0 || f.type_count != 0 || f.owner != nullptr) fail("frame " + std::to_string(m.value()) + " not released");
  });
  return 0;
}
