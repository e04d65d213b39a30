// Compiled for the bare-metal platform too: proves pvkit/ring needs no hosted library.
#include <cstdint>

#include "pvkit/ring/back_ring.h"
#include "pvkit/ring/front_ring.h"

namespace pvkit::ring {
namespace {
struct FsReq { std::uint64_t id; std::uint32_t len; };
struct FsRsp { std::uint64_t id; std::int16_t status; };
}  // namespace

// One round trip through both halves on one page.
Result<std::uint64_t> freestanding_check_ring(void* page) {
  FrontRing<FsReq, FsRsp> front;
  BackRing<FsReq, FsRsp> back;
  if (auto s = front.init(page, 4096); !s) return s;
  if (auto s = back.attach(page, 4096); !s) return s;
  if (auto s = front.put_request(FsReq{1, 2}); !s) return s;
  (void)front.push_requests_and_check_notify();
  FsReq req{};
  auto got = back.take_request(req);
  if (!got) return got.status();
  if (auto s = back.put_response(FsRsp{req.id, 0}); !s) return s;
  (void)back.push_responses_and_check_notify();
  FsRsp rsp{};
  auto r = front.take_response(rsp);
  if (!r) return r.status();
  return rsp.id;
}
}  // namespace pvkit::ring
