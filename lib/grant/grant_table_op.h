// pvkit/grant/grant_table_op.h — the grant_table_op hypercall (number 20) handler.
//
// What it is: `GrantTableOp`, a handler type of the dispatcher's shape (kNumber, kName,
// call<Ctx>), and `GrantHypercallContext`, what it needs from the per-call context:
//   ctx.guest_memory()   -> a GuestMemory&        (the caller's address space)
//   ctx.current_domain() -> DomId                 (the caller)
//   ctx.grant_tables()   -> GrantTables<...>&     (this hypervisor's grant tables)
//   optional: ctx.current_vcpu() -> VcpuId          (whose page tables host VAs refer to;
//             vCPU 0 when absent)
//   optional: ctx.hypercall_preempt_check() -> bool (yield early when true)
// Arguments as Xen: a[0] = cmd (sub-op in bits 0-11; bits >= 12 are Xen's continuation
// field, GNTTABOP_CONT_SHIFT, unused by these sub-ops and so must be zero: -EINVAL),
// a[1] = guest handle of the request array, a[2] = count (negative as int32: -EINVAL).
// Batched sub-ops (map, unmap, copy, transfer, swap) process at most Limits::kOpsPerCall
// elements per invocation (invariant 6), writing each element's status as they go
// (invariant 25), then continue exactly as Xen does: the handle is advanced past the
// elements done, count reduced, and -ERESTART returned for the dispatcher to re-execute.
// Single-element sub-ops require count == 1. Unknown sub-ops (and dump_table,
// unmap_and_replace, cache_flush) answer -ENOSYS with no side effect.
//
// How to use it: compose `GrantTableOp` into the dispatcher's table; tests call
// `GrantTableOp::call(ctx, args)` directly.
//
// Concurrency: stateless; everything shared is in GrantTables.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "pvkit/base/guest_memory.h"
#include "pvkit/base/status.h"
#include "pvkit/base/types.h"
#include "pvkit/grant/grant_tables.h"
#include "pvkit/grant/xen_abi.h"
#include "pvkit/hypercall/args.h"

