// pvkit/loader/fuzz_entry.h — run the whole loader pipeline on arbitrary bytes.
//
// What it is: `run_loader_pipeline(bytes)` is the body of the loader fuzz target
// (fuzz_loader.cc) and of the corpus regression test: it inspects the bytes as a PV kernel,
// and for an accepted image plans layouts for a few domain shapes, builds start_info,
// enumerates the bootstrap page-table entries and replays the segment loader through a
// writer that only checks bounds. It returns what
// happened and whether any invariant the rest of pvkit relies on was broken (entry or
// hypercall page outside the image, a plan that overlaps or exceeds memory, a writable
// mapping of a page-table frame, a write that crosses a frame or leaves its region). The fuzz target traps on a broken invariant.
//
// How to use it:
//   PipelineOutcome o = run_loader_pipeline(std::span<const std::uint8_t>(data, size));
//   if (o.invariant_broken) __builtin_trap();
//
// Concurrency: pure function over caller-owned bytes; allocates nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "pvkit/base/status.h"
#include "pvkit/base/types.h"
#include "pvkit/loader/bootstrap_mappings.h"
#include "pvkit/loader/guest_frame_writer.h"
#include "pvkit/loader/hypercall_page.h"
#include "pvkit/loader/layout.h"
#include "pvkit/loader/load_error.h"
#include "pvkit/loader/pv_image.h"
#include "pvkit/loader/segment_loader.h"
#include "pvkit/loader/start_info.h"

namespace pvkit::loader {

/// The result of one pipeline run.
struct PipelineOutcome {
  LoadError image = LoadError::Ok;   ///< inspect_pv_image's verdict
  LoadError layout = LoadError::Ok;  ///< first plan_domain_layout failure (Ok if all planned)
  std::size_t plans = 0;             ///< layouts planned successfully
  bool invariant_broken = false;     ///< a pvkit invariant failed: this is a bug
};

namespace detail {

/// A GuestFrameWriter that writes nothing and checks every call against the plan.
struct BoundsCheckingWriter {
  const DomainLayout* layout = nullptr;
  bool broken = false;
  std::uint64_t calls = 0;

  Status check(Gfn pfn, std::uint64_t offset, std::uint64_t len) {
    ++calls;
    const bool in_region = layout->kernel.contains(pfn) || layout->ramdisk.contains(pfn);
    if (!in_region || offset + len > kPageSize || layout->is_page_table(pfn)) broken = true;
    return Status::ok();
  }
  Status write(Gfn pfn, std::uint32_t offset, std::span<const std::uint8_t> bytes) {
    return check(pfn, offset, bytes.size());
  }
  Status zero(Gfn pfn, std::uint32_t offset, std::uint32_t length) {
    return check(pfn, offset, length);
  }
};
static_assert(GuestFrameWriter<BoundsCheckingWriter>);

inline bool regions_ordered(const DomainLayout& L) {
  const Region* order[] = {&L.kernel, &L.ramdisk, &L.p2m, &L.start_info, &L.xenstore,
                           &L.console, &L.page_tables, &L.boot_stack};
  std::uint64_t next = L.kernel.pfn.value();
  for (const Region* r : order) {
    if (r->pages == 0 || (r == &L.p2m && L.p2m_relocated)) continue;
    if (r->pfn.value() != next) return false;  // packed, in Xen's order
    next += r->pages;
  }
  if (next > L.bootstrap_pages || L.bootstrap_pages > L.nr_pages ||
      L.stack_top.value() != L.va_of(Gfn{next}).value()) {
    return false;
  }
  if (!L.p2m_relocated) return L.p2m_tables.pages == 0;
  // A relocated p2m and its tables follow the bootstrap area and fit in memory.
  return L.p2m.pfn.value() == L.bootstrap_pages &&
         L.p2m_tables.pfn.value() == L.p2m.pfn.value() + L.p2m.pages &&
         L.p2m_tables.pfn.value() + L.p2m_tables.pages <= L.nr_pages &&
         L.p2m.va.value() + L.p2m.pages * kPageSize <= L.virt_base.value();
}

inline bool image_consistent(const PvGuestImage& img) {
  const std::uint64_t ks = img.kernel_start.value();
  const std::uint64_t len = img.kernel_bytes();
  if (len == 0 || img.entry.value() < ks || img.entry.value() - ks >= len) return false;
  if (img.hypercall_page &&
      (img.hypercall_page->value() < ks || img.hypercall_page->value() - ks > len - kPageSize)) {
    return false;
  }
  return check_guest_va_range(img.virt_base.value(), img.kernel_end.value() -
                                                         img.virt_base.value()) == LoadError::Ok;
}

}  // namespace detail

/// Runs reader, note parser, validator, planner, start_info and segment loader on `bytes`.
inline PipelineOutcome run_loader_pipeline(std::span<const std::uint8_t> bytes) {
  PipelineOutcome out;
  LoadResult<PvGuestImage> img = inspect_pv_image(bytes, LoadLimits{});
  out.image = img.error();
  if (!img) return out;
  if (!detail::image_consistent(*img)) out.invariant_broken = true;

  struct Shape {
    std::uint64_t pages;
    std::uint64_t ramdisk;
    bool dom0;
  };
  constexpr Shape kShapes[] = {{8192, 0, false}, {262144, 4097, false}, {1u << 20, 0, true}};
  for (const Shape& s : kShapes) {
    LayoutRequest req;
    req.nr_pages = s.pages;
    req.ramdisk_bytes = s.ramdisk;
    req.initial_domain = s.dom0;
    LoadResult<DomainLayout> plan = plan_domain_layout(*img, req);
    if (!plan) {
      if (out.layout == LoadError::Ok) out.layout = plan.error();
      continue;
    }
    ++out.plans;
    if (!detail::regions_ordered(*plan)) out.invariant_broken = true;
    const xen::StartInfo si = build_start_info(*plan, StartInfoInputs{});
    if (si.pt_base != plan->page_tables.va.value() || si.cmd_line[0] != 0) {
      out.invariant_broken = true;
    }
    const std::uint64_t mapped =
        plan->bootstrap_pages + (plan->p2m_relocated ? plan->p2m.pages : 0);
    if (mapped <= (std::uint64_t{1} << 16)) {  // keeps the fuzzer fast
      std::uint64_t l1 = 0;
      const Status walk = for_each_bootstrap_entry(*plan, [&](const BootstrapEntry& e) {
        if (!plan->is_page_table(e.table)) out.invariant_broken = true;
        if (e.level == 1) {
          ++l1;
          const bool in_area = e.target.value() < plan->bootstrap_pages ||
                               (plan->p2m_relocated && plan->p2m.contains(e.target));
          if (!in_area || e.writable == plan->is_page_table(e.target)) {
            out.invariant_broken = true;
          }
        } else if (!plan->is_page_table(e.target)) {
          out.invariant_broken = true;
        }
        return Status::ok();
      });
      if (!walk || l1 != mapped) out.invariant_broken = true;
    }
    detail::BoundsCheckingWriter w{&*plan};
    if (!load_kernel_segments(*img, *plan, bytes, w) || w.broken) out.invariant_broken = true;
  }
  return out;
}

}  // namespace pvkit::loader
