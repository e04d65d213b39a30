// pvkit/platforms/pc/hv/basic_calls.h — console_io and xen_version for the PC hypervisor, and
// each domain's console sink.
//
// What it is: `GuestConsole`, a domain's console_io sink: bytes are collected into lines that
// go to the serial log prefixed "(dN) "; the hypervisor also notes the lines that report a
// result ("<name>: SUCCESS"/"FAILURE", "[refused]"/"[ACCEPTED]" attacks). `PcConsoleIo` and
// `PcXenVersion` are forwarding handler types: they call lib/hypercall's ConsoleIo and
// XenVersion in basic_calls.cc. Why a separate translation unit: lib/hypercall's
// console_io.h/xen_version.h include lib/xen/xen_abi.h, which defines kHypervisorVirtStart
// and kHypervisorVirtEnd in namespace pvkit::xen, as lib/mm/xen_abi.h does; the two cannot be
// included together (reported; once one area drops its copy this indirection can go).
// `PcMulticall` runs lib/hypercall's Multicall there too, dispatching each entry back through
// the full table.
// How to use it: put PcConsoleIo, PcXenVersion and PcMulticall in the table; the context offers
// `console()` -> GuestConsole& and `is_privileged()`.
// Concurrency: per-vCPU.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "pvkit/base/types.h"
#include "pvkit/hypercall/args.h"
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

/// lib/hypercall's ConsoleIo for `con` (calls the caller's address space for the buffer).
std::int64_t console_io_call(GuestConsole& con, bool privileged, HypercallArgs& args);
/// lib/hypercall's XenVersion (pvkit 4.17.0-pvkit, x86-64 PV).
std::int64_t xen_version_call(bool privileged, HypercallArgs& args);

/// A nested hypercall of a multicall: dispatched through the caller's composed table.
using InnerDispatch = std::int64_t (*)(void* ctx, HypercallArgs& args);
/// lib/hypercall's Multicall, with its entries dispatched through `dispatch(ctx, entry)`.
std::int64_t multicall_call(void* ctx, InnerDispatch dispatch, HypercallArgs& args);

/// HYPERVISOR_multicall (13): lib/hypercall's Multicall over the whole table (type-erased
/// across the translation-unit boundary explained above).
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

struct PcConsoleIo {
  static constexpr std::uint32_t kNumber = xen::hc::kConsoleIo;
  static constexpr const char* kName = "console_io";
  template <typename Ctx>
  static std::int64_t call(Ctx& ctx, HypercallArgs& args) {
    return console_io_call(ctx.console(), ctx.is_privileged(), args);
  }
};

struct PcXenVersion {
  static constexpr std::uint32_t kNumber = xen::hc::kXenVersion;
  static constexpr const char* kName = "xen_version";
  template <typename Ctx>
  static std::int64_t call(Ctx& ctx, HypercallArgs& args) {
    return xen_version_call(ctx.is_privileged(), args);
  }
};

}  // namespace pvkit::pc
