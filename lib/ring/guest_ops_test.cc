// End to end on the host: a frontend and a backend guest run FrontendChannel / BackendChannel
// over GuestSplitDriverOps, whose hypercalls go into pvkit's real grant_table_op handler
// (lib/grant's GrantTables) and event_channel_op handler (lib/event's EventChannels). The
// machine's frames are one memfd; a grant host mapping really maps the granted frame into the
// backend's address window (mmap MAP_FIXED), so the backend's ring is the frontend's page.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "pvkit/event/event_testutil.h"
#include "pvkit/event/evtchn_op.h"
#include "pvkit/grant/grant_table_op.h"
#include "pvkit/grant/grant_tables.h"
#include "pvkit/hypercall/args.h"
#include "pvkit/platforms/host/heap_page_allocator.h"
#include "pvkit/ring/backend_channel.h"
#include "pvkit/ring/frontend_channel.h"
#include "pvkit/ring/guest_split_driver_ops.h"

namespace pvkit::ring {
namespace {

// ---------------------------------------------------------------- the simulated machine

// Frames in one memfd (so they can be mapped twice), and the grant platform over them.
class MemfdMachine {
 public:
  static constexpr std::uint64_t kFirstMfn = 0x100;
  static constexpr std::uint32_t kFrames = 32;
  static constexpr std::uint64_t kTableMfnBase = 0x100000;  // hypervisor grant-table pages

  MemfdMachine() {
    fd_ = memfd_create("pvkit-ring-frames", 0);
    EXPECT_GE(fd_, 0);
    EXPECT_EQ(ftruncate(fd_, kFrames * 4096), 0);
    base_ = static_cast<std::uint8_t*>(
        mmap(nullptr, kFrames * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0));
    EXPECT_NE(base_, MAP_FAILED);
  }
  ~MemfdMachine() {
    for (auto& [va, w] : windows_) munmap(reinterpret_cast<void*>(va), w);
    munmap(base_, kFrames * 4096);
    close(fd_);
  }

