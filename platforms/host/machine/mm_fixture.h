// pvkit host platform: MmWorld — a machine, a domain table and a verifier wired together for
// pvkit/mm tests, with helpers to create domains and build their address spaces.
//
// How to use it:
//   MmWorld w;                                   // 192 frames, 4 hypervisor frames
//   Domain& d = w.domain(1);                      // created on first use, 64 pages, 2 vCPUs
//   auto& b = w.builder(d);  b.map(...);  ASSERT_TRUE(b.pin_and_load(VcpuId{0}));
//   { auto g = w.locked(); Status s = w.mm.pin(d, mfn, PageType::L1); }
//
// Concurrency: single-threaded test use only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>

#include "pvkit/base/spinlock.h"
#include "pvkit/domain/domain_table.h"
#include "pvkit/hypercall/args.h"
#include "pvkit/mm/verifier.h"
#include "pvkit/platforms/host/machine/guest_builder.h"
#include "pvkit/platforms/host/flat_guest_memory.h"
#include "pvkit/platforms/host/machine/machine.h"

namespace pvkit::host {

struct MmWorld {
  using Verifier = PageTableVerifier<Machine>;

  explicit MmWorld(std::uint64_t frames = 192, std::uint64_t xen = 4, std::uint32_t budget = 4096)
      : machine(frames, xen), mm(machine.frame_db(), machine, budget) {}

  /// The domain `id`, created on first use.
  Domain& domain(std::uint16_t id, DomainConfig cfg = DomainConfig{.max_pages = 64, .nr_vcpus = 2}) {
    if (Domain* d = domains.find(DomId{id})) return *d;
    return **domains.create(DomId{id}, cfg);
  }
  GuestBuilder<Verifier>& builder(Domain& d) {
    auto& b = builders[d.id.value()];
    if (!b) b = std::make_unique<GuestBuilder<Verifier>>(machine, mm, d);
    return *b;
  }
  /// Runs `op` (returning Status) under the lock with a fresh budget until it stops restarting.
  template <typename Op>
  Status run(Op&& op) {
    LockGuard g(mm.lock());
    Status s;
    int guard = 0;
    do {
      mm.begin_call();
      if (mm.has_pending()) {
        s = mm.drain();
        if (s.is_restart()) continue;
      }
      s = op();
    } while (s.is_restart() && ++guard < 100000);
    return s;
  }
  /// Drains all pending devalidation work.
  void settle() {
    (void)run([&] { return Status::ok(); });
  }

  Machine machine;
  DomainTable<8> domains;
  Verifier mm;
  std::map<std::uint16_t, std::unique_ptr<GuestBuilder<Verifier>>> builders;
};

}  // namespace pvkit::host

namespace pvkit::host {

/// A per-call context satisfying MmHypercallContext over an MmWorld.
struct MmCtx {
  FlatGuestMemory& mem;
  MmWorld& world;
  DomId dom;
  VcpuId vcpu{0};
  bool preempt = false;  ///< what hypercall_preempt_check answers

  FlatGuestMemory& guest_memory() { return mem; }
  DomId current_domain() const { return dom; }
  VcpuId current_vcpu() const { return vcpu; }
  MmWorld::Verifier& mm() { return world.mm; }
  DomainTable<8>& domains() { return world.domains; }
  bool hypercall_preempt_check() { return preempt; }
};

/// Runs a handler as the dispatcher would: re-executes while it answers -ERESTART with the
/// rewritten arguments. Returns the final RAX; `restarts` counts continuations.
template <typename Op, typename Ctx>
std::int64_t invoke(Ctx& ctx, HypercallArgs args, int* restarts = nullptr, int max_restarts = 100000) {
  args.nr = Op::kNumber;
  std::int64_t rax = 0;
  int r = 0;
  do {
    rax = Op::call(ctx, args);
  } while (rax == -85 && ++r < max_restarts);
  if (restarts != nullptr) *restarts = r;
  return rax;
}

}  // namespace pvkit::host
