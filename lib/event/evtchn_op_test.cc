// The HYPERVISOR_event_channel_op handler: decoding, guest copies in and out, exact error
// codes, invariant 5 (fully initialised outputs) and the reset continuation.
#include <cstdint>
#include <cstring>
#include <map>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "pvkit/event/event_testutil.h"
#include "pvkit/event/evtchn_op.h"
#include "pvkit/hypercall/handler.h"
#include "pvkit/platforms/host/flat_guest_memory.h"

namespace pvkit::event {
namespace {

using testing::EventWorld;
using testing::Events;

constexpr DomId kD0{0}, kD1{1}, kD2{2};
constexpr VirtAddr kArg{0x10000};
constexpr VirtAddr kReadOnlyArg{0x20000};

struct TestCtx {
  host::FlatGuestMemory* mem;
  Events* ev;
  DomId dom;
  host::FlatGuestMemory& guest_memory() { return *mem; }
  DomId current_domain() { return dom; }
  VcpuId current_vcpu() { return VcpuId{0}; }
  Events& evtchn() { return *ev; }
};
static_assert(EvtchnHypercallContext<TestCtx>);
static_assert(HypercallHandlerFor<EventChannelOp, TestCtx>, "fits the dispatcher's handler shape");

class EvtchnOpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    w.create_ok(kD0, {.privileged = true});
    w.create_ok(kD1);
    w.create_ok(kD2);
    mem.map(kArg, 4096);
    mem.map(kReadOnlyArg, 4096, /*writable=*/false);
  }
  std::int64_t call(DomId dom, std::uint64_t cmd, VirtAddr arg = kArg) {
    TestCtx ctx{&mem, w.ev.get(), dom};
    args.nr = EventChannelOp::kNumber;
    args.a = {cmd, arg.value(), 0, 0, 0};
    return EventChannelOp::call(ctx, args);
  }
  template <typename T>
  T& op() {
    return *mem.host_obj<T>(kArg);
  }

  EventWorld w;
  host::FlatGuestMemory mem;
  HypercallArgs args;
};

TEST_F(EvtchnOpTest, HandlerShape) {
  EXPECT_EQ(EventChannelOp::kNumber, 32u);
  EXPECT_STREQ(EventChannelOp::kName, "event_channel_op");
}

TEST_F(EvtchnOpTest, Inv01_UnknownSubOpIsEnosysWithoutSideEffect) {
  for (std::uint64_t cmd : {15ull, 16ull, 255ull, 0x7FFFFFFFull, 0xFFFFFFFFull}) {
    const auto reads = mem.reads();
    EXPECT_EQ(call(kD1, cmd), -38) << cmd;
    EXPECT_EQ(mem.reads(), reads) << "nothing read for an unknown sub-op";
  }
  EXPECT_EQ(w.ev->valid_ports(kD1), 0u);
}

TEST_F(EvtchnOpTest, CmdIsTheLow32BitsAsInXen) {
  op<xen::EvtchnBindIpi>() = {.vcpu = 0, .port = 0};
  EXPECT_EQ(call(kD1, (0xABCDull << 32) | xen::kEvtchnOpBindIpi), 0);
  EXPECT_EQ(op<xen::EvtchnBindIpi>().port, 1u);
}

TEST_F(EvtchnOpTest, UnreadableArgumentIsEfaultForEverySubOp) {
  for (std::uint32_t cmd = 0; cmd <= xen::kEvtchnOpSetPriority; ++cmd) {
    EXPECT_EQ(call(kD1, cmd, VirtAddr{0xdead0000}), -14) << cmd;
    EXPECT_EQ(call(kD1, cmd, VirtAddr{0x10000 + 4096 - 1}), -14) << cmd << " straddles the end";
  }
  EXPECT_EQ(w.ev->valid_ports(kD1), 0u);
}

TEST_F(EvtchnOpTest, AllocUnboundAndBindInterdomainCopyOutPorts) {
  op<xen::EvtchnAllocUnbound>() = {.dom = kDomidSelf.value(), .remote_dom = 2, .port = 0xFFFF};
  ASSERT_EQ(call(kD1, xen::kEvtchnOpAllocUnbound), 0);
  const std::uint32_t a = op<xen::EvtchnAllocUnbound>().port;
  EXPECT_EQ(a, 1u);
  op<xen::EvtchnBindInterdomain>() = {.remote_dom = 1, .remote_port = a, .local_port = 0xFFFF};
  ASSERT_EQ(call(kD2, xen::kEvtchnOpBindInterdomain), 0);
  EXPECT_EQ(op<xen::EvtchnBindInterdomain>().local_port, 1u);
  op<xen::EvtchnSend>() = {.port = a};
  EXPECT_EQ(call(kD1, xen::kEvtchnOpSend), 0);
  op<xen::EvtchnAllocUnbound>() = {.dom = 2, .remote_dom = 1, .port = 0};
  EXPECT_EQ(call(kD1, xen::kEvtchnOpAllocUnbound), -1);  // -EPERM
  EXPECT_EQ(op<xen::EvtchnAllocUnbound>().port, 0u) << "nothing copied back on failure";
}

