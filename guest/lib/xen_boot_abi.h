// pvkit/guest/xen_boot_abi.h — what a 64-bit PV guest finds at boot: the start_info page, its
// SIF_* flags and magic, and the ELF note types of public/elfnote.h a guest image carries.
//
// What it is: the guest library's names for pvkit's own definitions of these facts
// (pvkit/loader/xen_boot_abi.h, the same layout the domain builder writes), re-exported into
// namespace pvkit::guest::xen. //guest/test:abi_conformance_test checks them against
// /usr/include/xen from the guest's side.
//
// How to use it: the runtime hands `guest_main` a `const StartInfo&` (pvkit/guest/start_info.h
// has the helpers: magic check, command line lookup).
//
// Concurrency: the start_info page is written by the domain builder before the guest runs and
// only read afterwards.
#pragma once

#include <cstddef>
#include <cstdint>

#include "pvkit/loader/xen_boot_abi.h"

namespace pvkit::guest::xen {

/// XEN_ELFNOTE_* note types (elfnote.h); every note is named "Xen".
using pvkit::xen::kElfNoteEntry;
using pvkit::xen::kElfNoteFeatures;
using pvkit::xen::kElfNoteGuestOs;
using pvkit::xen::kElfNoteHypercallPage;
using pvkit::xen::kElfNoteLoader;
using pvkit::xen::kElfNotePaddrOffset;
using pvkit::xen::kElfNoteVirtBase;
using pvkit::xen::kElfNoteXenVersion;

/// start_info.flags (SIF_*), MAX_GUEST_CMDLINE, and the magic of a 64-bit PV guest
/// ("xen-3.0-x86_64").
using pvkit::xen::kMaxGuestCmdline;
using pvkit::xen::kSifInitDomain;
using pvkit::xen::kSifPrivileged;
using pvkit::xen::kStartInfoMagic;

/// struct start_info (x86-64) and its domU console view.
using pvkit::xen::StartInfo;
using pvkit::xen::StartInfoConsoleDomU;

}  // namespace pvkit::guest::xen
