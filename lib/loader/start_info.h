// pvkit/loader/start_info.h — the values of a PV domain's start_info page.
//
// What it is: `build_start_info(layout, inputs)` fills a `xen::StartInfo` from a planned
// layout plus the facts only the platform knows once it has allocated machine frames (the
// shared_info machine address, the xenstore and console machine frames and their event
// channels) and the command line. Every byte is initialised (unused fields and padding are
// zero). A command line longer than 1023 chars is cut and NUL-terminated, as Xen does.
// With a relocated p2m, first_p2m_pfn/nr_p2m_frames cover the p2m frames and their tables.
//
// How to use it:
//   xen::StartInfo si = build_start_info(plan, StartInfoInputs{.shared_info = maddr, ...});
//   platform.copy_to_pfn(plan.start_info.pfn, &si, sizeof si);
//
// Concurrency: pure function.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "pvkit/base/types.h"
#include "pvkit/loader/layout.h"
#include "pvkit/loader/xen_boot_abi.h"

namespace pvkit::loader {

/// What the platform supplies after allocating the domain's frames.
struct StartInfoInputs {
  MachAddr shared_info{};          ///< machine address of the shared_info page
  Mfn store_mfn{};                 ///< machine frame behind layout.xenstore (domU)
  EvtchnPort store_evtchn{};       ///< unbound port for xenstored (domU)
  Mfn console_mfn{};               ///< machine frame behind layout.console (domU)
  EvtchnPort console_evtchn{};     ///< unbound port for the console backend (domU)
  const char* cmdline = nullptr;   ///< NUL-terminated; nullptr = empty
  std::uint32_t extra_flags = 0;   ///< further SIF_* bits (e.g. SIF_VIRT_P2M_4TOOLS)
};

/// Fills start_info for `layout`.
inline xen::StartInfo build_start_info(const DomainLayout& layout, const StartInfoInputs& in) {
  xen::StartInfo si;
  std::memset(&si, 0, sizeof(si));
  static_assert(sizeof(xen::kStartInfoMagic) <= sizeof(si.magic));
  std::memcpy(si.magic.data(), xen::kStartInfoMagic, sizeof(xen::kStartInfoMagic));
  si.nr_pages = layout.nr_pages;
  si.shared_info = in.shared_info.value();
  si.flags = in.extra_flags & ~(xen::kSifPrivileged | xen::kSifInitDomain | xen::kSifModStartPfn);
  if (layout.initial_domain) {
    si.flags |= xen::kSifPrivileged | xen::kSifInitDomain;
    // dom0 has no xenstore/console rings: console.dom0 (VGA info) stays zero.
  } else {
    si.store_mfn = in.store_mfn.value();
    si.store_evtchn = in.store_evtchn.value();
    si.console.domu.mfn = in.console_mfn.value();
    si.console.domu.evtchn = in.console_evtchn.value();
  }
  si.pt_base = layout.page_tables.va.value();
  si.nr_pt_frames = layout.page_tables.pages;
  si.mfn_list = layout.p2m.va.value();
  if (layout.p2m_relocated) {  // the pfn range covers the p2m frames and their tables
    si.first_p2m_pfn = layout.p2m.pfn.value();
    si.nr_p2m_frames = layout.p2m.pages + layout.p2m_tables.pages;
  }
  if (layout.ramdisk_bytes != 0) {
    si.mod_start = layout.ramdisk.va.value();
    si.mod_len = layout.ramdisk_bytes;
  }
  if (in.cmdline != nullptr) {
    for (std::size_t i = 0; i + 1 < xen::kMaxGuestCmdline && in.cmdline[i] != 0; ++i) {
      si.cmd_line[i] = static_cast<std::int8_t>(in.cmdline[i]);
    }
  }
  return si;
}

}  // namespace pvkit::loader
