// The guest runtime and the library's hypercall wrappers, run on the host against a fake
// hypercall page (fake_xen.S): the PV register ABI, the marshalling of every wrapper the
// library uses, console output, grant-table setup and mapping, callback registration, and the
// whole event upcall path — Xen's bounce frame, upcall.S, the dispatcher, and the return
// through HYPERVISOR_iret with every interrupted register intact.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fake_xen.h"
#include "pvkit/guest/console.h"
#include "pvkit/guest/event_channel.h"
#include "pvkit/guest/events.h"
#include "pvkit/guest/grant_ops.h"
#include "pvkit/guest/hypercall.h"
#include "pvkit/guest/memory.h"
#include "pvkit/guest/ring_wait.h"
#include "pvkit/guest/sched.h"
#include "pvkit/guest/split_ring.h"

namespace g = pvkit::guest;
namespace x = pvkit::guest::xen;
using fake_xen::Call;



namespace {

template <typename T>
T* arg_ptr(std::uint64_t a) {
  return reinterpret_cast<T*>(a);
}

class Runtime : public testing::Test {
 protected:
  void SetUp() override { xen_.reset(); }
  void TearDown() override { xen_.reset(); }
  fake_xen::FakeXen& xen_ = fake_xen::instance();
};

TEST_F(Runtime, HypercallUsesThePvRegisterAbiAndReturnsRax) {
  xen_.handlers[7] = [](const Call&) { return 42L; };
  EXPECT_EQ(g::hypercall<7>(1, 2, 3, 4, 5), 42);
  ASSERT_EQ(xen_.calls.size(), 1u);
  EXPECT_EQ(xen_.calls[0].nr, 7u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(xen_.calls[0].a[i], std::uint64_t(i + 1));
  xen_.handlers[127] = [](const Call&) { return -22L; };
  EXPECT_EQ(g::hypercall<127>(), -22);
  EXPECT_EQ(g::hypercall<60>(), -38);  // no handler: the fake answers ENOSYS
}

TEST_F(Runtime, PrintWritesThroughConsoleIoInChunks) {
  std::string out;
  xen_.handlers[x::hc::kConsoleIo] = [&](const Call& c) {
    EXPECT_EQ(c.a[0], x::kConsoleIoWrite);
    out.append(arg_ptr<const char>(c.a[2]), c.a[1]);
    return 0L;
  };
  g::print("port %u rc %d %s\n", 7u, -22, "done");
  EXPECT_EQ(out, "port 7 rc -22 done\n");
  EXPECT_EQ(xen_.calls.size(), 1u);
  out.clear();
  xen_.calls.clear();
  const std::string long_text(300, 'z');
  g::print("%s|", long_text.c_str());
  EXPECT_EQ(out, long_text + "|");
  EXPECT_EQ(xen_.calls.size(), 3u);  // 128 + 128 + 45 bytes
}

TEST_F(Runtime, ConsoleErrorsAreCounted) {
  xen_.handlers[x::hc::kConsoleIo] = [](const Call&) { return -14L; };
  const auto before = g::console_errors();
  g::print("lost\n");
  EXPECT_EQ(g::console_errors(), before + 1);
}

TEST_F(Runtime, EventChannelWrappersMarshalTheirStructs) {
  xen_.handlers[x::hc::kEventChannelOp] = [](const Call& c) -> long {
    switch (c.a[0]) {
      case x::kEvtchnOpAllocUnbound: {
        auto* op = arg_ptr<x::EvtchnAllocUnbound>(c.a[1]);
        EXPECT_EQ(op->dom, x::kDomIdSelf);
        if (op->remote_dom == 99) return -3;  // ESRCH
        op->port = 9;
        return 0;
      }
      case x::kEvtchnOpBindInterdomain: {
        auto* op = arg_ptr<x::EvtchnBindInterdomain>(c.a[1]);
        EXPECT_EQ(op->remote_dom, 2);
        EXPECT_EQ(op->remote_port, 17u);
        op->local_port = 4;
        return 0;
      }
      case x::kEvtchnOpSend:
        return arg_ptr<x::EvtchnSend>(c.a[1])->port == 4 ? 0 : -22;
      case x::kEvtchnOpUnmask:
        return arg_ptr<x::EvtchnUnmask>(c.a[1])->port == 4 ? 0 : -22;
      case x::kEvtchnOpClose:
        return arg_ptr<x::EvtchnClose>(c.a[1])->port == 4 ? 0 : -22;
      case x::kEvtchnOpStatus: {
        auto* op = arg_ptr<x::EvtchnStatus>(c.a[1]);
        EXPECT_EQ(op->dom, x::kDomIdSelf);
        op->status = x::kEvtchnStatUnbound;
        op->u.unbound.dom = 3;
        return 0;
      }
      default:
        return -38;
    }
  };
  auto p = g::evtchn_alloc_unbound(2);
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, 9u);
  EXPECT_EQ(g::evtchn_alloc_unbound(99).status().error(), pvkit::Errno::Srch);
  auto l = g::evtchn_bind_interdomain(2, 17);
  ASSERT_TRUE(l);
  EXPECT_EQ(*l, 4u);
  EXPECT_TRUE(g::evtchn_send(4));
  EXPECT_EQ(g::evtchn_send(5).error(), pvkit::Errno::Inval);
  EXPECT_TRUE(g::evtchn_unmask(4));
  EXPECT_TRUE(g::evtchn_close(4));
  auto st = g::evtchn_status(4);
  ASSERT_TRUE(st);
  EXPECT_EQ(st->u.unbound.dom, 3);
  for (const Call& c : xen_.calls) EXPECT_EQ(c.nr, x::hc::kEventChannelOp);
}

TEST_F(Runtime, SchedOpsPassTheirCommands) {
  xen_.handlers[x::hc::kSchedOp] = [](const Call&) { return 0L; };
  EXPECT_EQ(g::yield(), 0);
  EXPECT_EQ(g::block(), 0);
  ASSERT_EQ(xen_.calls.size(), 2u);
  EXPECT_EQ(xen_.calls[0].a[0], x::kSchedOpYield);
  EXPECT_EQ(xen_.calls[1].a[0], x::kSchedOpBlock);
}

constinit g::PageSlot g_frames[2]{};
constinit g::GrantTable<1024> g_table;
constinit g::PageSlot g_peer_slot{};

TEST_F(Runtime, SetupGrantTableMapsEachFrameAndAttaches) {
  std::vector<std::uint64_t> mapped_va, mapped_pte;
  xen_.handlers[x::hc::kGrantTableOp] = [](const Call& c) -> long {
    EXPECT_EQ(c.a[0], x::kGnttabOpSetupTable);
    EXPECT_EQ(c.a[2], 1u);
    auto* op = arg_ptr<x::GnttabSetupTable>(c.a[1]);
    EXPECT_EQ(op->dom, x::kDomIdSelf);
    auto* frames = arg_ptr<std::uint64_t>(op->frame_list);
    for (std::uint32_t i = 0; i < op->nr_frames; ++i) frames[i] = 0x1000 + i;
    op->status = 0;
    return 0;
  };
  xen_.handlers[x::hc::kUpdateVaMapping] = [&](const Call& c) {
    mapped_va.push_back(c.a[0]);
    mapped_pte.push_back(c.a[1]);
    EXPECT_EQ(c.a[2], x::kUvmfInvlpg);
    return 0L;
  };
  ASSERT_TRUE(g::setup_grant_table(g_table, g_frames, 2));
  ASSERT_EQ(mapped_va.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(mapped_va[i], g::va_of(&g_frames[i]));
    const x::Pte pte(mapped_pte[i]);
    EXPECT_TRUE(pte.present());
    EXPECT_TRUE(pte.writable());
    EXPECT_EQ(pte.mfn(), 0x1000u + i);
  }
  EXPECT_EQ(g_table.size(), 2 * x::kGrantEntriesPerFrameV1);
  auto ref = g_table.grant(3, 0x777, true);
  ASSERT_TRUE(ref);
  const auto* entries = reinterpret_cast<const x::GrantEntryV1*>(&g_frames[0]);
  EXPECT_EQ(entries[*ref].frame, 0x777u);
  EXPECT_EQ(entries[*ref].flags, x::kGtfPermitAccess | x::kGtfReadonly);
  ASSERT_TRUE(g_table.revoke(*ref));
}

TEST_F(Runtime, SetupGrantTableReportsFailures) {
  xen_.handlers[x::hc::kGrantTableOp] = [](const Call& c) {
    arg_ptr<x::GnttabSetupTable>(c.a[1])->status = -1;
    return 0L;
  };
  EXPECT_EQ(g::setup_grant_table(g_table, g_frames, 1).error(), pvkit::Errno::Inval);
  xen_.handlers[x::hc::kGrantTableOp] = [](const Call&) { return -14L; };
  EXPECT_EQ(g::setup_grant_table(g_table, g_frames, 1).error(), pvkit::Errno::Fault);
  EXPECT_EQ(g::setup_grant_table(g_table, g_frames, 0).error(), pvkit::Errno::Inval);
  EXPECT_EQ(g::setup_grant_table(g_table, g_frames, 5).error(), pvkit::Errno::Inval);
  EXPECT_EQ(xen_.calls.size(), 2u);  // the bad counts never reach the hypervisor
}

TEST_F(Runtime, GrantMapAndUnmapMarshalTheirStructs) {
  xen_.handlers[x::hc::kGrantTableOp] = [](const Call& c) -> long {
    EXPECT_EQ(c.a[2], 1u);
    if (c.a[0] == x::kGnttabOpMapGrantRef) {
      auto* op = arg_ptr<x::GnttabMapGrantRef>(c.a[1]);
      EXPECT_EQ(op->host_addr, g::va_of(&g_peer_slot));
      EXPECT_EQ(op->flags, x::kGntmapHostMap | x::kGntmapReadonly);
      EXPECT_EQ(op->dom, 1);
      op->status = op->ref == 8 ? 0 : -3;
      op->handle = 77;
      return 0;
    }
    auto* op = arg_ptr<x::GnttabUnmapGrantRef>(c.a[1]);
    EXPECT_EQ(op->host_addr, g::va_of(&g_peer_slot));
    EXPECT_EQ(op->dev_bus_addr, 0u);
    op->status = op->handle == 77 ? 0 : -4;
    return 0;
  };
  g::GrantMapping m = g::grant_map(1, 8, &g_peer_slot, true);
  EXPECT_TRUE(m.ok());
  EXPECT_EQ(m.handle, 77u);
  m = g::grant_map(1, 9, &g_peer_slot, true);
  EXPECT_FALSE(m.ok());
  EXPECT_EQ(m.status, -3);
  EXPECT_TRUE(g::grant_unmap(77, &g_peer_slot).ok());
  const g::GrantUnmapping bad = g::grant_unmap(78, &g_peer_slot);
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.rc, 0);
  EXPECT_EQ(bad.status, -4);
}

