// pvkit/loader/elf_reader.h — a hardened reader for ELF64 x86-64 executables over a byte span.
//
// What it is: `ElfImage::parse(bytes)` validates the file header, the program header table,
// every program header's file range, the section header table, every section's file range
// and the section-name string table, all with overflow-checked arithmetic. Afterwards the
// accessors cannot read outside `bytes`. Headers are copied out with memcpy (the input may be
// unaligned). Nothing is allocated; the ElfImage only refers to the caller's bytes, which must
// outlive it. Note parsing lives in elf_note.h.
//
// How to use it:
//   LoadResult<ElfImage> elf = ElfImage::parse(bytes);
//   if (!elf) return elf.error();
//   for (std::uint16_t i = 0; i < elf->program_header_count(); ++i) use(elf->program_header(i));
//
// Concurrency: immutable after parse; safe to share between threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include "pvkit/loader/elf64.h"
#include "pvkit/loader/load_error.h"

namespace pvkit::loader {

/// Upper bounds that keep the work done on a hostile file small (Xen's own kernels use < 10).
inline constexpr std::uint16_t kMaxProgramHeaders = 64;
inline constexpr std::uint16_t kMaxSectionHeaders = 512;

/// A validated ELF64 x86-64 executable image (a view of the caller's bytes).
class ElfImage {
 public:
  constexpr ElfImage() = default;

  /// Validates `file` and returns a view of it, or the first problem found.
  static LoadResult<ElfImage> parse(std::span<const std::uint8_t> file);

  /// The file header (a copy).
  [[nodiscard]] const elf::FileHeader& header() const { return header_; }
  /// e_phnum of the validated header.
  [[nodiscard]] std::uint16_t program_header_count() const { return header_.phnum; }
  /// e_shnum of the validated header.
  [[nodiscard]] std::uint16_t section_header_count() const { return header_.shnum; }

  /// Program header `i` (< program_header_count(); every one was bounds-checked by parse).
  [[nodiscard]] elf::ProgramHeader program_header(std::uint16_t i) const {
    elf::ProgramHeader ph{};
    if (i < header_.phnum) {
      std::memcpy(&ph, file_.data() + header_.phoff + std::uint64_t{i} * sizeof(ph), sizeof(ph));
    }
    return ph;
  }

  /// Section header `i` (< section_header_count()).
  [[nodiscard]] elf::SectionHeader section_header(std::uint16_t i) const {
    elf::SectionHeader sh{};
    if (i < header_.shnum) {
      std::memcpy(&sh, file_.data() + header_.shoff + std::uint64_t{i} * sizeof(sh), sizeof(sh));
    }
    return sh;
  }

  /// True when section `sh`'s name (in the validated string table) equals `name`.
  [[nodiscard]] bool section_name_is(const elf::SectionHeader& sh, const char* name) const {
    if (strtab_size_ == 0 || sh.name >= strtab_size_) return false;
    const std::uint64_t avail = strtab_size_ - sh.name;
    const std::uint8_t* p = file_.data() + strtab_offset_ + sh.name;
    for (std::uint64_t k = 0; k < avail; ++k) {  // stops at the table's end: no overread
      if (p[k] != static_cast<std::uint8_t>(name[k])) return false;
      if (name[k] == 0) return true;
    }
    return false;  // the name runs off the end of the string table
  }

  /// The file bytes of a program header (validated by parse; empty for p_filesz == 0).
  [[nodiscard]] std::span<const std::uint8_t> segment_bytes(const elf::ProgramHeader& ph) const {
    if (!range_within(ph.offset, ph.filesz, file_.size())) return {};
    return file_.subspan(static_cast<std::size_t>(ph.offset), static_cast<std::size_t>(ph.filesz));
  }

  /// The file bytes of a section (empty for SHT_NOBITS).
  [[nodiscard]] std::span<const std::uint8_t> section_bytes(const elf::SectionHeader& sh) const {
    if (sh.type == elf::kShtNobits || !range_within(sh.offset, sh.size, file_.size())) return {};
    return file_.subspan(static_cast<std::size_t>(sh.offset), static_cast<std::size_t>(sh.size));
  }

  /// The whole file.
  [[nodiscard]] std::span<const std::uint8_t> file() const { return file_; }

 private:
  static LoadError check_header(const elf::FileHeader& h, std::uint64_t size);
  LoadError check_program_headers() const;
  LoadError check_sections();

