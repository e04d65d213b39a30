// pvkit/guest/errno_name.h — names for the Xen errno values and GNTST codes a guest sees.
//
// What it is: `errno_name(rc)` maps a negative hypercall result to "EINVAL", "EFAULT", ...
// ("OK" for >= 0, "E?" for an unknown value); `gntst_name(status)` does the same for GNTST_*.
// Values are Xen's (public/errno.h, grant_table.h), written for pvkit.
//
// How to use it: print("rc=%d (%s)\n", rc, errno_name(rc));
//
// Concurrency: pure.
#pragma once

#include <cstdint>

namespace pvkit::guest {

/// Name of a hypercall result (0 or -errno).
constexpr const char* errno_name(long rc) {
  if (rc >= 0) return "OK";
  switch (-rc) {
    case 1: return "EPERM";
    case 2: return "ENOENT";
    case 3: return "ESRCH";
    case 7: return "E2BIG";
    case 9: return "EBADF";
    case 11: return "EAGAIN";
    case 12: return "ENOMEM";
    case 13: return "EACCES";
    case 14: return "EFAULT";
    case 16: return "EBUSY";
    case 17: return "EEXIST";
    case 19: return "ENODEV";
    case 22: return "EINVAL";
    case 28: return "ENOSPC";
    case 34: return "ERANGE";
    case 38: return "ENOSYS";
    case 75: return "EOVERFLOW";
    case 95: return "EOPNOTSUPP";
    default: return "E?";
  }
}

/// Name of a GNTST_* status.
constexpr const char* gntst_name(std::int16_t st) {
  switch (st) {
    case 0: return "GNTST_okay";
    case -1: return "GNTST_general_error";
    case -2: return "GNTST_bad_domain";
    case -3: return "GNTST_bad_gntref";
    case -4: return "GNTST_bad_handle";
    case -5: return "GNTST_bad_virt_addr";
    case -6: return "GNTST_bad_dev_addr";
    case -7: return "GNTST_no_device_space";
    case -8: return "GNTST_permission_denied";
    case -9: return "GNTST_bad_page";
    case -10: return "GNTST_bad_copy_arg";
    case -11: return "GNTST_address_too_big";
    case -12: return "GNTST_eagain";
    case -13: return "GNTST_no_space";
    default: return "GNTST_?";
  }
}

}  // namespace pvkit::guest