  Mfn alloc_frame(DomId owner) {
    owners_.push_back(owner);
    refs_.push_back(0);
    return Mfn{kFirstMfn + owners_.size() - 1};
  }
  void* frame_ptr(Mfn m) { return base_ + (m.value() - kFirstMfn) * 4096; }
  /// Reserves `pages` inaccessible pages: a guest's window for grant mappings.
  std::uint64_t reserve_window(std::size_t pages) {
    void* p = mmap(nullptr, pages * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    EXPECT_NE(p, MAP_FAILED);
    windows_[reinterpret_cast<std::uint64_t>(p)] = pages * 4096;
    return reinterpret_cast<std::uint64_t>(p);
  }
  std::size_t mappings() const { return mappings_.size(); }
  std::uint32_t refs(Mfn m) const { return refs_[m.value() - kFirstMfn]; }

  // PageAllocator.
  void* alloc_page() { return heap_.alloc_page(); }
  void free_page(void* p) { heap_.free_page(p); }
  std::int64_t live_pages() const { return heap_.live_pages(); }

  // GrantFramePolicy.
  GrantStatus get_frame(Mfn m, DomId owner, bool) {
    if (!known(m) || owners_[m.value() - kFirstMfn] != owner) return GrantStatus::BadPage;
    ++refs_[m.value() - kFirstMfn];
    return GrantStatus::Okay;
  }
  void put_frame(Mfn m, bool) {
    if (known(m)) --refs_[m.value() - kFirstMfn];
  }
  std::uint8_t* frame_bytes(Mfn m) { return known(m) ? static_cast<std::uint8_t*>(frame_ptr(m)) : nullptr; }
  GrantStatus steal_frame(DomId, Mfn) { return GrantStatus::GeneralError; }
  GrantStatus assign_frame(DomId, Mfn) { return GrantStatus::GeneralError; }
  Result<Mfn> share_table_page(DomId, void* page, bool) {
    auto it = table_pages_.find(page);
    if (it != table_pages_.end()) return it->second;
    const Mfn m{kTableMfnBase + table_pages_.size()};
    table_pages_[page] = m;
    return m;
  }
  Status unshare_table_page(DomId, void*) { return Status::ok(); }
  bool controls(DomId, DomId) { return false; }

  // GrantMappingPolicy: a host mapping is a real mapping of the frame at m.addr.
  GrantStatus install_host_mapping(DomId mapper, const GrantHostMapping& m, Mfn f) {
    if (m.contains_pte || !known(f)) return GrantStatus::GeneralError;
    if (m.addr % 4096 != 0 || !in_window(m.addr) || mappings_.count(m.addr))
      return GrantStatus::BadVirtAddr;
    const int prot = PROT_READ | (m.readonly ? 0 : PROT_WRITE);
    void* p = mmap(reinterpret_cast<void*>(m.addr), 4096, prot, MAP_SHARED | MAP_FIXED, fd_,
                   static_cast<off_t>((f.value() - kFirstMfn) * 4096));
    if (p == MAP_FAILED) return GrantStatus::GeneralError;
    mappings_[m.addr] = Mapping{mapper, f, m.readonly};
    return GrantStatus::Okay;
  }
  GrantStatus remove_host_mapping(DomId mapper, const GrantHostMapping& m, Mfn f) {
    auto it = mappings_.find(m.addr);
    if (it == mappings_.end() || it->second.mapper != mapper || it->second.frame != f ||
        it->second.readonly != m.readonly) {
      return GrantStatus::GeneralError;
    }
    drop(it);
    return GrantStatus::Okay;
  }
  void release_host_mapping(DomId, const GrantHostMapping& m, Mfn) {
    auto it = mappings_.find(m.addr);
    if (it != mappings_.end()) drop(it);
  }
  GrantStatus install_device_mapping(DomId, Mfn, bool) { return GrantStatus::Okay; }
  void remove_device_mapping(DomId, Mfn) {}
  void flush_tlb(DomId) {}

 private:
  struct Mapping {
    DomId mapper;
    Mfn frame;
    bool readonly;
  };
  bool known(Mfn m) const { return m.value() >= kFirstMfn && m.value() - kFirstMfn < owners_.size(); }
  bool in_window(std::uint64_t va) const {
    for (auto& [base, len] : windows_)
      if (va >= base && va - base < len) return true;
    return false;
  }
  void drop(std::map<std::uint64_t, Mapping>::iterator it) {
    mmap(reinterpret_cast<void*>(it->first), 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    mappings_.erase(it);
  }

  int fd_ = -1;
  std::uint8_t* base_ = nullptr;
  std::vector<DomId> owners_;
  std::vector<std::uint32_t> refs_;
  std::map<void*, Mfn> table_pages_;
  std::map<std::uint64_t, Mapping> mappings_;
  std::map<std::uint64_t, std::size_t> windows_;
  host::HeapPageAllocator heap_;
};
static_assert(GrantPlatform<MemfdMachine>);

using Grants = GrantTables<MemfdMachine, 8>;
using event::testing::EventWorld;

// Guest virtual addresses are host addresses: each "guest" lives in this process.
struct IdentityGuestMemory {
  Status copy_from_guest(void* dst, VirtAddr va, std::size_t n) {
    if (va.value() == 0) return Errno::Fault;
    std::memcpy(dst, reinterpret_cast<const void*>(va.value()), n);
    return Status::ok();
  }
  Status copy_to_guest(VirtAddr va, const void* src, std::size_t n) {
    if (va.value() == 0) return Errno::Fault;
    std::memcpy(reinterpret_cast<void*>(va.value()), src, n);
    return Status::ok();
  }
};

// One domain's vCPU as the hypervisor sees it during a hypercall, and the hypercall entry
// the guest uses: dispatch by number, re-execute continuations (as the dispatcher does).
class Vcpu {
 public:
  Vcpu(Grants& gt, EventWorld& ev, DomId d) : gt_(gt), ev_(ev), d_(d) {}
  IdentityGuestMemory& guest_memory() { return mem_; }
  DomId current_domain() { return d_; }
  VcpuId current_vcpu() { return VcpuId{0}; }
  auto& evtchn() { return *ev_.ev; }
  Grants& grant_tables() { return gt_; }

  std::int64_t hypercall(HypercallArgs& args) {
    for (int i = 0; i < 1000; ++i) {
      std::int64_t rc;
      if (args.nr == GrantTableOp::kNumber) {
        rc = GrantTableOp::call(*this, args);
      } else if (args.nr == event::EventChannelOp::kNumber) {
        rc = event::EventChannelOp::call(*this, args);
      } else {
        rc = Status{Errno::NoSys}.guest_value();
      }
      if (rc != Status{Errno::Restart}.guest_value()) return rc;
    }
    return Status{Errno::Io}.guest_value();
  }

 private:
  Grants& gt_;
  EventWorld& ev_;
  DomId d_;
  IdentityGuestMemory mem_;
};
static_assert(HypercallInvoker<Vcpu>);

using Ops = GuestSplitDriverOps<Vcpu, 4>;
static_assert(FrontendOps<Ops> && BackendOps<Ops>);

struct Req {
  std::uint64_t id;
  std::uint32_t sector;
  std::uint32_t len;
};
struct Rsp {
  std::uint64_t id;
  std::int32_t status;
  std::uint32_t checksum;
};

constexpr DomId kFront{1};
constexpr DomId kBack{2};
constexpr DomId kOther{3};

bool has_port(const std::vector<std::uint32_t>& v, EvtchnPort p) {
  return std::find(v.begin(), v.end(), p.value()) != v.end();
}

class GuestOpsEndToEnd : public ::testing::Test {
 protected:
  GuestOpsEndToEnd() : gt(std::make_unique<Grants>(machine)) {
    for (DomId d : {kFront, kBack, kOther}) {
      EXPECT_TRUE(gt->create_domain(d));
      ev.create_ok(d);
      vcpus.push_back(std::make_unique<Vcpu>(*gt, ev, d));
      ops.push_back(std::make_unique<Ops>(
          *vcpus.back(), reinterpret_cast<xen::GrantEntryV1*>(gt->shared_frame(d, 0)),
          4096 / sizeof(xen::GrantEntryV1), machine.reserve_window(4)));
    }
    ring_frame = machine.alloc_frame(kFront);
  }
  ~GuestOpsEndToEnd() override {
    for (DomId d : {kFront, kBack, kOther}) {
      Status s = Errno::Restart;
      for (int i = 0; i < 100 && s.is_restart(); ++i) s = gt->release_domain(d);
      EXPECT_TRUE(s);
    }
    for (DomId d : {kFront, kBack, kOther}) EXPECT_TRUE(gt->destroy_domain(d));
    EXPECT_EQ(machine.mappings(), 0u);
    EXPECT_EQ(machine.refs(ring_frame), 0u);
  }
  Ops& fops() { return *ops[0]; }
  Ops& bops() { return *ops[1]; }
  Ops& oops() { return *ops[2]; }
  void* page() { return machine.frame_ptr(ring_frame); }

  MemfdMachine machine;
  std::unique_ptr<Grants> gt;
  EventWorld ev;
  std::vector<std::unique_ptr<Vcpu>> vcpus;
  std::vector<std::unique_ptr<Ops>> ops;
  Mfn ring_frame{};
  FrontendChannel<Ops, Req, Rsp> front;
  BackendChannel<Ops, Req, Rsp> back;
};

TEST_F(GuestOpsEndToEnd, HandshakePingPongAndTeardownThroughRealHypercalls) {
  ASSERT_TRUE(front.connect(fops(), kBack, page(), ring_frame));
  const RingAdvertisement ad = front.advertisement();
  ASSERT_TRUE(back.connect(bops(), kFront, ad));
  // The backend's ring is a second mapping of the frontend's frame, not a copy.
  EXPECT_EQ(machine.mappings(), 1u);
  EXPECT_GT(machine.refs(ring_frame), 0u);
  EXPECT_TRUE(has_port(ev.upcall_2l(kBack), back.local_port()));

  std::uint64_t next = 0, answered = 0;
  for (int round = 0; round < 40; ++round) {
    for (int i = 0; i <= round % 5; ++i) {
      ASSERT_TRUE(front.ring().put_request(Req{next, static_cast<std::uint32_t>(next * 8), 512}));
      ++next;
    }
    ASSERT_TRUE(front.push_requests_and_notify());
    ASSERT_TRUE(has_port(ev.upcall_2l(kBack), back.local_port())) << round;
    auto served = back.process_requests(
        [](const Req& r) { return Rsp{r.id, 0, r.sector ^ r.len}; }, 32);
    ASSERT_TRUE(served.ok());
    ASSERT_TRUE(has_port(ev.upcall_2l(kFront), ad.port)) << round;
    auto got = front.process_responses(
        [&](const Rsp& r) {
          EXPECT_EQ(r.id, answered);
          EXPECT_EQ(r.checksum, static_cast<std::uint32_t>(answered * 8) ^ 512u);
          ++answered;
        },
        32);
    ASSERT_TRUE(got.ok());
  }
  EXPECT_EQ(answered, next);

  // The real grant table keeps the page: the frontend's revoke sees GTF_reading|GTF_writing.
  EXPECT_EQ(front.disconnect().error(), Errno::Busy);
  ASSERT_TRUE(back.disconnect());
  EXPECT_EQ(machine.mappings(), 0u);
  EXPECT_EQ(machine.refs(ring_frame), 0u);
  ASSERT_TRUE(front.disconnect());
}

TEST_F(GuestOpsEndToEnd, HostileOrWrongAdvertisementsAreRefusedByTheRealHypervisor) {
  ASSERT_TRUE(front.connect(fops(), kBack, page(), ring_frame));
  const RingAdvertisement ad = front.advertisement();
  // A ref beyond the table, an unused entry, and an entry granted to somebody else.
  EXPECT_EQ(back.connect(bops(), kFront, RingAdvertisement{GrantRef{100000}, ad.port}).error(),
            errno_from_gntst(xen::GntStatus::BadGntref));
  EXPECT_FALSE(back.connect(bops(), kFront, RingAdvertisement{GrantRef{ad.ring_ref.value() + 1}, ad.port}).is_ok());
  BackendChannel<Ops, Req, Rsp> intruder;
  EXPECT_FALSE(intruder.connect(oops(), kFront, ad).is_ok());
  // The right ref but a port that is not unbound for us: the mapping is undone.
  EXPECT_EQ(back.connect(bops(), kFront, RingAdvertisement{ad.ring_ref, EvtchnPort{ad.port.value() + 7}})
                .error(),
            Errno::Inval);
  EXPECT_EQ(machine.mappings(), 0u);
  EXPECT_EQ(machine.refs(ring_frame), 0u);
  // A frontend naming an unknown domain in the grant tables.
  EXPECT_EQ(back.connect(bops(), DomId{6}, ad).error(), errno_from_gntst(xen::GntStatus::BadDomain));
  // Finally the honest connection works.
  ASSERT_TRUE(back.connect(bops(), kFront, ad));
  ASSERT_TRUE(back.disconnect());
  ASSERT_TRUE(front.disconnect());
}

TEST_F(GuestOpsEndToEnd, GuestGrantOpsRevokeAndWindowRules) {
  auto ref = fops().grant_access(kBack, ring_frame, /*readonly=*/true);
  ASSERT_TRUE(ref.ok());
  EXPECT_GE(ref->value(), xen::kGnttabNrReservedEntries);
  // A read-only grant cannot be mapped writable (real grant table: GNTST_general_error).
  EXPECT_EQ(bops().map_grant(kFront, *ref, false).status().error(),
            errno_from_gntst(xen::GntStatus::GeneralError));
  auto m = bops().map_grant(kFront, *ref, true);
  ASSERT_TRUE(m.ok());
  // The mapping is the frame itself: a later write by the granter shows through it.
  static_cast<unsigned char*>(page())[100] = 0xA5;
  EXPECT_EQ(static_cast<volatile unsigned char*>(m->addr)[100], 0xA5);
  EXPECT_NE(m->addr, page());
  EXPECT_EQ(fops().end_access(*ref).error(), Errno::Busy);
  // Only mappings this object made can be unmapped through it.
  EXPECT_EQ(bops().unmap_grant(MappedGrant{page(), m->handle}).error(), Errno::Inval);
  EXPECT_EQ(bops().unmap_grant(MappedGrant{m->addr, GrantHandle{m->handle.value() + 1}}).error(),
            Errno::Inval);
  ASSERT_TRUE(bops().unmap_grant(*m));
  EXPECT_EQ(bops().unmap_grant(*m).error(), Errno::Inval);  // already gone
  ASSERT_TRUE(fops().end_access(*ref));
  EXPECT_EQ(fops().end_access(*ref).error(), Errno::Inval);           // unused now
  EXPECT_EQ(fops().end_access(GrantRef{1}).error(), Errno::Inval);    // reserved
  EXPECT_EQ(fops().grant_access(kBack, Mfn{std::uint64_t{1} << 33}, false).status().error(),
            Errno::Inval);  // does not fit a v1 entry
  // The map window holds four mappings.
  auto r2 = fops().grant_access(kBack, ring_frame, true);
  ASSERT_TRUE(r2.ok());
  std::vector<MappedGrant> maps;
  for (int i = 0; i < 4; ++i) {
    auto mm = bops().map_grant(kFront, *r2, true);
    ASSERT_TRUE(mm.ok());
    maps.push_back(*mm);
  }
  EXPECT_EQ(bops().map_grant(kFront, *r2, true).status().error(), Errno::NoSpc);
  for (auto& mm : maps) ASSERT_TRUE(bops().unmap_grant(mm));
  ASSERT_TRUE(fops().end_access(*r2));
}

}  // namespace
}  // namespace pvkit::ring
