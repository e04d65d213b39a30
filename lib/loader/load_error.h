// pvkit/loader/load_error.h — why a PV guest image or domain layout was refused.
//
// What it is: `LoadError` names every reason the ELF reader, the Xen-note parser, the image
// validator and the layout planner refuse their (hostile) input; `to_errno()` maps each one
// onto the Xen errno a domain-builder hypercall would return. `LoadResult<T>` is a T or a
// LoadError, `[[nodiscard]]` like pvkit::Result.
//
// How to use it:
//   LoadResult<PvGuestImage> img = inspect_pv_image(bytes, limits);
//   if (!img) return Status{to_errno(img.error())};
//
// Concurrency: value types only.
#pragma once

#include <cstdint>
#include <utility>

#include "pvkit/base/errno.h"
#include "pvkit/base/status.h"

namespace pvkit::loader {

/// Every reason the loader refuses its input. Grouped by stage.
enum class LoadError : std::uint8_t {
  Ok = 0,
  // ELF file header.
  Truncated,             ///< file shorter than the ELF header
  BadMagic,              ///< not "\x7fELF"
  BadClass,              ///< not ELFCLASS64
  BadEncoding,           ///< not little-endian
  BadVersion,            ///< EI_VERSION / e_version not EV_CURRENT
  NotExecutable,         ///< e_type is not ET_EXEC
  BadMachine,            ///< e_machine is not EM_X86_64
  BadHeaderSize,         ///< e_ehsize is not 64
  // Program and section header tables.
  BadPhentsize,          ///< e_phentsize is not 56
  PhdrOutOfBounds,       ///< program header table outside the file (or offset overflow)
  TooManyPhdrs,          ///< e_phnum above kMaxProgramHeaders (or PN_XNUM)
  BadShentsize,          ///< e_shentsize is not 64
  ShdrOutOfBounds,       ///< section header table outside the file
  TooManyShdrs,          ///< e_shnum above kMaxSectionHeaders
  BadShstrndx,           ///< e_shstrndx out of range or not a string table
  SectionOutOfBounds,    ///< a section's file range leaves the file
  // Segments.
  SegmentOutOfBounds,    ///< a segment's file range leaves the file
  FileszExceedsMemsz,    ///< PT_LOAD with p_filesz > p_memsz
  SegmentAddressOverflow,///< p_paddr/p_vaddr + p_memsz wraps
  BadSegmentAlignment,   ///< p_align not 0 or a power of two, or addresses not congruent
  OverlappingSegments,   ///< two PT_LOAD segments overlap
  NoLoadableSegments,    ///< no PT_LOAD with memory
  TooManyLoadSegments,   ///< more PT_LOAD segments than kMaxLoadSegments
  // Notes.
  NoteOutOfBounds,       ///< a note's header, name or descriptor leaves its container
  NoXenNotes,            ///< no note named "Xen" (legacy __xen_guest is not supported)
  BadNumericNote,        ///< numeric note whose size is not 1, 2, 4 or 8
  UnterminatedString,    ///< string note without a NUL inside its descriptor
  BadL1MfnValid,         ///< L1_MFN_VALID not a whole number of mask/value pairs (<= 4)
  UnsupportedGuest,      ///< neither LOADER "generic" nor GUEST_OS "linux"
  UnsupportedXenVersion, ///< XEN_VERSION missing or not "xen-3.0"
  UnknownRequiredFeature,///< FEATURES names "!x" for an x Xen does not know
  UnsupportedFeature,    ///< a required feature this hypervisor refuses to provide
  PaddrOffsetWithoutVirtBase, ///< PADDR_OFFSET given but VIRT_BASE missing
  // Addresses of the image.
  NonCanonicalAddress,   ///< an address not canonical for 48-bit virtual addresses
  HypervisorRange,       ///< a range touches the hypervisor's reserved hole
  VirtBaseAboveKernel,   ///< VIRT_BASE above the lowest loaded address
  MisalignedImageBase,   ///< VIRT_BASE or the kernel start not 4 KiB aligned
  EntryOutsideImage,     ///< entry point not inside [kernel start, kernel end)
  HypercallPageOutsideImage, ///< hypercall page not fully inside the loaded range
  HypercallPageMisaligned,   ///< hypercall page VA not 4 KiB aligned
  ImageTooLarge,         ///< loaded range larger than the caller's budget
  // Layout.
  BadVcpuCount,          ///< zero vCPUs or more than the caller's limit
  NotEnoughMemory,       ///< the bootstrap area needs more pages than the domain has
  RamdiskTooLarge,       ///< initrd size overflows or exceeds the budget
  P2mOverlapsBootstrap,  ///< the INIT_P2M range meets the bootstrap area
  LayoutOverflow,        ///< the bootstrap area would wrap the address space
};

/// The Xen errno a domain builder returns for `e` (Ok -> Errno::Ok).
constexpr Errno to_errno(LoadError e) {
  switch (e) {
    case LoadError::Ok:
      return Errno::Ok;
    case LoadError::Truncated:
    case LoadError::BadMagic:
    case LoadError::BadClass:
    case LoadError::BadEncoding:
    case LoadError::BadVersion:
    case LoadError::NotExecutable:
    case LoadError::BadMachine:
    case LoadError::BadHeaderSize:
    case LoadError::NoXenNotes:
      return Errno::NoExec;
    case LoadError::TooManyPhdrs:
    case LoadError::TooManyShdrs:
    case LoadError::TooManyLoadSegments:
    case LoadError::ImageTooLarge:
      return Errno::TooBig;
    case LoadError::NotEnoughMemory:
    case LoadError::RamdiskTooLarge:
      return Errno::NoMem;
    case LoadError::UnsupportedFeature:
    case LoadError::UnknownRequiredFeature:
      return Errno::OpNotSupp;
    default:
      return Errno::Inval;
  }
}

/// A short stable name for `e` (for logs and test messages).
constexpr const char* to_string(LoadError e) {
  switch (e) {
#define PVKIT_LOADER_ERR(n) \
  case LoadError::n:        \
    return #n;
    PVKIT_LOADER_ERR(Ok) PVKIT_LOADER_ERR(Truncated) PVKIT_LOADER_ERR(BadMagic)
    PVKIT_LOADER_ERR(BadClass) PVKIT_LOADER_ERR(BadEncoding) PVKIT_LOADER_ERR(BadVersion)
    PVKIT_LOADER_ERR(NotExecutable) PVKIT_LOADER_ERR(BadMachine) PVKIT_LOADER_ERR(BadHeaderSize)
    PVKIT_LOADER_ERR(BadPhentsize) PVKIT_LOADER_ERR(PhdrOutOfBounds) PVKIT_LOADER_ERR(TooManyPhdrs)
    PVKIT_LOADER_ERR(BadShentsize) PVKIT_LOADER_ERR(ShdrOutOfBounds) PVKIT_LOADER_ERR(TooManyShdrs)
    PVKIT_LOADER_ERR(BadShstrndx) PVKIT_LOADER_ERR(SectionOutOfBounds)
    PVKIT_LOADER_ERR(SegmentOutOfBounds) PVKIT_LOADER_ERR(FileszExceedsMemsz)
    PVKIT_LOADER_ERR(SegmentAddressOverflow) PVKIT_LOADER_ERR(BadSegmentAlignment)
    PVKIT_LOADER_ERR(OverlappingSegments) PVKIT_LOADER_ERR(NoLoadableSegments)
    PVKIT_LOADER_ERR(TooManyLoadSegments) PVKIT_LOADER_ERR(NoteOutOfBounds)
    PVKIT_LOADER_ERR(NoXenNotes) PVKIT_LOADER_ERR(BadNumericNote)
    PVKIT_LOADER_ERR(UnterminatedString) PVKIT_LOADER_ERR(BadL1MfnValid)
    PVKIT_LOADER_ERR(UnsupportedGuest) PVKIT_LOADER_ERR(UnsupportedXenVersion)
    PVKIT_LOADER_ERR(UnknownRequiredFeature) PVKIT_LOADER_ERR(UnsupportedFeature)
    PVKIT_LOADER_ERR(PaddrOffsetWithoutVirtBase) PVKIT_LOADER_ERR(NonCanonicalAddress)
    PVKIT_LOADER_ERR(HypervisorRange) PVKIT_LOADER_ERR(VirtBaseAboveKernel)
    PVKIT_LOADER_ERR(MisalignedImageBase)
    PVKIT_LOADER_ERR(EntryOutsideImage) PVKIT_LOADER_ERR(HypercallPageOutsideImage)
    PVKIT_LOADER_ERR(HypercallPageMisaligned) PVKIT_LOADER_ERR(ImageTooLarge)
    PVKIT_LOADER_ERR(BadVcpuCount) PVKIT_LOADER_ERR(NotEnoughMemory)
    PVKIT_LOADER_ERR(RamdiskTooLarge)
    PVKIT_LOADER_ERR(P2mOverlapsBootstrap) PVKIT_LOADER_ERR(LayoutOverflow)
#undef PVKIT_LOADER_ERR
  }
  return "?";
}

/// A T or a LoadError. Test `ok()` before using the value.
template <typename T>
class [[nodiscard]] LoadResult {
 public:
  constexpr LoadResult(T v) : v_(std::move(v)) {}         // NOLINT: implicit by design
  constexpr LoadResult(LoadError e) : e_(e) {}             // NOLINT
  /// True if a value is present.
  [[nodiscard]] constexpr bool ok() const { return e_ == LoadError::Ok; }
  constexpr explicit operator bool() const { return ok(); }
  /// The error (LoadError::Ok when a value is present).
  [[nodiscard]] constexpr LoadError error() const { return e_; }
  /// The Status a hypercall-facing caller propagates.
  [[nodiscard]] constexpr Status status() const { return Status{to_errno(e_)}; }
  constexpr T& operator*() { return v_; }
  constexpr const T& operator*() const { return v_; }
  constexpr T* operator->() { return &v_; }
  constexpr const T* operator->() const { return &v_; }
  /// The value; only meaningful when ok().
  [[nodiscard]] constexpr const T& value() const { return v_; }

 private:
  T v_{};
  LoadError e_ = LoadError::Ok;
};

/// Overflow-safe "does [offset, offset+size) lie inside [0, limit)?".
constexpr bool range_within(std::uint64_t offset, std::uint64_t size, std::uint64_t limit) {
  return offset <= limit && size <= limit - offset;
}

}  // namespace pvkit::loader
