// io/ring.h shared rings under libFuzzer: each end of pvkit/ring against a hostile peer.
//
// What it is: two ring pages. On the first, pvkit's BackRing (the code under test) consumes
// requests from a frontend that is partly honest (a FrontRing putting and pushing requests)
// and partly hostile (it writes any header index or any slot byte at any time). On the second,
// pvkit's FrontRing consumes responses from a backend that is likewise honest (a BackRing) and
// hostile (arbitrary writes). The fuzz input is a sequence of such operations, decoded with
// FuzzedDataProvider. After every operation the consumer-side invariants (invariant 26,
// XSA-155) are checked against a model of what the honest ends did:
//   - a consumer never has more than a ring's worth of requests in flight, and never takes
//     more responses than requests were published;
//   - unconsumed counts never exceed what the peer could have produced;
//   - once a consumer reports a protocol error it stays broken;
//   - put_response is refused exactly when every consumed request has been answered;
//   - a request whose length was validated on the snapshot is used from the snapshot (a
//     16-byte copy; ASan catches an overflow), and every access stays inside the ring page
//     (each page is its own 4096-byte heap block, so ASan sees any stray access).
//
// How to use it: `./pvkit fuzz ring_fuzzer 60`; seeds in tests/fuzz/corpus/ring/.
//
// Concurrency: single-threaded.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "pvkit/ring/back_ring.h"
#include "pvkit/ring/front_ring.h"
#include "pvkit/ring/ring_index.h"
#include "pvkit/ring/ring_layout.h"
#include "pvkit/ring/xen_abi.h"

namespace {

using pvkit::ring::RingIdx;

struct Req {
  std::uint32_t id;
  std::uint32_t len;  // bytes of data the backend copies: must be validated (<= kMaxLen)
  std::uint8_t data[56];
};
struct Rsp {
  std::uint32_t id;
  std::int32_t status;
};
constexpr std::uint32_t kMaxLen = 16;
constexpr std::size_t kPage = 4096;

using Front = pvkit::ring::FrontRing<Req, Rsp>;
using Back = pvkit::ring::BackRing<Req, Rsp>;

[[noreturn]] void violation(const char* what) {
  __builtin_printf("ring_fuzzer: invariant violated: %s\n", what);
  __builtin_trap();
}
void check(bool ok, const char* what) {
  if (!ok) violation(what);
}

struct PageDeleter {
  void operator()(unsigned char* p) const { std::free(p); }
};
using PagePtr = std::unique_ptr<unsigned char, PageDeleter>;
PagePtr new_page() {
  auto* p = static_cast<unsigned char*>(std::aligned_alloc(kPage, kPage));
  std::memset(p, 0, kPage);
  return PagePtr(p);
}

pvkit::xen::SharedRingHeader* header(unsigned char* page) {
  return reinterpret_cast<pvkit::xen::SharedRingHeader*>(page);
}

// The backend under test with its model.
struct BackSide {
  PagePtr page = new_page();
  Front peer;  // the honest part of the hostile frontend
  Back ring;   // under test
  std::uint64_t taken = 0, answered = 0;
  RingIdx last_pushed = 0;
  bool was_broken = false;

  bool init(RingIdx start) {
    last_pushed = start;
    return peer.init(page.get(), kPage, start).is_ok() && ring.attach(page.get(), kPage, start).is_ok();
  }

  void after() {
    const RingIdx in_flight = static_cast<RingIdx>(ring.req_cons() - ring.rsp_prod_pvt());
    check(in_flight <= ring.size(), "back: more requests in flight than ring slots");
    check(taken - answered == in_flight, "back: in-flight count disagrees with the model");
    if (was_broken) check(ring.broken(), "back: a broken ring recovered by itself");
    was_broken = ring.broken();
  }
  void take() {
    Req r;
    auto got = ring.take_request(r);
    if (!got.ok()) {
      check(got.status().error() == pvkit::ring::kRingProtocolError, "back: unexpected take error");
      check(ring.broken(), "back: protocol error without broken()");
      return;
    }
    check(!ring.broken(), "back: took a request from a broken ring");
    if (!*got) return;
    ++taken;
    // Validate the snapshot, then use it: a double fetch would be caught by ASan below.
    if (r.len <= kMaxLen) {
      std::uint8_t buf[kMaxLen];
      std::memcpy(buf, r.data, r.len);
      (void)buf;
    }
  }
  void respond(std::int32_t status) {
    const bool all_answered = ring.rsp_prod_pvt() == ring.req_cons();
    pvkit::Status s = ring.put_response(Rsp{static_cast<std::uint32_t>(answered), status});
    check(s.is_ok() == !all_answered, "back: put_response accepted/refused wrongly");
    if (s) ++answered;
  }
  void unconsumed() {
    auto n = ring.unconsumed_requests();
    if (n.ok()) check(*n <= ring.size(), "back: more unconsumed requests than slots");
  }
};

// The frontend under test with its model.
struct FrontSide {
  PagePtr page = new_page();
  Front ring;  // under test
  Back peer;   // the honest part of the hostile backend
  std::uint64_t pushed = 0, put = 0, got = 0;
  bool was_broken = false;

  bool init(RingIdx start) { return ring.init(page.get(), kPage, start).is_ok() && peer.attach(page.get(), kPage, start).is_ok(); }

