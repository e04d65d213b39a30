// pvkit/loader/elf64.h — pvkit's own ELF64 (little-endian, x86-64) on-disk layouts.
//
// What it is: the file header, program header, section header and note header of the
// System V ELF64 format with named fields, plus the constants the PV loader needs. The
// structs have exactly the on-disk layout (checked against <elf.h> by
// abi_conformance_test), so a reader copies them out of the file with memcpy; nothing is
// ever read through a pointer into the (unaligned, hostile) file bytes.
//
// How to use it: see elf_reader.h; do not cast file bytes to these types.
//
// Concurrency: constants and plain value types only.
#pragma once

#include <array>
#include <bit>
#include <cstdint>

namespace pvkit::loader::elf {

static_assert(std::endian::native == std::endian::little,
              "pvkit's ELF reader copies little-endian ELF64 structures directly");

inline constexpr std::array<std::uint8_t, 4> kMagic = {0x7f, 'E', 'L', 'F'};
inline constexpr unsigned kIdentClass = 4;    // EI_CLASS
inline constexpr unsigned kIdentData = 5;     // EI_DATA
inline constexpr unsigned kIdentVersion = 6;  // EI_VERSION
inline constexpr std::uint8_t kClass64 = 2;   // ELFCLASS64
inline constexpr std::uint8_t kDataLsb = 1;   // ELFDATA2LSB
inline constexpr std::uint8_t kVersionCurrent = 1;  // EV_CURRENT
inline constexpr std::uint16_t kTypeExec = 2;       // ET_EXEC
inline constexpr std::uint16_t kMachineX86_64 = 62; // EM_X86_64
inline constexpr std::uint16_t kPnXnum = 0xffff;    // PN_XNUM (extended numbering)
inline constexpr std::uint16_t kShnUndef = 0;       // SHN_UNDEF
inline constexpr std::uint16_t kShnLoReserve = 0xff00;  // SHN_LORESERVE

// Program header types and flags.
inline constexpr std::uint32_t kPtNull = 0;
inline constexpr std::uint32_t kPtLoad = 1;
inline constexpr std::uint32_t kPtNote = 4;
inline constexpr std::uint32_t kPfX = 1;
inline constexpr std::uint32_t kPfW = 2;
inline constexpr std::uint32_t kPfR = 4;

// Section header types.
inline constexpr std::uint32_t kShtNull = 0;
inline constexpr std::uint32_t kShtStrtab = 3;
inline constexpr std::uint32_t kShtNote = 7;
inline constexpr std::uint32_t kShtNobits = 8;

/// Elf64_Ehdr.
struct FileHeader {
  std::array<std::uint8_t, 16> ident;
  std::uint16_t type;
  std::uint16_t machine;
  std::uint32_t version;
  std::uint64_t entry;
  std::uint64_t phoff;
  std::uint64_t shoff;
  std::uint32_t flags;
  std::uint16_t ehsize;
  std::uint16_t phentsize;
  std::uint16_t phnum;
  std::uint16_t shentsize;
  std::uint16_t shnum;
  std::uint16_t shstrndx;
};
static_assert(sizeof(FileHeader) == 64);

/// Elf64_Phdr.
struct ProgramHeader {
  std::uint32_t type;
  std::uint32_t flags;
  std::uint64_t offset;
  std::uint64_t vaddr;
  std::uint64_t paddr;
  std::uint64_t filesz;
  std::uint64_t memsz;
  std::uint64_t align;
};
static_assert(sizeof(ProgramHeader) == 56);

/// Elf64_Shdr.
struct SectionHeader {
  std::uint32_t name;
  std::uint32_t type;
  std::uint64_t flags;
  std::uint64_t addr;
  std::uint64_t offset;
  std::uint64_t size;
  std::uint32_t link;
  std::uint32_t info;
  std::uint64_t addralign;
  std::uint64_t entsize;
};
static_assert(sizeof(SectionHeader) == 64);

/// Elf64_Nhdr: followed by the name and the descriptor, each padded to 4 bytes.
struct NoteHeader {
  std::uint32_t namesz;
  std::uint32_t descsz;
  std::uint32_t type;
};
static_assert(sizeof(NoteHeader) == 12);

/// Note name and descriptor alignment (Xen and GNU tools use 4 for 64-bit notes too).
inline constexpr std::uint64_t kNoteAlign = 4;

}  // namespace pvkit::loader::elf
