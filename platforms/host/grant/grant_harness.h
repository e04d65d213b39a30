// pvkit host platform: GrantHarness — grant tables, a fake platform and guest memories wired
// together for tests.
//
// What it is: `GrantHarness` owns a FakeGrantPlatform, a `TestGrantTables` (small limits so
// that limits are reachable in tests) with domains 0..n-1 created, and one FlatGuestMemory
// per domain (the guest's request arrays live at kOps, frame lists at kList). It issues real
// grant_table_op hypercalls through GrantTableOp, re-executing continuations like the
// dispatcher, and offers granter-side helpers that write entries into the shared frames the
// way a guest would.
//
// How to use it:
//   GrantHarness h;                                   // domains 0, 1, 2
//   h.grant_v1(DomId{1}, 10, DomId{2}, Mfn{5});         // dom1 grants frame 5 to dom2 (ref 10)
//   auto m = h.map(DomId{2}, DomId{1}, 10, GNTMAP_host_map, 0x4000);
//   EXPECT_EQ(m.status, 0);
//
// Concurrency: hypercalls may run on several threads if each thread uses its own domain's
// memory only for requests (FlatGuestMemory copies are plain memcpy); setup is single-threaded.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "pvkit/base/types.h"
#include "pvkit/grant/grant_table_op.h"
#include "pvkit/grant/grant_tables.h"
#include "pvkit/grant/xen_abi.h"
#include "pvkit/hypercall/args.h"
#include "pvkit/platforms/host/flat_guest_memory.h"
#include "pvkit/platforms/host/grant/fake_grant_platform.h"

namespace pvkit::host {

/// Small limits: 4 grant frames (2048 v1 entries), 2 maptrack pages (340 handles).
struct SmallGrantLimits {
  static constexpr std::uint32_t kMaxGrantFrames = 4;
  static constexpr std::uint32_t kInitialGrantFrames = 1;
  static constexpr std::uint32_t kMaxMaptrackFrames = 2;
  static constexpr std::uint32_t kMaxVersion = 2;
  static constexpr std::uint32_t kOpsPerCall = 16;
  static constexpr std::uint32_t kUnmapBatch = 8;
  static constexpr std::uint32_t kCasRetries = 4;
};

using TestGrantTables = GrantTables<FakeGrantPlatform, 8, SmallGrantLimits>;

class GrantHarness {
 public:
  static constexpr std::size_t kDomains = 8;
  static constexpr VirtAddr kOps{0x100000};
  static constexpr std::size_t kOpsBytes = 0x10000;
  static constexpr VirtAddr kList{0x200000};

  struct Ctx {
    GrantHarness* h;
    DomId me;
    int preempt_every = 0;  ///< >0: ask for preemption on every call after this many checks
    int checks = 0;
    FlatGuestMemory& guest_memory() { return *h->mem[me.value()]; }
    DomId current_domain() { return me; }
    TestGrantTables& grant_tables() { return *h->gt; }
    bool hypercall_preempt_check() { return preempt_every > 0 && ++checks % preempt_every == 0; }
  };

  explicit GrantHarness(int ndomains = 3) : gt(std::make_unique<TestGrantTables>(platform)) {
    for (std::size_t d = 0; d < kDomains; ++d) {
      mem[d] = std::make_unique<FlatGuestMemory>();
      mem[d]->map(kOps, kOpsBytes);
      mem[d]->map(kList, 4096);
    }
    for (int d = 0; d < ndomains; ++d) created[d] = gt->create_domain(DomId{static_cast<std::uint16_t>(d)}).is_ok();
  }

  /// Tears every domain down the way the hypervisor would (release, then destroy), so that
  /// every page goes back to the allocator (sanitizer leak checks stay meaningful).
  ~GrantHarness() {
    platform.clear_guest_table_maps();
    for (std::size_t d = 0; d < kDomains; ++d) {
      const DomId id{static_cast<std::uint16_t>(d)};
      while (gt->release_domain(id).is_restart()) {
      }
    }
    for (std::size_t d = 0; d < kDomains; ++d) static_cast<void>(gt->destroy_domain(DomId{static_cast<std::uint16_t>(d)}));
  }

