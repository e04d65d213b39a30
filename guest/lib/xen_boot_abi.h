// pvkit/guest/xen_boot_abi.h — what a 64-bit PV guest finds at boot: the start_info page, its
// SIF_* flags and magic, and the ELF note types of public/elfnote.h a guest image carries.
//
// What it is: the guest library's own definition of `struct start_info` (xen.h "Start-of-day
// memory layout") with named fields; checked against /usr/include/xen by
// //guest/test:abi_conformance_test.
//
// How to use it: the runtime hands `guest_main` a `const StartInfo&` (pvkit/guest/start_info.h
// has the helpers: magic check, command line lookup).
//
// Concurrency: the start_info page is written by the domain builder before the guest runs and
// only read afterwards.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pvkit::guest::xen {

/// XEN_ELFNOTE_* note types (elfnote.h); every note is named "Xen".
inline constexpr std::uint32_t kElfNoteEntry = 1;
inline constexpr std::uint32_t kElfNoteHypercallPage = 2;
inline constexpr std::uint32_t kElfNoteVirtBase = 3;
inline constexpr std::uint32_t kElfNotePaddrOffset = 4;
inline constexpr std::uint32_t kElfNoteXenVersion = 5;
inline constexpr std::uint32_t kElfNoteGuestOs = 6;
inline constexpr std::uint32_t kElfNoteLoader = 8;
inline constexpr std::uint32_t kElfNoteFeatures = 10;

/// start_info.flags.
inline constexpr std::uint32_t kSifPrivileged = 1u << 0;
inline constexpr std::uint32_t kSifInitDomain = 1u << 1;

/// MAX_GUEST_CMDLINE.
inline constexpr std::size_t kMaxGuestCmdline = 1024;

/// The magic of a 64-bit PV guest's start_info ("xen-<version>-<platform>").
inline constexpr char kStartInfoMagic64[] = "xen-3.0-x86_64";

/// start_info.console for an unprivileged domain.
struct StartInfoConsoleDomU {
  std::uint64_t mfn;     ///< machine frame of the console ring
  std::uint32_t evtchn;  ///< its event channel
  std::uint32_t pad;
};

/// struct start_info (x86-64).
struct StartInfo {
  char magic[32];                   ///< "xen-3.0-x86_64"
  std::uint64_t nr_pages;           ///< pages allocated to this domain
  std::uint64_t shared_info;        ///< MACHINE address of the shared_info page
  std::uint32_t flags;              ///< SIF_*
  std::uint64_t store_mfn;          ///< machine frame of the xenstore ring
  std::uint32_t store_evtchn;       ///< its event channel
  StartInfoConsoleDomU console;     ///< (dom0 reads a different view of these 16 bytes)
  std::uint64_t pt_base;            ///< VIRTUAL address of the bootstrap L4 table
  std::uint64_t nr_pt_frames;       ///< bootstrap page-table frames
  std::uint64_t mfn_list;           ///< VIRTUAL address of the pfn -> mfn list
  std::uint64_t mod_start;          ///< VIRTUAL address of the initial module
  std::uint64_t mod_len;            ///< its size in bytes
  std::int8_t cmd_line[kMaxGuestCmdline];  ///< NUL-terminated command line
  std::uint64_t first_p2m_pfn;      ///< first pfn of the initial p2m table
  std::uint64_t nr_p2m_frames;      ///< its frames
};

static_assert(sizeof(StartInfoConsoleDomU) == 16);
static_assert(offsetof(StartInfo, console) == 72);
static_assert(offsetof(StartInfo, cmd_line) == 128);
static_assert(sizeof(StartInfo) == 1168);

}  // namespace pvkit::guest::xen
