// pvkit/hypercall/arg_view.h — typed, named views of a handler's argument registers.
//
// What it is: small structs that read `HypercallArgs::a[]` with the names and C types of
// Xen's prototypes, so handlers never index raw registers. Each view has
//   static View from(const HypercallArgs&);   // decode (C-typed truncation, as Xen does)
//   void store(HypercallArgs&) const;         // encode back, for continuations
// Register widths follow Xen's x86-64 prototypes: an `unsigned int`/`int` parameter uses only
// the low 32 bits of its register (the upper half is ignored, exactly as in Xen); a pointer
// or `unsigned long` uses all 64 bits. Views never validate: handlers do, on the decoded copy.
//
// How to use it:
//   auto v = MmuBatchArgs<xen::MmuUpdate>::from(args);
//   GuestArray<xen::MmuUpdate> reqs{v.reqs, v.count & ~kPreemptedBit};
//   ... on preemption: v.reqs = advanced; v.count = remaining | kPreemptedBit; v.store(args);
//
// Concurrency: value types only.
#pragma once

#include <cstdint>

#include "pvkit/base/guest_memory.h"
#include "pvkit/base/types.h"
#include "pvkit/hypercall/args.h"

namespace pvkit {

namespace hcarg {

/// Low 32 bits of argument register `i` (an `unsigned int` parameter).
[[nodiscard]] constexpr std::uint32_t u32(const HypercallArgs& r, unsigned i) {
  return static_cast<std::uint32_t>(r.a[i]);
}
/// Argument register `i` as a signed 32-bit `int` parameter.
[[nodiscard]] constexpr std::int32_t i32(const HypercallArgs& r, unsigned i) {
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(r.a[i]));
}
/// Argument register `i` as a guest virtual address.
[[nodiscard]] constexpr VirtAddr va(const HypercallArgs& r, unsigned i) {
  return VirtAddr{r.a[i]};
}
/// Argument register `i` as XEN_GUEST_HANDLE(T).
template <typename T>
[[nodiscard]] constexpr GuestHandle<T> handle(const HypercallArgs& r, unsigned i) {
  return GuestHandle<T>{VirtAddr{r.a[i]}};
}

}  // namespace hcarg

/// `HYPERVISOR_xxx(int cmd, void *arg)`: xen_version, sched_op, event_channel_op, physdev_op,
/// callback_op, ... `arg`'s type depends on `cmd`: build `GuestHandle<T>{arg}` per sub-op.
struct CmdArgs {
  std::uint32_t cmd = 0;  ///< RDI (int)
  VirtAddr arg{};         ///< RSI

  /// Decodes (int cmd, void *arg) from the registers.
  [[nodiscard]] static constexpr CmdArgs from(const HypercallArgs& r) {
    return {hcarg::u32(r, 0), hcarg::va(r, 1)};
  }
  /// Writes the arguments back (for a continuation).
  constexpr void store(HypercallArgs& r) const {
    r.a[0] = cmd;
    r.a[1] = arg.value();
  }
};

/// `HYPERVISOR_memory_op(unsigned long cmd, void *arg)`: `cmd` keeps all 64 bits, because its
/// bits above the sub-op (MEMOP_EXTENT_SHIFT = 6) encode continuation progress.
struct LongCmdArgs {
  std::uint64_t cmd = 0;  ///< RDI (unsigned long)
  VirtAddr arg{};         ///< RSI

  /// Decodes (unsigned long cmd, void *arg) from the registers.
  [[nodiscard]] static constexpr LongCmdArgs from(const HypercallArgs& r) {
    return {r.a[0], hcarg::va(r, 1)};
  }
  /// Writes the arguments back (for a continuation).
  constexpr void store(HypercallArgs& r) const {
    r.a[0] = cmd;
    r.a[1] = arg.value();
  }
};

/// `HYPERVISOR_grant_table_op(unsigned int cmd, void *uop, unsigned int count)`: the bits of
/// `cmd` above the sub-op (GNTTABOP_CONT_SHIFT = 12) encode continuation progress.
struct CmdArrayArgs {
  std::uint32_t cmd = 0;    ///< RDI
  VirtAddr uop{};           ///< RSI
  std::uint32_t count = 0;  ///< RDX

