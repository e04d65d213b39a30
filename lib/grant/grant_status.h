// pvkit/grant/grant_status.h — Xen's per-element grant status codes (GNTST_*), as a value type.
//
// What it is: `GrantStatus`, a [[nodiscard]] enum with exactly the values of Xen's
// `enum grant_status` (0 okay, all errors negative), and `to_grant_status(Errno)` mapping
// pvkit's internal errors onto it. Every grant sub-op element answers one of these in its
// `status` field (invariant 25: errors are always negative).
//
// How to use it: `GrantStatus s = ...; if (s != GrantStatus::Okay) return s;` and write
// `guest_value(s)` into the guest's int16 status field.
//
// Concurrency: constants only.
#pragma once

#include <cstdint>

#include "pvkit/base/errno.h"

namespace pvkit {

/// Xen's GNTST_* codes: what every grant operation answers per element.
enum class [[nodiscard]] GrantStatus : std::int16_t {
  Okay = 0,                 ///< GNTST_okay
  GeneralError = -1,        ///< GNTST_general_error
  BadDomain = -2,           ///< GNTST_bad_domain
  BadGntref = -3,           ///< GNTST_bad_gntref
  BadHandle = -4,           ///< GNTST_bad_handle
  BadVirtAddr = -5,         ///< GNTST_bad_virt_addr
  BadDevAddr = -6,          ///< GNTST_bad_dev_addr
  NoDeviceSpace = -7,       ///< GNTST_no_device_space
  PermissionDenied = -8,    ///< GNTST_permission_denied
  BadPage = -9,             ///< GNTST_bad_page
  BadCopyArg = -10,         ///< GNTST_bad_copy_arg
  AddressTooBig = -11,      ///< GNTST_address_too_big
  Eagain = -12,             ///< GNTST_eagain
  NoSpace = -13,            ///< GNTST_no_space
};

/// The int16 written into a request's `status` field.
[[nodiscard]] constexpr std::int16_t guest_value(GrantStatus s) { return static_cast<std::int16_t>(s); }

/// True for GNTST_okay.
[[nodiscard]] constexpr bool is_ok(GrantStatus s) { return s == GrantStatus::Okay; }

/// Maps an internal error onto the GNTST code a grant element reports for it.
[[nodiscard]] constexpr GrantStatus to_grant_status(Errno e) {
  switch (e) {
    case Errno::Ok: return GrantStatus::Okay;
    case Errno::Srch: return GrantStatus::BadDomain;
    case Errno::Fault: return GrantStatus::BadVirtAddr;
    case Errno::Perm:
    case Errno::Acces: return GrantStatus::PermissionDenied;
    case Errno::NoMem:
    case Errno::NoSpc: return GrantStatus::NoSpace;
    case Errno::Again:
    case Errno::Busy: return GrantStatus::Eagain;
    case Errno::Range:
    case Errno::TooBig: return GrantStatus::AddressTooBig;
    case Errno::NoDev: return GrantStatus::NoDeviceSpace;
    default: return GrantStatus::GeneralError;
  }
}

}  // namespace pvkit
