// hello — the smallest pvkit guest kernel.
//
// Prints through console_io, checks the start_info magic ("xen-3.0-x86_64"), reports what the
// domain builder told it (pages, shared_info, page tables, p2m list, command line) and the
// hypervisor version, then shuts down with SHUTDOWN_poweroff. The last line is
// "hello: SUCCESS" or "hello: FAILURE (...)" (then SHUTDOWN_crash).
#include <cstdint>

#include "pvkit/guest/console.h"
#include "pvkit/guest/hypercall.h"
#include "pvkit/guest/memory.h"
#include "pvkit/guest/runtime.h"
#include "pvkit/guest/start_info.h"

namespace g = pvkit::guest;

int guest_main(const g::xen::StartInfo& si) {
  g::print("hello: pvkit PV guest kernel up, start_info at %p\n", &si);
  if (!g::start_info_magic_ok(si)) {
    char magic[33] = {};
    for (int i = 0; i < 32; ++i) magic[i] = si.magic[i];
    g::print("hello: FAILURE (start_info magic \"%s\", expected \"%s\")\n", magic,
             g::xen::kStartInfoMagic);
    return 1;
  }
  g::print("hello: magic %s ok\n", g::xen::kStartInfoMagic);
  g::print("hello: nr_pages=%lu shared_info=%#lx flags=%#x\n", si.nr_pages, si.shared_info,
           si.flags);
  g::print("hello: pt_base=%p nr_pt_frames=%lu mfn_list=%p\n",
           reinterpret_cast<void*>(si.pt_base), si.nr_pt_frames,
           reinterpret_cast<void*>(si.mfn_list));
  g::print("hello: cmdline \"%s\"\n", reinterpret_cast<const char*>(si.cmd_line.data()));

  const long ver = g::HYPERVISOR_xen_version(g::xen::kXenVerVersion, nullptr);
  if (ver < 0) {
    g::print("hello: xen_version failed: %ld\n", ver);
  } else {
    g::print("hello: hypervisor version %ld.%ld\n", ver >> 16, ver & 0xFFFF);
  }
  const g::PhysMap p2m(si);
  auto mfn = p2m.virt_to_mfn(&si);
  if (mfn) g::print("hello: start_info is machine frame %#lx\n", *mfn);

  g::print("hello: SUCCESS\n");
  return 0;
}
