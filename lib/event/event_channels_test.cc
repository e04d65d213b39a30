// EventChannels: every EVTCHNOP_* sub-op and its error paths, 2-level ABI (64- and 32-bit).
#include <cstdint>

#include <gtest/gtest.h>

#include "pvkit/event/event_channels.h"
#include "pvkit/event/event_testutil.h"

namespace pvkit::event {
namespace {

using testing::EventWorld;

constexpr DomId kD0{0}, kD1{1}, kD2{2}, kD3{3};

bool pending(xen::SharedInfo* s, std::uint32_t port) { return two_level_is_pending(s, port); }

TEST(EventDomain, CreateValidatesAndRefusesDuplicates) {
  EventWorld w;
  EXPECT_EQ(w.create(DomId{8}).error(), Errno::Inval);  // beyond kMaxDomains
  EXPECT_EQ(w.create(kD1, {.nr_vcpus = 0}).error(), Errno::Inval);
  EXPECT_EQ(w.create(kD1, {.nr_vcpus = testing::kVcpus + 1}).error(), Errno::Inval);
  EXPECT_EQ(w.ev->domain_create(kD1, {.nr_vcpus = 1, .shared_info = nullptr}).error(), Errno::Inval);
  ASSERT_TRUE(w.create(kD1));
  EXPECT_EQ(w.create(kD1).error(), Errno::Exist);
  EXPECT_EQ(w.ev->domain_destroy(kD2).error(), Errno::Srch);
  EXPECT_EQ(w.ev->domain_destroy(DomId{999}).error(), Errno::Inval);
}

TEST(EventDomain, OperationsOfAnUnknownCallerAnswerEsrch) {
  EventWorld w;
  EXPECT_EQ(w.ev->alloc_unbound(kD3, kDomidSelf, kD0).status().error(), Errno::Srch);
  EXPECT_EQ(w.ev->send(kD3, EvtchnPort{1}).error(), Errno::Srch);
  EXPECT_EQ(w.ev->close(DomId{500}, EvtchnPort{1}).error(), Errno::Srch);
}

TEST(AllocUnbound, AllocatesLowestFreePortNamingTheRemote) {
  EventWorld w;
  w.create_ok(kD1);
  auto p = w.ev->alloc_unbound(kD1, kDomidSelf, kD2);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->value(), 1u);  // port 0 is reserved
  auto st = w.ev->status(kD1, kDomidSelf, *p);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->status, xen::kEvtchnStatUnbound);
  EXPECT_EQ(st->u.unbound.dom, 2u);
  EXPECT_EQ(st->vcpu, 0u);
  // remote DOMID_SELF names the caller (loopback).
  auto q = w.ev->alloc_unbound(kD1, kDomidSelf, kDomidSelf);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->value(), 2u);
  EXPECT_EQ(w.ev->status(kD1, kDomidSelf, *q)->u.unbound.dom, 1u);
}

TEST(AllocUnbound, OnlyPrivilegedMayAllocateForAnotherDomain) {
  EventWorld w;
  w.create_ok(kD0, {.privileged = true});
  w.create_ok(kD1);
  w.create_ok(kD2);
  EXPECT_EQ(w.ev->alloc_unbound(kD1, kD2, kD1).status().error(), Errno::Perm);
  EXPECT_EQ(w.ev->valid_ports(kD2), 0u) << "no side effect";
  auto p = w.ev->alloc_unbound(kD0, kD2, kD1);
  ASSERT_TRUE(p.ok());
  auto st = w.ev->status(kD2, kDomidSelf, *p);
  EXPECT_EQ(st->status, xen::kEvtchnStatUnbound);
  EXPECT_EQ(st->u.unbound.dom, 1u);
  EXPECT_EQ(w.ev->alloc_unbound(kD0, kD3, kD1).status().error(), Errno::Srch);
  // The caller naming itself explicitly is fine without privilege.
  EXPECT_TRUE(w.ev->alloc_unbound(kD1, kD1, kD2).ok());
}

TEST(AllocUnbound, OutOfHypervisorMemoryAnswersEnomem) {
  EventWorld w;
  w.create_ok(kD1);
  w.plat.allocator().set_limit(0);
  EXPECT_EQ(w.ev->alloc_unbound(kD1, kDomidSelf, kD2).status().error(), Errno::NoMem);
  w.plat.allocator().set_limit(INT64_MAX);
  EXPECT_TRUE(w.ev->alloc_unbound(kD1, kDomidSelf, kD2).ok());
}

