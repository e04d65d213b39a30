// Invariant 26 (XSA-155): ring consumers snapshot each message before checking it and bound
// the number of unconsumed messages by what the producer could really have produced. Each test
// plays a hostile peer that writes the shared page directly.
#include <cstdint>
#include <cstring>

#include <gtest/gtest.h>

#include "pvkit/ring/back_ring.h"
#include "pvkit/ring/front_ring.h"
#include "pvkit/ring/xen_abi.h"

namespace pvkit::ring {
namespace {

// A request a backend must validate before use: `len` bytes of `data` are copied into a
// 16-byte buffer, so len > 16 would overflow the backend's buffer.
struct Req {
  std::uint32_t id;
  std::uint32_t len;
  std::uint8_t data[56];
};
struct Rsp {
  std::uint32_t id;
  std::int32_t status;
};
constexpr std::uint32_t kMaxLen = 16;
using Front = FrontRing<Req, Rsp>;
using Back = BackRing<Req, Rsp>;
constexpr std::uint32_t kSlots = RingLayout<Req, Rsp>::slots(4096);
static_assert(kSlots == 32);  // (4096 - 64) / 64 = 63 -> 32

struct alignas(4096) Page {
  unsigned char bytes[4096];
  xen::SharedRingHeader* hdr() { return reinterpret_cast<xen::SharedRingHeader*>(bytes); }
  Req* slot_req(RingIdx i) {
    return reinterpret_cast<Req*>(bytes + RingLayout<Req, Rsp>::slot_offset(i, kSlots));
  }
};

Req make_req(std::uint32_t id, std::uint32_t len = 8) {
  Req r{};
  r.id = id;
  r.len = len;
  for (std::uint32_t i = 0; i < sizeof(r.data); ++i) r.data[i] = static_cast<std::uint8_t>(id + i);
  return r;
}

class RingAdversarial : public ::testing::Test {
 protected:
  void SetUp() override { Init(0); }
  void Init(RingIdx start) {
    std::memset(page.bytes, 0, sizeof(page.bytes));
    ASSERT_TRUE(front.init(page.bytes, 4096, start));
    ASSERT_TRUE(back.attach(page.bytes, 4096, start));
  }
  void PushRequests(std::uint32_t n) {
    for (std::uint32_t i = 0; i < n; ++i) ASSERT_TRUE(front.put_request(make_req(next_id++)));
    front.push_requests();
  }
  // Drains the back ring; answers how many requests came out (bounded: the test fails rather
  // than spinning if the ring hands out more than it holds).
  std::uint32_t Drain(Status* err = nullptr) {
    Req r;
    std::uint32_t n = 0;
    for (std::uint32_t guard = 0; guard < 4 * kSlots; ++guard) {
      auto got = back.take_request(r);
      if (!got.ok()) {
        if (err != nullptr) *err = got.status();
        return n;
      }
      if (!*got) return n;
      ++n;
    }
    ADD_FAILURE() << "consumer kept taking requests past the ring size";
    return n;
  }

