// Grant tables over the real page-table verifier (lib/mm) through MmGrantPolicy: a grant is
// mapped by hypercall into the mapper's real PV page tables with the right references, an
// ordinary mmu_update / update_va_mapping cannot overwrite or clear the grant PTE
// (invariant 13), unmapping validates the PTE (invariant 22), page tables cannot be mapped
// writable (invariant 7), transfer moves ownership through the frame database (invariant 14),
// and domain teardown removes the grant PTEs.
#include "pvkit/grant/mm_grant_policy.h"

#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include <gtest/gtest.h>

#include "pvkit/grant/grant_table_op.h"
#include "pvkit/grant/grant_tables.h"
#include "pvkit/mm/hypercall_mmu_update.h"
#include "pvkit/mm/hypercall_update_va_mapping.h"
#include "pvkit/platforms/host/flat_guest_memory.h"
#include "pvkit/platforms/host/heap_page_allocator.h"
#include "pvkit/platforms/host/machine/mm_fixture.h"

namespace pvkit {
namespace {

using host::make_pte;
using host::MmWorld;

/// Grant and status frames for the host test: heap pages with frame numbers above the
/// simulated machine (the guest never maps them here).
struct HostTablePages {
  host::HeapPageAllocator alloc;
  std::map<void*, Mfn> frames;
  std::set<void*> mapped;
  std::uint64_t next = 0x100000;
  void* alloc_page() { return alloc.alloc_page(); }
  void free_page(void* p) {
    frames.erase(p);
    alloc.free_page(p);
  }
  Result<Mfn> share_table_page(DomId, void* p, bool) {
    auto it = frames.find(p);
    if (it == frames.end()) it = frames.emplace(p, Mfn{next++}).first;
    return it->second;
  }
  Status unshare_table_page(DomId, void* p) { return mapped.count(p) ? Status{Errno::Busy} : Status::ok(); }
};
static_assert(GrantTablePages<HostTablePages>);

using Verifier = MmWorld::Verifier;
using Policy = MmGrantPolicy<Verifier, DomainTable<8>, HostTablePages>;
static_assert(GrantPlatform<Policy>);
using Tables = GrantTables<Policy, 8>;

constexpr VirtAddr kData{0x400000};
constexpr VirtAddr kSlot{0x401000};
constexpr VirtAddr kOps{0x10000000};
constexpr DomId kGranter{1}, kMapper{2};

struct World : MmWorld {
  HostTablePages pages;
  Policy policy{mm, domains, pages};
  Tables gt{policy};
  host::FlatGuestMemory mem;
  Domain& granter = domain(1);
  Domain& mapper = domain(2);
  Mfn gframe{};