TEST(BindInterdomain, ConnectsBothEndsAndSetsTheNewPortPending) {
  EventWorld w;
  w.create_ok(kD1);
  w.create_ok(kD2);
  auto pa = w.ev->alloc_unbound(kD1, kDomidSelf, kD2);
  ASSERT_TRUE(pa.ok());
  auto pb = w.ev->bind_interdomain(kD2, kD1, *pa);
  ASSERT_TRUE(pb.ok());
  auto sa = w.ev->status(kD1, kDomidSelf, *pa);
  EXPECT_EQ(sa->status, xen::kEvtchnStatInterdomain);
  EXPECT_EQ(sa->u.interdomain.dom, 2u);
  EXPECT_EQ(sa->u.interdomain.port, pb->value());
  auto sb = w.ev->status(kD2, kDomidSelf, *pb);
  EXPECT_EQ(sb->u.interdomain.dom, 1u);
  EXPECT_EQ(sb->u.interdomain.port, pa->value());
  // The binder's new port is pending at once, with selector and upcall.
  EXPECT_TRUE(pending(w.si(kD2), pb->value()));
  EXPECT_EQ(w.vi(kD2, 0)->evtchn_upcall_pending, 1);
  EXPECT_EQ(w.plat.kicks(kD2, VcpuId{0}), 1u);
  EXPECT_FALSE(pending(w.si(kD1), pa->value()));
}

TEST(BindInterdomain, RemotePortMustBeUnboundAndNameTheCaller) {
  EventWorld w;
  w.create_ok(kD1);
  w.create_ok(kD2);
  w.create_ok(kD3);
  auto for3 = w.ev->alloc_unbound(kD1, kDomidSelf, kD3);
  EXPECT_EQ(w.ev->bind_interdomain(kD2, kD1, *for3).status().error(), Errno::Inval);
  EXPECT_EQ(w.ev->bind_interdomain(kD2, kD1, EvtchnPort{0}).status().error(), Errno::Inval);
  EXPECT_EQ(w.ev->bind_interdomain(kD2, kD1, EvtchnPort{4000}).status().error(), Errno::Inval);
  EXPECT_EQ(w.ev->bind_interdomain(kD2, DomId{6}, EvtchnPort{1}).status().error(), Errno::Srch);
  EXPECT_EQ(w.ev->bind_interdomain(kD2, DomId{0x7FF4}, EvtchnPort{1}).status().error(), Errno::Srch);
  // Binding twice: the second finds the port interdomain.
  auto ok = w.ev->bind_interdomain(kD3, kD1, *for3);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(w.ev->bind_interdomain(kD3, kD1, *for3).status().error(), Errno::Inval);
  auto ipi = w.ev->bind_ipi(kD1, VcpuId{0});
  EXPECT_EQ(w.ev->bind_interdomain(kD2, kD1, *ipi).status().error(), Errno::Inval);
}

TEST(BindInterdomain, LoopbackThroughDomidSelf) {
  EventWorld w;
  w.create_ok(kD1);
  auto a = w.ev->alloc_unbound(kD1, kDomidSelf, kDomidSelf);
  auto b = w.ev->bind_interdomain(kD1, kDomidSelf, *a);
  ASSERT_TRUE(b.ok());
  w.upcall_2l(kD1);
  ASSERT_TRUE(w.ev->send(kD1, *a));
  EXPECT_TRUE(pending(w.si(kD1), b->value()));
  EXPECT_FALSE(pending(w.si(kD1), a->value()));
  ASSERT_TRUE(w.ev->close(kD1, *b));
  EXPECT_EQ(w.ev->status(kD1, kDomidSelf, *a)->status, xen::kEvtchnStatUnbound);
}

