// Several vCPUs of several domains calling the handlers and grant hooks at once: the verifier
// lock must serialise everything (run under --config=tsan too), and the global invariants must
// hold afterwards.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "pvkit/hypercall/handler.h"
#include "pvkit/mm/grant_mapping.h"
#include "pvkit/mm/hypercall_mmu_update.h"
#include "pvkit/mm/hypercall_mmuext_op.h"
#include "pvkit/mm/hypercall_update_va_mapping.h"
#include "pvkit/platforms/host/machine/mm_fixture.h"
#include "pvkit/platforms/host/machine/mm_invariants.h"

namespace pvkit {
namespace {

using host::invoke;
using host::make_pte;
using host::MmCtx;
using host::MmWorld;

static_assert(HypercallHandlerFor<MmuUpdateOp, MmCtx>);
static_assert(HypercallHandlerFor<MmuextOp, MmCtx>);
static_assert(HypercallHandlerFor<UpdateVaMappingOp, MmCtx>);

constexpr std::uint64_t kReqs = 0x10000;

TEST(MmConcurrency, ParallelGuestsAndGrantTable) {
  MmWorld w(160, 4, 16);
  std::vector<Domain*> doms;
  std::vector<std::vector<Mfn>> frames(3);
  for (std::uint16_t id = 1; id <= 3; ++id) {
    Domain& d = w.domain(id);
    doms.push_back(&d);
    auto& b = w.builder(d);
    for (int i = 0; i < 8; ++i) {
      Mfn f = b.alloc();
      frames[id - 1].push_back(f);
      b.map(VirtAddr{0x400000u + 0x1000u * i}, f, true);
    }
    for (int i = 0; i < 8; ++i) frames[id - 1].push_back(b.alloc());
    ASSERT_TRUE(b.pin_and_load(VcpuId{0}));
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      host::FlatGuestMemory mem;
      mem.map(VirtAddr{kReqs}, 0x1000);
      mem.map(VirtAddr{0x20000}, 0x1000);
      MmCtx ctx{mem, w, doms[t]->id};
      std::mt19937 rng(static_cast<unsigned>(t) + 7);
      const MachAddr l1{to_maddr(w.builder(*doms[t]).table(VirtAddr{0x400000}, 1)).value()};
      for (int i = 0; i < 150; ++i) {
        const int op = static_cast<int>(rng() % 3);
        if (op == 0) {
          xen::MmuUpdate u{l1.value() + 8 * (rng() % 12),
                           rng() % 3 ? make_pte(frames[t][rng() % frames[t].size()], rng() % 2) : 0};
          std::memcpy(mem.host_ptr(VirtAddr{kReqs}), &u, sizeof(u));
          (void)invoke<MmuUpdateOp>(ctx, HypercallArgs{0, {kReqs, 1, 0x20000, kDomidSelf.value(), 0}});
        } else if (op == 1) {
          (void)invoke<UpdateVaMappingOp>(
              ctx, HypercallArgs{0, {0x400000u + 0x1000u * (rng() % 12), make_pte(frames[t][rng() % 16], rng() % 2),
                                     xen::kUvmfInvlpg}});
        } else {
          // Grant-table style use of a peer's frame.
          Domain& peer = *doms[(t + 1) % 3];
          Mfn f = frames[(t + 1) % 3][rng() % 16];
          const bool wr = rng() % 2;
          if (grant_get_frame(w.mm, f, peer, wr)) grant_put_frame(w.mm, f, wr);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  w.settle();
  EXPECT_EQ(host::check_mm_invariants(w.machine, w.mm, w.domains), "");
}

}  // namespace
}  // namespace pvkit