  std::span<const std::uint8_t> file_{};
  elf::FileHeader header_{};
  std::uint64_t strtab_offset_ = 0;
  std::uint64_t strtab_size_ = 0;
};

inline LoadError ElfImage::check_header(const elf::FileHeader& h, std::uint64_t size) {
  if (std::memcmp(h.ident.data(), elf::kMagic.data(), elf::kMagic.size()) != 0) {
    return LoadError::BadMagic;
  }
  if (h.ident[elf::kIdentClass] != elf::kClass64) return LoadError::BadClass;
  if (h.ident[elf::kIdentData] != elf::kDataLsb) return LoadError::BadEncoding;
  if (h.ident[elf::kIdentVersion] != elf::kVersionCurrent || h.version != elf::kVersionCurrent) {
    return LoadError::BadVersion;
  }
  if (h.type != elf::kTypeExec) return LoadError::NotExecutable;
  if (h.machine != elf::kMachineX86_64) return LoadError::BadMachine;
  if (h.ehsize != sizeof(elf::FileHeader)) return LoadError::BadHeaderSize;

  // Program header table: extended numbering (PN_XNUM) is refused, the count is bounded.
  if (h.phnum == elf::kPnXnum || h.phnum > kMaxProgramHeaders) return LoadError::TooManyPhdrs;
  if (h.phnum != 0) {
    if (h.phentsize != sizeof(elf::ProgramHeader)) return LoadError::BadPhentsize;
    const std::uint64_t bytes = std::uint64_t{h.phnum} * sizeof(elf::ProgramHeader);
    if (!range_within(h.phoff, bytes, size)) return LoadError::PhdrOutOfBounds;
  }

  // Section header table: optional. shnum == 0 with shoff != 0 would be extended numbering.
  if (h.shnum == 0) {
    if (h.shoff != 0) return LoadError::TooManyShdrs;
    if (h.shstrndx != elf::kShnUndef) return LoadError::BadShstrndx;
  } else {
    if (h.shnum > kMaxSectionHeaders) return LoadError::TooManyShdrs;
    if (h.shentsize != sizeof(elf::SectionHeader)) return LoadError::BadShentsize;
    const std::uint64_t bytes = std::uint64_t{h.shnum} * sizeof(elf::SectionHeader);
    if (!range_within(h.shoff, bytes, size)) return LoadError::ShdrOutOfBounds;
    if (h.shstrndx != elf::kShnUndef && h.shstrndx >= h.shnum) return LoadError::BadShstrndx;
  }
  return LoadError::Ok;
}

inline LoadError ElfImage::check_program_headers() const {
  for (std::uint16_t i = 0; i < header_.phnum; ++i) {
    const elf::ProgramHeader ph = program_header(i);
    if (!range_within(ph.offset, ph.filesz, file_.size())) return LoadError::SegmentOutOfBounds;
    if (ph.type == elf::kPtLoad && ph.filesz > ph.memsz) return LoadError::FileszExceedsMemsz;
  }
  return LoadError::Ok;
}

inline LoadError ElfImage::check_sections() {
  for (std::uint16_t i = 0; i < header_.shnum; ++i) {
    const elf::SectionHeader sh = section_header(i);
    if (sh.type == elf::kShtNobits || sh.type == elf::kShtNull) continue;
    if (!range_within(sh.offset, sh.size, file_.size())) return LoadError::SectionOutOfBounds;
  }
  if (header_.shnum != 0 && header_.shstrndx != elf::kShnUndef) {
    const elf::SectionHeader st = section_header(header_.shstrndx);
    if (st.type != elf::kShtStrtab) return LoadError::BadShstrndx;
    strtab_offset_ = st.offset;
    strtab_size_ = st.size;
  }
  return LoadError::Ok;
}

inline LoadResult<ElfImage> ElfImage::parse(std::span<const std::uint8_t> file) {
  ElfImage img;
  if (file.size() < sizeof(elf::FileHeader)) return LoadError::Truncated;
  std::memcpy(&img.header_, file.data(), sizeof(elf::FileHeader));
  img.file_ = file;
  if (LoadError e = check_header(img.header_, file.size()); e != LoadError::Ok) return e;
  if (LoadError e = img.check_program_headers(); e != LoadError::Ok) return e;
  if (LoadError e = img.check_sections(); e != LoadError::Ok) return e;
  return img;
}

}  // namespace pvkit::loader
