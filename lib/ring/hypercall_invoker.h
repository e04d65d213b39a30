// pvkit/ring/hypercall_invoker.h — how guest-side split-driver ops make a hypercall.
//
// What it is: the `HypercallInvoker` concept: `h.hypercall(args)` issues hypercall `args.nr`
// with arguments `args.a[0..4]` (RDI RSI RDX R10 R8) and returns RAX. In a PV guest kernel it
// calls through the hypercall page; on the host, tests implement it by handing the same
// HypercallArgs to a pvkit handler (e.g. pvkit::event::EventChannelOp::call), so the guest
// code path and the hypervisor code path meet at the real ABI. Pointer arguments are guest
// virtual addresses of structs in the caller's memory.
//
// `status_from_rax` turns a returned RAX into a Status: 0 (or any non-negative value) is ok,
// -errno is that Errno.
//
// How to use it: constrain a template parameter with it; see guest_event_ops.h.
//
// Concurrency: defined by the implementation (a hypercall runs on the calling vCPU).
#pragma once

#include <concepts>
#include <cstdint>

#include "pvkit/base/status.h"
#include "pvkit/hypercall/args.h"

namespace pvkit::ring {

/// How guest-side code makes a hypercall (see the file comment).
template <typename H>
concept HypercallInvoker = requires(H& h, HypercallArgs& args) {
  { h.hypercall(args) } -> std::same_as<std::int64_t>;
};

/// RAX -> Status: negative values are -errno.
[[nodiscard]] constexpr Status status_from_rax(std::int64_t rax) {
  if (rax >= 0) return Status::ok();
  if (rax < -4095) return Errno::Io;  // not an errno: a broken hypervisor or invoker
  return static_cast<Errno>(static_cast<std::int32_t>(-rax));
}

}  // namespace pvkit::ring