// Maps shared_info (once per process) and registers the callbacks.
void init_events_once(fake_xen::FakeXen& xen) {
  xen.handlers[x::hc::kUpdateVaMapping] = [](const Call&) { return 0L; };
  xen.handlers[x::hc::kCallbackOp] = [](const Call&) { return 0L; };
  x::StartInfo si{};
  si.shared_info = 0x5000;
  ASSERT_TRUE(g::init_events(si));
  ASSERT_NE(g::shared_info(), nullptr);
}

TEST_F(Runtime, InitEventsMapsSharedInfoAndRegistersBothCallbacks) {
  std::vector<x::CallbackRegister> regs;
  xen_.handlers[x::hc::kUpdateVaMapping] = [](const Call& c) {
    EXPECT_EQ(x::Pte(c.a[1]).mfn(), 5u);
    EXPECT_TRUE(x::Pte(c.a[1]).writable());
    return 0L;
  };
  xen_.handlers[x::hc::kCallbackOp] = [&](const Call& c) {
    EXPECT_EQ(c.a[0], x::kCallbackOpRegister);
    regs.push_back(*arg_ptr<const x::CallbackRegister>(c.a[1]));
    return 0L;
  };
  x::StartInfo si{};
  si.shared_info = 0x5000;
  ASSERT_TRUE(g::init_events(si));
  ASSERT_EQ(regs.size(), 2u);
  EXPECT_EQ(regs[0].type, x::kCallbackTypeEvent);
  EXPECT_EQ(regs[0].address, g::va_of(reinterpret_cast<const void*>(&pvkit_guest_hypervisor_callback)));
  EXPECT_EQ(regs[1].type, x::kCallbackTypeFailsafe);
  EXPECT_EQ(regs[1].address, g::va_of(reinterpret_cast<const void*>(&pvkit_guest_failsafe_callback)));
  EXPECT_EQ(g::vcpu0().evtchn_upcall_mask, 1) << "events stay masked";
}

