// pvkit/platforms/pc/hv/basic_calls.h — console_io and xen_version for the PC hypervisor, and
// each domain's console sink.
//
// What it is: `GuestConsole`, a domain's console_io sink: bytes are collected into lines that
// go to the serial log prefixed "(dN) "; the hypervisor also notes the lines that report a
// result ("<name>: SUCCESS"/"FAILURE", "[refused]"/"[ACCEPTED]" attacks); lib/hypercall's
// ConsoleIo writes into it. `kPcVersionInfo` is what XENVER_* report. `PcMulticall` runs
// lib/hypercall's Multicall in basic_calls.cc, dispatching each entry back through the full
// table (type-erased, so the table's thunks are instantiated once).
// How to use it: put ConsoleIo, XenVersion and PcMulticall in the table; the context offers
// `console()` -> GuestConsole&, `is_privileged()` and `xen_version_info()`.
// Concurrency: per-vCPU.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "pvkit/base/types.h"
#include "pvkit/hypercall/args.h"
#include "pvkit/hypercall/xen_version.h"
#include "pvkit/xen/hypercall_numbers.h"

namespace pvkit::pc {

struct GuestConsole {
  DomId id{};
  std::array<char, 200> line{};
  std::size_t len = 0;
  std::uint32_t refused = 0, accepted = 0;
  bool success = false, failure = false;
  void write(std::span<const char> s);
  std::size_t read(std::span<char>) { return 0; }
  bool accepts_unprivileged_writes() { return true; }
  /// Prints the partial line, if any.
  void flush();
};

/// What XENVER_* report: 4.17.0-pvkit, x86-64 PV (constant).
inline constexpr XenVersionInfo kPcVersionInfo{};

/// A nested hypercall of a multicall: dispatched through the caller's composed table.
using InnerDispatch = std::int64_t (*)(void* ctx, HypercallArgs& args);
/// lib/hypercall's Multicall, with its entries dispatched through `dispatch(ctx, entry)`.
std::int64_t multicall_call(void* ctx, InnerDispatch dispatch, HypercallArgs& args);

/// HYPERVISOR_multicall (13): lib/hypercall's Multicall over the whole table (type-erased,
/// so its body is compiled once, in basic_calls.cc).
struct PcMulticall {
  static constexpr std::uint32_t kNumber = xen::hc::kMulticall;
  static constexpr const char* kName = "multicall";
  template <typename Table, typename Ctx>
  static std::int64_t call_in(Ctx& ctx, HypercallArgs& args) {
    return multicall_call(
        &ctx, [](void* c, HypercallArgs& a) -> std::int64_t { return Table::dispatch(*static_cast<Ctx*>(c), a); },
        args);
  }
};

}  // namespace pvkit::pc
