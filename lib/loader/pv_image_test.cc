// Tests of the Xen note parser and the PV image validator (Xen's rules for a 64-bit PV
// kernel): good images are described exactly; every bad note, address or size is refused.
#include "pvkit/loader/pv_image.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "pvkit/loader/test_elf_builder.h"

namespace pvkit::loader {
namespace {

using testing::BuiltElf;
using testing::ElfBuilder;
using testing::linux_like_kernel;
using testing::minios_like_kernel;
using testing::SegmentSpec;

constexpr std::uint64_t kBase = 0xffffffff80000000ULL;

LoadResult<PvGuestImage> inspect(const BuiltElf& f, LoadLimits lim = {}) {
  return inspect_pv_image(std::span<const std::uint8_t>(f.bytes), lim);
}
LoadError error_of(ElfBuilder b, LoadLimits lim = {}) {
  BuiltElf f = b.build();
  return inspect(f, lim).error();
}

TEST(PvImage, LinuxLikeKernelIsDescribed) {
  BuiltElf f = linux_like_kernel().build();
  LoadResult<PvGuestImage> img = inspect(f);
  ASSERT_TRUE(img.ok()) << to_string(img.error());
  EXPECT_EQ(img->virt_base.value(), kBase);
  EXPECT_EQ(img->paddr_offset, 0u);
  EXPECT_EQ(img->kernel_start.value(), kBase + 0x1000000);
  EXPECT_EQ(img->kernel_end.value(), kBase + 0x1009000);
  EXPECT_EQ(img->entry.value(), kBase + 0x1000100);
  EXPECT_TRUE(img->entry_from_note);
  ASSERT_TRUE(img->hypercall_page.has_value());
  EXPECT_EQ(img->hypercall_page->value(), kBase + 0x1001000);
  ASSERT_EQ(img->segment_count, 2u);
  const LoadSegment& text = img->segments[0];
  EXPECT_EQ(text.vaddr.value(), kBase + 0x1000000);
  EXPECT_EQ(text.paddr, 0x1000000u);
  EXPECT_EQ(text.file_offset, f.segment_offsets[0]);
  EXPECT_EQ(text.file_size, 0x3000u);
  EXPECT_EQ(text.mem_size, 0x3000u);
  const LoadSegment& data = img->segments[1];
  EXPECT_EQ(data.vaddr.value(), kBase + 0x1004000);
  EXPECT_EQ(data.file_size, 0x1000u);
  EXPECT_EQ(data.mem_size, 0x5000u);
  EXPECT_EQ(data.flags, elf::kPfR | elf::kPfW);
  // FEATURES (Linux's string): !writable_page_tables(0), pae_pgdir_above_4gb(4),
  // mmu_pt_update_preserve_ad(5); SUPPORTED_FEATURES adds gnttab_map_avail_bits(7).
  EXPECT_EQ(img->features.supported, (1u << 0) | (1u << 4) | (1u << 5) | (1u << 7));
  EXPECT_EQ(img->features.required, 1u << 0);
  EXPECT_TRUE(img->notes.guest_os.equals("linux"));
  EXPECT_TRUE(img->notes.guest_version.equals("2.6"));
  EXPECT_TRUE(img->notes.loader.equals("generic"));
  EXPECT_EQ(img->notes.suspend_cancel, 1u);
  EXPECT_EQ(img->notes.init_p2m, 0x8000000000u);
  EXPECT_EQ(img->notes.mod_start_pfn, 1u);
  EXPECT_FALSE(img->notes.hv_start_low.has_value());
}

TEST(PvImage, MiniOsLikeKernelUsesSectionNotesAndElfEntry) {
  BuiltElf f = minios_like_kernel().build();
  LoadResult<PvGuestImage> img = inspect(f);
  ASSERT_TRUE(img.ok()) << to_string(img.error());
  EXPECT_EQ(img->virt_base.value(), 0u);
  EXPECT_EQ(img->kernel_start.value(), 0u);
  EXPECT_EQ(img->kernel_end.value(), 0x30000u);
  EXPECT_FALSE(img->entry_from_note);  // missing ENTRY note -> e_entry, as Xen does
  EXPECT_EQ(img->entry.value(), 0x40u);
  EXPECT_EQ(img->hypercall_page->value(), 0x2000u);
  EXPECT_TRUE(img->notes.guest_os.equals("Mini-OS"));
}

TEST(PvImage, AllNumericNoteWidthsAndAllStringNotes) {
  ElfBuilder b = minios_like_kernel();
  b.note_raw(xen::kElfNoteHvStartLow, {0x11})                           // 1 byte
      .note_raw(xen::kElfNotePhys32Entry, {0x34, 0x12})                 // 2 bytes
      .note_u32(xen::kElfNoteSuspendCancel, 0x89abcdefu)                // 4 bytes
      .note_u64(xen::kElfNoteInitP2m, 0x0000001122334455ULL)           // 8 bytes
      .note_str(xen::kElfNotePaeMode, "yes")
      .note_str(xen::kElfNoteBsdSymtab, "no")
      .note_str(xen::kElfNoteGuestVersion, "")
      .note_raw(xen::kElfNoteL1MfnValid, std::vector<std::uint8_t>(32, 0x5a))
      .note_raw(xen::kElfNoteInfo, {1, 2, 3})  // INFO and unknown types are ignored
      .note_raw(99, {1, 2, 3, 4, 5})
      .note(testing::NoteSpec{"GNU", xen::kElfNoteEntry, {0xff}});  // not named "Xen"
  BuiltElf f = b.build();
  LoadResult<PvGuestImage> img = inspect(f);
  ASSERT_TRUE(img.ok()) << to_string(img.error());
  EXPECT_EQ(img->notes.hv_start_low, 0x11u);
  EXPECT_EQ(img->notes.phys32_entry, 0x1234u);
  EXPECT_EQ(img->notes.suspend_cancel, 0x89abcdefu);
  EXPECT_EQ(img->notes.init_p2m, 0x1122334455u);
  EXPECT_TRUE(img->notes.pae_mode.equals("yes"));
  EXPECT_TRUE(img->notes.bsd_symtab.equals("no"));
  EXPECT_TRUE(img->notes.guest_version.present());
  EXPECT_TRUE(img->notes.guest_version.equals(""));
  EXPECT_EQ(img->notes.l1_mfn_valid_count, 2u);
  EXPECT_EQ(img->notes.l1_mfn_valid[1].value, 0x5a5a5a5a5a5a5a5aULL);
  EXPECT_FALSE(img->notes.entry.has_value());
}

TEST(PvImage, StringNoteStopsAtFirstNul) {
  ElfBuilder b = minios_like_kernel();
  b.drop_note(xen::kElfNoteGuestOs).note_raw(xen::kElfNoteGuestOs, {'a', 'b', 0, 'c', 0});
  BuiltElf f = b.build();
  LoadResult<PvGuestImage> img = inspect(f);
  ASSERT_TRUE(img.ok());
  EXPECT_TRUE(img->notes.guest_os.equals("ab"));
}

TEST(PvImage, PaddrOffsetShiftsPlacement) {
  // Old-style kernel: p_paddr holds the virtual address; PADDR_OFFSET = VIRT_BASE.
  ElfBuilder b;
  b.segment({kBase + 0x200000, kBase + 0x200000, testing::pattern(0x1000, 1), 0x2000})
      .note_str(xen::kElfNoteGuestOs, "linux")
      .note_str(xen::kElfNoteXenVersion, "xen-3.0")
      .note_u64(xen::kElfNoteVirtBase, kBase)
      .note_u64(xen::kElfNotePaddrOffset, kBase)
      .entry(kBase + 0x200000);
  BuiltElf f = b.build();
  LoadResult<PvGuestImage> img = inspect(f);
  ASSERT_TRUE(img.ok()) << to_string(img.error());
  EXPECT_EQ(img->kernel_start.value(), kBase + kBase + 0x200000 - kBase);
  EXPECT_EQ(img->segments[0].vaddr.value(), kBase + 0x200000);
}

TEST(PvImage, RepeatedNoteLastWins) {
  ElfBuilder b = minios_like_kernel();
  b.note_u64(xen::kElfNoteEntry, 0x100).note_u64(xen::kElfNoteEntry, 0x200);
  BuiltElf f = b.build();
  LoadResult<PvGuestImage> img = inspect(f);
  ASSERT_TRUE(img.ok());
  EXPECT_EQ(img->entry.value(), 0x200u);
}

TEST(PvImage, NonLoadableAndEmptySegmentsAreSkipped) {
  ElfBuilder b = minios_like_kernel();
  b.segment({0x900000, 0x900000, {}, 0x1000, 0})  // PT_LOAD without R/W/X
      .segment({0x800000, 0x800000, {}, 0, elf::kPfR})  // empty PT_LOAD
      .segment({0x700000, 0x700000, testing::pattern(16, 0), 0, elf::kPfR, 0x6474e551});
  BuiltElf f = b.build();
  LoadResult<PvGuestImage> img = inspect(f);
  ASSERT_TRUE(img.ok()) << to_string(img.error());
  EXPECT_EQ(img->segment_count, 1u);
  EXPECT_EQ(img->kernel_end.value(), 0x30000u);
}

// --- Adversarial: notes ---------------------------------------------------------------

TEST(PvImageAdversarial, NoXenNotesAtAll) {
  ElfBuilder b;
  b.segment({0, 0, testing::pattern(0x1000, 0)}).entry(0);
  EXPECT_EQ(error_of(b), LoadError::NoXenNotes);
  ElfBuilder g;  // only notes with another name
  g.segment({0, 0, testing::pattern(0x1000, 0)}).note({"GNU", 1, {1, 2, 3, 4}});
  EXPECT_EQ(error_of(g), LoadError::NoXenNotes);
}

TEST(PvImageAdversarial, NumericNoteOfOddSize) {
  for (std::size_t n : {0, 3, 5, 7, 9, 16}) {
    ElfBuilder b = minios_like_kernel();
    b.note_raw(xen::kElfNoteEntry, std::vector<std::uint8_t>(n, 0));
    EXPECT_EQ(error_of(b), LoadError::BadNumericNote) << n;
  }
}

TEST(PvImageAdversarial, StringNoteWithoutNul) {
  ElfBuilder b = minios_like_kernel();
  b.note_raw(xen::kElfNoteFeatures, {'d', 'o', 'm', '0'});
  EXPECT_EQ(error_of(b), LoadError::UnterminatedString);
  ElfBuilder e = minios_like_kernel();
  e.note_raw(xen::kElfNoteLoader, {});
  EXPECT_EQ(error_of(e), LoadError::UnterminatedString);
}

TEST(PvImageAdversarial, L1MfnValidMalformed) {
  for (std::size_t n : {0, 8, 24, 80}) {
    ElfBuilder b = minios_like_kernel();
    b.note_raw(xen::kElfNoteL1MfnValid, std::vector<std::uint8_t>(n, 1));
    EXPECT_EQ(error_of(b), LoadError::BadL1MfnValid) << n;
  }
}

TEST(PvImageAdversarial, NoteSizesOverflowInsideSegment) {
  BuiltElf f = minios_like_kernel().notes_in_section_only(false).build();
  f.poke<std::uint32_t>(f.notes_offset + 4, 0xfffffffcu);  // first note's descsz
  EXPECT_EQ(inspect(f).error(), LoadError::NoteOutOfBounds);
  BuiltElf g = minios_like_kernel().notes_in_section_only(false).build();
  g.poke<std::uint32_t>(g.notes_offset, 0xffffffffu);  // namesz
  EXPECT_EQ(inspect(g).error(), LoadError::NoteOutOfBounds);
  BuiltElf h = minios_like_kernel().build();  // section-only notes are checked the same way
  h.poke<std::uint32_t>(h.notes_offset + 4, 0x7ffffff0u);
  EXPECT_EQ(inspect(h).error(), LoadError::NoteOutOfBounds);
}

TEST(PvImageAdversarial, GuestKindAndXenVersion) {
  ElfBuilder a = minios_like_kernel();
  a.drop_note(xen::kElfNoteLoader);  // GUEST_OS "Mini-OS", no LOADER
  EXPECT_EQ(error_of(a), LoadError::UnsupportedGuest);
  ElfBuilder b = minios_like_kernel();
  b.drop_note(xen::kElfNoteLoader).note_str(xen::kElfNoteLoader, "special");
  EXPECT_EQ(error_of(b), LoadError::UnsupportedGuest);
  ElfBuilder c = minios_like_kernel();
  c.drop_note(xen::kElfNoteXenVersion);
  EXPECT_EQ(error_of(c), LoadError::UnsupportedXenVersion);
  ElfBuilder d = minios_like_kernel();
  d.drop_note(xen::kElfNoteXenVersion).note_str(xen::kElfNoteXenVersion, "xen-2.0");
  EXPECT_EQ(error_of(d), LoadError::UnsupportedXenVersion);
}

TEST(PvImageAdversarial, RequiredFeatures) {
  ElfBuilder a = minios_like_kernel();
  a.note_str(xen::kElfNoteFeatures, "pae_pgdir_above_4gb|!no_such_feature");
  EXPECT_EQ(error_of(a), LoadError::UnknownRequiredFeature);
  ElfBuilder b = minios_like_kernel();  // unknown optional names are fine
  b.note_str(xen::kElfNoteFeatures, "no_such_feature||!pae_pgdir_above_4gb|");
  EXPECT_EQ(error_of(b), LoadError::Ok);
  ElfBuilder c = minios_like_kernel();  // known but refused for a PV kernel
  c.note_str(xen::kElfNoteFeatures, "!auto_translated_physmap");
  EXPECT_EQ(error_of(c), LoadError::UnsupportedFeature);
  ElfBuilder d = minios_like_kernel();
  d.note_str(xen::kElfNoteFeatures, "pae_pgdir_above_4gb|!supervisor_mode_kernel");
  EXPECT_EQ(error_of(d), LoadError::UnsupportedFeature);
  ElfBuilder e = minios_like_kernel();  // merely supporting them is fine
  e.note_str(xen::kElfNoteFeatures, "auto_translated_physmap|supervisor_mode_kernel");
  EXPECT_EQ(error_of(e), LoadError::Ok);
  LoadLimits lim;  // a caller may lift the refusal
  lim.refused_required_features &= ~(1u << 2);
  EXPECT_EQ(error_of(c, lim), LoadError::Ok);
  lim.refused_required_features = ~0u;  // ... or refuse every required feature
  EXPECT_EQ(error_of(linux_like_kernel(), lim), LoadError::UnsupportedFeature);
}

// --- Adversarial: segments and addresses -------------------------------------------------

ElfBuilder two_segments(std::uint64_t p0, std::uint64_t m0, std::uint64_t p1, std::uint64_t m1) {
  ElfBuilder b;
  b.segment({p0, p0, testing::pattern(0x10, 0), m0})
      .segment({p1, p1, testing::pattern(0x10, 0), m1})
      .note_str(xen::kElfNoteLoader, "generic")
      .note_str(xen::kElfNoteXenVersion, "xen-3.0")
      .entry(p0);
  return b;
}

TEST(PvImageAdversarial, OverlappingSegments) {
  EXPECT_EQ(error_of(two_segments(0x0, 0x2000, 0x1fff, 0x1000)), LoadError::OverlappingSegments);
  EXPECT_EQ(error_of(two_segments(0x4000, 0x1000, 0x0, 0x4001)), LoadError::OverlappingSegments);
  EXPECT_EQ(error_of(two_segments(0x0, 0x10000, 0x1000, 0x10)), LoadError::OverlappingSegments);
  EXPECT_EQ(error_of(two_segments(0x0, 0x2000, 0x2000, 0x1000)), LoadError::Ok);  // adjacent
}

TEST(PvImageAdversarial, SegmentAddressWraps) {
  ElfBuilder b;
  b.segment({0, ~std::uint64_t{0} - 0x100, testing::pattern(0x10, 0), 0x1000})
      .note_str(xen::kElfNoteLoader, "generic")
      .note_str(xen::kElfNoteXenVersion, "xen-3.0");
  EXPECT_EQ(error_of(b), LoadError::SegmentAddressOverflow);
  ElfBuilder v;  // p_vaddr wrapping is refused too
  v.segment({~std::uint64_t{0} - 0x100, 0, testing::pattern(0x10, 0), 0x1000})
      .note_str(xen::kElfNoteLoader, "generic")
      .note_str(xen::kElfNoteXenVersion, "xen-3.0");
  EXPECT_EQ(error_of(v), LoadError::SegmentAddressOverflow);
}

TEST(PvImageAdversarial, BadAlignmentField) {
  ElfBuilder b = minios_like_kernel();
  BuiltElf f = b.build();
  f.poke<std::uint64_t>(f.phdr_field(0, 48), 0x3000);  // p_align not a power of two
  EXPECT_EQ(inspect(f).error(), LoadError::BadSegmentAlignment);
}

TEST(PvImageAdversarial, TooManyLoadSegments) {
  ElfBuilder b = minios_like_kernel();
  for (std::uint64_t i = 1; i <= kMaxLoadSegments; ++i) {
    b.segment({i << 20, i << 20, testing::pattern(0x10, 0), 0x1000});
  }
  EXPECT_EQ(error_of(b), LoadError::TooManyLoadSegments);
}

TEST(PvImageAdversarial, NoLoadableSegment) {
  ElfBuilder b;
  b.note_str(xen::kElfNoteLoader, "generic").note_str(xen::kElfNoteXenVersion, "xen-3.0");
  EXPECT_EQ(error_of(b), LoadError::NoLoadableSegments);
}

// One segment landing at `va` (p_paddr = va - virt_base, so that it lands at va).
ElfBuilder at(std::uint64_t virt_base, std::uint64_t va, std::uint64_t memsz,
              std::uint64_t entry) {
  ElfBuilder b;
  b.segment({va, va - virt_base, testing::pattern(0x10, 0), memsz})
      .note_str(xen::kElfNoteLoader, "generic")
      .note_str(xen::kElfNoteXenVersion, "xen-3.0")
      .note_u64(xen::kElfNoteVirtBase, virt_base)
      .entry(entry);
  return b;
}

TEST(PvImageAdversarial, NonCanonicalOrHypervisorRange) {
  EXPECT_EQ(error_of(at(0, 0x0000800000000000ULL, 0x1000, 0x0000800000000000ULL)),
            LoadError::NonCanonicalAddress);
  EXPECT_EQ(error_of(at(0, 0x00007ffffffff000ULL, 0x2000, 0x00007ffffffff000ULL)),
            LoadError::NonCanonicalAddress);  // runs off the lower half
  EXPECT_EQ(error_of(at(0xFFFF800000000000ULL, 0xFFFF800000000000ULL, 0x1000,
                        0xFFFF800000000000ULL)),
            LoadError::HypervisorRange);
  EXPECT_EQ(error_of(at(0xFFFF800000000000ULL, 0xFFFF87FFFFFFF000ULL, 0x1000,
                        0xFFFF87FFFFFFF000ULL)),
            LoadError::HypervisorRange);
  EXPECT_EQ(error_of(at(0xFFFF880000000000ULL, 0xFFFF880000000000ULL, 0x1000,
                        0xFFFF880000000000ULL)),
            LoadError::Ok);  // first byte after the hole
  // VIRT_BASE in the lower half with the kernel in the upper half spans the hole.
  EXPECT_EQ(error_of(at(0, kBase, 0x1000, kBase)), LoadError::NonCanonicalAddress);
}

TEST(PvImageAdversarial, VirtBaseRules) {
  EXPECT_EQ(error_of(at(kBase + 0x2000, kBase + 0x1000, 0x1000, kBase + 0x1000)),
            LoadError::VirtBaseAboveKernel);
  EXPECT_EQ(error_of(at(kBase + 0x10, kBase + 0x1000, 0x1000, kBase + 0x1000)),
            LoadError::MisalignedImageBase);
  EXPECT_EQ(error_of(at(kBase, kBase + 0x1010, 0x1000, kBase + 0x1010)),
            LoadError::MisalignedImageBase);
  ElfBuilder b = at(0, 0x1000, 0x1000, 0x1000);
  b.drop_note(xen::kElfNoteVirtBase).note_u64(xen::kElfNotePaddrOffset, 0x1000);
  EXPECT_EQ(error_of(b), LoadError::PaddrOffsetWithoutVirtBase);
}

TEST(PvImageAdversarial, EntryOutsideImage) {
  EXPECT_EQ(error_of(at(0, 0x1000, 0x1000, 0xfff)), LoadError::EntryOutsideImage);
  EXPECT_EQ(error_of(at(0, 0x1000, 0x1000, 0x2000)), LoadError::EntryOutsideImage);  // == end
  EXPECT_EQ(error_of(at(0, 0x1000, 0x1000, 0x1fff)), LoadError::Ok);
  ElfBuilder n = at(0, 0x1000, 0x1000, 0x1000);  // ENTRY note overrides e_entry
  n.note_u64(xen::kElfNoteEntry, 0xffff800000001000ULL);
  EXPECT_EQ(error_of(n), LoadError::EntryOutsideImage);
  ElfBuilder c = at(0, 0x1000, 0x1000, 0x1000);  // non-canonical entry
  c.note_u64(xen::kElfNoteEntry, 0x8000000000001000ULL);
  EXPECT_EQ(error_of(c), LoadError::EntryOutsideImage);
}

TEST(PvImageAdversarial, HypercallPageOutsideOrMisaligned) {
  auto with_hc = [](std::uint64_t hc) {
    ElfBuilder b = at(0, 0x1000, 0x3000, 0x1000);
    b.note_u64(xen::kElfNoteHypercallPage, hc);
    return error_of(b);
  };
  EXPECT_EQ(with_hc(0x1000), LoadError::Ok);
  EXPECT_EQ(with_hc(0x3000), LoadError::Ok);  // last page of [0x1000, 0x4000)
  EXPECT_EQ(with_hc(0x4000), LoadError::HypercallPageOutsideImage);
  EXPECT_EQ(with_hc(0x0), LoadError::HypercallPageOutsideImage);
  EXPECT_EQ(with_hc(0xfffffffffffff000ULL), LoadError::HypercallPageOutsideImage);
  EXPECT_EQ(with_hc(0x1800), LoadError::HypercallPageMisaligned);
  // An image smaller than one page cannot hold the hypercall page.
  ElfBuilder s = at(0, 0x1000, 0x800, 0x1000);
  s.note_u64(xen::kElfNoteHypercallPage, 0x1000);
  EXPECT_EQ(error_of(s), LoadError::HypercallPageOutsideImage);
}

TEST(PvImageAdversarial, ImageLargerThanBudget) {
  LoadLimits lim;
  lim.max_image_bytes = 0x4000;
  EXPECT_EQ(error_of(at(0, 0x1000, 0x4000, 0x1000), lim), LoadError::Ok);
  EXPECT_EQ(error_of(at(0, 0x1000, 0x4001, 0x1000), lim), LoadError::ImageTooLarge);
  // Two small segments far apart: the span counts, not the sum of sizes.
  EXPECT_EQ(error_of(two_segments(0x0, 0x1000, 0x100000, 0x1000), lim), LoadError::ImageTooLarge);
  // A huge bss (memsz) with a tiny file is bounded by the budget too.
  EXPECT_EQ(error_of(at(0, 0x1000, std::uint64_t{1} << 46, 0x1000)), LoadError::ImageTooLarge);
}

}  // namespace
}  // namespace pvkit::loader
