// Inspects every built guest kernel ELF (paths on the command line) as a Xen domain builder
// would: the Xen notes (GUEST_OS, XEN_VERSION, LOADER, VIRT_BASE, PADDR_OFFSET, ENTRY,
// HYPERCALL_PAGE, FEATURES) are present once each with the intended values, ENTRY is the ELF
// entry and the runtime's _start, the hypercall page is a 4 KiB-aligned, executable,
// read-only page of int3 inside the image, and every loadable segment is placed at
// p_paddr + VIRT_BASE with no segment both writable and executable. The ELF is parsed here
// with glibc's <elf.h> (host code), independently of the guest's own assembly.
#include <elf.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pvkit/guest/layout.h"
#include "pvkit/guest/xen_boot_abi.h"

namespace {

namespace x = pvkit::guest::xen;

std::vector<std::string> g_paths;

struct Note {
  std::uint32_t type;
  std::vector<unsigned char> desc;
};

struct Image {
  std::vector<unsigned char> bytes;
  Elf64_Ehdr eh{};
  std::vector<Elf64_Phdr> phdrs;
  std::vector<Elf64_Shdr> shdrs;
  std::vector<Note> xen_notes;
  std::map<std::string, Elf64_Sym> symbols;
};

template <typename T>
bool read_at(const std::vector<unsigned char>& b, std::uint64_t off, T& out) {
  if (off > b.size() || b.size() - off < sizeof(T)) return false;
  std::memcpy(&out, b.data() + off, sizeof(T));
  return true;
}

// Parses the headers, the Xen notes of the PT_NOTE segments and .symtab; fails the test on
// any structural problem.
void parse(const std::string& path, Image& img) {
  std::ifstream f(path, std::ios::binary);
  ASSERT_TRUE(f) << "cannot open " << path;
  img.bytes.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  ASSERT_TRUE(read_at(img.bytes, 0, img.eh));
  ASSERT_EQ(std::memcmp(img.eh.e_ident, ELFMAG, SELFMAG), 0);
  ASSERT_EQ(img.eh.e_ident[EI_CLASS], ELFCLASS64);
  ASSERT_EQ(img.eh.e_ident[EI_DATA], ELFDATA2LSB);
  ASSERT_EQ(img.eh.e_type, ET_EXEC);
  ASSERT_EQ(img.eh.e_machine, EM_X86_64);
  ASSERT_EQ(img.eh.e_phentsize, sizeof(Elf64_Phdr));
  for (unsigned i = 0; i < img.eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    ASSERT_TRUE(read_at(img.bytes, img.eh.e_phoff + i * sizeof(Elf64_Phdr), ph));
    img.phdrs.push_back(ph);
  }
  for (unsigned i = 0; i < img.eh.e_shnum; ++i) {
    Elf64_Shdr sh;
    ASSERT_TRUE(read_at(img.bytes, img.eh.e_shoff + i * sizeof(Elf64_Shdr), sh));
    img.shdrs.push_back(sh);
  }
  for (const auto& ph : img.phdrs) {
    if (ph.p_type != PT_NOTE) continue;
    ASSERT_LE(ph.p_offset + ph.p_filesz, img.bytes.size());
    std::uint64_t off = ph.p_offset;
    const std::uint64_t end = ph.p_offset + ph.p_filesz;
    while (off + sizeof(Elf64_Nhdr) <= end) {
      Elf64_Nhdr nh;
      ASSERT_TRUE(read_at(img.bytes, off, nh));
      const std::uint64_t name_off = off + sizeof(nh);
      const std::uint64_t desc_off = name_off + ((nh.n_namesz + 3) & ~3u);
      const std::uint64_t next = desc_off + ((nh.n_descsz + 3) & ~3u);
      ASSERT_LE(next, end) << "note overruns its segment";
      const std::string name(reinterpret_cast<const char*>(&img.bytes[name_off]),
                             nh.n_namesz ? nh.n_namesz - 1 : 0);
      if (name == "Xen") {
        img.xen_notes.push_back(Note{nh.n_type, std::vector<unsigned char>(
                                                    img.bytes.begin() + desc_off,
                                                    img.bytes.begin() + desc_off + nh.n_descsz)});
      }
      off = next;
    }
  }
  for (const auto& sh : img.shdrs) {
    if (sh.sh_type != SHT_SYMTAB) continue;
    ASSERT_LT(sh.sh_link, img.shdrs.size());
    const Elf64_Shdr& strtab = img.shdrs[sh.sh_link];
    for (std::uint64_t o = sh.sh_offset; o + sizeof(Elf64_Sym) <= sh.sh_offset + sh.sh_size;
         o += sizeof(Elf64_Sym)) {
      Elf64_Sym s;
      ASSERT_TRUE(read_at(img.bytes, o, s));
      ASSERT_LT(strtab.sh_offset + s.st_name, img.bytes.size());
      img.symbols[reinterpret_cast<const char*>(&img.bytes[strtab.sh_offset + s.st_name])] = s;
    }
  }
}

const Note* find_note(const Image& img, std::uint32_t type, int* count) {
  const Note* found = nullptr;
  *count = 0;
  for (const auto& n : img.xen_notes) {
    if (n.type == type) {
      found = &n;
      ++*count;
    }
  }
  return found;
}

std::optional<std::string> string_note(const Image& img, std::uint32_t type) {
  int count = 0;
  const Note* n = find_note(img, type, &count);
  EXPECT_EQ(count, 1) << "note type " << type;
  if (n == nullptr || n->desc.empty() || n->desc.back() != 0) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(n->desc.data()));
}