  /// One grant_table_op invocation (no continuation handling).
  std::int64_t call_once(DomId d, std::uint64_t cmd, std::uint64_t uop, std::uint64_t count, HypercallArgs& args,
                         int preempt_every = 0) {
    args.nr = xen::kHypervisorGrantTableOp;
    args.a = {cmd, uop, count, 0, 0};
    Ctx ctx{this, d, preempt_every, 0};
    return GrantTableOp::call(ctx, args);
  }
  /// A hypercall as the guest sees it: continuations are re-executed; counts them.
  std::int64_t hypercall(DomId d, std::uint64_t cmd, std::uint64_t uop, std::uint64_t count, int* restarts = nullptr,
                         int preempt_every = 0) {
    HypercallArgs args{};
    args.nr = xen::kHypervisorGrantTableOp;
    args.a = {cmd, uop, count, 0, 0};
    for (int i = 0; i < 100000; ++i) {
      Ctx ctx{this, d, preempt_every, 0};
      const std::int64_t rc = GrantTableOp::call(ctx, args);
      if (rc != Status{Errno::Restart}.guest_value()) return rc;
      if (restarts != nullptr) ++*restarts;
    }
    return -9999;  // never reached in a correct implementation
  }
  /// Writes `ops` at kOps, runs the sub-op, reads them back.
  template <typename T>
  std::int64_t op(DomId d, std::uint32_t cmd, std::vector<T>& ops, int* restarts = nullptr, int preempt_every = 0) {
    write_ops(d, ops);
    const std::int64_t rc = hypercall(d, cmd, kOps.value(), ops.size(), restarts, preempt_every);
    read_ops(d, ops);
    return rc;
  }
  template <typename T>
  void write_ops(DomId d, const std::vector<T>& ops) {
    std::memcpy(mem[d.value()]->host_ptr(kOps), ops.data(), ops.size() * sizeof(T));
  }
  template <typename T>
  void read_ops(DomId d, std::vector<T>& ops) {
    std::memcpy(ops.data(), mem[d.value()]->host_ptr(kOps), ops.size() * sizeof(T));
  }

