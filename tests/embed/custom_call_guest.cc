// custom_call_guest — a PV guest kernel for //tests/embed: calls the embedder's hypercall 56
// (answer_op, added to the PC hypervisor's table by custom_call_image.cc) with good and
// hostile arguments, checks a number nobody handles still answers -ENOSYS and that Xen's own
// calls still work, then powers off. The last line is "custom: SUCCESS" or
// "custom: FAILURE (...)".
#include <cstdint>

#include "pvkit/guest/console.h"
#include "pvkit/guest/hypercall.h"
#include "pvkit/guest/runtime.h"
#include "pvkit/guest/start_info.h"

namespace g = pvkit::guest;

namespace {

constexpr std::uint32_t kAnswerOp = 56;
int g_failures = 0;

void expect(const char* what, long got, long want) {
  if (got == want) {
    g::print("custom: ok   %s = %ld\n", what, got);
  } else {
    g::print("custom: FAIL %s = %ld, expected %ld\n", what, got, want);
    ++g_failures;
  }
}

}  // namespace

int guest_main(const g::xen::StartInfo& si) {
  if (!g::start_info_magic_ok(si)) {
    g::print("custom: FAILURE (start_info magic)\n");
    return 1;
  }
  expect("answer_op(40, 2)", g::hypercall<kAnswerOp>(40, 2, 0), 42);
  std::uint64_t out = 0;
  expect("answer_op(1, 2, &out)", g::hypercall<kAnswerOp>(1, 2, reinterpret_cast<std::uint64_t>(&out)), 3);
  expect("... and out", static_cast<long>(out), 3);
  expect("answer_op(5000, 1): operand out of range", g::hypercall<kAnswerOp>(5000, 1, 0), -22);
  expect("answer_op(1, 2, hypervisor address)", g::hypercall<kAnswerOp>(1, 2, 0xFFFF82D000100000), -14);
  expect("answer_op(1, 2, unmapped address)", g::hypercall<kAnswerOp>(1, 2, 0x1000), -14);
  expect("hypercall 57 (no handler)", g::hypercall<57>(1, 2, 3), -38);
  // Many calls: the fast path (SYSRET straight from the entry) with the embedder's table.
  long sum = 0;
  for (long i = 0; i < 1000; ++i) sum += g::hypercall<kAnswerOp>(i % 1000, 1, 0);
  expect("1000 answer_op calls", sum, 500500);
  expect("xen_version still answers", g::HYPERVISOR_xen_version(0, nullptr), (4 << 16) | 17);
  if (g_failures != 0) {
    g::print("custom: FAILURE (%d checks)\n", g_failures);
    return 1;
  }
  g::print("custom: SUCCESS\n");
  return 0;
}