TEST_F(Runtime, InitEventsFallsBackToSetCallbacks) {
  init_events_once(xen_);
  xen_.handlers[x::hc::kCallbackOp] = [](const Call&) { return -38L; };
  std::vector<Call> set;
  xen_.handlers[x::hc::kSetCallbacks] = [&](const Call& c) {
    set.push_back(c);
    return 0L;
  };
  x::StartInfo si{};
  ASSERT_TRUE(g::init_events(si));
  ASSERT_EQ(set.size(), 1u);
  EXPECT_EQ(set[0].a[0], g::va_of(reinterpret_cast<const void*>(&pvkit_guest_hypervisor_callback)));
  EXPECT_EQ(set[0].a[1], g::va_of(reinterpret_cast<const void*>(&pvkit_guest_failsafe_callback)));
  xen_.handlers[x::hc::kSetCallbacks] = [](const Call&) { return -1L; };
  EXPECT_EQ(g::init_events(si).error(), pvkit::Errno::Perm);
}

TEST_F(Runtime, EventsEnableForcesDeliveryOnlyWhenAnUpcallIsPending) {
  init_events_once(xen_);
  xen_.calls.clear();
  g::vcpu0().evtchn_upcall_pending = 0;
  g::events_enable();
  EXPECT_TRUE(xen_.calls.empty());
  EXPECT_EQ(g::vcpu0().evtchn_upcall_mask, 0);
  g::events_disable();
  EXPECT_EQ(g::vcpu0().evtchn_upcall_mask, 1);
  g::vcpu0().evtchn_upcall_pending = 1;
  g::events_enable();
  ASSERT_EQ(xen_.calls.size(), 1u);
  EXPECT_EQ(xen_.calls[0].nr, x::hc::kXenVersion);
  g::vcpu0().evtchn_upcall_pending = 0;
  g::events_disable();
}