TEST(Send, InterdomainSetsPeerPendingSelectorUpcallAndKicksOnce) {
  EventWorld w;
  w.create_ok(kD1);
  w.create_ok(kD2);
  auto [a, b] = w.connect(kD1, kD2);
  w.upcall_2l(kD2);  // consume the bind-time event
  w.plat.reset_kicks();
  ASSERT_TRUE(w.ev->send(kD1, EvtchnPort{a}));
  EXPECT_TRUE(pending(w.si(kD2), b));
  EXPECT_EQ(w.vi(kD2, 0)->evtchn_pending_sel, std::uint64_t{1} << (b / 64));
  EXPECT_EQ(w.vi(kD2, 0)->evtchn_upcall_pending, 1);
  EXPECT_EQ(w.plat.kicks(kD2, VcpuId{0}), 1u);
  // Already pending: nothing more happens.
  ASSERT_TRUE(w.ev->send(kD1, EvtchnPort{a}));
  EXPECT_EQ(w.plat.kicks(kD2, VcpuId{0}), 1u);
  auto handled = w.upcall_2l(kD2);
  ASSERT_EQ(handled.size(), 1u);
  EXPECT_EQ(handled[0], b);
  // And the other direction.
  ASSERT_TRUE(w.ev->send(kD2, EvtchnPort{b}));
  EXPECT_TRUE(pending(w.si(kD1), a));
}

TEST(Send, MaskedPortGetsPendingButNoSelectorOrUpcall) {
  EventWorld w;
  w.create_ok(kD1);
  w.create_ok(kD2);
  auto [a, b] = w.connect(kD1, kD2);
  w.upcall_2l(kD2);
  w.plat.reset_kicks();
  host::guest_2l_set_mask(w.si(kD2), b, true);
  ASSERT_TRUE(w.ev->send(kD1, EvtchnPort{a}));
  EXPECT_TRUE(pending(w.si(kD2), b));
  EXPECT_EQ(w.vi(kD2, 0)->evtchn_pending_sel, 0u);
  EXPECT_EQ(w.vi(kD2, 0)->evtchn_upcall_pending, 0);
  EXPECT_EQ(w.plat.kicks(kD2, VcpuId{0}), 0u);
  EXPECT_TRUE(two_level_is_masked(w.si(kD2), b)) << "the hypervisor never touches MASK";
}

TEST(Send, UnboundIsDroppedOtherStatesAreEinval) {
  EventWorld w;
  w.create_ok(kD1);
  auto u = w.ev->alloc_unbound(kD1, kDomidSelf, kD2);
  EXPECT_TRUE(w.ev->send(kD1, *u));
  EXPECT_FALSE(pending(w.si(kD1), u->value()));
  auto v = w.ev->bind_virq(kD1, xen::kVirqTimer, VcpuId{0});
  EXPECT_EQ(w.ev->send(kD1, *v).error(), Errno::Inval);
  EXPECT_EQ(w.ev->send(kD1, EvtchnPort{0}).error(), Errno::Inval);     // reserved
  EXPECT_EQ(w.ev->send(kD1, EvtchnPort{50}).error(), Errno::Inval);    // free
  EXPECT_EQ(w.ev->send(kD1, EvtchnPort{5000}).error(), Errno::Inval);  // invalid
  EXPECT_EQ(w.plat.total_kicks(), 0u);
}

TEST(Send, IpiNotifiesTheBoundVcpuOfTheOwnDomain) {
  EventWorld w;
  w.create_ok(kD1, {.nr_vcpus = 3});
  auto p = w.ev->bind_ipi(kD1, VcpuId{2});
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE(w.ev->send(kD1, *p));
  EXPECT_EQ(w.plat.kicks(kD1, VcpuId{2}), 1u);
  EXPECT_EQ(w.plat.kicks(kD1, VcpuId{0}), 0u);
  EXPECT_EQ(w.vi(kD1, 2)->evtchn_upcall_pending, 1);
  auto handled = w.upcall_2l(kD1, 2);
  ASSERT_EQ(handled.size(), 1u);
  EXPECT_EQ(handled[0], p->value());
  EXPECT_EQ(w.ev->status(kD1, kDomidSelf, *p)->status, xen::kEvtchnStatIpi);
  EXPECT_EQ(w.ev->status(kD1, kDomidSelf, *p)->vcpu, 2u);
}

TEST(Close, PeerRevertsToUnboundNamingUsAndPortIsReused) {
  EventWorld w;
  w.create_ok(kD1);
  w.create_ok(kD2);
  auto [a, b] = w.connect(kD1, kD2);
  ASSERT_TRUE(w.ev->close(kD2, EvtchnPort{b}));
  auto sa = w.ev->status(kD1, kDomidSelf, EvtchnPort{a});
  EXPECT_EQ(sa->status, xen::kEvtchnStatUnbound);
  EXPECT_EQ(sa->u.unbound.dom, 2u);
  EXPECT_EQ(w.ev->status(kD2, kDomidSelf, EvtchnPort{b})->status, xen::kEvtchnStatClosed);
  EXPECT_FALSE(pending(w.si(kD2), b)) << "close clears the pending bit";
  // The unbound end can be bound again by the same peer; the freed port is reused.
  auto again = w.ev->bind_interdomain(kD2, kD1, EvtchnPort{a});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->value(), b);
  // Sending on the now-unbound end after the peer closes again is silently dropped.
  ASSERT_TRUE(w.ev->close(kD2, *again));
  EXPECT_TRUE(w.ev->send(kD1, EvtchnPort{a}));
}