TEST_F(EvtchnOpTest, Inv05_StatusOutputIsFullyInitialised) {
  auto ipi = w.ev->bind_ipi(kD1, VcpuId{0});
  auto& st = op<xen::EvtchnStatus>();
  std::memset(&st, 0xAA, sizeof(st));
  st.dom = kDomidSelf.value();
  st.port = ipi->value();
  ASSERT_EQ(call(kD1, xen::kEvtchnOpStatus), 0);
  EXPECT_EQ(st.status, xen::kEvtchnStatIpi);
  EXPECT_EQ(st.vcpu, 0u);
  EXPECT_EQ(st.dom, kDomidSelf.value());
  EXPECT_EQ(st.port, ipi->value());
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(&st);
  for (std::size_t i = offsetof(xen::EvtchnStatus, u); i < sizeof(st); ++i) {
    EXPECT_EQ(bytes[i], 0) << "union byte " << i << " leaks old contents";
  }
  EXPECT_EQ(bytes[2], 0);  // padding after dom
  EXPECT_EQ(bytes[3], 0);
  st.port = 70000;
  EXPECT_EQ(call(kD1, xen::kEvtchnOpStatus), -22);
  st.dom = 2;
  st.port = 1;
  EXPECT_EQ(call(kD1, xen::kEvtchnOpStatus), -1);
}

TEST_F(EvtchnOpTest, OutputToReadOnlyMemoryIsEfault) {
  auto* ro = mem.host_obj<xen::EvtchnBindIpi>(kReadOnlyArg);
  *ro = {.vcpu = 0, .port = 0};
  EXPECT_EQ(call(kD1, xen::kEvtchnOpBindIpi, kReadOnlyArg), -14);
  // Inputs-only sub-ops work from read-only memory.
  auto* close = mem.host_obj<xen::EvtchnClose>(kReadOnlyArg);
  *close = {.port = 1};  // the port bound above (Xen also keeps it: the copy-out failed)
  EXPECT_EQ(call(kD1, xen::kEvtchnOpClose, kReadOnlyArg), 0);
}

TEST_F(EvtchnOpTest, BindVirqPirqIpiVcpuUnmaskThroughTheHandler) {
  op<xen::EvtchnBindVirq>() = {.virq = xen::kVirqTimer, .vcpu = 0, .port = 0};
  ASSERT_EQ(call(kD1, xen::kEvtchnOpBindVirq), 0);
  const std::uint32_t timer = op<xen::EvtchnBindVirq>().port;
  EXPECT_EQ(call(kD1, xen::kEvtchnOpBindVirq), -17);  // -EEXIST
  op<xen::EvtchnBindVirq>() = {.virq = 99, .vcpu = 0, .port = 0};
  EXPECT_EQ(call(kD1, xen::kEvtchnOpBindVirq), -22);
  op<xen::EvtchnBindVirq>() = {.virq = xen::kVirqDebug, .vcpu = 5, .port = 0};
  EXPECT_EQ(call(kD1, xen::kEvtchnOpBindVirq), -2);  // -ENOENT
  op<xen::EvtchnBindPirq>() = {.pirq = 1, .flags = 0, .port = 0};
  EXPECT_EQ(call(kD1, xen::kEvtchnOpBindPirq), -22);  // nr_pirqs = 0
  op<xen::EvtchnBindVcpu>() = {.port = timer, .vcpu = 0};
  EXPECT_EQ(call(kD1, xen::kEvtchnOpBindVcpu), -22);  // per-vCPU VIRQ
  op<xen::EvtchnUnmask>() = {.port = timer};
  EXPECT_EQ(call(kD1, xen::kEvtchnOpUnmask), 0);
  op<xen::EvtchnClose>() = {.port = timer};
  EXPECT_EQ(call(kD1, xen::kEvtchnOpClose), 0);
  EXPECT_EQ(call(kD1, xen::kEvtchnOpClose), -22);
}

