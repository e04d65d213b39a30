// Behaviour of pvkit's FrontRing / BackRing: setup errors, flow control, notification hold-off
// decisions around the 2^32 wrap of the free-running indices, and a two-thread
// producer/consumer run that would hang (and fail) on a lost notification.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "pvkit/ring/back_ring.h"
#include "pvkit/ring/front_ring.h"
#include "pvkit/ring/ring_index.h"

namespace pvkit::ring {
namespace {

struct Req {
  std::uint64_t id;
  std::uint64_t payload;
  std::uint32_t check;  // ~payload's low half: lets the consumer detect a torn/stale slot
};
struct Rsp {
  std::uint64_t id;
  std::uint64_t result;
};
using Front = FrontRing<Req, Rsp>;
using Back = BackRing<Req, Rsp>;
constexpr std::uint32_t kSlots = 128;  // (4096 - 64) / 24 = 168 -> 128
static_assert(RingLayout<Req, Rsp>::slots(4096) == kSlots);

struct alignas(4096) Page {
  unsigned char bytes[4096];
};

Req make_req(std::uint64_t id) {
  const std::uint64_t p = id * 0x9E3779B97F4A7C15ull;
  return Req{id, p, static_cast<std::uint32_t>(~p)};
}

// Independent oracle for the notify rule: is `event` one of old+1, ..., new (mod 2^32)?
bool event_in_published_range(RingIdx old_prod, RingIdx new_prod, RingIdx event) {
  for (RingIdx k = 1; k <= static_cast<RingIdx>(new_prod - old_prod); ++k) {
    if (static_cast<RingIdx>(old_prod + k) == event) return true;
  }
  return false;
}

TEST(RingIndex, NeedNotifyIsExactlyEventInPublishedRangeAcrossTheWrap) {
  int notified = 0;
  for (RingIdx old_prod : {0u, 5u, 0xFFFFFFF8u, 0xFFFFFFFFu, 0x7FFFFFFEu}) {
    for (RingIdx n = 0; n <= 10; ++n) {
      const RingIdx new_prod = old_prod + n;
      for (RingIdx d = 0; d < 24; ++d) {
        const RingIdx event = old_prod - 6 + d;
        const bool want = event_in_published_range(old_prod, new_prod, event);
        EXPECT_EQ(need_notify(old_prod, new_prod, event), want)
            << old_prod << " " << new_prod << " " << event;
        notified += want ? 1 : 0;
      }
    }
  }
  EXPECT_GT(notified, 0);
  // Spot checks written out.
  EXPECT_TRUE(need_notify(0xFFFFFFFEu, 2, 0));            // event just past the wrap
  EXPECT_TRUE(need_notify(0xFFFFFFFEu, 2, 0xFFFFFFFFu));
  EXPECT_TRUE(need_notify(0xFFFFFFFEu, 2, 2));            // event == new
  EXPECT_FALSE(need_notify(0xFFFFFFFEu, 2, 0xFFFFFFFEu)); // event == old: already notified
  EXPECT_FALSE(need_notify(0xFFFFFFFEu, 2, 3));           // event beyond new
  EXPECT_FALSE(need_notify(7, 7, 7));                     // nothing published
}

TEST(RingIndex, ProducerIndexPlausibility) {
  // base 10, consumer already accepted up to 12, at most 4 ahead of base.
  EXPECT_TRUE(producer_index_plausible(12, 10, 12, 4));
  EXPECT_TRUE(producer_index_plausible(14, 10, 12, 4));
  EXPECT_FALSE(producer_index_plausible(15, 10, 12, 4));   // too far ahead
  EXPECT_FALSE(producer_index_plausible(11, 10, 12, 4));   // moved backwards
  EXPECT_FALSE(producer_index_plausible(9, 10, 12, 4));    // behind the base
  // The same across the wrap.
  EXPECT_TRUE(producer_index_plausible(1, 0xFFFFFFFEu, 0xFFFFFFFFu, 4));
  EXPECT_FALSE(producer_index_plausible(3, 0xFFFFFFFEu, 0xFFFFFFFFu, 4));
  EXPECT_FALSE(producer_index_plausible(0xFFFFFFFDu, 0xFFFFFFFEu, 0xFFFFFFFEu, 4));
}

// snapshot_from_shared / copy_to_shared pick 8-, 4- or 1-byte accesses from the alignment of
// both pointers and the size: every path must move exactly n bytes and touch nothing else.
TEST(SharedAccess, CopiesExactlyNBytesOnEveryAlignmentPath) {
  alignas(8) unsigned char src[64], dst[80];
  for (std::size_t n = 0; n <= 40; ++n) {
    for (std::size_t so = 0; so < 8; ++so) {
      for (std::size_t d_off = 0; d_off < 8; ++d_off) {
        for (std::size_t i = 0; i < sizeof(src); ++i) src[i] = static_cast<unsigned char>(i * 7 + n);
        std::memset(dst, 0xEE, sizeof(dst));
        snapshot_from_shared(dst + 8 + d_off, src + so, n);
        ASSERT_EQ(std::memcmp(dst + 8 + d_off, src + so, n), 0) << n << " " << so << " " << d_off;
        for (std::size_t i = 0; i < 8 + d_off; ++i) ASSERT_EQ(dst[i], 0xEE);
        for (std::size_t i = 8 + d_off + n; i < sizeof(dst); ++i) ASSERT_EQ(dst[i], 0xEE);
        std::memset(dst, 0xEE, sizeof(dst));
        copy_to_shared(dst + 8 + d_off, src + so, n);
        ASSERT_EQ(std::memcmp(dst + 8 + d_off, src + so, n), 0);
        for (std::size_t i = 8 + d_off + n; i < sizeof(dst); ++i) ASSERT_EQ(dst[i], 0xEE);
      }
    }
  }
}

TEST(Ring, AttachRejectsBadAreas) {
  Page page;
  Front f;
  Back b;
  EXPECT_EQ(f.init(nullptr, 4096).error(), Errno::Inval);
  EXPECT_EQ(f.init(page.bytes + 4, 4096).error(), Errno::Inval);  // misaligned for u64 slots
  EXPECT_EQ(f.init(page.bytes, 64 + 23).error(), Errno::Inval);   // not one slot
  EXPECT_EQ(b.attach(page.bytes, 63).error(), Errno::Inval);
  EXPECT_FALSE(f.attached());
  // Nothing works on an unattached ring, and nothing crashes.
  Req r{};
  Rsp s{};
  EXPECT_EQ(f.put_request(r).error(), Errno::Inval);
  EXPECT_EQ(f.take_response(s).status().error(), Errno::Inval);
  EXPECT_EQ(b.take_request(r).status().error(), Errno::Inval);
  EXPECT_EQ(b.put_response(s).error(), Errno::Inval);
  EXPECT_FALSE(f.push_requests_and_check_notify());
  EXPECT_FALSE(b.push_responses_and_check_notify());
  EXPECT_EQ(f.init(page.bytes, 64 + 24).error(), Errno::Ok);  // exactly one slot fits
  EXPECT_EQ(f.size(), 1u);
}

TEST(Ring, BackendAttachDoesNotWriteSharedMemory) {
  Page page;
  std::memset(page.bytes, 0x5A, sizeof(page.bytes));
  Back b;
  ASSERT_TRUE(b.attach(page.bytes, 4096));
  for (unsigned char c : page.bytes) ASSERT_EQ(c, 0x5A);
}

TEST(Ring, FlowControlFullRingAndResponsesOnlyForConsumedRequests) {
  Page page;
  Front f;
  Back b;
  ASSERT_TRUE(f.init(page.bytes, 4096));
  ASSERT_TRUE(b.attach(page.bytes, 4096));
  EXPECT_EQ(f.free_requests(), kSlots);
  for (std::uint32_t i = 0; i < kSlots; ++i) ASSERT_TRUE(f.put_request(make_req(i)));
  EXPECT_TRUE(f.full());
  EXPECT_EQ(f.put_request(make_req(999)).error(), Errno::NoSpc);
  // The backend answers nothing it has not consumed.
  EXPECT_EQ(b.put_response(Rsp{0, 0}).error(), Errno::NoSpc);
  // Requests are invisible until pushed.
  auto n = b.unconsumed_requests();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0u);
  f.push_requests();
  n = b.unconsumed_requests();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, kSlots);
  Req r;
  for (std::uint32_t i = 0; i < 3; ++i) {
    auto got = b.take_request(r);
    ASSERT_TRUE(got.ok() && *got);
    EXPECT_EQ(r.id, i);
  }
  ASSERT_TRUE(b.put_response(Rsp{0, 1}));
  ASSERT_TRUE(b.put_response(Rsp{1, 1}));
  ASSERT_TRUE(b.put_response(Rsp{2, 1}));
  EXPECT_EQ(b.put_response(Rsp{3, 1}).error(), Errno::NoSpc);
  // Responses are invisible until pushed; afterwards the frontend gets its slots back.
  auto m = f.unconsumed_responses();
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m, 0u);
  b.push_responses();
  Rsp s;
  for (std::uint64_t i = 0; i < 3; ++i) {
    auto got = f.take_response(s);
    ASSERT_TRUE(got.ok() && *got);
    EXPECT_EQ(s.id, i);
  }
  EXPECT_EQ(f.free_requests(), 3u);
  auto none = f.take_response(s);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(*none);
}

