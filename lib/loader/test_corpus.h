// pvkit/loader/test_corpus.h — HOST-ONLY: the seed corpus of the loader fuzz target.
//
// What it is: `corpus_cases()` builds each seed file (valid kernels and one malformed
// variant per defended rule) together with the verdict inspect_pv_image must give.
// make_corpus writes them to lib/loader/corpus/; corpus_test checks that the checked-in
// files are exactly these and runs every file through run_loader_pipeline().
//
// How to use it: `for (const CorpusCase& c : corpus_cases()) write(c.name, c.bytes);`
//
// Concurrency: ordinary host code.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pvkit/loader/load_error.h"
#include "pvkit/loader/test_elf_builder.h"

namespace pvkit::loader::testing {

struct CorpusCase {
  std::string name;                 ///< file name in lib/loader/corpus/
  std::vector<std::uint8_t> bytes;  ///< file contents
  LoadError want;                   ///< inspect_pv_image's verdict
};

inline std::vector<CorpusCase> corpus_cases() {
  std::vector<CorpusCase> v;
  auto add = [&v](std::string name, BuiltElf f, LoadError want) {
    v.push_back({std::move(name), std::move(f.bytes), want});
  };
  add("valid_linux_like.elf", linux_like_kernel().build(), LoadError::Ok);
  add("valid_minios_like.elf", minios_like_kernel().build(), LoadError::Ok);
  add("valid_no_entry_note.elf", linux_like_kernel().drop_note(xen::kElfNoteEntry).build(),
      LoadError::Ok);
  {
    BuiltElf f = linux_like_kernel().build();
    f.bytes.resize(40);
    add("bad_truncated_header.elf", std::move(f), LoadError::Truncated);
  }
  {
    BuiltElf f = linux_like_kernel().build();
    f.poke<std::uint64_t>(32, ~std::uint64_t{0} - 16);
    add("bad_phoff_wraps.elf", std::move(f), LoadError::PhdrOutOfBounds);
  }
  {
    BuiltElf f = linux_like_kernel().build();
    f.poke<std::uint16_t>(56, 0xffff);
    add("bad_huge_phnum.elf", std::move(f), LoadError::TooManyPhdrs);
  }
  {
    BuiltElf f = linux_like_kernel().build();
    f.poke<std::uint64_t>(40, f.bytes.size() - 8);
    add("bad_shoff_out_of_range.elf", std::move(f), LoadError::ShdrOutOfBounds);
  }
  {
    BuiltElf f = linux_like_kernel().build();
    f.poke<std::uint64_t>(f.phdr_field(0, 40), 0x10);  // memsz < filesz
    add("bad_memsz_below_filesz.elf", std::move(f), LoadError::FileszExceedsMemsz);
  }
  {
    BuiltElf f = linux_like_kernel().build();
    f.poke<std::uint64_t>(f.phdr_field(1, 24), 0x1002000);  // data paddr inside text
    add("bad_overlapping_segments.elf", std::move(f), LoadError::OverlappingSegments);
  }
  {
    BuiltElf f = linux_like_kernel().build();
    f.poke<std::uint32_t>(f.notes_offset + 4, 0xfffffffdu);
    add("bad_note_descsz_overflow.elf", std::move(f), LoadError::NoteOutOfBounds);
  }
  add("bad_noncanonical_entry.elf",
      linux_like_kernel().note_u64(xen::kElfNoteEntry, 0x8000000000001000ULL).build(),
      LoadError::EntryOutsideImage);
  add("bad_entry_outside_image.elf",
      linux_like_kernel().note_u64(xen::kElfNoteEntry, 0xffffffff81009000ULL).build(),
      LoadError::EntryOutsideImage);
  add("bad_hypercall_page_outside.elf",
      linux_like_kernel().note_u64(xen::kElfNoteHypercallPage, 0xffffffff81009000ULL).build(),
      LoadError::HypercallPageOutsideImage);
  add("bad_numeric_note_size.elf",
      linux_like_kernel().note_raw(xen::kElfNoteVirtBase, {1, 2, 3}).build(),
      LoadError::BadNumericNote);
  add("bad_unterminated_string.elf",
      linux_like_kernel().note_raw(xen::kElfNoteGuestOs, {'l', 'i', 'n'}).build(),
      LoadError::UnterminatedString);
  {
    ElfBuilder b;
    b.segment({0xFFFF800000100000ULL, 0x100000, pattern(0x100, 0), 0x1000})
        .note_str(xen::kElfNoteLoader, "generic")
        .note_str(xen::kElfNoteXenVersion, "xen-3.0")
        .note_u64(xen::kElfNoteVirtBase, 0xFFFF800000000000ULL)
        .entry(0xFFFF800000100000ULL);
    add("bad_hypervisor_range.elf", b.build(), LoadError::HypervisorRange);
  }
  {
    ElfBuilder b;
    b.segment({0, 0, pattern(0x100, 0), 0x1000});
    add("bad_no_xen_notes.elf", b.build(), LoadError::NoXenNotes);
  }
  return v;
}

}  // namespace pvkit::loader::testing