TEST_F(EvtchnOpTest, FifoSubOpsThroughTheHandler) {
  w.control_block(kD1, 0);
  w.array_page(kD1, 0);
  auto& ic = op<xen::EvtchnInitControl>();
  ic = {.control_gfn = testing::kControlGfnBase, .offset = 0, .vcpu = 0, .link_bits = 0xEE,
        .pad = {1, 2, 3, 4, 5, 6, 7}};
  ASSERT_EQ(call(kD1, xen::kEvtchnOpInitControl), 0);
  EXPECT_EQ(ic.link_bits, 17);
  for (auto b : ic.pad) EXPECT_EQ(b, 0);
  ic.vcpu = 0;
  EXPECT_EQ(call(kD1, xen::kEvtchnOpInitControl), -22);  // already set up
  op<xen::EvtchnExpandArray>() = {.array_gfn = testing::kArrayGfnBase};
  EXPECT_EQ(call(kD1, xen::kEvtchnOpExpandArray), 0);
  op<xen::EvtchnExpandArray>() = {.array_gfn = 0x4242};
  EXPECT_EQ(call(kD1, xen::kEvtchnOpExpandArray), -22);
  auto p = w.ev->bind_ipi(kD1, VcpuId{0});
  op<xen::EvtchnSetPriority>() = {.port = p->value(), .priority = 1};
  EXPECT_EQ(call(kD1, xen::kEvtchnOpSetPriority), 0);
  op<xen::EvtchnSetPriority>() = {.port = p->value(), .priority = 16};
  EXPECT_EQ(call(kD1, xen::kEvtchnOpSetPriority), -22);
  op<xen::EvtchnSetPriority>() = {.port = p->value(), .priority = 1};
  EXPECT_EQ(call(kD2, xen::kEvtchnOpSetPriority), -22);  // D2 has no such port
}

TEST_F(EvtchnOpTest, Inv17_ResetIsAContinuationUntilDone) {
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(w.ev->bind_ipi(kD1, VcpuId{0}).ok());
  op<xen::EvtchnReset>() = {.dom = kDomidSelf.value()};
  std::int64_t rc = call(kD1, xen::kEvtchnOpReset);
  int restarts = 0;
  while (rc == -85 && restarts < 100) {
    EXPECT_EQ(args.a[0], xen::kEvtchnOpResetCont) << "progress is named in the guest's cmd";
    ++restarts;
    TestCtx ctx{&mem, w.ev.get(), kD1};
    rc = EventChannelOp::call(ctx, args);  // what the dispatcher does on -ERESTART
  }
  EXPECT_EQ(rc, 0);
  EXPECT_GE(restarts, 2);
  EXPECT_EQ(w.ev->status(kD1, kDomidSelf, EvtchnPort{300})->status, xen::kEvtchnStatClosed);
  // A context with the dispatcher's preemption hook finishes in one call while not preempted.
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(w.ev->bind_ipi(kD1, VcpuId{0}).ok());
  struct NoPreemptCtx : TestCtx {
    bool hypercall_preempt_check() { return false; }
  } np{{&mem, w.ev.get(), kD1}};
  args.a = {xen::kEvtchnOpReset, kArg.value(), 0, 0, 0};
  EXPECT_EQ(EventChannelOp::call(np, args), 0);
  EXPECT_EQ(w.ev->status(kD1, kDomidSelf, EvtchnPort{300})->status, xen::kEvtchnStatClosed);
  // A stray continuation with no reset in progress is refused.
  EXPECT_EQ(call(kD1, xen::kEvtchnOpResetCont), -16);
  op<xen::EvtchnReset>() = {.dom = 2};
  EXPECT_EQ(call(kD1, xen::kEvtchnOpReset), -1);
  EXPECT_EQ(call(kD0, xen::kEvtchnOpReset), 0);
}

// Random sub-ops with random argument bytes from two domains: every answer is one of the
// codes the sub-ops document, continuations finish, and teardown (EventWorld) finds every
// page and mapping returned.
TEST_F(EvtchnOpTest, RandomArgumentBytesNeverBreakTheHypervisor) {
  std::mt19937 rng(99);
  w.control_block(kD1, 0);
  w.array_page(kD1, 0);
  std::map<std::int64_t, int> answers;
  const std::set<std::int64_t> allowed = {0, -1, -2, -3, -14, -16, -17, -11, -22, -28, -38, -95};
  for (int i = 0; i < 3000; ++i) {
    const DomId caller = (rng() & 1) != 0 ? kD1 : kD2;
    auto* halves = reinterpret_cast<std::uint16_t*>(mem.host_ptr(kArg));
    for (int h = 0; h < 16; ++h) {
      // Mostly small values (so ports, vCPUs and domains are often real), DOMID_SELF, and
      // garbage; upper halves of 32-bit fields mostly zero.
      const std::uint32_t r = rng() % 10;
      std::uint16_t v = static_cast<std::uint16_t>(rng());
      if (h % 2 == 1 && r < 8) v = 0;
      else if (r < 6) v = static_cast<std::uint16_t>(rng() % 4);
      else if (r == 6) v = kDomidSelf.value();
      halves[h] = v;
    }
    const std::uint64_t cmd = rng() % 16;
    std::int64_t rc = call(caller, cmd);
    for (int r = 0; rc == -85 && r < 1000; ++r) {
      TestCtx ctx{&mem, w.ev.get(), caller};
      rc = EventChannelOp::call(ctx, args);
    }
    ASSERT_TRUE(allowed.count(rc) != 0) << "cmd " << cmd << " rc " << rc;
    ++answers[rc];
  }
  EXPECT_GT(answers[0], 150) << "the random calls also succeed, not only fail";
  EXPECT_GT(answers[-22], 300);
}

}  // namespace
}  // namespace pvkit::event