  // ---- granter side (what a guest writes into its own shared frames) ------------------
  std::uint8_t* entry(DomId d, std::uint32_t ref) {
    const std::uint32_t v = gt->version(d);
    const std::uint32_t per = v == 2 ? 256 : 512;
    std::uint8_t* f = gt->shared_frame(d, ref / per);
    return f == nullptr ? nullptr : f + (ref % per) * (v == 2 ? 16 : 8);
  }
  void grant_v1(DomId d, std::uint32_t ref, DomId to, Mfn frame, std::uint16_t flags = xen::kGtfPermitAccess) {
    // As a guest does: domid and frame first, then (release) the flags. Every store is
    // atomic because the hypervisor may be reading the entry concurrently.
    auto* e = reinterpret_cast<xen::GrantEntryV1*>(entry(d, ref));
    __atomic_store_n(&e->domid, to.value(), __ATOMIC_RELAXED);
    __atomic_store_n(&e->frame, static_cast<std::uint32_t>(frame.value()), __ATOMIC_RELAXED);
    __atomic_store_n(&e->flags, flags, __ATOMIC_RELEASE);
  }
  void grant_v2(DomId d, std::uint32_t ref, DomId to, Mfn frame, std::uint16_t flags = xen::kGtfPermitAccess) {
    auto* e = reinterpret_cast<xen::GrantEntryV2*>(entry(d, ref));
    __atomic_store_n(&e->full_page.hdr.domid, to.value(), __ATOMIC_RELAXED);
    __atomic_store_n(&e->full_page.frame, frame.value(), __ATOMIC_RELAXED);
    __atomic_store_n(&e->full_page.hdr.flags, flags, __ATOMIC_RELEASE);
  }
  void grant_v2_sub(DomId d, std::uint32_t ref, DomId to, Mfn frame, std::uint16_t off, std::uint16_t len,
                    std::uint16_t extra = 0) {
    auto* e = reinterpret_cast<xen::GrantEntryV2*>(entry(d, ref));
    __atomic_store_n(&e->sub_page.hdr.domid, to.value(), __ATOMIC_RELAXED);
    __atomic_store_n(&e->sub_page.frame, frame.value(), __ATOMIC_RELAXED);
    __atomic_store_n(&e->sub_page.page_off, off, __ATOMIC_RELAXED);
    __atomic_store_n(&e->sub_page.length, len, __ATOMIC_RELAXED);
    __atomic_store_n(&e->sub_page.hdr.flags,
                     static_cast<std::uint16_t>(xen::kGtfPermitAccess | xen::kGtfSubPage | extra), __ATOMIC_RELEASE);
  }
  void grant_v2_trans(DomId d, std::uint32_t ref, DomId to, DomId trans_dom, std::uint32_t trans_ref,
                      std::uint16_t extra = 0) {
    auto* e = reinterpret_cast<xen::GrantEntryV2*>(entry(d, ref));
    __atomic_store_n(&e->transitive.hdr.domid, to.value(), __ATOMIC_RELAXED);
    __atomic_store_n(&e->transitive.trans_domid, trans_dom.value(), __ATOMIC_RELAXED);
    __atomic_store_n(&e->transitive.gref, trans_ref, __ATOMIC_RELAXED);
    __atomic_store_n(&e->transitive.hdr.flags, static_cast<std::uint16_t>(xen::kGtfTransitive | extra),
                     __ATOMIC_RELEASE);
  }
  /// The entry's flags word (v1 status bits live here).
  std::uint16_t flags(DomId d, std::uint32_t ref) {
    return __atomic_load_n(reinterpret_cast<std::uint16_t*>(entry(d, ref)), __ATOMIC_ACQUIRE);
  }
  /// GTF_reading|GTF_writing of `ref` in the current version.
  std::uint16_t status_bits(DomId d, std::uint32_t ref) {
    if (gt->version(d) == 2) {
      std::uint8_t* s = gt->status_frame(d, ref / 2048);
      return s == nullptr ? 0xFFFF : __atomic_load_n(reinterpret_cast<std::uint16_t*>(s) + ref % 2048, __ATOMIC_ACQUIRE);
    }
    return flags(d, ref) & (xen::kGtfReading | xen::kGtfWriting);
  }
  void revoke(DomId d, std::uint32_t ref) {
    __atomic_store_n(reinterpret_cast<std::uint16_t*>(entry(d, ref)), std::uint16_t{0}, __ATOMIC_RELEASE);
  }

  // ---- mapper side --------------------------------------------------------------------
  xen::GnttabMapGrantRef map(DomId mapper, DomId granter, std::uint32_t ref, std::uint32_t flags,
                             std::uint64_t addr) {
    std::vector<xen::GnttabMapGrantRef> ops(1);
    ops[0].host_addr = addr;
    ops[0].flags = flags;
    ops[0].ref = ref;
    ops[0].dom = granter.value();
    ops[0].status = 0x5555;
    last_rc = op(mapper, xen::kGnttabOpMapGrantRef, ops);
    return ops[0];
  }
  std::int16_t unmap(DomId mapper, std::uint32_t handle, std::uint64_t addr, std::uint64_t dev = 0) {
    std::vector<xen::GnttabUnmapGrantRef> ops(1);
    ops[0].host_addr = addr;
    ops[0].dev_bus_addr = dev;
    ops[0].handle = handle;
    ops[0].status = 0x5555;
    last_rc = op(mapper, xen::kGnttabOpUnmapGrantRef, ops);
    return ops[0].status;
  }
  std::int16_t copy(DomId caller, const xen::GnttabCopy& c) {
    std::vector<xen::GnttabCopy> ops{c};
    ops[0].status = 0x5555;
    last_rc = op(caller, xen::kGnttabOpCopy, ops);
    return ops[0].status;
  }
  std::int64_t set_version(DomId d, std::uint32_t v, std::uint32_t* out = nullptr) {
    std::vector<xen::GnttabSetVersion> ops(1);
    ops[0].version = v;
    const std::int64_t rc = op(d, xen::kGnttabOpSetVersion, ops);
    if (out != nullptr) *out = ops[0].version;
    return rc;
  }

  FakeGrantPlatform platform;
  std::unique_ptr<TestGrantTables> gt;
  std::array<std::unique_ptr<FlatGuestMemory>, kDomains> mem;
  std::array<bool, kDomains> created{};
  std::int64_t last_rc = 0;
};

}  // namespace pvkit::host
