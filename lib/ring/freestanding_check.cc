// Compiled for the bare-metal platform too: proves pvkit/ring (rings and split-driver helpers)
// needs no hosted library.
#include <cstdint>

#include "pvkit/ring/back_ring.h"
#include "pvkit/ring/backend_channel.h"
#include "pvkit/ring/front_ring.h"
#include "pvkit/ring/frontend_channel.h"
#include "pvkit/ring/grant_errno.h"
#include "pvkit/ring/guest_event_ops.h"
#include "pvkit/ring/guest_split_driver_ops.h"

namespace pvkit::ring {
namespace {
struct FsReq { std::uint64_t id; std::uint32_t len; };
struct FsRsp { std::uint64_t id; std::int16_t status; };

// A loopback platform: one page, one grant, one port pair; enough to instantiate both halves.
struct LoopbackOps {
  void* page = nullptr;
  bool granted = false;
  bool mapped = false;
  std::uint32_t notifications = 0;

  Result<GrantRef> grant_access(DomId, Mfn, bool) {
    if (granted) return Errno::NoSpc;
    granted = true;
    return GrantRef{8};
  }
  Status end_access(GrantRef) {
    if (mapped) return Errno::Busy;
    granted = false;
    return Status::ok();
  }
  Result<EvtchnPort> alloc_unbound(DomId) { return EvtchnPort{1}; }
  Status notify(EvtchnPort) {
    ++notifications;
    return Status::ok();
  }
  Status close(EvtchnPort) { return Status::ok(); }
  Result<MappedGrant> map_grant(DomId, GrantRef ref, bool) {
    if (!granted || ref.value() != 8) return errno_from_gntst(xen::GntStatus::BadGntref);
    mapped = true;
    return MappedGrant{page, GrantHandle{0}};
  }
  Status unmap_grant(const MappedGrant&) {
    mapped = false;
    return Status::ok();
  }
  Result<EvtchnPort> bind_interdomain(DomId, EvtchnPort) { return EvtchnPort{2}; }
};
static_assert(FrontendOps<LoopbackOps> && BackendOps<LoopbackOps>);

// A hypercall invoker that answers every call with -ENOSYS (the image supplies a real one).
struct NoHypervisor {
  std::int64_t hypercall(HypercallArgs&) { return Status{Errno::NoSys}.guest_value(); }
};
}  // namespace

// The guest-side event ops compile freestanding too.
Status freestanding_check_guest_event_ops() {
  NoHypervisor h;
  GuestEventOps<NoHypervisor> ev{h};
  auto p = ev.alloc_unbound(DomId{0});
  if (!p) return p.status();
  return ev.notify(*p);
}

// The complete guest ops satisfy both concepts and compile freestanding.
Status freestanding_check_guest_split_driver_ops(xen::GrantEntryV1* table) {
  NoHypervisor h;
  GuestSplitDriverOps<NoHypervisor, 2> ops{h, table, 512, 0x100000};
  static_assert(FrontendOps<decltype(ops)> && BackendOps<decltype(ops)>);
  BackendChannel<GuestSplitDriverOps<NoHypervisor, 2>, FsReq, FsRsp> back;
  return back.connect(ops, DomId{1}, RingAdvertisement{GrantRef{8}, EvtchnPort{1}});
}

// One round trip through both channel halves on one page.
Result<std::uint32_t> freestanding_check_ring(void* page) {
  LoopbackOps ops{page};
  FrontendChannel<LoopbackOps, FsReq, FsRsp> front;
  BackendChannel<LoopbackOps, FsReq, FsRsp> back;
  if (auto s = front.connect(ops, DomId{1}, page, Mfn{0x100}); !s) return s;
  if (auto s = back.connect(ops, DomId{0}, front.advertisement()); !s) return s;
  if (auto s = front.ring().put_request(FsReq{1, 2}); !s) return s;
  if (auto s = front.push_requests_and_notify(); !s) return s;
  auto served = back.process_requests([](const FsReq& r) { return FsRsp{r.id, 0}; }, 8);
  if (!served) return served.status();
  std::uint64_t sum = 0;
  auto got = front.process_responses([&](const FsRsp& r) { sum += r.id; }, 8);
  if (!got) return got.status();
  if (auto s = back.disconnect(); !s) return s;
  if (auto s = front.disconnect(); !s) return s;
  return static_cast<std::uint32_t>(sum) + ops.notifications;
}
}  // namespace pvkit::ring
