// pvkit/loader/xen_boot_abi.h — pvkit's own definitions of Xen's PV boot ABI (x86-64).
//
// What it is: the Xen ELF note types (public/elfnote.h), the start_info page layout and its
// SIF_* flags (public/xen.h, "Start-of-day memory layout"), and the magic string of a 64-bit
// PV guest. Named fields, no Xen header included; abi_conformance_test checks every size,
// offset and value against /usr/include/xen.
//
// How to use it: the layout planner fills a `xen::StartInfo` (start_info.h); the platform
// copies it byte for byte into the start_info frame.
//
// Concurrency: constants and plain value types only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace pvkit::xen {

// XEN_ELFNOTE_* (elfnote.h): the note types of a PV guest image, name "Xen".
inline constexpr std::uint32_t kElfNoteInfo = 0;
inline constexpr std::uint32_t kElfNoteEntry = 1;
inline constexpr std::uint32_t kElfNoteHypercallPage = 2;
inline constexpr std::uint32_t kElfNoteVirtBase = 3;
inline constexpr std::uint32_t kElfNotePaddrOffset = 4;
inline constexpr std::uint32_t kElfNoteXenVersion = 5;
inline constexpr std::uint32_t kElfNoteGuestOs = 6;
inline constexpr std::uint32_t kElfNoteGuestVersion = 7;
inline constexpr std::uint32_t kElfNoteLoader = 8;
inline constexpr std::uint32_t kElfNotePaeMode = 9;
inline constexpr std::uint32_t kElfNoteFeatures = 10;
inline constexpr std::uint32_t kElfNoteBsdSymtab = 11;
inline constexpr std::uint32_t kElfNoteHvStartLow = 12;
inline constexpr std::uint32_t kElfNoteL1MfnValid = 13;
inline constexpr std::uint32_t kElfNoteSuspendCancel = 14;
inline constexpr std::uint32_t kElfNoteInitP2m = 15;
inline constexpr std::uint32_t kElfNoteModStartPfn = 16;
inline constexpr std::uint32_t kElfNoteSupportedFeatures = 17;
inline constexpr std::uint32_t kElfNotePhys32Entry = 18;
inline constexpr std::uint32_t kElfNoteMax = kElfNotePhys32Entry;

// start_info.flags (SIF_*).
inline constexpr std::uint32_t kSifPrivileged = 1u << 0;
inline constexpr std::uint32_t kSifInitDomain = 1u << 1;
inline constexpr std::uint32_t kSifMultibootMod = 1u << 2;
inline constexpr std::uint32_t kSifModStartPfn = 1u << 3;
inline constexpr std::uint32_t kSifVirtP2m4Tools = 1u << 4;
inline constexpr std::uint32_t kSifPmMask = 0xFFu << 8;

/// MAX_GUEST_CMDLINE: size of start_info.cmd_line including its NUL.
inline constexpr std::size_t kMaxGuestCmdline = 1024;

/// start_info.magic of a 64-bit PV guest ("xen-<version>-<platform>").
inline constexpr char kStartInfoMagic[] = "xen-3.0-x86_64";

/// start_info.console for an unprivileged domain.
struct StartInfoConsoleDomU {
  std::uint64_t mfn;     ///< MACHINE frame of the console ring page
  std::uint32_t evtchn;  ///< event channel of the console
  std::uint32_t pad;     ///< implicit padding in Xen's layout; zero
};

/// start_info.console for the initial domain.
struct StartInfoConsoleDom0 {
  std::uint32_t info_off;   ///< offset of the dom0_vga_console_info in the start_info page
  std::uint32_t info_size;  ///< its size
};

/// The start_info.console union.
union StartInfoConsole {
  StartInfoConsoleDomU domu;
  StartInfoConsoleDom0 dom0;
};

/// struct start_info (x86-64), one page handed to the guest in RSI at entry.
struct StartInfo {
  std::array<char, 32> magic;     ///< "xen-3.0-x86_64", NUL padded
  std::uint64_t nr_pages;         ///< total pages of the domain
  std::uint64_t shared_info;      ///< MACHINE address of the shared_info page
  std::uint32_t flags;            ///< SIF_*
  std::uint32_t pad0;             ///< implicit padding; zero
  std::uint64_t store_mfn;        ///< MACHINE frame of the xenstore ring
  std::uint32_t store_evtchn;     ///< xenstore event channel
  std::uint32_t pad1;             ///< implicit padding; zero
  StartInfoConsole console;       ///< console page (domU) or console info (dom0)
  std::uint64_t pt_base;          ///< VIRTUAL address of the top-level bootstrap page table
  std::uint64_t nr_pt_frames;     ///< number of bootstrap page-table frames
  std::uint64_t mfn_list;         ///< VIRTUAL address of the phys-to-machine list
  std::uint64_t mod_start;        ///< VIRTUAL address of the initrd (PFN with SIF_MOD_START_PFN)
  std::uint64_t mod_len;          ///< initrd size in bytes
  std::array<std::int8_t, kMaxGuestCmdline> cmd_line;  ///< NUL-terminated command line
  std::uint64_t first_p2m_pfn;    ///< first pfn of a relocated (INIT_P2M) p2m, else 0
  std::uint64_t nr_p2m_frames;    ///< number of frames of a relocated p2m, else 0
};
static_assert(sizeof(StartInfo) == 1168);

}  // namespace pvkit::xen
