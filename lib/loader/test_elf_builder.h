// pvkit/loader/test_elf_builder.h — HOST-ONLY test helper: write small ELF64 PV kernels.
//
// What it is: `ElfBuilder` assembles an x86-64 ET_EXEC file with chosen PT_LOAD segments,
// Xen notes (in a PT_NOTE segment and a .note.Xen SHT_NOTE section, or only in the section)
// and a section header table, and reports where each part landed so that tests can corrupt
// exactly one field. `linux_like_kernel()` and `minios_like_kernel()` return valid images.
// Uses std::vector/std::string: never include it from lib/ code.
//
// How to use it:
//   ElfBuilder b = linux_like_kernel();
//   b.note_u64(xen::kElfNoteEntry, 0xffffffff81000100);
//   BuiltElf f = b.build();  // f.bytes, f.phoff, f.notes_offset, ...
//
// Concurrency: ordinary host objects.
#pragma once

#include <cstdint>
#include <cstring>
#include <ostream>
#include <string>
#include <vector>

#include "pvkit/loader/elf64.h"
#include "pvkit/loader/load_error.h"
#include "pvkit/loader/xen_boot_abi.h"

namespace pvkit::loader {
/// gtest printer: failures show the error's name.
inline void PrintTo(LoadError e, std::ostream* os) { *os << to_string(e); }
}  // namespace pvkit::loader

namespace pvkit::loader::testing {

/// One segment to emit.
struct SegmentSpec {
  std::uint64_t vaddr = 0;
  std::uint64_t paddr = 0;
  std::vector<std::uint8_t> data;  ///< file bytes (p_filesz = data.size())
  std::uint64_t memsz = 0;         ///< 0: same as data.size()
  std::uint32_t flags = elf::kPfR | elf::kPfX;
  std::uint32_t type = elf::kPtLoad;
  std::uint64_t align = 0x1000;
};

/// One note to emit.
struct NoteSpec {
  std::string name = "Xen";  ///< namesz = size + 1 (the NUL)
  std::uint32_t type = 0;
  std::vector<std::uint8_t> desc;
};

/// The file and where its parts are.
struct BuiltElf {
  std::vector<std::uint8_t> bytes;
  std::size_t phoff = 0;         ///< program header table
  std::size_t note_phdr = 0;     ///< index of the PT_NOTE header (if notes_in_segment)
  std::size_t notes_offset = 0;  ///< first note
  std::size_t notes_size = 0;
  std::size_t shoff = 0;         ///< section header table
  std::vector<std::size_t> segment_offsets;  ///< file offset of each SegmentSpec's data

  /// Overwrites a little-endian integer of sizeof(T) bytes at `off`.
  template <typename T>
  void poke(std::size_t off, T v) { std::memcpy(bytes.data() + off, &v, sizeof(T)); }
  /// File offset of field `field_off` of program header `i`.
  std::size_t phdr_field(std::size_t i, std::size_t field_off) const {
    return phoff + i * sizeof(elf::ProgramHeader) + field_off;
  }
};

/// Assembles an ELF64 PV kernel.
class ElfBuilder {
 public:
  ElfBuilder& segment(SegmentSpec s) { segments_.push_back(std::move(s)); return *this; }
  ElfBuilder& note(NoteSpec n) { notes_.push_back(std::move(n)); return *this; }
  ElfBuilder& note_raw(std::uint32_t type, std::vector<std::uint8_t> desc) {
    return note(NoteSpec{"Xen", type, std::move(desc)});
  }
  ElfBuilder& note_u64(std::uint32_t type, std::uint64_t v) {
    std::vector<std::uint8_t> d(8);
    std::memcpy(d.data(), &v, 8);
    return note_raw(type, d);
  }
  ElfBuilder& note_u32(std::uint32_t type, std::uint32_t v) {
    std::vector<std::uint8_t> d(4);
    std::memcpy(d.data(), &v, 4);
    return note_raw(type, d);
  }
  ElfBuilder& note_str(std::uint32_t type, const std::string& s) {
    std::vector<std::uint8_t> d(s.begin(), s.end());
    d.push_back(0);
    return note_raw(type, d);
  }
  /// Removes every note of `type`.
  ElfBuilder& drop_note(std::uint32_t type) {
    std::erase_if(notes_, [type](const NoteSpec& n) { return n.type == type; });
    return *this;
  }
  ElfBuilder& entry(std::uint64_t e) { entry_ = e; return *this; }
  /// Put the notes only in an SHT_NOTE section (no PT_NOTE segment).
  ElfBuilder& notes_in_section_only(bool v = true) { section_only_ = v; return *this; }