struct UpcallLog {
  std::vector<std::uint32_t> ports;
};

void on_upcall_event(x::EvtchnPort port, void* arg) {
  static_cast<UpcallLog*>(arg)->ports.push_back(port);
  g::print("handler for port %u\n", port);  // a hypercall from inside the upcall
}

// Raises `port` as Xen's 2-level set_pending would, then delivers the upcall through
// pvkit_test_bounce with recognisable values in every register.
void deliver_and_check(std::uint32_t port, std::uint64_t misalign) {
  x::SharedInfo& s = *g::shared_info();
  s.evtchn_pending[port / 64] |= std::uint64_t{1} << (port % 64);
  s.vcpu_info[0].evtchn_pending_sel |= std::uint64_t{1} << (port / 64);
  s.vcpu_info[0].evtchn_upcall_pending = 1;
  s.vcpu_info[0].evtchn_upcall_mask = 1;  // Xen masks events when it bounces

  std::uint64_t in[17], out[17];
  for (int i = 0; i < 17; ++i) {
    in[i] = 0x1111'0000'0000'0000ull * (i + 1) + 0x100 + i;
    out[i] = 0;
  }
  const std::uint64_t irets = pvkit_test_iret_count;
  pvkit_test_iret_flags = 0xFFFF;
  pvkit_test_bounce(in, out, &pvkit_guest_hypervisor_callback, misalign);
  static const char* const kNames[15] = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8",
                                         "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
  for (int i = 0; i < 15; ++i) EXPECT_EQ(out[i], in[i]) << kNames[i] << " not preserved";
  EXPECT_EQ(out[16], pvkit_test_expected_rsp) << "rsp not restored";
  EXPECT_EQ(pvkit_test_iret_count, irets + 1) << "did not return through HYPERVISOR_iret";
  EXPECT_EQ(pvkit_test_iret_flags, 0u) << "iret flags must be 0 (not VGCF_in_syscall)";
  EXPECT_EQ(s.vcpu_info[0].evtchn_upcall_pending, 0);
  EXPECT_EQ(s.vcpu_info[0].evtchn_pending_sel, 0u);
  EXPECT_EQ(s.evtchn_pending[port / 64], 0u);
}