namespace pvkit {

/// What GrantTableOp needs from the per-call context.
template <typename Ctx>
concept GrantHypercallContext = requires(Ctx& ctx) {
  { ctx.current_domain() } -> std::same_as<DomId>;
  requires std::is_lvalue_reference_v<decltype(ctx.guest_memory())>;
  requires GuestMemory<std::remove_cvref_t<decltype(ctx.guest_memory())>>;
  requires std::is_lvalue_reference_v<decltype(ctx.grant_tables())>;
  typename std::remove_cvref_t<decltype(ctx.grant_tables())>::Limits;
};

namespace grant_detail {

inline constexpr std::int64_t kRestart = Status{Errno::Restart}.guest_value();

/// The calling vCPU if the context knows it (host VAs are looked up in its page tables).
template <typename Ctx>
VcpuId calling_vcpu(Ctx& ctx) {
  if constexpr (requires { { ctx.current_vcpu() } -> std::convertible_to<VcpuId>; }) {
    return ctx.current_vcpu();
  } else {
    return VcpuId{0};
  }
}

template <typename Ctx>
bool preempt_requested(Ctx& ctx) {
  if constexpr (requires { { ctx.hypercall_preempt_check() } -> std::same_as<bool>; }) {
    return ctx.hypercall_preempt_check();
  } else {
    return false;
  }
}

/// Writes one field of element `i` back to the guest.
template <typename T, typename F, typename M>
Status put_field(M& mem, const GuestArray<T>& arr, std::uint64_t i, std::size_t off, const F& v) {
  if (i >= arr.count) return Errno::Fault;
  return arr.handle.template write_field<F>(mem, i, off, v);
}

/// Continuation for batched sub-ops: advance the handle past `done` elements, reduce count.
template <typename T>
std::int64_t continue_after(HypercallArgs& args, std::uint32_t count, std::uint32_t done) {
  args.a[1] += static_cast<std::uint64_t>(done) * sizeof(T);
  args.a[2] = count - done;
  return kRestart;
}

/// Runs `one(arr, i)` for each element, bounded per invocation.
template <typename T, typename Limits, typename Ctx, typename Fn>
std::int64_t run_batch(Ctx& ctx, HypercallArgs& args, std::uint32_t count, Fn&& one) {
  const GuestArray<T> arr{{VirtAddr{args.a[1]}}, count};
  for (std::uint32_t i = 0; i < count; ++i) {
    if (i != 0 && (i >= Limits::kOpsPerCall || preempt_requested(ctx))) {
      return continue_after<T>(args, count, i);
    }
    if (Status s = one(arr, i); !s) return s.guest_value();
  }
  return 0;
}

template <typename Ctx>
std::int64_t do_map(Ctx& ctx, HypercallArgs& args, std::uint32_t count) {
  auto& gt = ctx.grant_tables();
  using GT = std::remove_cvref_t<decltype(gt)>;
  auto& mem = ctx.guest_memory();
  const DomId me = ctx.current_domain();
  return run_batch<xen::GnttabMapGrantRef, typename GT::Limits>(
      ctx, args, count, [&](const GuestArray<xen::GnttabMapGrantRef>& arr, std::uint32_t i) -> Status {
        xen::GnttabMapGrantRef op{};
        if (Status s = arr.read(mem, i, op); !s) return s;
        GrantHandle h{};
        std::uint64_t bus = 0;
        const GrantStatus st = gt.map(me, op, h, bus, calling_vcpu(ctx));
        op.status = guest_value(st);
        op.handle = h.value();
        op.dev_bus_addr = bus;
        return arr.write(mem, i, op);
      });
}

template <typename Ctx>
std::int64_t do_unmap(Ctx& ctx, HypercallArgs& args, std::uint32_t count) {
  auto& gt = ctx.grant_tables();
  using GT = std::remove_cvref_t<decltype(gt)>;
  using Lim = typename GT::Limits;
  auto& mem = ctx.guest_memory();
  const DomId me = ctx.current_domain();
  const GuestArray<xen::GnttabUnmapGrantRef> arr{{VirtAddr{args.a[1]}}, count};
  // Deliberately not zero-filled (up to 32 x 26 bytes per call): ops[0..n) is read from the
  // guest and st[0..n) written by unmap_batch before either is used.
  std::array<xen::GnttabUnmapGrantRef, Lim::kUnmapBatch> ops;
  std::array<GrantStatus, Lim::kUnmapBatch> st;
  std::uint32_t done = 0;
  while (done < count) {
    if (done != 0 && (done >= Lim::kOpsPerCall || preempt_requested(ctx))) {
      return continue_after<xen::GnttabUnmapGrantRef>(args, count, done);
    }
    std::uint32_t n = 0;
    Status fault = Status::ok();
    while (n < Lim::kUnmapBatch && done + n < count) {
      if (Status s = arr.read(mem, done + n, ops[n]); !s) {
        fault = s;
        break;
      }
      ++n;
    }
    gt.unmap_batch(me, std::span<const xen::GnttabUnmapGrantRef>(ops.data(), n),
                   std::span<GrantStatus>(st.data(), n), calling_vcpu(ctx));
    for (std::uint32_t k = 0; k < n; ++k) {
      const std::int16_t v = guest_value(st[k]);
      if (Status s = put_field(mem, arr, done + k, offsetof(xen::GnttabUnmapGrantRef, status), v); !s) {
        return s.guest_value();
      }
    }
    if (!fault) return fault.guest_value();
    done += n;
  }
  return 0;
}

template <typename Ctx>
std::int64_t do_copy(Ctx& ctx, HypercallArgs& args, std::uint32_t count) {
  auto& gt = ctx.grant_tables();
  using GT = std::remove_cvref_t<decltype(gt)>;
  auto& mem = ctx.guest_memory();
  const DomId me = ctx.current_domain();
  return run_batch<xen::GnttabCopy, typename GT::Limits>(
      ctx, args, count, [&](const GuestArray<xen::GnttabCopy>& arr, std::uint32_t i) -> Status {
        xen::GnttabCopy op{};
        if (Status s = arr.read(mem, i, op); !s) return s;
        const std::int16_t v = guest_value(gt.copy(me, op));
        return put_field(mem, arr, i, offsetof(xen::GnttabCopy, status), v);
      });
}

template <typename Ctx>
std::int64_t do_transfer(Ctx& ctx, HypercallArgs& args, std::uint32_t count) {
  auto& gt = ctx.grant_tables();
  using GT = std::remove_cvref_t<decltype(gt)>;
  auto& mem = ctx.guest_memory();
  const DomId me = ctx.current_domain();
  return run_batch<xen::GnttabTransfer, typename GT::Limits>(
      ctx, args, count, [&](const GuestArray<xen::GnttabTransfer>& arr, std::uint32_t i) -> Status {
        xen::GnttabTransfer op{};
        if (Status s = arr.read(mem, i, op); !s) return s;
        const std::int16_t v = guest_value(gt.transfer(me, op.mfn, DomId{op.domid}, GrantRef{op.ref}));
        return put_field(mem, arr, i, offsetof(xen::GnttabTransfer, status), v);
      });
}

template <typename Ctx>
std::int64_t do_swap(Ctx& ctx, HypercallArgs& args, std::uint32_t count) {
  auto& gt = ctx.grant_tables();
  using GT = std::remove_cvref_t<decltype(gt)>;
  auto& mem = ctx.guest_memory();
  const DomId me = ctx.current_domain();
  return run_batch<xen::GnttabSwapGrantRef, typename GT::Limits>(
      ctx, args, count, [&](const GuestArray<xen::GnttabSwapGrantRef>& arr, std::uint32_t i) -> Status {
        xen::GnttabSwapGrantRef op{};
        if (Status s = arr.read(mem, i, op); !s) return s;
        const std::int16_t v = guest_value(gt.swap(me, GrantRef{op.ref_a}, GrantRef{op.ref_b}));
        return put_field(mem, arr, i, offsetof(xen::GnttabSwapGrantRef, status), v);
      });
}

/// setup_table and get_status_frames: status, then the frame list element by element.
template <typename Op, typename Ctx, typename Fn>
std::int64_t do_frame_list(Ctx& ctx, HypercallArgs& args, Fn&& query) {
  auto& gt = ctx.grant_tables();
  using GT = std::remove_cvref_t<decltype(gt)>;
  auto& mem = ctx.guest_memory();
  const GuestArray<Op> arr{{VirtAddr{args.a[1]}}, 1};
  Op op{};
  if (Status s = arr.read(mem, 0, op); !s) return s.guest_value();
  std::array<Mfn, GT::Limits::kMaxGrantFrames> frames{};
  GrantStatus st = query(gt, op, std::span<Mfn>(frames));
  if (st == GrantStatus::Okay) {
    const GuestArray<std::uint64_t> list{{VirtAddr{op.frame_list}}, op.nr_frames};
    for (std::uint32_t i = 0; i < op.nr_frames; ++i) {
      if (!list.write(mem, i, frames[i].value())) st = GrantStatus::BadVirtAddr;
    }
  }
  return put_field(mem, arr, 0, offsetof(Op, status), guest_value(st)).guest_value();
}

}  // namespace grant_detail

/// HYPERVISOR_grant_table_op (20).
struct GrantTableOp {
  static constexpr std::uint32_t kNumber = xen::kHypervisorGrantTableOp;
  static constexpr const char* kName = "grant_table_op";

