// Compiled for the bare-metal platform too: proves pvkit/base needs no hosted library.
#include "pvkit/base/guest_memory.h"
#include "pvkit/base/page_allocator.h"
#include "pvkit/base/spinlock.h"
#include "pvkit/base/status.h"
#include "pvkit/base/types.h"

namespace pvkit {
Result<VirtAddr> freestanding_check_base(VirtAddr b, std::uint64_t i) {
  static SpinLock lock;
  LockGuard g(lock);
  return guest_element_address(b, i, 8);
}
}  // namespace pvkit