std::optional<std::uint64_t> number_note(const Image& img, std::uint32_t type) {
  int count = 0;
  const Note* n = find_note(img, type, &count);
  EXPECT_EQ(count, 1) << "note type " << type;
  if (n == nullptr || n->desc.size() != 8) return std::nullopt;
  std::uint64_t v;
  std::memcpy(&v, n->desc.data(), 8);
  return v;
}

// The PT_LOAD segment holding [va, va + len), or nullptr.
const Elf64_Phdr* segment_of(const Image& img, std::uint64_t va, std::uint64_t len) {
  for (const auto& ph : img.phdrs) {
    if (ph.p_type == PT_LOAD && va >= ph.p_vaddr && va + len <= ph.p_vaddr + ph.p_memsz) {
      return &ph;
    }
  }
  return nullptr;
}

class GuestElf : public testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(parse(GetParam(), img_)); }
  Image img_;
};

TEST_P(GuestElf, XenNotesHaveTheIntendedValues) {
  EXPECT_EQ(string_note(img_, x::kElfNoteGuestOs), "pvkit");
  EXPECT_EQ(string_note(img_, x::kElfNoteXenVersion), "xen-3.0");
  EXPECT_EQ(string_note(img_, x::kElfNoteLoader), "generic");
  EXPECT_EQ(string_note(img_, x::kElfNoteFeatures), "!writable_page_tables");
  EXPECT_EQ(number_note(img_, x::kElfNoteVirtBase), pvkit::guest::kGuestVirtBase);
  EXPECT_EQ(number_note(img_, x::kElfNotePaddrOffset), 0u);
  // The start_info magic a guest checks is "<XEN_VERSION>-x86_64".
  EXPECT_EQ(std::string(x::kStartInfoMagic), "xen-3.0-x86_64");
}

TEST_P(GuestElf, EntryIsStartAndExecutable) {
  auto entry = number_note(img_, x::kElfNoteEntry);
  ASSERT_TRUE(entry);
  EXPECT_EQ(*entry, img_.eh.e_entry);
  ASSERT_TRUE(img_.symbols.count("_start"));
  EXPECT_EQ(img_.symbols["_start"].st_value, *entry);
  const Elf64_Phdr* seg = segment_of(img_, *entry, 1);
  ASSERT_NE(seg, nullptr);
  EXPECT_TRUE(seg->p_flags & PF_X);
  EXPECT_FALSE(seg->p_flags & PF_W);
}

