// pvkit/mm/mm_context.h — what the memory-management hypercall handlers need from the
// per-call context, and the helpers they share (owner resolution, vCPU masks, continuations).
//
// What it is: the `MmHypercallContext` concept:
//   ctx.guest_memory()     -> a GuestMemory&         (the caller's address space)
//   ctx.current_domain()   -> DomId
//   ctx.current_vcpu()     -> VcpuId
//   ctx.mm()               -> the PageTableVerifier& (pvkit/mm/verifier.h)
//   ctx.domains()          -> a DomainDirectory&     (DomId -> Domain*, for foreigndom)
// and optionally `bool hypercall_preempt_check()` (pending work: yield between requests).
//
// How to use it: a platform's context type satisfies it; tests use a small struct.
//
// Concurrency: a context serves one vCPU for one hypercall. Handlers take the verifier's lock
// per request and never hold it across a guest-memory copy.
#pragma once

#include <concepts>
#include <cstdint>
#include <type_traits>

#include "pvkit/base/guest_memory.h"
#include "pvkit/base/status.h"
#include "pvkit/base/types.h"
#include "pvkit/domain/domain.h"
#include "pvkit/domain/domain_table.h"
#include "pvkit/mm/mm_platform.h"

namespace pvkit {

/// What the memory-management handlers need from the per-call context (see the file comment).
template <typename C>
concept MmHypercallContext = requires(C& c, DomId id) {
  requires GuestMemory<std::remove_cvref_t<decltype(c.guest_memory())>>;
  { c.current_domain() } -> std::same_as<DomId>;
  { c.current_vcpu() } -> std::same_as<VcpuId>;
  { c.mm().lock() };
  { c.mm().begin_call() };
  requires DomainDirectory<std::remove_cvref_t<decltype(c.domains())>>;
};

namespace mm_detail {

/// True if the platform asks long work to yield now (optional accessor).
template <typename Ctx>
bool preempt_requested(Ctx& ctx) {
  if constexpr (requires { { ctx.hypercall_preempt_check() } -> std::same_as<bool>; }) {
    return ctx.hypercall_preempt_check();
  } else {
    return false;
  }
}

/// Resolves a 16-bit domain id given by the caller: DOMID_SELF is the caller; the caller's own
/// id given explicitly is refused (Srch, as Xen does); an unknown domain is Srch; a domain
/// the caller may not act on is Perm. DOMID_IO/XEN are not supported (Srch).
template <typename Dir>
Result<Domain*> resolve_owner(Dir& dir, Domain& cur, std::uint16_t id) {
  if (id == kDomidSelf.value()) return &cur;
  if (id == cur.id.value() || id >= kDomidFirstReserved) return Errno::Srch;
  Domain* d = dir.find(DomId{id});
  if (d == nullptr) return Errno::Srch;
  if (!cur.can_act_on(*d)) return Errno::Perm;
  return d;
}

/// Reads a guest vCPU bitmap (unsigned longs) covering `d`'s vCPUs. Errors: Fault.
template <typename Mem>
Result<VcpuMask> read_vcpu_mask(Mem& mem, std::uint64_t ptr, const Domain& d) {
  VcpuMask mask;
  GuestArray<std::uint64_t> words{{VirtAddr{ptr}}, (d.nr_vcpus + 63) / 64};
  for (std::uint64_t i = 0; i < words.count && i < mask.bits.size(); ++i) {
    std::uint64_t w = 0;
    if (Status s = words.read(mem, i, w); !s) return s;
    const std::uint32_t base = static_cast<std::uint32_t>(i * 64);
    if (d.nr_vcpus - base < 64) w &= (std::uint64_t{1} << (d.nr_vcpus - base)) - 1;
    mask.bits[i] = w;
  }
  return mask;
}

}  // namespace mm_detail
}  // namespace pvkit