TEST_F(Runtime, UpcallDispatchesAndResumesWithEveryRegisterIntact) {
  init_events_once(xen_);
  std::string console;
  xen_.handlers[x::hc::kConsoleIo] = [&](const Call& c) {
    console.append(arg_ptr<const char>(c.a[2]), c.a[1]);
    return 0L;
  };
  UpcallLog log;
  ASSERT_TRUE(g::events().bind(70, &on_upcall_event, &log));
  const auto before = g::events().upcalls();
  deliver_and_check(70, 0);
  deliver_and_check(70, 1);  // interrupted RSP not 16-byte aligned
  EXPECT_EQ(log.ports, (std::vector<std::uint32_t>{70, 70}));
  EXPECT_EQ(g::events().upcalls(), before + 2);
  EXPECT_EQ(console, "handler for port 70\nhandler for port 70\n");
  g::events().unbind(70);
}

TEST_F(Runtime, UpcallForAnUnboundPortStillReturns) {
  init_events_once(xen_);
  const auto unhandled = g::events().unhandled();
  deliver_and_check(1000, 0);
  EXPECT_EQ(g::events().unhandled(), unhandled + 1);
}

struct Msg {
  std::uint64_t v;
};
constinit g::PageSlot g_ring_page{};

// The peer publishes its response only when the frontend blocks: next_response must re-arm,
// block with events masked, and pick the response up after the wake-up.
TEST_F(Runtime, NextResponseSleepsInSchedBlockUntilThePeerPublishes) {
  init_events_once(xen_);
  pvkit::ring::FrontRing<Msg, Msg> front;
  pvkit::ring::BackRing<Msg, Msg> back;
  ASSERT_TRUE(front.init(&g_ring_page, sizeof(g_ring_page)));
  ASSERT_TRUE(back.attach(&g_ring_page, sizeof(g_ring_page)));
  ASSERT_TRUE(front.put_request(Msg{41}));
  (void)front.push_requests_and_check_notify();
  int blocks = 0;
  xen_.handlers[x::hc::kSchedOp] = [&](const Call& c) {
    EXPECT_EQ(c.a[0], x::kSchedOpBlock);
    EXPECT_EQ(g::vcpu0().evtchn_upcall_mask, 1) << "must block with events masked";
    ++blocks;
    Msg req{};
    auto got = back.take_request(req);
    EXPECT_TRUE(got.ok() && *got);
    EXPECT_TRUE(back.put_response(Msg{req.v + 1}));
    EXPECT_TRUE(back.push_responses_and_check_notify()) << "the frontend re-armed rsp_event";
    return 0L;
  };
  Msg rsp{};
  ASSERT_TRUE(g::next_response(front, rsp));
  EXPECT_EQ(rsp.v, 42u);
  EXPECT_EQ(blocks, 1);
  EXPECT_EQ(g::vcpu0().evtchn_upcall_mask, 0) << "events enabled again";
  g::events_disable();
}

TEST_F(Runtime, NextRequestGivesUpOnAHostileIndexOrAfterIdleWakeups) {
  init_events_once(xen_);
  pvkit::ring::FrontRing<Msg, Msg> front;
  pvkit::ring::BackRing<Msg, Msg> back;
  ASSERT_TRUE(front.init(&g_ring_page, sizeof(g_ring_page)));
  ASSERT_TRUE(back.attach(&g_ring_page, sizeof(g_ring_page)));
  int blocks = 0;
  xen_.handlers[x::hc::kSchedOp] = [&](const Call&) {
    ++blocks;
    return 0L;
  };
  Msg req{};
  EXPECT_EQ(g::next_request(back, req, 3).error(), pvkit::Errno::TimedOut);
  EXPECT_EQ(blocks, 3);
  // A frontend claiming far more requests than the ring holds (XSA-155): refused, no block.
  auto* hdr = reinterpret_cast<pvkit::xen::SharedRingHeader*>(&g_ring_page);
  hdr->req_prod = 100000;
  blocks = 0;
  EXPECT_EQ(g::next_request(back, req).error(), pvkit::ring::kRingProtocolError);
  EXPECT_EQ(blocks, 0);
  g::events_disable();
}

constinit g::PageSlot g_split_frames[1]{};
constinit g::GrantTable<512> g_split_table;
constinit g::PageSlot g_split_ring{};

