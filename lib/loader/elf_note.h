// pvkit/loader/elf_note.h — iterate the notes of a PT_NOTE segment or SHT_NOTE section.
//
// What it is: `NoteReader` walks {namesz, descsz, type, name, desc} records (name and desc
// each padded to 4 bytes) inside a byte span. Every size is checked in 64-bit arithmetic
// against what is left, so a huge namesz/descsz cannot wrap or read past the span. A header
// that does not fit or a name/descriptor that leaves the span is an error
// (LoadError::NoteOutOfBounds); fewer than 12 trailing bytes are ignored, as Xen does, and
// the last note's padding may be cut short.
//
// How to use it:
//   NoteReader r(bytes);
//   ElfNote n;
//   while (r.next(n)) { if (n.name_is("Xen")) handle(n.type, n.desc); }
//   if (r.error() != LoadError::Ok) return r.error();
//
// Concurrency: a plain iterator over caller-owned bytes; one thread at a time.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>

#include "pvkit/loader/elf64.h"
#include "pvkit/loader/load_error.h"

namespace pvkit::loader {

/// One note: its type, its name bytes (namesz bytes, normally ending in NUL) and descriptor.
struct ElfNote {
  std::uint32_t type = 0;
  std::span<const std::uint8_t> name{};
  std::span<const std::uint8_t> desc{};

  /// True when the name is exactly `s` followed by its NUL (namesz == strlen(s) + 1).
  [[nodiscard]] bool name_is(const char* s) const {
    std::size_t k = 0;
    for (; s[k] != 0; ++k) {
      if (k >= name.size() || name[k] != static_cast<std::uint8_t>(s[k])) return false;
    }
    return name.size() == k + 1 && name[k] == 0;
  }
};

/// Iterator over the notes in one container.
class NoteReader {
 public:
  explicit NoteReader(std::span<const std::uint8_t> bytes) : rest_(bytes) {}

  /// Reads the next note into `out`; false at the end or on error (see error()).
  bool next(ElfNote& out) {
    if (error_ != LoadError::Ok || rest_.size() < sizeof(elf::NoteHeader)) return false;
    elf::NoteHeader h;
    std::memcpy(&h, rest_.data(), sizeof(h));
    const std::uint64_t avail = rest_.size() - sizeof(h);
    const std::uint64_t name_padded = pad(h.namesz);
    // The name must fit, then the descriptor after the padded name.
    if (h.namesz > avail ||
        (h.descsz != 0 && (name_padded > avail || h.descsz > avail - name_padded))) {
      error_ = LoadError::NoteOutOfBounds;
      return false;
    }
    out.type = h.type;
    out.name = rest_.subspan(sizeof(h), h.namesz);
    out.desc = h.descsz == 0 ? std::span<const std::uint8_t>{}
                             : rest_.subspan(sizeof(h) + name_padded, h.descsz);
    const std::uint64_t used = sizeof(h) + name_padded + pad(h.descsz);
    rest_ = used >= rest_.size() ? std::span<const std::uint8_t>{}
                                 : rest_.subspan(static_cast<std::size_t>(used));
    return true;
  }

  /// LoadError::Ok unless a note was malformed.
  [[nodiscard]] LoadError error() const { return error_; }

 private:
  static constexpr std::uint64_t pad(std::uint32_t n) {
    return (std::uint64_t{n} + (elf::kNoteAlign - 1)) & ~(elf::kNoteAlign - 1);
  }

  std::span<const std::uint8_t> rest_;
  LoadError error_ = LoadError::Ok;
};

}  // namespace pvkit::loader