TEST(Close, FreeReservedAndInvalidPortsAnswerEinval) {
  EventWorld w;
  w.create_ok(kD1);
  EXPECT_EQ(w.ev->close(kD1, EvtchnPort{1}).error(), Errno::Inval);  // no bucket yet
  auto p = w.ev->bind_ipi(kD1, VcpuId{0});
  EXPECT_EQ(w.ev->close(kD1, EvtchnPort{0}).error(), Errno::Inval);
  EXPECT_EQ(w.ev->close(kD1, EvtchnPort{p->value() + 1}).error(), Errno::Inval);
  EXPECT_TRUE(w.ev->close(kD1, *p));
  EXPECT_EQ(w.ev->close(kD1, *p).error(), Errno::Inval);  // twice
  EXPECT_EQ(w.ev->close(kD1, EvtchnPort{0xFFFFFFFF}).error(), Errno::Inval);
}

TEST(BindVirq, PerVcpuAndGlobalRulesAndErrors) {
  EventWorld w;
  w.create_ok(kD1, {.nr_vcpus = 2});
  auto t1 = w.ev->bind_virq(kD1, xen::kVirqTimer, VcpuId{1});
  ASSERT_TRUE(t1.ok());
  EXPECT_EQ(w.ev->bind_virq(kD1, xen::kVirqTimer, VcpuId{1}).status().error(), Errno::Exist);
  EXPECT_TRUE(w.ev->bind_virq(kD1, xen::kVirqTimer, VcpuId{0}).ok());  // another vCPU
  EXPECT_EQ(w.ev->bind_virq(kD1, xen::kNrVirqs, VcpuId{0}).status().error(), Errno::Inval);
  EXPECT_EQ(w.ev->bind_virq(kD1, 0xFFFFFFFF, VcpuId{0}).status().error(), Errno::Inval);
  EXPECT_EQ(w.ev->bind_virq(kD1, xen::kVirqConsole, VcpuId{1}).status().error(), Errno::Inval);
  EXPECT_EQ(w.ev->bind_virq(kD1, xen::kVirqDebug, VcpuId{2}).status().error(), Errno::NoEnt);
  EXPECT_EQ(w.ev->bind_virq(kD1, xen::kVirqDebug, VcpuId{0xFFFFFFFF}).status().error(), Errno::NoEnt);
  auto st = w.ev->status(kD1, kDomidSelf, *t1);
  EXPECT_EQ(st->status, xen::kEvtchnStatVirq);
  EXPECT_EQ(st->u.virq, xen::kVirqTimer);
  EXPECT_EQ(st->vcpu, 1u);
  // After close the VIRQ can be bound again.
  ASSERT_TRUE(w.ev->close(kD1, *t1));
  EXPECT_TRUE(w.ev->bind_virq(kD1, xen::kVirqTimer, VcpuId{1}).ok());
}

TEST(RaiseVirq, PerVcpuVirqGoesToItsVcpuGlobalToItsBinding) {
  EventWorld w;
  w.create_ok(kD1, {.nr_vcpus = 2});
  auto t1 = w.ev->bind_virq(kD1, xen::kVirqTimer, VcpuId{1});
  auto con = w.ev->bind_virq(kD1, xen::kVirqConsole, VcpuId{0});
  w.ev->raise_virq(kD1, VcpuId{1}, xen::kVirqTimer);
  EXPECT_TRUE(pending(w.si(kD1), t1->value()));
  EXPECT_EQ(w.plat.kicks(kD1, VcpuId{1}), 1u);
  w.ev->raise_virq(kD1, VcpuId{0}, xen::kVirqTimer);  // not bound on vCPU 0: ignored
  EXPECT_EQ(w.plat.kicks(kD1, VcpuId{0}), 0u);
  ASSERT_TRUE(w.ev->bind_vcpu(kD1, *con, VcpuId{1}));  // global VIRQs may move
  w.upcall_2l(kD1, 1);
  w.ev->raise_virq(kD1, VcpuId{0}, xen::kVirqConsole);
  EXPECT_TRUE(pending(w.si(kD1), con->value()));
  EXPECT_EQ(w.plat.kicks(kD1, VcpuId{1}), 2u);
  // Out-of-range and unknown targets are ignored.
  w.ev->raise_virq(kD1, VcpuId{7}, xen::kVirqTimer);
  w.ev->raise_virq(kD1, VcpuId{0}, 99);
  w.ev->raise_virq(DomId{5}, VcpuId{0}, xen::kVirqTimer);
  w.ev->raise_virq(DomId{4000}, VcpuId{0}, xen::kVirqTimer);
}

