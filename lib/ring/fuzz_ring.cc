// libFuzzer target: both halves of a ring against a peer that writes arbitrary values into the
// shared page between operations (invariant 26). The input is a little program: each step is
// an opcode byte followed by its operands. After every step the honest end's private indices
// must still describe a possible ring (never more outstanding entries than slots, never more
// responses taken than requests published); ASan catches any access outside the page.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "pvkit/ring/back_ring.h"
#include "pvkit/ring/front_ring.h"

namespace {

using pvkit::ring::BackRing;
using pvkit::ring::FrontRing;
using pvkit::ring::RingIdx;

struct Req {
  std::uint64_t id;
  std::uint32_t len;
  std::uint32_t pad;
};
struct Rsp {
  std::uint64_t id;
  std::int32_t status;
  std::uint32_t pad;
};

class Input {
 public:
  Input(const std::uint8_t* d, std::size_t n) : d_(d), n_(n) {}
  bool empty() const { return i_ >= n_; }
  std::uint8_t u8() { return i_ < n_ ? d_[i_++] : 0; }
  std::uint32_t u32() {
    std::uint32_t v = 0;
    for (int k = 0; k < 4; ++k) v |= std::uint32_t{u8()} << (8 * k);
    return v;
  }

 private:
  const std::uint8_t* d_;
  std::size_t n_;
  std::size_t i_ = 0;
};

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  constexpr std::size_t kPage = 4096;
  // Exactly one page each, so ASan reports any access past it.
  auto* back_page = static_cast<unsigned char*>(std::aligned_alloc(kPage, kPage));
  auto* front_page = static_cast<unsigned char*>(std::aligned_alloc(kPage, kPage));
  std::memset(back_page, 0, kPage);
  std::memset(front_page, 0, kPage);
  Input in(data, size);
  const RingIdx start = in.u32();

  // An honest backend facing a hostile frontend, and an honest frontend facing a hostile backend.
  FrontRing<Req, Rsp> setup;
  check(setup.init(back_page, kPage, start).is_ok());
  BackRing<Req, Rsp> back;
  check(back.attach(back_page, kPage, start).is_ok());
  FrontRing<Req, Rsp> front;
  check(front.init(front_page, kPage, start).is_ok());
  const std::uint32_t n = back.size();
  std::uint64_t requests_pushed = 0, responses_taken = 0;
  std::uint64_t requests_taken = 0, responses_put = 0;

  for (int steps = 0; steps < 4096 && !in.empty(); ++steps) {
    const std::uint8_t op = in.u8();
    switch (op % 12) {
      case 0: {  // hostile write of a header word (either page)
        unsigned char* page = (op & 0x10) ? front_page : back_page;
        const std::uint32_t v = in.u32();
        std::memcpy(page + (in.u8() % 4) * 4, &v, 4);
        break;
      }
      case 1: {  // hostile write anywhere in a slot area
        unsigned char* page = (op & 0x10) ? front_page : back_page;
        const std::uint32_t v = in.u32();
        std::memcpy(page + 64 + (in.u32() % (kPage - 64 - 4)), &v, 4);
        break;
      }
      case 2: {
        Req r;
        auto got = back.take_request(r);
        if (got.ok() && *got) ++requests_taken;
        break;
      }
      case 3:
        if (back.put_response(Rsp{in.u8(), 0, 0}).is_ok()) ++responses_put;
        break;
      case 4:
        (void)back.push_responses_and_check_notify();
        break;
      case 5:
        (void)back.final_check_for_requests();
        break;
      case 6:
        (void)back.unconsumed_requests();
        break;
      case 7:
        (void)front.put_request(Req{in.u8(), 0, 0});
        break;
      case 8: {
        const RingIdx before = front.req_prod_pvt();
        (void)front.push_requests_and_check_notify();
        requests_pushed = static_cast<RingIdx>(before - start);
        break;
      }
      case 9: {
        Rsp r;
        auto got = front.take_response(r);
        if (got.ok() && *got) ++responses_taken;
        break;
      }
      case 10:
        (void)front.final_check_for_responses();
        break;
      case 11:
        (void)front.unconsumed_responses();
        break;
    }
    // The honest ends' private state stays possible whatever the peers wrote.
    check(static_cast<RingIdx>(back.req_cons() - back.rsp_prod_pvt()) <= n);
    check(responses_put <= requests_taken);
    check(static_cast<RingIdx>(front.req_prod_pvt() - front.rsp_cons()) <= n);
    check(responses_taken <= requests_pushed);
  }
  std::free(back_page);
  std::free(front_page);
  return 0;
}