  World() {
    auto& gb = builder(granter);
    gframe = gb.alloc();
    gb.map(kData, gframe, true);
    EXPECT_TRUE(gb.pin_and_load(VcpuId{0}));
    auto& mb = builder(mapper);
    mb.map(kData, mb.alloc(), true);
    mb.map(kSlot, mb.alloc(), false);
    machine.frame_entries(mb.table(kSlot, 1))[pt_index(kSlot, 1)] = 0;  // empty slot in a live L1
    EXPECT_TRUE(mb.pin_and_load(VcpuId{0}));
    EXPECT_TRUE(gt.create_domain(kGranter));
    EXPECT_TRUE(gt.create_domain(kMapper));
    mem.map(kOps, 0x1000);
  }
  ~World() {
    for (DomId d : {kGranter, kMapper}) {
      while (gt.release_domain(d).is_restart()) {
      }
    }
    for (DomId d : {kGranter, kMapper}) EXPECT_TRUE(gt.destroy_domain(d));
    EXPECT_EQ(pages.alloc.live_pages(), 0);
  }
  const FrameInfo& info(Mfn m) { return *machine.frame_db().info(m); }
  MachAddr slot() { return builder(mapper).pte_maddr(kSlot); }
  std::uint64_t slot_value() { return machine.frame_entries(to_mfn(slot()))[pt_index(kSlot, 1)]; }
  void grant_v1(std::uint32_t ref, DomId to, Mfn frame, std::uint16_t flags = xen::kGtfPermitAccess) {
    auto* e = reinterpret_cast<xen::GrantEntryV1*>(gt.shared_frame(kGranter, 0)) + ref;
    e->domid = to.value();
    e->frame = static_cast<std::uint32_t>(frame.value());
    e->flags = flags;
  }
};

/// One context for both the grant and the mm handlers.
struct Ctx {
  World& w;
  DomId dom;
  host::FlatGuestMemory& guest_memory() { return w.mem; }
  DomId current_domain() const { return dom; }
  VcpuId current_vcpu() const { return VcpuId{0}; }
  Verifier& mm() { return w.mm; }
  DomainTable<8>& domains() { return w.domains; }
  Tables& grant_tables() { return w.gt; }
};
static_assert(GrantHypercallContext<Ctx>);
static_assert(MmHypercallContext<Ctx>);

xen::GnttabMapGrantRef map(World& w, std::uint32_t ref, std::uint32_t flags, std::uint64_t addr) {
  xen::GnttabMapGrantRef op{};
  op.host_addr = addr;
  op.flags = flags;
  op.ref = ref;
  op.dom = kGranter.value();
  EXPECT_TRUE(w.mem.copy_to_guest(kOps, &op, sizeof(op)));
  Ctx ctx{w, kMapper};
  HypercallArgs args{};
  args.a = {xen::kGnttabOpMapGrantRef, kOps.value(), 1, 0, 0};
  EXPECT_EQ(host::invoke<GrantTableOp>(ctx, args), 0);
  EXPECT_TRUE(w.mem.copy_from_guest(&op, kOps, sizeof(op)));
  return op;
}

std::int16_t unmap(World& w, std::uint32_t handle, std::uint64_t addr) {
  xen::GnttabUnmapGrantRef op{};
  op.host_addr = addr;
  op.handle = handle;
  op.status = 0x5555;
  EXPECT_TRUE(w.mem.copy_to_guest(kOps, &op, sizeof(op)));
  Ctx ctx{w, kMapper};
  HypercallArgs args{};
  args.a = {xen::kGnttabOpUnmapGrantRef, kOps.value(), 1, 0, 0};
  EXPECT_EQ(host::invoke<GrantTableOp>(ctx, args), 0);
  EXPECT_TRUE(w.mem.copy_from_guest(&op, kOps, sizeof(op)));
  return op.status;
}

std::int64_t mmu_update(World& w, MachAddr ptr, std::uint64_t val) {
  const xen::MmuUpdate req{ptr.value() | xen::kMmuNormalPtUpdate, val};
  EXPECT_TRUE(w.mem.copy_to_guest(VirtAddr{kOps.value() + 0x800}, &req, sizeof(req)));
  Ctx ctx{w, kMapper};
  HypercallArgs args{};
  args.a = {kOps.value() + 0x800, 1, 0, kDomidSelf.value(), 0};
  return host::invoke<MmuUpdateOp>(ctx, args);
}

TEST(MmGrantPolicy, Inv13_GrantMappedThroughTheVerifierCannotBeOverwrittenByMmuUpdate_XSA227) {
  World w;
  w.grant_v1(10, kMapper, w.gframe);
  const std::uint32_t refs = w.info(w.gframe).refcount;
  const std::uint32_t types = w.info(w.gframe).type_count;
  auto m = map(w, 10, xen::kGntmapHostMap, kSlot.value());
  ASSERT_EQ(m.status, 0);
  // A real grant PTE in the mapper's live L1, with the grant's references on the frame.
  const std::uint64_t pte = w.slot_value();
  EXPECT_EQ(X86Pte::frame(pte), w.gframe);
  EXPECT_TRUE(X86Pte::Rw::test(pte));
  EXPECT_TRUE(is_grant_pte(w.mm, w.slot()));
  EXPECT_EQ(w.info(w.gframe).refcount, refs + 1);
  EXPECT_EQ(w.info(w.gframe).type_count, types + 1);
  EXPECT_EQ(w.info(w.gframe).type, PageType::Writable);

  // The mapper tries to overwrite, redirect and clear the grant PTE: all refused, unchanged.
  const Mfn own = w.builder(w.mapper).alloc();
  EXPECT_LT(mmu_update(w, w.slot(), make_pte(own, true)), 0);
  EXPECT_LT(mmu_update(w, w.slot(), make_pte(w.gframe, false)), 0);
  EXPECT_LT(mmu_update(w, w.slot(), 0), 0);
  {
    Ctx ctx{w, kMapper};
    HypercallArgs args{};
    args.a = {kSlot.value(), 0, 0, 0, 0};
    EXPECT_LT(host::invoke<UpdateVaMappingOp>(ctx, args), 0);
  }
  EXPECT_EQ(w.slot_value(), pte);
  EXPECT_EQ(w.info(w.gframe).refcount, refs + 1);

  // The grant unmap removes it, flushes, and gives every reference back.
  const std::uint64_t flushes = w.machine.guest_flushes();
  ASSERT_EQ(unmap(w, m.handle, kSlot.value()), 0);
  EXPECT_EQ(w.slot_value(), 0u);
  EXPECT_FALSE(is_grant_pte(w.mm, w.slot()));
  EXPECT_GT(w.machine.guest_flushes(), flushes);
  EXPECT_EQ(w.info(w.gframe).refcount, refs);
  EXPECT_EQ(w.info(w.gframe).type_count, types);
  auto* e = reinterpret_cast<xen::GrantEntryV1*>(w.gt.shared_frame(kGranter, 0)) + 10;
  EXPECT_EQ(e->flags, xen::kGtfPermitAccess);
  // Now an ordinary update of that entry works again.
  EXPECT_EQ(mmu_update(w, w.slot(), make_pte(own, true)), 0);
}

TEST(MmGrantPolicy, Inv22_UnmapChecksThePteItRemoves_XSA234) {
  World w;
  w.grant_v1(11, kMapper, w.gframe, xen::kGtfPermitAccess | xen::kGtfReadonly);
  auto m = map(w, 11, xen::kGntmapHostMap | xen::kGntmapReadonly | xen::kGntmapContainsPte, w.slot().value());
  ASSERT_EQ(m.status, 0);
  EXPECT_FALSE(X86Pte::Rw::test(w.slot_value()));
  // The handle with the machine address of another PTE (the mapper's data mapping): refused.
  EXPECT_EQ(unmap(w, m.handle, w.builder(w.mapper).pte_maddr(kData).value()), -1);
  EXPECT_TRUE(is_grant_pte(w.mm, w.slot()));
  ASSERT_EQ(unmap(w, m.handle, w.slot().value()), 0);
  EXPECT_EQ(w.slot_value(), 0u);
}

TEST(MmGrantPolicy, Inv7_APageTableCanBeGrantedReadOnlyButNeverMappedWritable_XSA148) {
  World w;
  const Mfn l1 = w.builder(w.granter).table(kData, 1);
  w.grant_v1(12, kMapper, l1);
  EXPECT_EQ(map(w, 12, xen::kGntmapHostMap, kSlot.value()).status, -1);
  EXPECT_EQ(w.slot_value(), 0u);
  auto* e = reinterpret_cast<xen::GrantEntryV1*>(w.gt.shared_frame(kGranter, 0)) + 12;
  EXPECT_EQ(e->flags, xen::kGtfPermitAccess);  // no status bit left behind
  auto ro = map(w, 12, xen::kGntmapHostMap | xen::kGntmapReadonly, kSlot.value());
  ASSERT_EQ(ro.status, 0);
  EXPECT_EQ(w.info(l1).type, PageType::L1);
  ASSERT_EQ(unmap(w, ro.handle, kSlot.value()), 0);
}

TEST(MmGrantPolicy, Inv14_TransferMovesOwnershipThroughTheFrameDatabase_XSA214) {
  World w;
  // The mapper accepts a page from the granter in its entry 20.
  auto* acc = reinterpret_cast<xen::GrantEntryV1*>(w.gt.shared_frame(kMapper, 0)) + 20;
  acc->domid = kGranter.value();
  acc->flags = xen::kGtfAcceptTransfer;
  const Mfn spare = w.builder(w.granter).alloc();
  std::vector<xen::GnttabTransfer> ops{{w.gframe.value(), kMapper.value(), 20, 0x5555},
                                       {spare.value(), kMapper.value(), 20, 0x5555}};
  ASSERT_TRUE(w.mem.copy_to_guest(kOps, ops.data(), ops.size() * sizeof(ops[0])));
  Ctx ctx{w, kGranter};
  HypercallArgs args{};
  args.a = {xen::kGnttabOpTransfer, kOps.value(), 2, 0, 0};
  ASSERT_EQ(host::invoke<GrantTableOp>(ctx, args), 0);
  ASSERT_TRUE(w.mem.copy_from_guest(ops.data(), kOps, ops.size() * sizeof(ops[0])));
  EXPECT_EQ(ops[0].status, -1);  // still mapped by the granter itself: in use
  EXPECT_EQ(ops[1].status, 0);
  EXPECT_EQ(w.info(w.gframe).owner, &w.granter);
  EXPECT_EQ(w.info(spare).owner, &w.mapper);
  EXPECT_EQ(w.info(spare).type, PageType::None);
  EXPECT_EQ(acc->frame, spare.value());
  EXPECT_EQ(acc->flags, xen::kGtfAcceptTransfer | xen::kGtfTransferCommitted | xen::kGtfTransferCompleted);
}

TEST(MmGrantPolicy, TeardownRemovesGrantPtesAndReferences) {
  World w;
  w.grant_v1(13, kMapper, w.gframe);
  const std::uint32_t refs = w.info(w.gframe).refcount;
  ASSERT_EQ(map(w, 13, xen::kGntmapHostMap, kSlot.value()).status, 0);
  EXPECT_EQ(w.info(w.gframe).refcount, refs + 1);
  ASSERT_TRUE(w.gt.release_domain(kMapper));
  EXPECT_EQ(w.slot_value(), 0u);
  EXPECT_FALSE(is_grant_pte(w.mm, w.slot()));
  EXPECT_EQ(w.info(w.gframe).refcount, refs);
  EXPECT_EQ(w.gt.pin_raw(kGranter, GrantRef{13}), 0u);
}

}  // namespace
}  // namespace pvkit