TEST(BindIpi, UnknownVcpuIsEnoent) {
  EventWorld w;
  w.create_ok(kD1, {.nr_vcpus = 2});
  EXPECT_EQ(w.ev->bind_ipi(kD1, VcpuId{2}).status().error(), Errno::NoEnt);
  EXPECT_TRUE(w.ev->bind_ipi(kD1, VcpuId{1}).ok());
}

TEST(BindPirq, NeedsRangeAndPermissionOnePortPerPirq) {
  EventWorld w;
  w.create_ok(kD0, {.nr_pirqs = 16, .privileged = true});
  w.create_ok(kD1, {.nr_pirqs = 16});
  w.plat.permit_pirq(kD0, 5);
  EXPECT_EQ(w.ev->bind_pirq(kD1, 5, 0).status().error(), Errno::Perm);
  EXPECT_EQ(w.ev->bind_pirq(kD0, 16, 0).status().error(), Errno::Inval);
  EXPECT_EQ(w.ev->bind_pirq(kD0, 6, 0).status().error(), Errno::Perm);
  auto p = w.ev->bind_pirq(kD0, 5, xen::kBindPirqWillShare);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(w.ev->bind_pirq(kD0, 5, 0).status().error(), Errno::Exist);
  auto st = w.ev->status(kD0, kDomidSelf, *p);
  EXPECT_EQ(st->status, xen::kEvtchnStatPirq);
  EXPECT_EQ(st->u.pirq, 5u);
  w.ev->raise_pirq(kD0, 5);
  EXPECT_TRUE(pending(w.si(kD0), p->value()));
  EXPECT_EQ(w.ev->send(kD0, *p).error(), Errno::Inval);
  ASSERT_TRUE(w.ev->close(kD0, *p));
  EXPECT_TRUE(w.ev->bind_pirq(kD0, 5, 0).ok());
}

TEST(Status, PermissionsDomainAndPortValidation) {
  EventWorld w;
  w.create_ok(kD0, {.privileged = true});
  w.create_ok(kD1);
  w.create_ok(kD2);
  auto p = w.ev->bind_ipi(kD2, VcpuId{0});
  EXPECT_EQ(w.ev->status(kD1, kD2, *p).status().error(), Errno::Perm);
  EXPECT_EQ(w.ev->status(kD1, DomId{6}, *p).status().error(), Errno::Srch);
  auto st = w.ev->status(kD0, kD2, *p);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->status, xen::kEvtchnStatIpi);
  EXPECT_EQ(st->dom, 2u);
  EXPECT_EQ(w.ev->status(kD2, kDomidSelf, EvtchnPort{0})->status, xen::kEvtchnStatClosed);
  EXPECT_EQ(w.ev->status(kD2, kDomidSelf, EvtchnPort{3})->status, xen::kEvtchnStatClosed);
  EXPECT_EQ(w.ev->status(kD2, kDomidSelf, EvtchnPort{4096}).status().error(), Errno::Inval);
  EXPECT_EQ(w.ev->status(kD1, kDomidSelf, EvtchnPort{0}).status().error(), Errno::Inval)
      << "no bucket yet: port 0 is not even valid";
}

