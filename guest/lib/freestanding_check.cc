// Compiled for the bare-metal platform too: proves pvkit/guest needs no hosted library.
#include <cstdint>

#include "pvkit/guest/console.h"
#include "pvkit/guest/event_channel.h"
#include "pvkit/guest/event_dispatch.h"
#include "pvkit/guest/events.h"
#include "pvkit/guest/format.h"
#include "pvkit/guest/grant_ops.h"
#include "pvkit/guest/grant_table.h"
#include "pvkit/guest/memory.h"
#include "pvkit/guest/ring_wait.h"
#include "pvkit/guest/split_ring.h"
#include "pvkit/guest/sched.h"
#include "pvkit/guest/start_info.h"

namespace pvkit::guest {
namespace {
void count(xen::EvtchnPort, void* arg) { ++*static_cast<std::uint64_t*>(arg); }
}  // namespace

// Instantiates the templates with small sizes over caller memory.
std::uint64_t freestanding_check_guest(xen::SharedInfo& s, xen::GrantEntryV1* entries,
                                       const xen::StartInfo& si) {
  static constinit EventDispatcher<64> ev;
  static constinit GrantTable<16> gt;
  static constinit std::uint64_t hits = 0;
  (void)ev.bind(3, &count, &hits);
  ev.dispatch(s, s.vcpu_info[0]);
  if (!gt.attach(entries, 16)) return 0;
  auto ref = gt.grant(1, 42, true);
  if (ref) (void)gt.revoke(*ref);
  char buf[32];
  (void)format_buf(buf, sizeof(buf), "%d %s", -5, "x");
  return hits + cmdline_u64(si, "peer").value_or(0);
}
}  // namespace pvkit::guest