  Page page;
  Front front;
  Back back;
  std::uint32_t next_id = 0;
};

TEST_F(RingAdversarial, Inv26_RequestProdFarAheadIsRejected_XSA155) {
  PushRequests(2);
  page.hdr()->req_prod = kSlots + 1;  // one more unanswered request than the ring can hold
  Req r;
  auto got = back.take_request(r);
  EXPECT_EQ(got.status().error(), kRingProtocolError);
  EXPECT_EQ(back.req_cons(), 0u);  // nothing was consumed from the garbage
  EXPECT_TRUE(back.broken());
  EXPECT_EQ(back.unconsumed_requests().status().error(), kRingProtocolError);
  // Far, far ahead too.
  Init(0);
  page.hdr()->req_prod = 0x80000000u;
  EXPECT_EQ(back.unconsumed_requests().status().error(), kRingProtocolError);
}

TEST_F(RingAdversarial, Inv26_ExactlyAFullRingIsAcceptedAndNoMore) {
  PushRequests(kSlots);
  EXPECT_EQ(Drain(), kSlots);
  EXPECT_FALSE(back.broken());
  // The producer cannot add one more until a response frees a slot.
  page.hdr()->req_prod = kSlots + 1;
  Status err;
  EXPECT_EQ(Drain(&err), 0u);
  EXPECT_EQ(err.error(), kRingProtocolError);
}

// The case io/ring.h's RING_REQUEST_PROD_OVERFLOW alone misses: req_prod behind req_cons but
// not behind the last response. XEN_RING_NR_UNCONSUMED_REQUESTS would report size - 3 stale
// requests here; pvkit refuses the index.
TEST_F(RingAdversarial, Inv26_RequestProdBehindTheConsumerIsRejected_XSA155) {
  PushRequests(5);
  EXPECT_EQ(Drain(), 5u);
  ASSERT_TRUE(back.put_response(Rsp{0, 0}));
  ASSERT_TRUE(back.put_response(Rsp{1, 0}));
  back.push_responses();
  page.hdr()->req_prod = 3;  // behind req_cons (5), ahead of rsp_prod_pvt (2)
  const RingIdx prod = 3, cons = back.req_cons(), rsp = back.rsp_prod_pvt();
  EXPECT_FALSE(static_cast<RingIdx>(prod - rsp) > kSlots);  // passes the io/ring.h check
  const RingIdx c_count = std::min<RingIdx>(prod - cons, kSlots - (cons - rsp));
  EXPECT_EQ(c_count, kSlots - 3);  // ... which would hand out 29 stale slots
  Status err;
  EXPECT_EQ(Drain(&err), 0u);
  EXPECT_EQ(err.error(), kRingProtocolError);
  EXPECT_EQ(back.req_cons(), 5u);
}

TEST_F(RingAdversarial, Inv26_RequestProdMovingBackwardsIsRejected) {
  PushRequests(10);
  Req r;
  ASSERT_TRUE(*back.take_request(r));  // the backend has accepted req_prod = 10
  page.hdr()->req_prod = 6;            // still ahead of req_cons, but it went backwards
  auto n = back.unconsumed_requests();
  EXPECT_EQ(n.status().error(), kRingProtocolError);
}

TEST_F(RingAdversarial, Inv26_HostileIndicesAcrossTheU32Wrap) {
  constexpr RingIdx kStart = 0xFFFFFFF0u;
  Init(kStart);
  PushRequests(20);  // req_prod wraps to 4
  EXPECT_EQ(page.hdr()->req_prod, 4u);
  EXPECT_EQ(Drain(), 20u);
  for (std::uint32_t i = 0; i < 20; ++i) ASSERT_TRUE(back.put_response(Rsp{i, 0}));
  back.push_responses();
  // rsp_prod_pvt is now 4: 32 more is fine, 33 is not; "behind" lands just below the wrap.
  page.hdr()->req_prod = 4 + kSlots + 1;
  EXPECT_EQ(back.unconsumed_requests().status().error(), kRingProtocolError);
  Init(kStart);
  PushRequests(20);
  EXPECT_EQ(Drain(), 20u);
  page.hdr()->req_prod = 0xFFFFFFFFu;  // behind req_cons = 4 across the wrap
  EXPECT_EQ(back.unconsumed_requests().status().error(), kRingProtocolError);
}

// Whatever req_prod a hostile frontend writes, the backend either refuses it or takes at most
// the slots that can really hold unanswered requests — and terminates.
TEST_F(RingAdversarial, Inv26_UnconsumedRequestsNeverExceedRingCapacity) {
  std::uint32_t x = 12345;
  int refused = 0, accepted = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    Init(trial % 2 ? 0 : 0xFFFFFFF8u);
    PushRequests(trial % 7);
    (void)Drain();
    for (int k = trial % 3; k > 0; --k) (void)back.put_response(Rsp{0, 0});
    x = x * 1664525u + 1013904223u;  // LCG: hostile index, sometimes near the real one
    const RingIdx hostile = (trial % 4 == 0) ? x : page.hdr()->req_prod + (x % 80) - 40;
    page.hdr()->req_prod = hostile;
    const RingIdx room = kSlots - (back.req_cons() - back.rsp_prod_pvt());
    Status err;
    const std::uint32_t taken = Drain(&err);
    EXPECT_LE(taken, room);
    if (err.is_ok()) {
      ++accepted;
      EXPECT_EQ(back.req_cons(), hostile);
    } else {
      ++refused;
      EXPECT_EQ(err.error(), kRingProtocolError);
    }
  }
  EXPECT_GT(refused, 0);
  EXPECT_GT(accepted, 0);
}

// The XSA-155 double fetch, played deterministically: the frontend rewrites `len` in the slot
// between the backend's check and its use. A backend that reads the slot in place (as the
// vulnerable drivers did) uses the rewritten length; pvkit's backend checks and uses its
// private snapshot, so the rewrite never reaches the use.
TEST_F(RingAdversarial, Inv26_SnapshotDefeatsFieldChangedAfterCheck_XSA155) {
  PushRequests(1);
  Req* shared = page.slot_req(0);
  auto hostile_rewrite = [&] { shared->len = 4096; };

  // The vulnerable pattern, for contrast: check the shared slot, then read it again to use it.
  std::uint32_t naive_used = 0;
  if (shared->len <= kMaxLen) {
    hostile_rewrite();
    naive_used = *static_cast<volatile std::uint32_t*>(&shared->len);
  }
  EXPECT_EQ(naive_used, 4096u);  // the attack works on in-place access

  // pvkit: snapshot, check the snapshot, use the snapshot.
  shared->len = 8;
  Req req;
  auto got = back.take_request(req);
  ASSERT_TRUE(got.ok() && *got);
  std::uint32_t used = 0;
  if (req.len <= kMaxLen) {
    hostile_rewrite();
    used = req.len;
  }
  EXPECT_EQ(used, 8u);
  EXPECT_EQ(shared->len, 4096u);  // the shared slot did change ...
  EXPECT_EQ(req.len, 8u);         // ... the snapshot did not
  EXPECT_EQ(std::memcmp(req.data, make_req(0).data, sizeof(req.data)), 0);
}

// The same defence on the frontend against a hostile backend: impossible response indices.
TEST_F(RingAdversarial, Inv26_ResponseProdBeyondOutstandingRequestsIsRejected) {
  PushRequests(3);
  page.hdr()->rsp_prod = 4;  // four responses to three requests
  Rsp s;
  EXPECT_EQ(front.take_response(s).status().error(), kRingProtocolError);
  EXPECT_TRUE(front.broken());
  EXPECT_EQ(front.rsp_cons(), 0u);

  Init(0);
  PushRequests(3);
  ASSERT_TRUE(front.put_request(make_req(99)));  // put, not yet pushed
  page.hdr()->rsp_prod = 4;  // a response to a request the backend has not been shown
  EXPECT_EQ(front.unconsumed_responses().status().error(), kRingProtocolError);

  Init(0);
  page.hdr()->rsp_prod = kSlots + 1;  // io/ring.h's RING_RESPONSE_PROD_OVERFLOW
  EXPECT_EQ(front.final_check_for_responses().status().error(), kRingProtocolError);
}

TEST_F(RingAdversarial, Inv26_ResponseProdBehindOrBackwardsIsRejected) {
  PushRequests(6);
  page.hdr()->rsp_prod = 4;
  Rsp s;
  ASSERT_TRUE(*front.take_response(s));
  page.hdr()->rsp_prod = 2;  // backwards: the frontend already accepted 4
  EXPECT_EQ(front.unconsumed_responses().status().error(), kRingProtocolError);

  Init(0);
  PushRequests(6);
  page.hdr()->rsp_prod = 3;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(*front.take_response(s));
  page.hdr()->rsp_prod = 0xFFFFFFFFu;  // behind rsp_cons = 3
  EXPECT_EQ(front.take_response(s).status().error(), kRingProtocolError);
}

TEST_F(RingAdversarial, Inv26_BrokenRingStaysBrokenUntilReattached) {
  PushRequests(1);
  page.hdr()->req_prod = 1000;
  Req r;
  EXPECT_FALSE(back.take_request(r).ok());
  page.hdr()->req_prod = 1;  // the frontend "fixes" it: too late
  EXPECT_EQ(back.take_request(r).status().error(), kRingProtocolError);
  EXPECT_EQ(back.final_check_for_requests().status().error(), kRingProtocolError);
  ASSERT_TRUE(back.attach(page.bytes, 4096, 0));  // an explicit reconnect starts afresh
  EXPECT_FALSE(back.broken());
  EXPECT_TRUE(*back.take_request(r));
}

// The peer's event index and the peer's scribbles on our own producer index only ever change
// whether we notify; they never corrupt our state or make us skip publishing.
TEST_F(RingAdversarial, Inv26_HostileEventAndProducerScribblesOnlyAffectNotification) {
  std::uint32_t x = 7;
  for (int i = 0; i < 200; ++i) {
    x = x * 1664525u + 1013904223u;
    page.hdr()->req_event = x;
    const RingIdx before = front.req_prod_pvt();
    ASSERT_TRUE(front.put_request(make_req(next_id++)));
    const bool notify = front.push_requests_and_check_notify();
    EXPECT_EQ(notify, need_notify(before, before + 1, x));
    EXPECT_EQ(page.hdr()->req_prod, before + 1);
    Req r;
    ASSERT_TRUE(*back.take_request(r));
    EXPECT_EQ(r.id, next_id - 1);
    // The frontend scribbles on rsp_prod (the backend's index) before the backend pushes.
    page.hdr()->rsp_prod = x ^ 0x5555u;
    page.hdr()->rsp_event = back.rsp_prod_pvt() + 1;  // asks for the next response
    ASSERT_TRUE(back.put_response(Rsp{r.id, 0}));
    EXPECT_TRUE(back.push_responses_and_check_notify());  // decided from the backend's own record
    EXPECT_EQ(page.hdr()->rsp_prod, back.rsp_prod_pvt());
    Rsp s;
    ASSERT_TRUE(*front.take_response(s));
    EXPECT_EQ(s.id, r.id);
  }
  EXPECT_FALSE(front.broken());
  EXPECT_FALSE(back.broken());
}

}  // namespace
}  // namespace pvkit::ring