TEST(BindVcpu, RebindsOnlyTheAllowedStates) {
  EventWorld w;
  w.create_ok(kD1, {.nr_vcpus = 3});
  w.create_ok(kD2);
  auto [a, b] = w.connect(kD2, kD1);
  w.upcall_2l(kD1);
  ASSERT_TRUE(w.ev->bind_vcpu(kD1, EvtchnPort{b}, VcpuId{2}));
  w.plat.reset_kicks();
  ASSERT_TRUE(w.ev->send(kD2, EvtchnPort{a}));
  EXPECT_EQ(w.plat.kicks(kD1, VcpuId{2}), 1u);
  EXPECT_EQ(w.ev->status(kD1, kDomidSelf, EvtchnPort{b})->vcpu, 2u);
  auto u = w.ev->alloc_unbound(kD1, kDomidSelf, kD2);
  EXPECT_TRUE(w.ev->bind_vcpu(kD1, *u, VcpuId{1}));
  auto ipi = w.ev->bind_ipi(kD1, VcpuId{0});
  EXPECT_EQ(w.ev->bind_vcpu(kD1, *ipi, VcpuId{1}).error(), Errno::Inval);
  auto timer = w.ev->bind_virq(kD1, xen::kVirqTimer, VcpuId{0});
  EXPECT_EQ(w.ev->bind_vcpu(kD1, *timer, VcpuId{1}).error(), Errno::Inval);
  auto dbg = w.ev->bind_virq(kD1, xen::kVirqDomExc, VcpuId{0});
  EXPECT_TRUE(w.ev->bind_vcpu(kD1, *dbg, VcpuId{1}));
  EXPECT_EQ(w.ev->bind_vcpu(kD1, EvtchnPort{100}, VcpuId{1}).error(), Errno::Inval);   // free
  EXPECT_EQ(w.ev->bind_vcpu(kD1, EvtchnPort{0}, VcpuId{1}).error(), Errno::Inval);     // reserved
  EXPECT_EQ(w.ev->bind_vcpu(kD1, EvtchnPort{9999}, VcpuId{1}).error(), Errno::Inval);  // invalid
  EXPECT_EQ(w.ev->bind_vcpu(kD1, EvtchnPort{b}, VcpuId{3}).error(), Errno::NoEnt);
}

TEST(Unmask, RedoesTheSelectorAndUpcallForAPendingPort) {
  EventWorld w;
  w.create_ok(kD1);
  w.create_ok(kD2);
  auto [a, b] = w.connect(kD1, kD2);
  w.upcall_2l(kD2);
  host::guest_2l_set_mask(w.si(kD2), b, true);
  ASSERT_TRUE(w.ev->send(kD1, EvtchnPort{a}));
  w.plat.reset_kicks();
  EXPECT_EQ(w.vi(kD2, 0)->evtchn_upcall_pending, 0);
  ASSERT_TRUE(w.ev->unmask(kD2, EvtchnPort{b}));
  EXPECT_FALSE(two_level_is_masked(w.si(kD2), b));
  EXPECT_EQ(w.vi(kD2, 0)->evtchn_upcall_pending, 1);
  EXPECT_EQ(w.plat.kicks(kD2, VcpuId{0}), 1u);
  auto handled = w.upcall_2l(kD2);
  ASSERT_EQ(handled.size(), 1u);
  EXPECT_EQ(handled[0], b);
  // Unmasking an unmasked, non-pending port does nothing.
  ASSERT_TRUE(w.ev->unmask(kD2, EvtchnPort{b}));
  EXPECT_EQ(w.plat.kicks(kD2, VcpuId{0}), 1u);
  EXPECT_EQ(w.ev->unmask(kD2, EvtchnPort{5000}).error(), Errno::Inval);
}

TEST(Reset, ClosesEverythingAndPeersRevertToUnbound) {
  EventWorld w;
  w.create_ok(kD0, {.privileged = true});
  w.create_ok(kD1);
  w.create_ok(kD2);
  auto [a, b] = w.connect(kD1, kD2);
  auto ipi = w.ev->bind_ipi(kD1, VcpuId{0});
  EXPECT_EQ(w.ev->reset(kD2, kD1, false).error(), Errno::Perm);
  ASSERT_TRUE(w.ev->reset(kD1, kDomidSelf, false));
  EXPECT_EQ(w.ev->status(kD1, kDomidSelf, EvtchnPort{a})->status, xen::kEvtchnStatClosed);
  EXPECT_EQ(w.ev->status(kD1, kDomidSelf, *ipi)->status, xen::kEvtchnStatClosed);
  auto sb = w.ev->status(kD2, kDomidSelf, EvtchnPort{b});
  EXPECT_EQ(sb->status, xen::kEvtchnStatUnbound);
  EXPECT_EQ(sb->u.unbound.dom, 1u);
  // A privileged domain may reset another one.
  ASSERT_TRUE(w.ev->reset(kD0, kD2, false));
  EXPECT_EQ(w.ev->status(kD2, kDomidSelf, EvtchnPort{b})->status, xen::kEvtchnStatClosed);
  EXPECT_EQ(w.ev->reset(kD0, DomId{6}, false).error(), Errno::Srch);
  // Ports remain valid after a reset (invariant 15) and are reused.
  EXPECT_EQ(w.ev->bind_ipi(kD1, VcpuId{0})->value(), 1u);
}

