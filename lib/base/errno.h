// pvkit/base/errno.h — Xen's errno values (public/errno.h), as a C++ enum.
//
// What it is: `Errno` has exactly the values of Xen's XEN_E* list; hypercalls return the
// negated value in RAX. Names are CamelCase so that the C library's E* macros cannot clash.
// `Errno::Restart` (Xen's internal ERESTART) marks a continuation and is never returned to a
// guest: the dispatcher turns it into a re-executed hypercall.
//
// How to use it: return `Status{Errno::Inval}` (pvkit/base/status.h), not the raw number.
//
// Concurrency: constants only.
#pragma once

#include <cstdint>

namespace pvkit {

/// Xen's errno values (xen/errno.h), as the positive numbers a hypercall negates into RAX.
enum class Errno : std::int32_t {
  Ok = 0,
  Perm = 1,
  NoEnt = 2,
  Srch = 3,
  Intr = 4,  // internal to Xen, never seen by a guest
  Io = 5,
  NxIo = 6,
  TooBig = 7,  // E2BIG
  NoExec = 8,
  BadF = 9,
  Child = 10,
  Again = 11,
  NoMem = 12,
  Acces = 13,
  Fault = 14,
  Busy = 16,
  Exist = 17,
  XDev = 18,
  NoDev = 19,
  NotDir = 20,
  IsDir = 21,
  Inval = 22,
  NFile = 23,
  MFile = 24,
  NoSpc = 28,
  RoFs = 30,
  MLink = 31,
  Dom = 33,
  Range = 34,
  DeadLk = 35,
  NameTooLong = 36,
  NoLck = 37,
  NoSys = 38,
  NotEmpty = 39,
  NoData = 61,
  Time = 62,
  BadMsg = 74,
  Overflow = 75,
  IlSeq = 84,
  Restart = 85,  // internal: continuation requested, never seen by a guest
  NotSock = 88,
  MsgSize = 90,
  OpNotSupp = 95,
  AddrInUse = 98,
  AddrNotAvail = 99,
  NoBufs = 105,
  IsConn = 106,
  NotConn = 107,
  TimedOut = 110,
  ConnRefused = 111,
};

}  // namespace pvkit