// Notification hold-off on both directions while the free-running indices wrap past 2^32.
TEST(RingNotify, SuppressionDecisionsAroundTheU32Wrap) {
  constexpr RingIdx kStart = 0xFFFFFFFCu;
  Page page;
  Front f;
  Back b;
  ASSERT_TRUE(f.init(page.bytes, 4096, kStart));
  ASSERT_TRUE(b.attach(page.bytes, 4096, kStart));
  Req r;
  Rsp s;

  // req_event starts at start + 1: the first request notifies, the next batch does not.
  ASSERT_TRUE(f.put_request(make_req(1)));
  EXPECT_TRUE(f.push_requests_and_check_notify());
  ASSERT_TRUE(f.put_request(make_req(2)));
  ASSERT_TRUE(f.put_request(make_req(3)));
  EXPECT_FALSE(f.push_requests_and_check_notify());
  EXPECT_FALSE(f.push_requests_and_check_notify());  // nothing new: never notify

  // The backend drains all three; its final check re-arms req_event = cons + 1 = 0 (wrapped).
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(*b.take_request(r));
  auto more = b.final_check_for_requests();
  ASSERT_TRUE(more.ok());
  EXPECT_FALSE(*more);
  EXPECT_EQ(b.req_cons(), 0xFFFFFFFFu);

  // The push that crosses from 0xFFFFFFFF to 0 (and on to 1) covers event 0: notify.
  ASSERT_TRUE(f.put_request(make_req(4)));
  ASSERT_TRUE(f.put_request(make_req(5)));
  EXPECT_TRUE(f.push_requests_and_check_notify());
  EXPECT_EQ(f.req_prod_pvt(), 1u);
  ASSERT_TRUE(f.put_request(make_req(6)));
  EXPECT_FALSE(f.push_requests_and_check_notify());

  // A final check that finds work does not re-arm: the next push stays quiet.
  more = b.final_check_for_requests();
  ASSERT_TRUE(more.ok());
  EXPECT_TRUE(*more);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(*b.take_request(r));
  ASSERT_TRUE(f.put_request(make_req(7)));
  EXPECT_FALSE(f.push_requests_and_check_notify());

  // Responses: rsp_event is still start + 1, so the first response batch notifies.
  ASSERT_TRUE(b.put_response(Rsp{1, 0}));
  EXPECT_TRUE(b.push_responses_and_check_notify());
  ASSERT_TRUE(b.put_response(Rsp{2, 0}));
  EXPECT_FALSE(b.push_responses_and_check_notify());
  // The frontend drains and re-arms rsp_event = 0xFFFFFFFF; the next response notifies.
  ASSERT_TRUE(*f.take_response(s));
  ASSERT_TRUE(*f.take_response(s));
  auto fm = f.final_check_for_responses();
  ASSERT_TRUE(fm.ok());
  EXPECT_FALSE(*fm);
  ASSERT_TRUE(b.put_response(Rsp{3, 0}));
  ASSERT_TRUE(b.put_response(Rsp{4, 0}));  // crosses the wrap: 0xFFFFFFFE -> 0
  EXPECT_TRUE(b.push_responses_and_check_notify());
  ASSERT_TRUE(b.put_response(Rsp{5, 0}));
  EXPECT_FALSE(b.push_responses_and_check_notify());
  // Without a final check by the frontend, later responses stay quiet.
  ASSERT_TRUE(b.put_response(Rsp{6, 0}));
  EXPECT_FALSE(b.push_responses_and_check_notify());
  for (std::uint64_t id = 3; id <= 6; ++id) {
    ASSERT_TRUE(*f.take_response(s));
    EXPECT_EQ(s.id, id);
  }
}