  /// Handles one grant_table_op call (batched sub-ops continue by re-execution).
  template <typename Ctx>
    requires GrantHypercallContext<Ctx>
  static std::int64_t call(Ctx& ctx, HypercallArgs& args) {
    using namespace grant_detail;
    const auto raw_cmd = static_cast<std::uint32_t>(args.a[0]);
    const auto count = static_cast<std::uint32_t>(args.a[2]);
    if (static_cast<std::int32_t>(count) < 0) return Status{Errno::Inval}.guest_value();
    const std::uint32_t cmd = raw_cmd & xen::kGnttabOpCmdMask;
    if ((raw_cmd >> xen::kGnttabOpContShift) != 0) {
      return Status{Errno::Inval}.guest_value();
    }
    auto& gt = ctx.grant_tables();
    auto& mem = ctx.guest_memory();
    const DomId me = ctx.current_domain();
    const std::int64_t einval = Status{Errno::Inval}.guest_value();
    switch (cmd) {
      case xen::kGnttabOpMapGrantRef: return do_map(ctx, args, count);
      case xen::kGnttabOpUnmapGrantRef: return do_unmap(ctx, args, count);
      case xen::kGnttabOpCopy: return do_copy(ctx, args, count);
      case xen::kGnttabOpTransfer: return do_transfer(ctx, args, count);
      case xen::kGnttabOpSwapGrantRef: return do_swap(ctx, args, count);
      case xen::kGnttabOpSetupTable:
        if (count != 1) return einval;
        return do_frame_list<xen::GnttabSetupTable>(
            ctx, args, [&](auto& g, const xen::GnttabSetupTable& op, std::span<Mfn> out) {
              return g.setup_table(me, DomId{op.dom}, op.nr_frames, out);
            });
      case xen::kGnttabOpGetStatusFrames:
        if (count != 1) return einval;
        return do_frame_list<xen::GnttabGetStatusFrames>(
            ctx, args, [&](auto& g, const xen::GnttabGetStatusFrames& op, std::span<Mfn> out) {
              return g.get_status_frames(me, DomId{op.dom}, op.nr_frames, out);
            });
      case xen::kGnttabOpQuerySize: {
        if (count != 1) return einval;
        const GuestArray<xen::GnttabQuerySize> arr{{VirtAddr{args.a[1]}}, 1};
        xen::GnttabQuerySize op{};
        if (Status s = arr.read(mem, 0, op); !s) return s.guest_value();
        op.nr_frames = 0;
        op.max_nr_frames = 0;
        op.status = guest_value(gt.query_size(me, DomId{op.dom}, op.nr_frames, op.max_nr_frames));
        return arr.write(mem, 0, op).guest_value();
      }
      case xen::kGnttabOpSetVersion: {
        if (count != 1) return einval;
        const GuestArray<xen::GnttabSetVersion> arr{{VirtAddr{args.a[1]}}, 1};
        xen::GnttabSetVersion op{};
        if (Status s = arr.read(mem, 0, op); !s) return s.guest_value();
        const Status s = gt.set_version(me, op.version);
        op.version = gt.version(me);  // always report the version now in force
        if (Status w = arr.write(mem, 0, op); !w) return w.guest_value();
        return s.guest_value();
      }
      case xen::kGnttabOpGetVersion: {
        if (count != 1) return einval;
        const GuestArray<xen::GnttabGetVersion> arr{{VirtAddr{args.a[1]}}, 1};
        xen::GnttabGetVersion op{};
        if (Status s = arr.read(mem, 0, op); !s) return s.guest_value();
        Result<std::uint32_t> v = gt.get_version(me, DomId{op.dom});
        if (!v) return v.status().guest_value();
        return put_field(mem, arr, 0, offsetof(xen::GnttabGetVersion, version), *v).guest_value();
      }
      default:
        return Status{Errno::NoSys}.guest_value();
    }
  }
};

}  // namespace pvkit
