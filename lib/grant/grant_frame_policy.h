// pvkit/grant/grant_frame_policy.h — what grant tables need from the platform's frame database.
//
// What it is: the `GrantFramePolicy` concept: reference counting of guest frames that a grant
// maps or copies (general reference plus, for writable use, a writable-type reference, which
// fails for page tables: invariant 7), the hypervisor's view of a frame's bytes for copy,
// ownership transfer for GNTTABOP_transfer (steal from the owner; assign to the receiver,
// wiping all type state: invariant 14), sharing of the hypervisor-allocated grant and status
// frames with the owning guest (so it can map them), and a privilege check for sub-ops that
// name another domain.
//
// How to use it: a platform type P satisfies it; GrantTables<P, ...> calls
//   p.get_frame(mfn, owner, writable)  -> GrantStatus  Okay | BadPage (not a frame owned by
//                                          `owner`) | GeneralError (type conflict)
//   p.put_frame(mfn, writable)         -> void         drops exactly what get_frame took
//   p.frame_bytes(mfn)                 -> uint8_t*     4096 bytes, or nullptr (no access);
//                                          only called while a reference is held
//   p.steal_frame(owner, mfn)          -> GrantStatus  Okay | BadPage (not owned by owner) |
//                                          GeneralError (still referenced or typed)
//   p.assign_frame(dom, mfn)           -> GrantStatus  ownerless frame -> dom, type wiped;
//                                          giving a just-stolen frame back must succeed
//   p.share_table_page(dom, page, rw)  -> Result<Mfn>  the frame of a hypervisor page `dom`
//                                          may now map (same page -> same Mfn)
//   p.unshare_table_page(dom, page)    -> Status       Errno::Busy while `dom` still maps it
//                                          (the page then stays shared): invariant 23
//   p.controls(caller, target)         -> bool         caller may act on target's table
//
// Concurrency: every call may come from several vCPUs at once and while the caller holds a
// grant lock; implementations must not call back into grant tables.
#pragma once

#include <concepts>
#include <cstdint>

#include "pvkit/base/status.h"
#include "pvkit/base/types.h"
#include "pvkit/grant/grant_status.h"

namespace pvkit {

/// What grant tables need from the platform's frame database (see the file comment).
template <typename P>
concept GrantFramePolicy = requires(P& p, Mfn m, DomId d, bool writable, void* page) {
  { p.get_frame(m, d, writable) } -> std::same_as<GrantStatus>;
  { p.put_frame(m, writable) } -> std::same_as<void>;
  { p.frame_bytes(m) } -> std::same_as<std::uint8_t*>;
  { p.steal_frame(d, m) } -> std::same_as<GrantStatus>;
  { p.assign_frame(d, m) } -> std::same_as<GrantStatus>;
  { p.share_table_page(d, page, writable) } -> std::same_as<Result<Mfn>>;
  { p.unshare_table_page(d, page) } -> std::same_as<Status>;
  { p.controls(d, d) } -> std::same_as<bool>;
};

}  // namespace pvkit