  /// Decodes (unsigned int cmd, void *uop, unsigned int count) from the registers.
  [[nodiscard]] static constexpr CmdArrayArgs from(const HypercallArgs& r) {
    return {hcarg::u32(r, 0), hcarg::va(r, 1), hcarg::u32(r, 2)};
  }
  /// Writes the arguments back (for a continuation).
  constexpr void store(HypercallArgs& r) const {
    r.a[0] = cmd;
    r.a[1] = uop.value();
    r.a[2] = count;
  }
};

/// `HYPERVISOR_vcpu_op(int cmd, unsigned int vcpuid, void *extra_args)`.
struct VcpuOpArgs {
  std::uint32_t cmd = 0;  ///< RDI
  VcpuId vcpu{};          ///< RSI (unsigned int)
  VirtAddr arg{};         ///< RDX

  /// Decodes (int cmd, unsigned int vcpuid, void *extra_args) from the registers.
  [[nodiscard]] static constexpr VcpuOpArgs from(const HypercallArgs& r) {
    return {hcarg::u32(r, 0), VcpuId{hcarg::u32(r, 1)}, hcarg::va(r, 2)};
  }
  /// Writes the arguments back (for a continuation).
  constexpr void store(HypercallArgs& r) const {
    r.a[0] = cmd;
    r.a[1] = vcpu.value();
    r.a[2] = arg.value();
  }
};

/// `HYPERVISOR_mmu_update(const mmu_update_t reqs[], unsigned int count, unsigned int *done,
/// unsigned int foreigndom)` and `HYPERVISOR_mmuext_op` (same register shape), generic over
/// the request type so lib/mm keeps its own ABI struct. The continuation convention (Xen's
/// MMU_UPDATE_PREEMPTED) is the top bit of `count`: see kPreemptedBit.
template <typename Req>
struct MmuBatchArgs {
  /// Set in `count` by a continuation: `done` already holds the progress so far.
  static constexpr std::uint32_t kPreemptedBit = 0x80000000u;

  GuestHandle<Req> reqs{};                 ///< RDI
  std::uint32_t count = 0;                 ///< RSI
  GuestHandle<std::uint32_t> pdone{};      ///< RDX (may be null)
  std::uint32_t foreigndom = 0;            ///< R10 (unsigned int; see foreign_domid())

  /// Decodes (void *reqs, unsigned int count, unsigned int *pdone, domid_t foreigndom).
  [[nodiscard]] static constexpr MmuBatchArgs from(const HypercallArgs& r) {
    return {hcarg::handle<Req>(r, 0), hcarg::u32(r, 1), hcarg::handle<std::uint32_t>(r, 2),
            hcarg::u32(r, 3)};
  }
  /// Writes the arguments back (for a continuation).
  constexpr void store(HypercallArgs& r) const {
    r.a[0] = reqs.addr.value();
    r.a[1] = count;
    r.a[2] = pdone.addr.value();
    r.a[3] = foreigndom;
  }
  /// The foreign domain as domid_t. Xen passes the `unsigned int` to a domid_t parameter,
  /// i.e. keeps the low 16 bits; a handler that prefers to refuse values above 0xFFFF can
  /// test `foreigndom` itself.
  [[nodiscard]] constexpr DomId foreign_domid() const {
    return DomId{static_cast<std::uint16_t>(foreigndom)};
  }
  /// True if `count` carries the continuation marker (kPreemptedBit).
  [[nodiscard]] constexpr bool preempted() const { return (count & kPreemptedBit) != 0; }
  /// The number of requests still to do (count without the marker).
  [[nodiscard]] constexpr std::uint32_t remaining() const { return count & ~kPreemptedBit; }
};

/// `HYPERVISOR_update_va_mapping(unsigned long va, u64 val, unsigned long flags)`.
struct UpdateVaMappingArgs {
  VirtAddr va{};            ///< RDI
  std::uint64_t val = 0;    ///< RSI (the new PTE)
  std::uint64_t flags = 0;  ///< RDX (UVMF_*)

  /// Decodes (unsigned long va, uint64_t val, unsigned long flags).
  [[nodiscard]] static constexpr UpdateVaMappingArgs from(const HypercallArgs& r) {
    return {hcarg::va(r, 0), r.a[1], r.a[2]};
  }
  /// Writes the arguments back (for a continuation).
  constexpr void store(HypercallArgs& r) const {
    r.a[0] = va.value();
    r.a[1] = val;
    r.a[2] = flags;
  }
};

}  // namespace pvkit