  BuiltElf build() const {
    BuiltElf out;
    std::vector<std::uint8_t>& f = out.bytes;
    const bool note_seg = !section_only_ && !notes_.empty();
    const std::size_t phnum = segments_.size() + (note_seg ? 1 : 0);
    f.resize(sizeof(elf::FileHeader) + phnum * sizeof(elf::ProgramHeader));
    out.phoff = sizeof(elf::FileHeader);

    // Notes.
    align(f, 4);
    out.notes_offset = f.size();
    for (const NoteSpec& n : notes_) {
      elf::NoteHeader h{static_cast<std::uint32_t>(n.name.size() + 1),
                        static_cast<std::uint32_t>(n.desc.size()), n.type};
      append(f, &h, sizeof h);
      append(f, n.name.c_str(), n.name.size() + 1);
      align(f, 4);
      append(f, n.desc.data(), n.desc.size());
      align(f, 4);
    }
    out.notes_size = f.size() - out.notes_offset;

    // Segment data.
    for (const SegmentSpec& s : segments_) {
      align(f, 16);
      out.segment_offsets.push_back(f.size());
      append(f, s.data.data(), s.data.size());
    }

    // Section name table and headers: [0] null, [1] .note.Xen, [2] .shstrtab.
    const std::string names = std::string("\0.note.Xen\0.shstrtab\0", 21);
    const std::size_t names_off = f.size();
    append(f, names.data(), names.size());
    align(f, 8);
    out.shoff = f.size();
    std::vector<elf::SectionHeader> sh(3);
    std::memset(sh.data(), 0, sh.size() * sizeof(elf::SectionHeader));
    sh[1].name = 1;
    sh[1].type = elf::kShtNote;
    sh[1].offset = out.notes_offset;
    sh[1].size = out.notes_size;
    sh[1].addralign = 4;
    sh[2].name = 11;
    sh[2].type = elf::kShtStrtab;
    sh[2].offset = names_off;
    sh[2].size = names.size();
    sh[2].addralign = 1;
    append(f, sh.data(), sh.size() * sizeof(elf::SectionHeader));

    // Program headers.
    std::size_t i = 0;
    for (std::size_t k = 0; k < segments_.size(); ++k, ++i) {
      const SegmentSpec& s = segments_[k];
      elf::ProgramHeader ph{s.type, s.flags, out.segment_offsets[k], s.vaddr, s.paddr,
                            s.data.size(), s.memsz ? s.memsz : s.data.size(), s.align};
      std::memcpy(f.data() + out.phoff + i * sizeof ph, &ph, sizeof ph);
    }
    if (note_seg) {
      out.note_phdr = i;
      elf::ProgramHeader ph{elf::kPtNote, elf::kPfR, out.notes_offset, 0, 0,
                            out.notes_size, out.notes_size, 4};
      std::memcpy(f.data() + out.phoff + i * sizeof ph, &ph, sizeof ph);
    }

    // File header.
    elf::FileHeader h{};
    std::memcpy(h.ident.data(), elf::kMagic.data(), 4);
    h.ident[elf::kIdentClass] = elf::kClass64;
    h.ident[elf::kIdentData] = elf::kDataLsb;
    h.ident[elf::kIdentVersion] = elf::kVersionCurrent;
    h.type = elf::kTypeExec;
    h.machine = elf::kMachineX86_64;
    h.version = elf::kVersionCurrent;
    h.entry = entry_;
    h.phoff = phnum ? out.phoff : 0;
    h.shoff = out.shoff;
    h.ehsize = sizeof(elf::FileHeader);
    h.phentsize = sizeof(elf::ProgramHeader);
    h.phnum = static_cast<std::uint16_t>(phnum);
    h.shentsize = sizeof(elf::SectionHeader);
    h.shnum = 3;
    h.shstrndx = 2;
    std::memcpy(f.data(), &h, sizeof h);
    return out;
  }