// A doorbell standing in for an event channel: ring() counts, wait() blocks until the count
// moves past `seen` or the timeout expires (which, in this test, means a lost notification).
class Doorbell {
 public:
  void ring() {
    {
      std::lock_guard<std::mutex> g(m_);
      ++count_;
    }
    cv_.notify_one();
  }
  std::uint64_t count() {
    std::lock_guard<std::mutex> g(m_);
    return count_;
  }
  bool wait_past(std::uint64_t seen) {
    std::unique_lock<std::mutex> g(m_);
    return cv_.wait_for(g, std::chrono::seconds(2), [&] { return count_ != seen; });
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  std::uint64_t count_ = 0;
};

// Two threads move many requests and responses through a 128-slot ring whose indices wrap
// past 2^32 mid-run. Each side sleeps only after its final check, and wakes only on the
// other side's notification: a wrong hold-off decision or a missing barrier shows up as a
// lost wake-up (timeout) or as a response that does not match its request.
TEST(RingThreads, ProducerConsumerWithNotificationHoldOff) {
  constexpr std::uint64_t kCount = 60000;
  constexpr RingIdx kStart = 0xFFFFF000u;  // the indices wrap after 4096 messages
  Page page;
  Front f;
  Back b;
  ASSERT_TRUE(f.init(page.bytes, 4096, kStart));
  ASSERT_TRUE(b.attach(page.bytes, 4096, kStart));
  Doorbell to_back, to_front;
  std::atomic<bool> failed{false};
  std::atomic<std::uint64_t> bad_requests{0};

  std::thread backend([&] {
    Req r;
    std::uint64_t done = 0;
    while (done < kCount && !failed) {
      const std::uint64_t seen = to_back.count();
      auto got = b.take_request(r);
      if (!got.ok()) { failed = true; break; }
      if (*got) {
        if (r.check != static_cast<std::uint32_t>(~r.payload)) ++bad_requests;
        if (!b.put_response(Rsp{r.id, r.payload ^ 0xFFu}).is_ok()) { failed = true; break; }
        ++done;
        if ((done & 7) == 0 || done == kCount) {
          if (b.push_responses_and_check_notify()) to_front.ring();
        }
        continue;
      }
      if (b.push_responses_and_check_notify()) to_front.ring();
      auto more = b.final_check_for_requests();
      if (!more.ok()) { failed = true; break; }
      if (!*more && !to_back.wait_past(seen)) { failed = true; break; }  // lost wake-up
    }
  });

  std::uint64_t sent = 0, received = 0, notifies = 0;
  std::uint64_t mismatches = 0;
  Rsp s;
  while (received < kCount && !failed) {
    const std::uint64_t seen = to_front.count();
    // Batches of 1..5 requests: single-message pushes exercise the exact hold-off edge.
    for (std::uint64_t k = 1 + (sent % 5); k > 0 && sent < kCount && !f.full(); --k) {
      if (!f.put_request(make_req(sent++)).is_ok()) failed = true;
    }
    if (f.push_requests_and_check_notify()) {
      ++notifies;
      to_back.ring();
    }
    bool progressed = false;
    for (;;) {
      auto got = f.take_response(s);
      if (!got.ok()) failed = true;
      if (!got.ok() || !*got) break;
      progressed = true;
      if (s.id != received || s.result != (make_req(received).payload ^ 0xFFu)) ++mismatches;
      ++received;
    }
    if (progressed || received == kCount) continue;
    auto more = f.final_check_for_responses();
    if (!more.ok()) failed = true;
    if (more.ok() && !*more && !to_front.wait_past(seen)) failed = true;  // lost wake-up
  }
  backend.join();
  EXPECT_FALSE(failed);
  EXPECT_EQ(received, kCount);
  EXPECT_EQ(bad_requests.load(), 0u);
  EXPECT_EQ(mismatches, 0u);
  // Hold-off really suppressed notifications, but some were needed.
  EXPECT_GT(notifies, 0u);
  EXPECT_LT(notifies, kCount / 4);
  EXPECT_FALSE(f.broken());
  EXPECT_FALSE(b.broken());
}

}  // namespace
}  // namespace pvkit::ring
