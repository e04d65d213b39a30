// Tests of the hardened ELF64 reader and the note iterator: every malformed header, table or
// note is refused with its own error, never read out of bounds.
#include "pvkit/loader/elf_reader.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "pvkit/loader/elf_note.h"
#include "pvkit/loader/test_elf_builder.h"

namespace pvkit::loader {
namespace {

using testing::BuiltElf;
using testing::linux_like_kernel;

LoadError parse_error(const std::vector<std::uint8_t>& b) {
  return ElfImage::parse(std::span<const std::uint8_t>(b)).error();
}

TEST(ElfReader, AcceptsBuiltKernelAndExposesHeaders) {
  BuiltElf f = linux_like_kernel().build();
  LoadResult<ElfImage> elf = ElfImage::parse(f.bytes);
  ASSERT_TRUE(elf.ok()) << to_string(elf.error());
  EXPECT_EQ(elf->program_header_count(), 3);
  EXPECT_EQ(elf->program_header(0).type, elf::kPtLoad);
  EXPECT_EQ(elf->program_header(0).paddr, 0x1000000u);
  EXPECT_EQ(elf->program_header(2).type, elf::kPtNote);
  EXPECT_EQ(elf->section_header_count(), 3);
  EXPECT_TRUE(elf->section_name_is(elf->section_header(1), ".note.Xen"));
  EXPECT_FALSE(elf->section_name_is(elf->section_header(1), ".note"));
  EXPECT_FALSE(elf->section_name_is(elf->section_header(1), ".note.Xen.more"));
  EXPECT_EQ(elf->segment_bytes(elf->program_header(0)).size(), 0x3000u);
  // Out-of-range indices give an all-zero header rather than reading past the table.
  EXPECT_EQ(elf->program_header(3).type, elf::kPtNull);
  EXPECT_EQ(elf->section_header(3).type, elf::kShtNull);
}

TEST(ElfReaderAdversarial, TruncatedHeaderAtEveryLength) {
  BuiltElf f = linux_like_kernel().build();
  for (std::size_t n = 0; n < sizeof(elf::FileHeader); ++n) {
    std::vector<std::uint8_t> cut(f.bytes.begin(), f.bytes.begin() + n);
    EXPECT_EQ(parse_error(cut), LoadError::Truncated) << n;
  }
}

TEST(ElfReaderAdversarial, TruncatedFileCutsTablesOrSegments) {
  BuiltElf f = linux_like_kernel().build();
  // Cut inside the program header table, then inside the section header table.
  std::vector<std::uint8_t> a(f.bytes.begin(), f.bytes.begin() + f.phoff + 60);
  EXPECT_EQ(parse_error(a), LoadError::PhdrOutOfBounds);
  std::vector<std::uint8_t> b(f.bytes.begin(), f.bytes.begin() + f.shoff + 10);
  EXPECT_EQ(parse_error(b), LoadError::ShdrOutOfBounds);
}

TEST(ElfReaderAdversarial, IdentFieldsAreChecked) {
  struct Case {
    std::size_t off;
    std::uint8_t value;
    LoadError want;
  } cases[] = {
      {0, 0x7e, LoadError::BadMagic},   {3, 'f', LoadError::BadMagic},
      {4, 1, LoadError::BadClass},      {5, 2, LoadError::BadEncoding},
      {6, 0, LoadError::BadVersion},
  };
  for (const Case& c : cases) {
    BuiltElf f = linux_like_kernel().build();
    f.bytes[c.off] = c.value;
    EXPECT_EQ(parse_error(f.bytes), c.want) << c.off;
  }
}

TEST(ElfReaderAdversarial, HeaderFieldsAreChecked) {
  struct Case {
    std::size_t off;
    std::uint16_t value;
    LoadError want;
  } cases[] = {
      {16, 3, LoadError::NotExecutable},   // ET_DYN
      {16, 1, LoadError::NotExecutable},   // ET_REL
      {18, 3, LoadError::BadMachine},      // EM_386
      {52, 60, LoadError::BadHeaderSize},  // e_ehsize
      {54, 32, LoadError::BadPhentsize},   // e_phentsize
      {58, 40, LoadError::BadShentsize},   // e_shentsize
      {62, 3, LoadError::BadShstrndx},     // e_shstrndx == e_shnum
      {62, 1, LoadError::BadShstrndx},     // names a SHT_NOTE, not a string table
  };
  for (const Case& c : cases) {
    BuiltElf f = linux_like_kernel().build();
    f.poke<std::uint16_t>(c.off, c.value);
    EXPECT_EQ(parse_error(f.bytes), c.want) << c.off << "=" << c.value;
  }
  BuiltElf v = linux_like_kernel().build();
  v.poke<std::uint32_t>(20, 2);  // e_version
  EXPECT_EQ(parse_error(v.bytes), LoadError::BadVersion);
}

TEST(ElfReaderAdversarial, PhoffAndShoffOutOfRangeOrWrapping) {
  for (std::uint64_t phoff : {std::uint64_t{1} << 40, ~std::uint64_t{0} - 8, ~std::uint64_t{0}}) {
    BuiltElf f = linux_like_kernel().build();
    f.poke<std::uint64_t>(32, phoff);
    EXPECT_EQ(parse_error(f.bytes), LoadError::PhdrOutOfBounds) << phoff;
  }
  for (std::uint64_t shoff : {std::uint64_t{1} << 40, ~std::uint64_t{0} - 8}) {
    BuiltElf f = linux_like_kernel().build();
    f.poke<std::uint64_t>(40, shoff);
    EXPECT_EQ(parse_error(f.bytes), LoadError::ShdrOutOfBounds) << shoff;
  }
  BuiltElf g = linux_like_kernel().build();
  g.poke<std::uint64_t>(32, g.bytes.size() - 3 * sizeof(elf::ProgramHeader) + 1);
  EXPECT_EQ(parse_error(g.bytes), LoadError::PhdrOutOfBounds);
}

TEST(ElfReaderAdversarial, HugeOrExtendedHeaderCounts) {
  BuiltElf f = linux_like_kernel().build();
  f.poke<std::uint16_t>(56, 0xffff);  // PN_XNUM
  EXPECT_EQ(parse_error(f.bytes), LoadError::TooManyPhdrs);
  f.poke<std::uint16_t>(56, kMaxProgramHeaders + 1);
  EXPECT_EQ(parse_error(f.bytes), LoadError::TooManyPhdrs);
  BuiltElf g = linux_like_kernel().build();
  g.poke<std::uint16_t>(60, 0xffff);
  EXPECT_EQ(parse_error(g.bytes), LoadError::TooManyShdrs);
  g.poke<std::uint16_t>(60, 0);  // shnum 0 with shoff set: extended numbering
  g.poke<std::uint16_t>(62, 0);
  EXPECT_EQ(parse_error(g.bytes), LoadError::TooManyShdrs);
  // A plausible phnum that simply runs past the end of the file.
  BuiltElf h = linux_like_kernel().build();
  h.poke<std::uint16_t>(56, kMaxProgramHeaders);
  h.bytes.resize(h.phoff + 10 * sizeof(elf::ProgramHeader));
  h.poke<std::uint16_t>(60, 0);
  h.poke<std::uint64_t>(40, 0);
  h.poke<std::uint16_t>(62, 0);
  EXPECT_EQ(parse_error(h.bytes), LoadError::PhdrOutOfBounds);
}

TEST(ElfReaderAdversarial, SegmentFileRangeAndSizes) {
  BuiltElf f = linux_like_kernel().build();
  f.poke<std::uint64_t>(f.phdr_field(0, 8), ~std::uint64_t{0} - 0x10);  // p_offset wraps
  EXPECT_EQ(parse_error(f.bytes), LoadError::SegmentOutOfBounds);
  BuiltElf g = linux_like_kernel().build();
  g.poke<std::uint64_t>(g.phdr_field(1, 32), g.bytes.size());  // p_filesz beyond the file
  g.poke<std::uint64_t>(g.phdr_field(1, 40), ~std::uint64_t{0});
  EXPECT_EQ(parse_error(g.bytes), LoadError::SegmentOutOfBounds);
  BuiltElf h = linux_like_kernel().build();
  h.poke<std::uint64_t>(h.phdr_field(0, 40), 0x2fff);  // memsz < filesz
  EXPECT_EQ(parse_error(h.bytes), LoadError::FileszExceedsMemsz);
  BuiltElf n = linux_like_kernel().build();  // the PT_NOTE's range too
  n.poke<std::uint64_t>(n.phdr_field(n.note_phdr, 32), n.bytes.size());
  EXPECT_EQ(parse_error(n.bytes), LoadError::SegmentOutOfBounds);
}

TEST(ElfReaderAdversarial, SectionRangeAndNameOutOfBounds) {
  BuiltElf f = linux_like_kernel().build();
  f.poke<std::uint64_t>(f.shoff + sizeof(elf::SectionHeader) + 24, ~std::uint64_t{0});
  EXPECT_EQ(parse_error(f.bytes), LoadError::SectionOutOfBounds);
  // A section name index past the string table: the name simply does not match.
  BuiltElf g = linux_like_kernel().build();
  g.poke<std::uint32_t>(g.shoff + sizeof(elf::SectionHeader), 0xfffffff0u);
  LoadResult<ElfImage> elf = ElfImage::parse(g.bytes);
  ASSERT_TRUE(elf.ok());
  EXPECT_FALSE(elf->section_name_is(elf->section_header(1), ".note.Xen"));
  // A name that runs to the very end of the table without a NUL.
  BuiltElf h = linux_like_kernel().build();
  const std::size_t str_size_field = h.shoff + 2 * sizeof(elf::SectionHeader) + 32;
  h.poke<std::uint64_t>(str_size_field, 10);  // table = "\0.note.Xen" without the NUL
  LoadResult<ElfImage> e2 = ElfImage::parse(h.bytes);
  ASSERT_TRUE(e2.ok());
  EXPECT_FALSE(e2->section_name_is(e2->section_header(1), ".note.Xen"));
}

// --- Notes -----------------------------------------------------------------------------

std::vector<std::uint8_t> raw_note(std::uint32_t namesz, std::uint32_t descsz, std::uint32_t type,
                                   std::size_t payload) {
  std::vector<std::uint8_t> v(12 + payload, 0);
  std::memcpy(v.data(), &namesz, 4);
  std::memcpy(v.data() + 4, &descsz, 4);
  std::memcpy(v.data() + 8, &type, 4);
  return v;
}

TEST(ElfNote, IteratesNotesWithPadding) {
  BuiltElf f = testing::ElfBuilder()
                   .note_str(6, "linux")
                   .note(testing::NoteSpec{"GNU", 3, {1, 2, 3}})
                   .note_u64(1, 42)
                   .build();
  NoteReader r(std::span<const std::uint8_t>(f.bytes).subspan(f.notes_offset, f.notes_size));
  ElfNote n;
  ASSERT_TRUE(r.next(n));
  EXPECT_TRUE(n.name_is("Xen"));
  EXPECT_EQ(n.type, 6u);
  EXPECT_EQ(n.desc.size(), 6u);
  ASSERT_TRUE(r.next(n));
  EXPECT_TRUE(n.name_is("GNU"));
  EXPECT_FALSE(n.name_is("Xen"));
  EXPECT_EQ(n.desc.size(), 3u);
  ASSERT_TRUE(r.next(n));
  EXPECT_EQ(n.type, 1u);
  EXPECT_FALSE(r.next(n));
  EXPECT_EQ(r.error(), LoadError::Ok);
}

TEST(ElfNoteAdversarial, NameszOrDescszOverflow) {
  // namesz/descsz near 2^32: padding them in 32-bit arithmetic would wrap to 0.
  for (auto [namesz, descsz] : {std::pair<std::uint32_t, std::uint32_t>{0xffffffffu, 0},
                                {4, 0xffffffffu}, {0xfffffffdu, 4}, {4, 0xfffffffdu},
                                {4, 13}, {17, 0}}) {
    std::vector<std::uint8_t> v = raw_note(namesz, descsz, 1, 16);
    NoteReader r(v);
    ElfNote n;
    EXPECT_FALSE(r.next(n));
    EXPECT_EQ(r.error(), LoadError::NoteOutOfBounds) << namesz << "/" << descsz;
  }
}

TEST(ElfNoteAdversarial, TrailingBytesAndCutPadding) {
  // Fewer than 12 trailing bytes: ignored (Xen stops there).
  std::vector<std::uint8_t> v = raw_note(4, 4, 1, 8);
  std::memcpy(v.data() + 12, "Xen", 4);
  v.resize(v.size() + 7, 0xab);
  NoteReader r(v);
  ElfNote n;
  EXPECT_TRUE(r.next(n));
  EXPECT_FALSE(r.next(n));
  EXPECT_EQ(r.error(), LoadError::Ok);
  // Last note with its descriptor padding cut short: accepted, the descriptor is whole.
  std::vector<std::uint8_t> w = raw_note(4, 5, 1, 9);
  std::memcpy(w.data() + 12, "Xen", 4);
  NoteReader r2(w);
  EXPECT_TRUE(r2.next(n));
  EXPECT_EQ(n.desc.size(), 5u);
  EXPECT_FALSE(r2.next(n));
  EXPECT_EQ(r2.error(), LoadError::Ok);
}

TEST(ElfNoteAdversarial, NameWithoutNulIsNotXen) {
  std::vector<std::uint8_t> v = raw_note(3, 0, 1, 4);
  std::memcpy(v.data() + 12, "Xen", 3);
  NoteReader r(v);
  ElfNote n;
  ASSERT_TRUE(r.next(n));
  EXPECT_FALSE(n.name_is("Xen"));
}

}  // namespace
}  // namespace pvkit::loader

namespace pvkit::loader {
namespace {

TEST(LoadErrorNames, EveryErrorHasANameAndAnErrno) {
  for (int e = 1; e <= static_cast<int>(LoadError::LayoutOverflow); ++e) {
    const auto err = static_cast<LoadError>(e);
    EXPECT_STRNE(to_string(err), "?") << e;
    EXPECT_NE(to_errno(err), Errno::Ok) << e;
    EXPECT_FALSE(LoadResult<int>(err).ok());
    EXPECT_EQ(LoadResult<int>(err).status().guest_value(),
              -static_cast<std::int64_t>(to_errno(err)));
  }
  EXPECT_EQ(to_errno(LoadError::BadMagic), Errno::NoExec);
  EXPECT_EQ(to_errno(LoadError::NotEnoughMemory), Errno::NoMem);
  EXPECT_EQ(to_errno(LoadError::ImageTooLarge), Errno::TooBig);
  EXPECT_EQ(to_errno(LoadError::EntryOutsideImage), Errno::Inval);
  EXPECT_EQ(to_errno(LoadError::Ok), Errno::Ok);
}

}  // namespace
}  // namespace pvkit::loader
