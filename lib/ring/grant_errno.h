// pvkit/ring/grant_errno.h — how the split-driver helpers report a failed grant operation.
//
// What it is: `errno_from_gntst`, the fixed translation from a GNTST_* code (xen_abi.h's
// `xen::GntStatus`) to pvkit's `Errno`, so that the split-driver helpers answer one error type
// (`Status`) whether the failing step was a grant map or an event-channel bind. Every
// `BackendOps` adapter that talks to a grant table (hypercall or in-hypervisor) uses it.
//
//   GNTST_okay -> Ok               GNTST_general_error -> Perm (Xen's map_grant_ref answers it
//   GNTST_bad_domain -> Srch         for "this entry does not grant you this access")
//   GNTST_bad_gntref -> Inval      GNTST_bad_handle -> Inval      GNTST_bad_page -> Inval
//   GNTST_bad_virt_addr -> Fault   GNTST_bad_dev_addr -> Fault    GNTST_bad_copy_arg -> Inval
//   GNTST_no_device_space -> NoSpc GNTST_permission_denied -> Perm
//   GNTST_address_too_big -> Range GNTST_eagain -> Again          GNTST_no_space -> NoSpc
//   anything else (not a GNTST code) -> Io
//
// How to use it: `if (op.status != 0) return errno_from_gntst(xen::GntStatus{op.status});`
//
// Concurrency: a pure function.
#pragma once

#include "pvkit/base/errno.h"
#include "pvkit/ring/xen_abi.h"

namespace pvkit::ring {

/// The errno a failing GNTST code corresponds to (for Status-returning guest ops).
[[nodiscard]] constexpr Errno errno_from_gntst(xen::GntStatus s) {
  using G = xen::GntStatus;
  switch (s) {
    case G::Okay: return Errno::Ok;
    case G::GeneralError: return Errno::Perm;
    case G::BadDomain: return Errno::Srch;
    case G::BadGntref: return Errno::Inval;
    case G::BadHandle: return Errno::Inval;
    case G::BadVirtAddr: return Errno::Fault;
    case G::BadDevAddr: return Errno::Fault;
    case G::NoDeviceSpace: return Errno::NoSpc;
    case G::PermissionDenied: return Errno::Perm;
    case G::BadPage: return Errno::Inval;
    case G::BadCopyArg: return Errno::Inval;
    case G::AddressTooBig: return Errno::Range;
    case G::Eagain: return Errno::Again;
    case G::NoSpace: return Errno::NoSpc;
  }
  return Errno::Io;
}

}  // namespace pvkit::ring
