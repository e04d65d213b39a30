// pvkit/loader/xen_notes.h — collect the Xen ELF notes of a PV guest image.
//
// What it is: `parse_xen_notes(elf)` reads every note named "Xen" from the PT_NOTE segments
// or, when those hold none, from the SHT_NOTE sections (Xen's order), and returns a
// `XenNotes` with one field per note type of public/elfnote.h. Numeric notes are
// little-endian of 1, 2, 4 or 8 bytes (Xen's rule); any other size is refused. String notes
// must hold a NUL inside their descriptor; the string is what precedes the first NUL. A
// repeated note replaces the earlier one (Xen's behaviour). Unknown types are ignored.
// Strings point into the caller's file bytes, which must outlive the XenNotes.
//
// How to use it: normally through inspect_pv_image() (pv_image.h).
//
// Concurrency: pure function over caller-owned bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>

#include "pvkit/loader/elf_note.h"
#include "pvkit/loader/elf_reader.h"
#include "pvkit/loader/load_error.h"
#include "pvkit/loader/xen_boot_abi.h"

namespace pvkit::loader {

/// A string note: `size` chars at `data` (not including the NUL). Absent when data == nullptr.
struct NoteString {
  const char* data = nullptr;
  std::size_t size = 0;

  /// True if the note was present.
  [[nodiscard]] constexpr bool present() const { return data != nullptr; }
  /// True when the string equals `s`.
  [[nodiscard]] constexpr bool equals(const char* s) const {
    if (!present()) return false;
    std::size_t k = 0;
    for (; k < size; ++k) {
      if (s[k] == 0 || s[k] != data[k]) return false;
    }
    return s[k] == 0;
  }
  /// True when the string begins with `prefix`.
  [[nodiscard]] constexpr bool starts_with(const char* prefix) const {
    if (!present()) return false;
    for (std::size_t k = 0; prefix[k] != 0; ++k) {
      if (k >= size || data[k] != prefix[k]) return false;
    }
    return true;
  }
};

/// One L1_MFN_VALID mask/value pair (maddr_t sized on x86-64).
struct L1MfnValidPair {
  std::uint64_t mask = 0;
  std::uint64_t value = 0;
};
inline constexpr std::size_t kMaxL1MfnValidPairs = 4;

/// Every Xen note of an image. Numeric notes are optional: absent means "not given".
struct XenNotes {
  std::optional<std::uint64_t> entry;
  std::optional<std::uint64_t> hypercall_page;
  std::optional<std::uint64_t> virt_base;
  std::optional<std::uint64_t> paddr_offset;
  std::optional<std::uint64_t> hv_start_low;
  std::optional<std::uint64_t> suspend_cancel;
  std::optional<std::uint64_t> init_p2m;
  std::optional<std::uint64_t> mod_start_pfn;
  std::optional<std::uint64_t> supported_features;
  std::optional<std::uint64_t> phys32_entry;
  NoteString guest_os;
  NoteString guest_version;
  NoteString xen_version;
  NoteString loader;
  NoteString pae_mode;
  NoteString features;
  NoteString bsd_symtab;
  std::array<L1MfnValidPair, kMaxL1MfnValidPairs> l1_mfn_valid{};
  std::size_t l1_mfn_valid_count = 0;
  /// Number of notes named "Xen" that were read (0: not a Xen PV image).
  std::size_t count = 0;
};

namespace detail {

inline LoadError read_numeric(std::span<const std::uint8_t> d, std::optional<std::uint64_t>& out) {
  switch (d.size()) {
    case 1: case 2: case 4: case 8: {
      std::uint64_t v = 0;
      std::memcpy(&v, d.data(), d.size());  // little-endian host (elf64.h)
      out = v;
      return LoadError::Ok;
    }
    default:
      return LoadError::BadNumericNote;
  }
}

inline LoadError read_string(std::span<const std::uint8_t> d, NoteString& out) {
  for (std::size_t k = 0; k < d.size(); ++k) {
    if (d[k] == 0) {
      out.data = reinterpret_cast<const char*>(d.data());
      out.size = k;
      return LoadError::Ok;
    }
  }
  return LoadError::UnterminatedString;
}

inline LoadError read_l1_mfn_valid(std::span<const std::uint8_t> d, XenNotes& n) {
  constexpr std::size_t kPair = 2 * sizeof(std::uint64_t);
  if (d.empty() || d.size() % kPair != 0 || d.size() / kPair > kMaxL1MfnValidPairs) {
    return LoadError::BadL1MfnValid;
  }
  n.l1_mfn_valid_count = d.size() / kPair;
  for (std::size_t i = 0; i < n.l1_mfn_valid_count; ++i) {
    std::memcpy(&n.l1_mfn_valid[i].mask, d.data() + i * kPair, 8);
    std::memcpy(&n.l1_mfn_valid[i].value, d.data() + i * kPair + 8, 8);
  }
  return LoadError::Ok;
}

inline LoadError apply_note(const ElfNote& note, XenNotes& n) {
  const auto d = note.desc;
  switch (note.type) {
    case xen::kElfNoteEntry: return read_numeric(d, n.entry);
    case xen::kElfNoteHypercallPage: return read_numeric(d, n.hypercall_page);
    case xen::kElfNoteVirtBase: return read_numeric(d, n.virt_base);
    case xen::kElfNotePaddrOffset: return read_numeric(d, n.paddr_offset);
    case xen::kElfNoteHvStartLow: return read_numeric(d, n.hv_start_low);
    case xen::kElfNoteSuspendCancel: return read_numeric(d, n.suspend_cancel);
    case xen::kElfNoteInitP2m: return read_numeric(d, n.init_p2m);
    case xen::kElfNoteModStartPfn: return read_numeric(d, n.mod_start_pfn);
    case xen::kElfNoteSupportedFeatures: return read_numeric(d, n.supported_features);
    case xen::kElfNotePhys32Entry: return read_numeric(d, n.phys32_entry);
    case xen::kElfNoteGuestOs: return read_string(d, n.guest_os);
    case xen::kElfNoteGuestVersion: return read_string(d, n.guest_version);
    case xen::kElfNoteXenVersion: return read_string(d, n.xen_version);
    case xen::kElfNoteLoader: return read_string(d, n.loader);
    case xen::kElfNotePaeMode: return read_string(d, n.pae_mode);
    case xen::kElfNoteFeatures: return read_string(d, n.features);
    case xen::kElfNoteBsdSymtab: return read_string(d, n.bsd_symtab);
    case xen::kElfNoteL1MfnValid: return read_l1_mfn_valid(d, n);
    default: return LoadError::Ok;  // INFO and unknown types: ignored, as Xen does
  }
}

/// Reads the Xen notes of one container into `n`.
inline LoadError read_container(std::span<const std::uint8_t> bytes, XenNotes& n) {
  NoteReader r(bytes);
  ElfNote note;
  while (r.next(note)) {
    if (!note.name_is("Xen")) continue;
    ++n.count;
    if (LoadError e = apply_note(note, n); e != LoadError::Ok) return e;
  }
  return r.error();
}

}  // namespace detail

/// Collects the Xen notes of `elf` (PT_NOTE segments first, SHT_NOTE sections as fallback).
inline LoadResult<XenNotes> parse_xen_notes(const ElfImage& elf) {
  XenNotes n;
  for (std::uint16_t i = 0; i < elf.program_header_count(); ++i) {
    const elf::ProgramHeader ph = elf.program_header(i);
    if (ph.type != elf::kPtNote) continue;
    if (LoadError e = detail::read_container(elf.segment_bytes(ph), n); e != LoadError::Ok) {
      return e;
    }
  }
  if (n.count == 0) {
    for (std::uint16_t i = 0; i < elf.section_header_count(); ++i) {
      const elf::SectionHeader sh = elf.section_header(i);
      if (sh.type != elf::kShtNote) continue;
      if (LoadError e = detail::read_container(elf.section_bytes(sh), n); e != LoadError::Ok) {
        return e;
      }
    }
  }
  if (n.count == 0) return LoadError::NoXenNotes;
  return n;
}

}  // namespace pvkit::loader