TEST(SetPriority, IsNotAvailableUnderTwoLevel) {
  EventWorld w;
  w.create_ok(kD1);
  auto p = w.ev->bind_ipi(kD1, VcpuId{0});
  EXPECT_EQ(w.ev->set_priority(kD1, *p, 3).error(), Errno::NoSys);
  EXPECT_EQ(w.ev->set_priority(kD1, EvtchnPort{4000}, 3).error(), Errno::Inval);
  EXPECT_EQ(w.ev->expand_array(kD1, Gfn{testing::kArrayGfnBase}).error(), Errno::OpNotSupp);
}

TEST(PortLimit, ConfiguredMaxPortAnswersEnospc) {
  EventWorld w;
  w.create_ok(kD1, {.max_port = 5});
  for (std::uint32_t i = 1; i <= 5; ++i) EXPECT_EQ(w.ev->bind_ipi(kD1, VcpuId{0})->value(), i);
  EXPECT_EQ(w.ev->bind_ipi(kD1, VcpuId{0}).status().error(), Errno::NoSpc);
  EXPECT_EQ(w.ev->alloc_unbound(kD1, kDomidSelf, kD2).status().error(), Errno::NoSpc);
  ASSERT_TRUE(w.ev->close(kD1, EvtchnPort{3}));
  EXPECT_EQ(w.ev->bind_ipi(kD1, VcpuId{0})->value(), 3u);
}

TEST(Compat32, ThirtyTwoBitGuestUsesTheCompatLayout) {
  EventWorld w;
  w.create_ok(kD1, {.width = GuestWidth::Bits32});
  w.create_ok(kD2);
  auto a = w.ev->alloc_unbound(kD1, kDomidSelf, kD2);
  auto b = w.ev->bind_interdomain(kD2, kD1, *a);
  ASSERT_TRUE(b.ok());
  ASSERT_TRUE(w.ev->send(kD2, *b));
  xen::CompatSharedInfo* s = w.compat_si(kD1);
  EXPECT_EQ(s->evtchn_pending[a->value() / 32], 1u << (a->value() % 32));
  EXPECT_EQ(s->vcpu_info[0].evtchn_pending_sel, 1u);
  EXPECT_EQ(s->vcpu_info[0].evtchn_upcall_pending, 1);
  auto handled = host::guest_2l_upcall(s, &s->vcpu_info[0]);
  ASSERT_EQ(handled.size(), 1u);
  EXPECT_EQ(handled[0], a->value());
}

TEST(IsPending, FollowsTheAbiAndIsSafeOnAnyPort) {
  EventWorld w;
  w.create_ok(kD1);
  auto p = w.ev->bind_ipi(kD1, VcpuId{0});
  EXPECT_FALSE(w.ev->is_pending(kD1, *p));
  ASSERT_TRUE(w.ev->send(kD1, *p));
  EXPECT_TRUE(w.ev->is_pending(kD1, *p));
  EXPECT_FALSE(w.ev->is_pending(kD1, EvtchnPort{70000}));
  EXPECT_FALSE(w.ev->is_pending(DomId{7}, *p));
}

TEST(SetVcpuInfo, DeliveryFollowsTheRegisteredVcpuInfo) {
  EventWorld w;
  w.create_ok(kD1, {.nr_vcpus = 2});
  xen::VcpuInfo moved{};
  ASSERT_TRUE(w.ev->set_vcpu_info(kD1, VcpuId{1}, &moved));
  EXPECT_EQ(w.ev->set_vcpu_info(kD1, VcpuId{2}, &moved).error(), Errno::NoEnt);
  auto p = w.ev->bind_ipi(kD1, VcpuId{1});
  ASSERT_TRUE(w.ev->send(kD1, *p));
  EXPECT_EQ(moved.evtchn_upcall_pending, 1);
  EXPECT_EQ(w.vi(kD1, 1)->evtchn_upcall_pending, 0);
}

}  // namespace
}  // namespace pvkit::event
