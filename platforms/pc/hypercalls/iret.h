// pvkit/platforms/pc/hypercalls/iret.h — HYPERVISOR_iret (23): return from an event upcall or
// a bounced exception.
//
// What it is: the handler reads struct iret_context at the guest's RSP (the hypercall page's
// iret stub pushed RAX, R11 and RCX on top of the frame the callback left) and hands it to the
// platform, which resumes exactly that context: RAX, RIP, RFLAGS, RSP always; R11 and RCX
// unless VGCF_in_syscall; CS/SS are forced to the guest's own selectors and RFLAGS is
// sanitised by the CPU layer (no IOPL, IF always on in ring 3). The upcall mask becomes
// !RFLAGS.IF, as in Xen. A frame that cannot be read crashes the domain (Xen does the same:
// there is nothing sane to return to). The handler's own return value is ignored: the
// platform replaces the whole register state (so even an RAX of -ERESTART reaches the guest
// unchanged).
// How to use it: add `Iret` to the table; the context satisfies IretContext.
// Concurrency: per-vCPU.
#pragma once

#include <concepts>
#include <cstdint>

#include "pvkit/base/guest_memory.h"
#include "pvkit/base/status.h"
#include "pvkit/hypercall/args.h"
#include "pvkit/hypercall/context.h"
#include "pvkit/platforms/pc/hypercalls/xen_abi.h"
#include "pvkit/xen/hypercall_numbers.h"

namespace pvkit::pc {

template <typename Ctx>
concept IretHypercallContext = HasGuestMemory<Ctx> && requires(Ctx& ctx, const xen::IretContext& ic,
                                                               const char* why) {
  { ctx.guest_rsp() } -> std::same_as<std::uint64_t>;
  { ctx.resume_from_iret(ic) } -> std::same_as<void>;
  { ctx.crash_domain(why) } -> std::same_as<void>;
};

struct Iret {
  static constexpr std::uint32_t kNumber = pvkit::xen::hc::kIret;
  static constexpr const char* kName = "iret";

  template <IretHypercallContext Ctx>
  static std::int64_t call(Ctx& ctx, HypercallArgs&) {
    xen::IretContext ic;
    if (!GuestHandle<xen::IretContext>{VirtAddr{ctx.guest_rsp()}}.read(ctx.guest_memory(), 0, ic)) {
      ctx.crash_domain("HYPERVISOR_iret: unreadable iret frame");
      return Status{Errno::Fault}.guest_value();
    }
    ctx.resume_from_iret(ic);
    return 0;
  }
};

}  // namespace pvkit::pc