TEST_P(GuestElf, HypercallPageIsAnAlignedExecutablePageOfInt3) {
  auto hc = number_note(img_, x::kElfNoteHypercallPage);
  ASSERT_TRUE(hc);
  ASSERT_TRUE(img_.symbols.count("hypercall_page"));
  EXPECT_EQ(img_.symbols["hypercall_page"].st_value, *hc);
  EXPECT_EQ(img_.symbols["hypercall_page"].st_size, 4096u);
  EXPECT_EQ(*hc % 4096, 0u);
  const Elf64_Phdr* seg = segment_of(img_, *hc, 4096);
  ASSERT_NE(seg, nullptr) << "hypercall page not inside one loadable segment";
  EXPECT_TRUE(seg->p_flags & PF_X);
  EXPECT_FALSE(seg->p_flags & PF_W);
  ASSERT_LE(*hc + 4096, seg->p_vaddr + seg->p_filesz) << "hypercall page must be file-backed";
  const std::uint64_t off = seg->p_offset + (*hc - seg->p_vaddr);
  for (std::uint64_t i = 0; i < 4096; ++i) {
    ASSERT_EQ(img_.bytes[off + i], 0xCC) << "byte " << i;
  }
}

TEST_P(GuestElf, SegmentsArePlacedFromVirtBaseAndNeverWritableAndExecutable) {
  int loads = 0;
  std::uint64_t lowest = ~std::uint64_t{0};
  for (const auto& ph : img_.phdrs) {
    if (ph.p_type != PT_LOAD) continue;
    ++loads;
    EXPECT_EQ(ph.p_vaddr - ph.p_paddr, pvkit::guest::kGuestVirtBase)
        << "p_vaddr must be p_paddr + VIRT_BASE - PADDR_OFFSET";
    EXPECT_EQ(ph.p_vaddr % 4096, 0u);
    EXPECT_LE(ph.p_filesz, ph.p_memsz);
    EXPECT_FALSE((ph.p_flags & PF_W) && (ph.p_flags & PF_X));
    lowest = std::min(lowest, ph.p_vaddr);
  }
  EXPECT_GE(loads, 2);
  EXPECT_EQ(lowest, pvkit::guest::kGuestVirtBase) << "the image starts at VIRT_BASE";
}

TEST_P(GuestElf, RuntimeEntryPointsAreLinked) {
  for (const char* sym : {"pvkit_guest_hypervisor_callback", "pvkit_guest_failsafe_callback",
                          "pvkit_guest_start", "pvkit_guest_boot_stack_top"}) {
    ASSERT_TRUE(img_.symbols.count(sym)) << sym;
    EXPECT_GE(img_.symbols[sym].st_value, pvkit::guest::kGuestVirtBase) << sym;
  }
  const std::uint64_t upcall = img_.symbols["pvkit_guest_hypervisor_callback"].st_value;
  const Elf64_Phdr* seg = segment_of(img_, upcall, 1);
  ASSERT_NE(seg, nullptr);
  EXPECT_TRUE(seg->p_flags & PF_X);
  const std::uint64_t stack = img_.symbols["pvkit_guest_boot_stack_top"].st_value;
  seg = segment_of(img_, stack - 8, 8);
  ASSERT_NE(seg, nullptr);
  EXPECT_TRUE(seg->p_flags & PF_W);
  EXPECT_EQ(stack % 16, 0u);
}

std::string name_of(const testing::TestParamInfo<std::string>& info) {
  std::string base = info.param.substr(info.param.find_last_of('/') + 1);
  base = base.substr(0, base.find('.'));
  for (char& c : base) {
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return base;
}

INSTANTIATE_TEST_SUITE_P(Kernels, GuestElf, testing::ValuesIn(g_paths), name_of);

}  // namespace

int main(int argc, char** argv) {
  // The parameters must be known before InitGoogleTest registers the parameterised tests.
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--", 2) != 0) g_paths.push_back(argv[i]);
  }
  testing::InitGoogleTest(&argc, argv);
  if (g_paths.empty()) {
    fprintf(stderr, "usage: guest_elf_test <kernel.elf>...\n");
    return 2;
  }
  return RUN_ALL_TESTS();
}
