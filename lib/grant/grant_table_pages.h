// pvkit/grant/grant_table_pages.h — where grant and status frames come from, for the mm adapter.
//
// What it is: the `GrantTablePages` concept: a PageAllocator for hypervisor pages plus the
// platform's way of sharing one of them with a guest (so the guest can map its grant table
// and status frames) and of taking it back (Busy while the guest still maps it, invariant
// 23). MmGrantPolicy (mm_grant_policy.h) forwards the corresponding GrantFramePolicy calls.
//
// How to use it: a platform with hypervisor frames in its frame database implements it with
// "mark a xen frame as shared with d" / "unshare if its only reference is the share"; the
// host test implementation hands out page numbers above the simulated machine.
//
// Concurrency: implementations must be safe from several vCPUs at once.
#pragma once

#include <concepts>

#include "pvkit/base/page_allocator.h"
#include "pvkit/base/status.h"
#include "pvkit/base/types.h"

namespace pvkit {

/// Where grant and status frames come from, for MmGrantPolicy (see the file comment).
template <typename T>
concept GrantTablePages = PageAllocator<T> && requires(T& t, DomId d, void* page, bool writable) {
  { t.share_table_page(d, page, writable) } -> std::same_as<Result<Mfn>>;
  { t.unshare_table_page(d, page) } -> std::same_as<Status>;
};

}  // namespace pvkit