  void after() {
    check(ring.free_requests() <= ring.size(), "front: free_requests above ring size");
    check(got <= pushed, "front: took more responses than requests published");
    if (was_broken) check(ring.broken(), "front: a broken ring recovered by itself");
    was_broken = ring.broken();
  }
  void take() {
    Rsp r;
    auto res = ring.take_response(r);
    if (!res.ok()) {
      check(ring.broken(), "front: error without broken()");
      return;
    }
    if (*res) ++got;
  }
  void unconsumed() {
    auto n = ring.unconsumed_responses();
    if (n.ok()) check(got + *n <= pushed, "front: unconsumed responses beyond published requests");
  }
};

void hostile_write(FuzzedDataProvider& in, unsigned char* page) {
  switch (in.ConsumeIntegralInRange<int>(0, 5)) {
    case 0: header(page)->req_prod = in.ConsumeIntegral<RingIdx>(); break;
    case 1: header(page)->rsp_prod = in.ConsumeIntegral<RingIdx>(); break;
    case 2: header(page)->req_event = in.ConsumeIntegral<RingIdx>(); break;
    case 3: header(page)->rsp_event = in.ConsumeIntegral<RingIdx>(); break;
    case 4: {  // a small step of a producer index (plausible or just past the limit)
      const std::int32_t d = in.ConsumeIntegralInRange<std::int32_t>(-4, 40);
      if (in.ConsumeBool()) header(page)->req_prod += static_cast<RingIdx>(d);
      else header(page)->rsp_prod += static_cast<RingIdx>(d);
      break;
    }
    default: {  // scribble over slot bytes
      const std::size_t off = in.ConsumeIntegralInRange<std::size_t>(sizeof(pvkit::xen::SharedRingHeader), kPage - 1);
      const std::size_t n = in.ConsumeIntegralInRange<std::size_t>(1, 64);
      for (std::size_t i = 0; i < n && off + i < kPage; ++i) page[off + i] = in.ConsumeIntegral<std::uint8_t>();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  const RingIdx start = in.ConsumeBool() ? in.ConsumeIntegral<RingIdx>() : 0;
  BackSide b;
  FrontSide f;
  if (!b.init(start) || !f.init(start)) violation("ring init failed on a good page");

  for (int step = 0; step < 512 && in.remaining_bytes() > 0; ++step) {
    switch (in.ConsumeIntegralInRange<int>(0, 13)) {
      // -- the backend under test
      case 0: {  // the honest frontend puts some requests and pushes them
        const int n = in.ConsumeIntegralInRange<int>(0, 40);
        for (int i = 0; i < n; ++i) {
          Req r{};
          r.id = static_cast<std::uint32_t>(i);
          r.len = in.ConsumeIntegralInRange<std::uint32_t>(0, 2 * kMaxLen);
          if (!b.peer.put_request(r)) break;
        }
        if (in.ConsumeBool()) b.peer.push_requests();
        else (void)b.peer.push_requests_and_check_notify();
        break;
      }
      case 1: b.take(); break;
      case 2: b.respond(in.ConsumeIntegral<std::int32_t>()); break;
      case 3: {  // publish responses; the notify answer follows the modular (old, new] rule
        const RingIdx ev = pvkit::ring::load_index(&header(b.page.get())->rsp_event);
        const RingIdx new_prod = b.ring.rsp_prod_pvt();
        const bool notify = b.ring.push_responses_and_check_notify();
        check(notify == pvkit::ring::need_notify(b.last_pushed, new_prod, ev),
              "back: notification decision ignores its own last published index");
        check(pvkit::ring::load_index(&header(b.page.get())->rsp_prod) == new_prod, "back: rsp_prod not published");
        b.last_pushed = new_prod;
        break;
      }
      case 4: {
        auto more = b.ring.final_check_for_requests();
        if (!more.ok()) check(b.ring.broken(), "back: final check error without broken()");
        break;
      }
      case 5: b.unconsumed(); break;
      case 6: hostile_write(in, b.page.get()); break;
      // -- the frontend under test
      case 7: {  // the honest side of the backend answers what it can see
        Req r;
        const int n = in.ConsumeIntegralInRange<int>(0, 40);
        for (int i = 0; i < n; ++i) {
          auto got = f.peer.take_request(r);
          if (!got.ok() || !*got) break;
          if (!f.peer.put_response(Rsp{r.id, 0})) break;
        }
        if (in.ConsumeBool()) f.peer.push_responses();
        else (void)f.peer.push_responses_and_check_notify();
        break;
      }
      case 8: {
        const int n = in.ConsumeIntegralInRange<int>(0, 40);
        for (int i = 0; i < n; ++i) {
          if (!f.ring.put_request(Req{})) break;
          ++f.put;
        }
        f.ring.push_requests();
        f.pushed = f.put;
        break;
      }
      case 9: f.take(); break;
      case 10: {
        auto more = f.ring.final_check_for_responses();
        if (!more.ok()) check(f.ring.broken(), "front: final check error without broken()");
        break;
      }
      case 11: f.unconsumed(); break;
      case 12: hostile_write(in, f.page.get()); break;
      default: {  // the notification rule itself, on arbitrary indices
        const RingIdx o = in.ConsumeIntegral<RingIdx>(), n = in.ConsumeIntegral<RingIdx>(),
                      e = in.ConsumeIntegral<RingIdx>();
        const bool model = o != n && static_cast<std::uint64_t>(static_cast<RingIdx>(e - o - 1)) <
                                         static_cast<std::uint64_t>(static_cast<RingIdx>(n - o));
        check(pvkit::ring::need_notify(o, n, e) == model, "need_notify disagrees with (old, new]");
        break;
      }
    }
    b.after();
    f.after();
  }
  return 0;
}
