// crasher — a guest kernel that crashes on purpose.
//
// It registers no trap table, so the first exception it takes cannot be bounced to a guest
// handler and the hypervisor must kill the domain (Xen: domain_crash) while every other domain
// runs on. The command line picks the fault (default `crash=null`):
//   null         write to virtual address 0 (unmapped: #PF)
//   ud2          undefined instruction (#UD)
//   int3         breakpoint (#BP)
//   divide       integer divide by zero (#DE)
//   noncanonical load from 0x8000000000000000 (#GP)
// It prints "crasher: about to <mode>" first; if it is still alive afterwards it prints
// "crasher: FAILURE (still running)" and shuts down with SHUTDOWN_crash.
#include <cstdint>

#include "pvkit/guest/console.h"
#include "pvkit/guest/runtime.h"
#include "pvkit/guest/start_info.h"

namespace g = pvkit::guest;

namespace {

void fault(const g::CmdlineValue& mode) {
  if (g::cmdline_equals(mode, "ud2")) {
    asm volatile("ud2");
  } else if (g::cmdline_equals(mode, "int3")) {
    asm volatile("int3");
  } else if (g::cmdline_equals(mode, "divide")) {
    std::uint64_t zero = 0;
    asm volatile("xorl %%edx, %%edx\n\tmovl $1, %%eax\n\tdivq %0" : "+r"(zero) : : "rax", "rdx");
  } else if (g::cmdline_equals(mode, "noncanonical")) {
    std::uint64_t out;
    asm volatile("movabsq $0x8000000000000000, %%rax\n\tmovq (%%rax), %0" : "=r"(out) : : "rax", "memory");
  } else {
    asm volatile("xorl %%eax, %%eax\n\tmovl $1, (%%rax)" : : : "rax", "memory");
  }
}

}  // namespace

int guest_main(const g::xen::StartInfo& si) {
  const char* name = "null";
  g::CmdlineValue mode{name, 4};
  if (auto v = g::cmdline_value(si, "crash")) mode = *v;
  char shown[24] = {};
  for (std::size_t i = 0; i < mode.size && i + 1 < sizeof(shown); ++i) shown[i] = mode.data[i];
  g::print("crasher: about to %s\n", shown);
  fault(mode);
  g::print("crasher: FAILURE (still running after %s)\n", shown);
  return 1;
}