 private:
  static void align(std::vector<std::uint8_t>& f, std::size_t a) {
    while (f.size() % a != 0) f.push_back(0);
  }
  static void append(std::vector<std::uint8_t>& f, const void* p, std::size_t n) {
    const auto* b = static_cast<const std::uint8_t*>(p);
    f.insert(f.end(), b, b + n);
  }

  std::vector<SegmentSpec> segments_;
  std::vector<NoteSpec> notes_;
  std::uint64_t entry_ = 0;
  bool section_only_ = false;
};

/// Bytes 0, 1, 2, ... (mod 251) so that misplaced copies are visible.
inline std::vector<std::uint8_t> pattern(std::size_t n, std::uint8_t seed) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>((i + seed) % 251 + 1);
  return v;
}

/// A Linux-like 64-bit PV kernel: VIRT_BASE 0xffffffff80000000, text at paddr 16 MiB
/// (VA 0xffffffff81000000, 0x3000 bytes), data+bss at paddr 16 MiB + 0x4000 (0x1000 file
/// bytes, 0x5000 in memory), ENTRY +0x100, HYPERCALL_PAGE +0x1000. Loaded range 0x9000 bytes.
inline ElfBuilder linux_like_kernel() {
  constexpr std::uint64_t kBase = 0xffffffff80000000ULL;
  ElfBuilder b;
  b.segment({kBase + 0x1000000, 0x1000000, pattern(0x3000, 1), 0, elf::kPfR | elf::kPfX})
      .segment({kBase + 0x1004000, 0x1004000, pattern(0x1000, 7), 0x5000, elf::kPfR | elf::kPfW})
      .note_str(xen::kElfNoteGuestOs, "linux")
      .note_str(xen::kElfNoteGuestVersion, "2.6")
      .note_str(xen::kElfNoteXenVersion, "xen-3.0")
      .note_u64(xen::kElfNoteVirtBase, kBase)
      .note_u64(xen::kElfNotePaddrOffset, 0)
      .note_u64(xen::kElfNoteEntry, kBase + 0x1000100)
      .note_u64(xen::kElfNoteHypercallPage, kBase + 0x1001000)
      .note_str(xen::kElfNoteFeatures,
                "!writable_page_tables|pae_pgdir_above_4gb|mmu_pt_update_preserve_ad")
      .note_u32(xen::kElfNoteSupportedFeatures, 1u << 7)
      .note_str(xen::kElfNoteLoader, "generic")
      .note_u32(xen::kElfNoteSuspendCancel, 1)
      .note_u64(xen::kElfNoteInitP2m, 0x8000000000ULL)
      .note_u32(xen::kElfNoteModStartPfn, 1)
      .entry(kBase + 0x1000000);
  return b;
}

/// A Mini-OS-like kernel at VA 0 (VIRT_BASE 0): one 0x2000-byte segment, 0x30000 in memory,
/// notes only in a .note.Xen section, entry from e_entry (no ENTRY note).
inline ElfBuilder minios_like_kernel() {
  ElfBuilder b;
  b.segment({0, 0, pattern(0x2000, 3), 0x30000, elf::kPfR | elf::kPfW | elf::kPfX})
      .note_str(xen::kElfNoteGuestOs, "Mini-OS")
      .note_str(xen::kElfNoteXenVersion, "xen-3.0")
      .note_str(xen::kElfNoteLoader, "generic")
      .note_u64(xen::kElfNoteVirtBase, 0)
      .note_u64(xen::kElfNoteHypercallPage, 0x2000)
      .notes_in_section_only()
      .entry(0x40);
  return b;
}

}  // namespace pvkit::loader::testing
