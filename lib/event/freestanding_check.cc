// Compiled for the bare-metal platform too: proves pvkit/event needs no hosted library.
// Instantiates EventChannels and the event_channel_op handler with a tiny freestanding policy.
#include <cstddef>
#include <cstdint>

#include "pvkit/base/guest_memory.h"
#include "pvkit/event/event_channels.h"
#include "pvkit/event/evtchn_op.h"

namespace pvkit::event {
namespace {

// A fixed pool of pages and no guest frames: enough to instantiate every code path.
struct TinyPlatform {
  alignas(4096) std::uint8_t pool[4][4096] = {};
  bool used[4] = {};
  void* alloc_page() {
    for (int i = 0; i < 4; ++i) {
      if (!used[i]) {
        used[i] = true;
        for (auto& b : pool[i]) b = 0;
        return pool[i];
      }
    }
    return nullptr;
  }
  void free_page(void* p) {
    for (int i = 0; i < 4; ++i) {
      if (p == pool[i]) used[i] = false;
    }
  }
  Result<void*> map_guest_frame(DomId, Gfn) { return Errno::Inval; }
  void unmap_guest_frame(DomId, void*) {}
  void kick(DomId, VcpuId) {}
  bool pirq_permitted(DomId, std::uint32_t) { return false; }
};
static_assert(EventPlatform<TinyPlatform>);

struct NoMemory {
  Status copy_from_guest(void*, VirtAddr, std::size_t) { return Errno::Fault; }
  Status copy_to_guest(VirtAddr, const void*, std::size_t) { return Errno::Fault; }
};

using Events = EventChannels<TinyPlatform, 2, 2>;

struct Ctx {
  NoMemory* mem;
  Events* ev;
  NoMemory& guest_memory() { return *mem; }
  DomId current_domain() { return DomId{0}; }
  VcpuId current_vcpu() { return VcpuId{0}; }
  Events& evtchn() { return *ev; }
};
static_assert(EvtchnHypercallContext<Ctx>);

// No static constructors: the whole object is constant-initialised, as a kernel global.
constinit TinyPlatform platform{};
constinit Events events{platform};
constinit NoMemory mem{};

}  // namespace

std::int64_t freestanding_check_event(HypercallArgs& args, void* shared_info) {
  (void)events.domain_create(DomId{0}, {.nr_vcpus = 1, .shared_info = shared_info});
  auto p = events.bind_ipi(DomId{0}, VcpuId{0});
  if (p) (void)events.send(DomId{0}, *p);
  events.raise_virq(DomId{0}, VcpuId{0}, xen::kVirqTimer);
  Ctx ctx{&mem, &events};
  const std::int64_t rc = EventChannelOp::call(ctx, args);
  while (events.domain_destroy(DomId{0}).is_restart()) {
  }
  return rc;
}

}  // namespace pvkit::event
