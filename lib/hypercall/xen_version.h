// pvkit/hypercall/xen_version.h — HYPERVISOR_xen_version (17).
//
// What it is: the `XenVersion` handler and the `XenVersionContext` concept it needs. The
// hypervisor's identity (version, strings, feature submaps, virt_start) comes from a
// `XenVersionInfo` the context returns (so a platform may answer per domain). Sub-ops:
//   XENVER_version             -> (major << 16) | minor, arg ignored
//   XENVER_extraversion        -> xen_extraversion_t (16 bytes)
//   XENVER_compile_info        -> xen_compile_info_t
//   XENVER_capabilities        -> xen_capabilities_info_t (1024 bytes)
//   XENVER_changeset           -> xen_changeset_info_t (64 bytes)
//   XENVER_platform_parameters -> xen_platform_parameters_t {virt_start}
//   XENVER_get_features        -> reads xen_feature_info_t, submap_idx >= XENFEAT_NR_SUBMAPS
//                                 -> -EINVAL, else writes it back with `submap` filled
//   XENVER_pagesize            -> 4096, arg ignored
//   XENVER_guest_handle        -> xen_domain_handle_t (16 bytes) of the calling domain
//   XENVER_commandline         -> privileged domains only (else -EPERM), 1024 bytes
//   XENVER_build_id            -> privileged: -ENODATA (pvkit has no build id); else -EPERM
//   anything else              -> -ENOSYS, no guest memory touched (invariant 1)
// Every buffer is built completely (strings NUL-padded) before a single copy out
// (invariant 5). A fault while copying out answers -EFAULT.
//
// How to use it: add `XenVersion` to the table; the context provides guest_memory(),
// xen_version_info(), domain_handle() and is_privileged().
//
// Concurrency: reads immutable information only.
#pragma once

#include <array>
#include <concepts>
#include <cstdint>
#include <type_traits>

#include "pvkit/base/guest_memory.h"
#include "pvkit/base/status.h"
#include "pvkit/base/types.h"
#include "pvkit/hypercall/arg_view.h"
#include "pvkit/hypercall/args.h"
#include "pvkit/hypercall/handler.h"
#include "pvkit/hypercall/context.h"
#include "pvkit/hypercall/fill.h"
#include "pvkit/xen/hypercall_numbers.h"
#include "pvkit/xen/version_abi.h"
#include "pvkit/xen/xen_abi.h"

namespace pvkit {

/// What xen_version reports. String pointers may be nullptr (reported as empty).
struct XenVersionInfo {
  std::uint16_t major = 4;
  std::uint16_t minor = 17;
  const char* extraversion = ".0-pvkit";
  const char* compiler = "clang 14";
  const char* compile_by = "pvkit";
  const char* compile_domain = "";
  const char* compile_date = "";
  const char* capabilities = "xen-3.0-x86_64";
  const char* changeset = "";
  const char* commandline = "";
  std::uint64_t virt_start = xen::kHypervisorVirtStart;
  std::array<std::uint32_t, xen::kXenFeatNrSubmaps> features{};
};

/// What XenVersion needs: guest memory, the version info, the domain handle, privilege.
template <typename Ctx>
concept XenVersionContext = HasGuestMemory<Ctx> && requires(Ctx& ctx) {
  { ctx.xen_version_info() } -> std::convertible_to<const XenVersionInfo&>;
  { ctx.domain_handle() } -> std::convertible_to<xen::DomainHandle>;
  { ctx.is_privileged() } -> std::same_as<bool>;
};

/// HYPERVISOR_xen_version (17).
struct XenVersion {
  static constexpr std::uint32_t kNumber = xen::hc::kXenVersion;
  static constexpr const char* kName = "xen_version";

  /// Handles one xen_version call. The two sub-ops answered in RAX alone (XENVER_version, the
  /// null hypercall, and XENVER_pagesize) are decided here, small enough to be inlined into
  /// the dispatcher's thunk; every sub-op that copies a buffer goes to `call_copying`, whose
  /// stack frame holds up to 1 KiB of output.
  template <XenVersionContext Ctx>
  [[gnu::always_inline]] static inline std::int64_t call(Ctx& ctx, HypercallArgs& args) {
    const CmdArgs v = CmdArgs::from(args);
    if (v.cmd == xen::kXenVerVersion) [[likely]] {
      const XenVersionInfo& info = ctx.xen_version_info();
      return (static_cast<std::int64_t>(info.major) << 16) | info.minor;
    }
    if (v.cmd == xen::kXenVerPagesize) return static_cast<std::int64_t>(kPageSize);
    return call_copying(ctx, v);
  }

 private:
  /// The sub-ops other than XENVER_version and XENVER_pagesize.
  template <XenVersionContext Ctx>
  [[gnu::noinline]] static std::int64_t call_copying(Ctx& ctx, const CmdArgs v) {
    const XenVersionInfo& info = ctx.xen_version_info();
    auto& mem = ctx.guest_memory();

    switch (v.cmd) {
      case xen::kXenVerExtraversion: {
        xen::XenExtraversion out;
        copy_cstr_padded(out, info.extraversion);
        return copy_out(mem, v.arg, out);
      }
      case xen::kXenVerCompileInfo: {
        xen::XenCompileInfo out;
        copy_cstr_padded(out.compiler, info.compiler);
        copy_cstr_padded(out.compile_by, info.compile_by);
        copy_cstr_padded(out.compile_domain, info.compile_domain);
        copy_cstr_padded(out.compile_date, info.compile_date);
        return copy_out(mem, v.arg, out);
      }
      case xen::kXenVerCapabilities: {
        xen::XenCapabilitiesInfo out;
        copy_cstr_padded(out, info.capabilities);
        return copy_out(mem, v.arg, out);
      }
      case xen::kXenVerChangeset: {
        xen::XenChangesetInfo out;
        copy_cstr_padded(out, info.changeset);
        return copy_out(mem, v.arg, out);
      }
      case xen::kXenVerPlatformParameters: {
        const xen::XenPlatformParameters out{info.virt_start};
        return copy_out(mem, v.arg, out);
      }
      case xen::kXenVerGetFeatures: {
        xen::XenFeatureInfo fi;
        if (!GuestHandle<xen::XenFeatureInfo>{v.arg}.read(mem, 0, fi)) {
          return Status{Errno::Fault}.guest_value();
        }
        if (fi.submap_idx >= xen::kXenFeatNrSubmaps) return Status{Errno::Inval}.guest_value();
        fi.submap = info.features[fi.submap_idx];
        return copy_out(mem, v.arg, fi);
      }
      case xen::kXenVerGuestHandle: {
        const xen::DomainHandle out = ctx.domain_handle();
        return copy_out(mem, v.arg, out);
      }
      case xen::kXenVerCommandline: {
        if (!ctx.is_privileged()) return Status{Errno::Perm}.guest_value();
        xen::XenCommandline out;
        copy_cstr_padded(out, info.commandline);
        return copy_out(mem, v.arg, out);
      }
      case xen::kXenVerBuildId:
        if (!ctx.is_privileged()) return Status{Errno::Perm}.guest_value();
        return Status{Errno::NoData}.guest_value();
      default:  // XENVER_version and XENVER_pagesize never get here (see call)
        return Status{Errno::NoSys}.guest_value();
    }
  }

  template <typename M, typename T>
  static std::int64_t copy_out(M& mem, VirtAddr dst, const T& out) {
    static_assert(std::has_unique_object_representations_v<T>, "no padding may reach a guest");
    return GuestHandle<T>{dst}.write(mem, 0, out).guest_value();
  }
};

}  // namespace pvkit
