// The guest's 2-level event dispatch over a host-made shared_info: selector and pending bits,
// masks, acknowledge-before-handle, re-scan while upcall_pending, and hostile-looking states.
#include <cstdint>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "pvkit/guest/event_dispatch.h"

namespace g = pvkit::guest;
namespace x = pvkit::guest::xen;

namespace {

// Plays the hypervisor's side of 2-level set_pending for one vCPU.
void raise(x::SharedInfo& s, std::uint32_t port) {
  const std::uint32_t w = port / 64;
  s.evtchn_pending[w] |= std::uint64_t{1} << (port % 64);
  if ((s.evtchn_mask[w] >> (port % 64)) & 1) return;
  s.vcpu_info[0].evtchn_pending_sel |= std::uint64_t{1} << w;
  s.vcpu_info[0].evtchn_upcall_pending = 1;
}

struct Log {
  std::vector<std::uint32_t> ports;
  x::SharedInfo* s = nullptr;
  std::uint32_t raise_again = 0;  // a port to raise from inside the handler (once)
};

void record(x::EvtchnPort port, void* arg) {
  auto* log = static_cast<Log*>(arg);
  log->ports.push_back(port);
  // The pending bit is already clear when the handler runs.
  EXPECT_EQ((log->s->evtchn_pending[port / 64] >> (port % 64)) & 1, 0u);
  if (log->raise_again != 0) {
    const std::uint32_t p = log->raise_again;
    log->raise_again = 0;
    raise(*log->s, p);
  }
}

class EventDispatch : public testing::Test {
 protected:
  std::unique_ptr<x::SharedInfo> s_ = std::make_unique<x::SharedInfo>();
  g::EventDispatcher<256> ev_;
  Log log_;
  void SetUp() override { log_.s = s_.get(); }
  std::uint64_t dispatch() { return ev_.dispatch(*s_, s_->vcpu_info[0]); }
};

TEST_F(EventDispatch, DeliversEachPendingPortOnceInPortOrderAndClearsState) {
  for (std::uint32_t p : {3u, 64u, 65u, 200u}) ASSERT_TRUE(ev_.bind(p, &record, &log_));
  for (std::uint32_t p : {200u, 3u, 65u, 64u}) raise(*s_, p);
  EXPECT_EQ(dispatch(), 4u);
  EXPECT_EQ(log_.ports, (std::vector<std::uint32_t>{3, 64, 65, 200}));
  EXPECT_EQ(s_->vcpu_info[0].evtchn_upcall_pending, 0);
  EXPECT_EQ(s_->vcpu_info[0].evtchn_pending_sel, 0u);
  for (auto w : s_->evtchn_pending) EXPECT_EQ(w, 0u);
  EXPECT_EQ(ev_.unhandled(), 0u);
  EXPECT_EQ(ev_.upcalls(), 1u);
}

TEST_F(EventDispatch, MaskedPortsStayPendingAndAreNotDelivered) {
  ASSERT_TRUE(ev_.bind(5, &record, &log_));
  ASSERT_TRUE(ev_.bind(6, &record, &log_));
  g::mask_port(*s_, 5);
  raise(*s_, 6);
  s_->evtchn_pending[0] |= 1u << 5;  // pending while masked (set_pending stops at the mask)
  EXPECT_EQ(dispatch(), 1u);
  EXPECT_EQ(log_.ports, (std::vector<std::uint32_t>{6}));
  EXPECT_EQ((s_->evtchn_pending[0] >> 5) & 1, 1u) << "a masked event is left for unmask";
}

TEST_F(EventDispatch, EventRaisedDuringAHandlerIsNotLost) {
  ASSERT_TRUE(ev_.bind(9, &record, &log_));
  ASSERT_TRUE(ev_.bind(130, &record, &log_));
  log_.raise_again = 130;  // arrives in another word while port 9's handler runs
  raise(*s_, 9);
  EXPECT_EQ(dispatch(), 2u);
  EXPECT_EQ(log_.ports, (std::vector<std::uint32_t>{9, 130}));
  log_.ports.clear();
  log_.raise_again = 9;  // the same port again, from its own handler
  raise(*s_, 9);
  EXPECT_EQ(dispatch(), 2u);
  EXPECT_EQ(log_.ports, (std::vector<std::uint32_t>{9, 9}));
}

TEST_F(EventDispatch, UnboundAndOutOfRangePortsAreAcknowledgedAndCounted) {
  raise(*s_, 17);    // no handler
  raise(*s_, 4000);  // beyond this dispatcher's 256 ports
  EXPECT_EQ(dispatch(), 0u);
  EXPECT_EQ(ev_.unhandled(), 2u);
  EXPECT_EQ(s_->evtchn_pending[0], 0u);
  EXPECT_EQ(s_->evtchn_pending[4000 / 64], 0u);
}

TEST_F(EventDispatch, SelectorWithoutPendingBitsIsHarmless) {
  s_->vcpu_info[0].evtchn_pending_sel = ~std::uint64_t{0};
  s_->vcpu_info[0].evtchn_upcall_pending = 1;
  EXPECT_EQ(dispatch(), 0u);
  EXPECT_EQ(s_->vcpu_info[0].evtchn_pending_sel, 0u);
  EXPECT_EQ(ev_.unhandled(), 0u);
}

TEST_F(EventDispatch, BindRefusesPortZeroOutOfRangeNullAndDoubleBinding) {
  EXPECT_EQ(ev_.bind(0, &record, &log_).error(), pvkit::Errno::Inval);
  EXPECT_EQ(ev_.bind(256, &record, &log_).error(), pvkit::Errno::Inval);
  EXPECT_EQ(ev_.bind(1, nullptr, &log_).error(), pvkit::Errno::Inval);
  ASSERT_TRUE(ev_.bind(1, &record, &log_));
  EXPECT_EQ(ev_.bind(1, &record, &log_).error(), pvkit::Errno::Busy);
  EXPECT_TRUE(ev_.bound(1));
  ev_.unbind(1);
  EXPECT_FALSE(ev_.bound(1));
  ev_.unbind(100000);  // harmless
  raise(*s_, 1);
  EXPECT_EQ(dispatch(), 0u);
  EXPECT_EQ(ev_.unhandled(), 1u);
}

TEST(EventMask, MaskPortSetsTheRightBitAndIgnoresOutOfRange) {
  auto s = std::make_unique<x::SharedInfo>();
  g::mask_port(*s, 70);
  EXPECT_EQ(s->evtchn_mask[1], std::uint64_t{1} << 6);
  g::mask_port(*s, 4096);  // beyond the 2-level ABI: no write
  for (int w = 0; w < 64; ++w) {
    if (w != 1) EXPECT_EQ(s->evtchn_mask[w], 0u);
  }
}

}  // namespace