TEST_F(Runtime, RingFrontendConnectUndoesTheGrantWhenThePortCannotBeAllocated) {
  init_events_once(xen_);
  fake_xen::ProcessPhysMap pm;
  xen_.handlers[x::hc::kGrantTableOp] = [](const Call& c) {
    auto* op = arg_ptr<x::GnttabSetupTable>(c.a[1]);
    *arg_ptr<std::uint64_t>(op->frame_list) = 0x4242;
    op->status = 0;
    return 0L;
  };
  xen_.handlers[x::hc::kEventChannelOp] = [](const Call&) { return -28L; };  // ENOSPC
  ASSERT_TRUE(g::setup_grant_table(g_split_table, g_split_frames, 1));
  const g::PhysMap p2m(pm.p2m.data(), pm.p2m.size(), pm.base);
  g::RingFrontend<Msg, Msg> fe;
  EXPECT_EQ(fe.connect(g_split_table, p2m, &g_split_ring, 2, 8).error(), pvkit::Errno::NoSpc);
  EXPECT_EQ(g_split_table.flags(8), 0) << "the ring grant must not outlive a failed connect";
  EXPECT_EQ(fe.disconnect(g_split_table).error(), pvkit::Errno::NotConn);

  xen_.handlers[x::hc::kEventChannelOp] = [](const Call& c) {
    // Only alloc_unbound has a port to return; other sub-ops' structs are smaller.
    if (c.a[0] == x::kEvtchnOpAllocUnbound) arg_ptr<x::EvtchnAllocUnbound>(c.a[1])->port = 12;
    return 0L;
  };
  ASSERT_TRUE(fe.connect(g_split_table, p2m, &g_split_ring, 2, 8));
  const auto* e = reinterpret_cast<const x::GrantEntryV1*>(&g_split_frames[0]) + 8;
  EXPECT_EQ(e->frame, pm.mfn_of(&g_split_ring));
  EXPECT_EQ(e->domid, 2);
  EXPECT_TRUE(g::events().bound(12));
  // Still mapped by the backend: disconnect keeps trying, then reports Busy.
  const_cast<x::GrantEntryV1*>(e)->flags |= x::kGtfReading;
  xen_.handlers[x::hc::kSchedOp] = [](const Call&) { return 0L; };
  EXPECT_EQ(fe.disconnect(g_split_table, 3).error(), pvkit::Errno::Busy);
  const_cast<x::GrantEntryV1*>(e)->flags &= ~x::kGtfReading;
  EXPECT_TRUE(fe.disconnect(g_split_table));
  EXPECT_FALSE(g::events().bound(12));
  EXPECT_EQ(g_split_table.flags(8), 0);
}

TEST_F(Runtime, RingBackendMapRetriesOnlyWhileTheGrantIsNotThereYet) {
  init_events_once(xen_);
  int maps = 0;
  xen_.handlers[x::hc::kSchedOp] = [](const Call&) { return 0L; };
  xen_.handlers[x::hc::kGrantTableOp] = [&](const Call& c) {
    auto* op = arg_ptr<x::GnttabMapGrantRef>(c.a[1]);
    op->status = ++maps < 3 ? -8 : 0;  // permission_denied until the frontend grants
    op->handle = 5;
    return 0L;
  };
  g::RingBackend<Msg, Msg> be;
  g::GrantMapping m = be.map(1, 8, &g_split_ring);
  EXPECT_TRUE(m.ok());
  EXPECT_EQ(maps, 3);
  EXPECT_EQ(be.handle(), 5u);

  g::RingBackend<Msg, Msg> be2;
  maps = 0;
  xen_.handlers[x::hc::kGrantTableOp] = [&](const Call&) {
    ++maps;
    return -38L;  // no grant_table_op at all: no point retrying
  };
  m = be2.map(1, 8, &g_split_ring);
  EXPECT_FALSE(m.ok());
  EXPECT_EQ(maps, 1);
  maps = 0;
  xen_.handlers[x::hc::kGrantTableOp] = [&](const Call& c) {
    ++maps;
    arg_ptr<x::GnttabMapGrantRef>(c.a[1])->status = -3;
    return 0L;
  };
  m = be2.map(1, 8, &g_split_ring, 4);
  EXPECT_EQ(m.status, -3);
  EXPECT_EQ(maps, 4);
}

}  // namespace
