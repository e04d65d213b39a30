// Tests of the PV domain layout planner and start_info: typical layouts are checked against
// values worked out by hand from Xen's rules (see layout.h), and invariants of the rules are
// checked over a sweep of memory sizes; bad requests are refused.
#include "pvkit/loader/layout.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>

#include "pvkit/loader/start_info.h"
#include "pvkit/loader/test_elf_builder.h"

namespace pvkit::loader {
namespace {

constexpr std::uint64_t kBase = 0xffffffff80000000ULL;

PvGuestImage image_of(testing::ElfBuilder b) {
  static std::vector<std::vector<std::uint8_t>> keep;  // notes point into the bytes
  keep.push_back(b.build().bytes);
  LoadResult<PvGuestImage> img = inspect_pv_image(keep.back(), LoadLimits{});
  EXPECT_TRUE(img.ok()) << to_string(img.error());
  return *img;
}

LayoutRequest request(std::uint64_t pages, std::uint64_t ramdisk = 0, bool dom0 = false,
                      bool relocate_p2m = true) {
  LayoutRequest r;
  r.nr_pages = pages;
  r.ramdisk_bytes = ramdisk;
  r.initial_domain = dom0;
  r.relocate_p2m = relocate_p2m;
  return r;
}

// Linux-like kernel, 256 MiB, no initrd, INIT_P2M not honoured. Worked by hand:
//   kernel at pfn (0xffffffff81000000 - VIRT_BASE) / 4K = 4096, 0x9000 bytes = 9 pages;
//   p2m 65536 * 8 bytes = 128 pages at 4105; start_info 4233, xenstore 4234, console 4235;
//   allocation end pfn 4236. Padding+stack = 129 pages -> pfn 4365 -> VA offset 0x110d000,
//   rounded up to 4 MiB: the area ends at offset 0x1400000 (20 MiB, 5120 pfns).
//   Tables: 1 L4, 1 L3, 1 L2 (all under one 1 GiB slot), L1s for 20 MiB / 2 MiB = 10: 13.
//   13 + 129 pages from pfn 4236 end at pfn 4378 < 5120: fixed point reached.
//   Page tables at pfn 4236..4248 (L4 4236, L3 4237, L2 4238, L1 4239..4248), stack 4249.
TEST(Layout, LinuxLikeDomU256MiBInlineP2m) {
  const PvGuestImage img = image_of(testing::linux_like_kernel());
  LoadResult<DomainLayout> p = plan_domain_layout(img, request(65536, 0, false, false));
  ASSERT_TRUE(p.ok()) << to_string(p.error());
  const DomainLayout& L = *p;
  EXPECT_EQ(L.kernel.pfn.value(), 4096u);
  EXPECT_EQ(L.kernel.va.value(), kBase + 0x1000000);
  EXPECT_EQ(L.kernel.pages, 9u);
  EXPECT_EQ(L.ramdisk.pages, 0u);
  EXPECT_EQ(L.p2m.pfn.value(), 4105u);
  EXPECT_EQ(L.p2m.pages, 128u);
  EXPECT_EQ(L.start_info.pfn.value(), 4233u);
  EXPECT_EQ(L.start_info.va.value(), kBase + 4233u * 4096);
  EXPECT_EQ(L.xenstore.pfn.value(), 4234u);
  EXPECT_EQ(L.console.pfn.value(), 4235u);
  EXPECT_EQ(L.page_tables.pfn.value(), 4236u);
  EXPECT_EQ(L.page_tables.pages, 13u);
  EXPECT_EQ(L.levels[3].first_pfn.value(), 4236u);
  EXPECT_EQ(L.levels[3].count, 1u);
  EXPECT_EQ(L.levels[2].first_pfn.value(), 4237u);
  EXPECT_EQ(L.levels[2].count, 1u);
  EXPECT_EQ(L.levels[1].first_pfn.value(), 4238u);
  EXPECT_EQ(L.levels[1].count, 1u);
  EXPECT_EQ(L.levels[0].first_pfn.value(), 4239u);
  EXPECT_EQ(L.levels[0].count, 10u);
  EXPECT_EQ(L.boot_stack.pfn.value(), 4249u);
  EXPECT_EQ(L.stack_top.value(), kBase + 4250u * 4096);
  EXPECT_EQ(L.bootstrap_end.value(), kBase + 0x1400000);
  EXPECT_EQ(L.bootstrap_pages, 5120u);
  EXPECT_EQ(L.entry.value(), kBase + 0x1000100);
  ASSERT_TRUE(L.hypercall_page.has_value());
  EXPECT_EQ(L.hypercall_page->value(), 4097u);
  // Table lookup: the L1 mapping the last bootstrap page is the 10th.
  EXPECT_EQ(L.levels[0].table_for(VirtAddr{kBase + 0x13ff000}).value(), 4248u);
  EXPECT_EQ(L.levels[0].table_for(VirtAddr{kBase}).value(), 4239u);
  EXPECT_TRUE(L.is_page_table(Gfn{4236}));
  EXPECT_TRUE(L.is_page_table(Gfn{4248}));
  EXPECT_FALSE(L.is_page_table(Gfn{4249}));
  EXPECT_FALSE(L.is_page_table(Gfn{4235}));
}

// The same with the image's INIT_P2M (0x8000000000, below VIRT_BASE) honoured. By hand:
//   kernel pfn 4096 (9 pages); start_info 4105, xenstore 4106, console 4107; end pfn 4108
//   (offset 0x100c000); +129 pages = 0x108d000 -> the area still ends at 20 MiB (5120
//   pfns); 13 tables at 4108..4120 (L4 4108, L3 4109, L2 4110, L1 4111..4120); stack 4121.
//   The p2m (128 pages) follows the area at pfn 5120, mapped at 0x8000000000; its own
//   tables follow at 5248: one L3 (L4 slot 1 is not in the kernel's L3 range), one L2, one
//   L1 (128 pages < 2 MiB). 5251 pfns <= 65536.
TEST(Layout, LinuxLikeDomU256MiBRelocatedP2m) {
  const PvGuestImage img = image_of(testing::linux_like_kernel());
  LoadResult<DomainLayout> p = plan_domain_layout(img, request(65536));
  ASSERT_TRUE(p.ok()) << to_string(p.error());
  const DomainLayout& L = *p;
  EXPECT_TRUE(L.p2m_relocated);
  EXPECT_EQ(L.kernel.pfn.value(), 4096u);
  EXPECT_EQ(L.start_info.pfn.value(), 4105u);
  EXPECT_EQ(L.console.pfn.value(), 4107u);
  EXPECT_EQ(L.page_tables.pfn.value(), 4108u);
  EXPECT_EQ(L.page_tables.pages, 13u);
  EXPECT_EQ(L.levels[0].first_pfn.value(), 4111u);
  EXPECT_EQ(L.boot_stack.pfn.value(), 4121u);
  EXPECT_EQ(L.stack_top.value(), kBase + 4122u * 4096);
  EXPECT_EQ(L.bootstrap_pages, 5120u);
  EXPECT_EQ(L.p2m.pfn.value(), 5120u);
  EXPECT_EQ(L.p2m.va.value(), 0x8000000000u);
  EXPECT_EQ(L.p2m.pages, 128u);
  EXPECT_EQ(L.p2m_tables.pfn.value(), 5248u);
  EXPECT_EQ(L.p2m_tables.pages, 3u);
  EXPECT_EQ(L.p2m_levels[3].count, 0u);  // the L4 is shared
  EXPECT_EQ(L.p2m_levels[2].first_pfn.value(), 5248u);
  EXPECT_EQ(L.p2m_levels[2].count, 1u);
  EXPECT_EQ(L.p2m_levels[1].first_pfn.value(), 5249u);
  EXPECT_EQ(L.p2m_levels[0].first_pfn.value(), 5250u);
  EXPECT_EQ(L.table_at(0, VirtAddr{0x8000000000}).value().value(), 5250u);
  EXPECT_EQ(L.table_at(2, VirtAddr{kBase}).value().value(), 4109u);
  EXPECT_FALSE(L.table_at(0, VirtAddr{0x9000000000}).has_value());
  EXPECT_EQ(L.pfn_at(VirtAddr{0x8000000000 + 5 * 4096}).value().value(), 5125u);
  EXPECT_TRUE(L.is_page_table(Gfn{5250}));
  EXPECT_FALSE(L.is_page_table(Gfn{5247}));
  const xen::StartInfo si = build_start_info(L, StartInfoInputs{});
  EXPECT_EQ(si.mfn_list, 0x8000000000u);
  EXPECT_EQ(si.first_p2m_pfn, 5120u);
  EXPECT_EQ(si.nr_p2m_frames, 131u);
  EXPECT_EQ(si.nr_pt_frames, 13u);
  EXPECT_EQ(si.pt_base, kBase + 4108u * 4096);
}

// A lower-half kernel at 1 GiB with INIT_P2M at 1 MiB: the p2m shares the L4 and the L3 of
// the bootstrap area (both under L4 slot 0 and L3 slot 0..1) and needs one L2 and one L1.
TEST(Layout, RelocatedP2mSharesUpperTables) {
  testing::ElfBuilder b;
  b.segment({0x40000000, 0, testing::pattern(0x100, 0), 0x1000})
      .note_str(xen::kElfNoteLoader, "generic")
      .note_str(xen::kElfNoteXenVersion, "xen-3.0")
      .note_u64(xen::kElfNoteVirtBase, 0x40000000)
      .note_u64(xen::kElfNoteInitP2m, 0x100000)
      .entry(0x40000000);
  const PvGuestImage img = image_of(b);
  LoadResult<DomainLayout> p = plan_domain_layout(img, request(8192));
  ASSERT_TRUE(p.ok()) << to_string(p.error());
  EXPECT_TRUE(p->p2m_relocated);
  EXPECT_EQ(p->p2m.pages, 16u);
  EXPECT_EQ(p->p2m_levels[2].count, 0u);
  EXPECT_EQ(p->p2m_levels[1].count, 1u);
  EXPECT_EQ(p->p2m_levels[0].count, 1u);
  EXPECT_EQ(p->p2m_tables.pages, 2u);
  EXPECT_EQ(p->table_at(2, VirtAddr{0x100000}).value(), p->levels[2].first_pfn);
}

TEST(Layout, InitP2mIgnoredWhenNotUsable) {
  for (std::uint64_t where : {kBase, kBase + 0x1000000, std::uint64_t{0x8000000800}}) {
    testing::ElfBuilder b = testing::linux_like_kernel();
    b.drop_note(xen::kElfNoteInitP2m).note_u64(xen::kElfNoteInitP2m, where);
    const PvGuestImage img = image_of(b);
    LoadResult<DomainLayout> p = plan_domain_layout(img, request(65536));
    ASSERT_TRUE(p.ok());
    EXPECT_FALSE(p->p2m_relocated) << where;  // at/above VIRT_BASE or misaligned: inline
    EXPECT_EQ(p->p2m.pfn.value(), 4105u);
  }
}

// Mini-OS-like kernel at VA 0, 32 MiB, 1 MiB + 1 byte initrd. By hand:
//   kernel 0x30000 bytes = 48 pages at pfn 0; initrd 257 pages at 48; p2m 8192 * 8 = 16
//   pages at 305; start_info 321, xenstore 322, console 323; end pfn 324 (0x144000).
//   +129 pages = 0x1c5000 -> area ends at 4 MiB (1024 pfns); tables 1+1+1+2 = 5 at 324..328;
//   stack 329, RSP = 330 * 4K.
TEST(Layout, MiniOsLikeWithInitrd) {
  const PvGuestImage img = image_of(testing::minios_like_kernel());
  LoadResult<DomainLayout> p = plan_domain_layout(img, request(8192, 0x100001));
  ASSERT_TRUE(p.ok()) << to_string(p.error());
  const DomainLayout& L = *p;
  EXPECT_EQ(L.kernel.pfn.value(), 0u);
  EXPECT_EQ(L.kernel.pages, 48u);
  EXPECT_EQ(L.ramdisk.pfn.value(), 48u);
  EXPECT_EQ(L.ramdisk.va.value(), 48u * 4096);
  EXPECT_EQ(L.ramdisk.pages, 257u);
  EXPECT_EQ(L.p2m.pfn.value(), 305u);
  EXPECT_EQ(L.p2m.pages, 16u);
  EXPECT_EQ(L.start_info.pfn.value(), 321u);
  EXPECT_EQ(L.console.pfn.value(), 323u);
  EXPECT_EQ(L.page_tables.pfn.value(), 324u);
  EXPECT_EQ(L.page_tables.pages, 5u);
  EXPECT_EQ(L.levels[0].count, 2u);
  EXPECT_EQ(L.boot_stack.pfn.value(), 329u);
  EXPECT_EQ(L.stack_top.value(), 330u * 4096);
  EXPECT_EQ(L.bootstrap_end.value(), 0x400000u);
  EXPECT_EQ(L.bootstrap_pages, 1024u);
  EXPECT_EQ(L.entry.value(), 0x40u);
  EXPECT_EQ(L.hypercall_page->value(), 2u);
}

// dom0 (initial domain): no xenstore/console pages; page tables follow start_info.
TEST(Layout, InitialDomainHasNoXenstoreOrConsolePages) {
  const PvGuestImage img = image_of(testing::minios_like_kernel());
  LoadResult<DomainLayout> p = plan_domain_layout(img, request(8192, 0, true));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->xenstore.pages, 0u);
  EXPECT_EQ(p->console.pages, 0u);
  EXPECT_EQ(p->start_info.pfn.value(), 48u + 16u);
  EXPECT_EQ(p->page_tables.pfn.value(), 48u + 16u + 1u);
}

// The table count must be a fixed point: 4 GiB of p2m-heavy memory pushes the area past
// several 4 MiB boundaries. 1 GiB domain: p2m = 512 pages. Checked by the general rules.
TEST(Layout, RulesHoldOverASweepOfSizes) {
  const PvGuestImage linux_img = image_of(testing::linux_like_kernel());
  const PvGuestImage minios_img = image_of(testing::minios_like_kernel());
  for (const PvGuestImage* img : {&linux_img, &minios_img}) {
    for (std::uint64_t pages : {std::uint64_t{6000}, std::uint64_t{65536}, std::uint64_t{262144},
                                std::uint64_t{1} << 20, std::uint64_t{3} << 20,
                                std::uint64_t{1} << 24}) {
      for (std::uint64_t rd : {std::uint64_t{0}, std::uint64_t{12345}, std::uint64_t{3} << 20}) {
        LoadResult<DomainLayout> p = plan_domain_layout(*img, request(pages, rd));
        ASSERT_TRUE(p.ok()) << pages << " " << rd << " " << to_string(p.error());
        const DomainLayout& L = *p;
        const std::uint64_t vb = L.virt_base.value();
        // Packed in Xen's order, every element page aligned.
        const Region* order[] = {&L.kernel, &L.ramdisk, &L.p2m, &L.start_info, &L.xenstore,
                                 &L.console, &L.page_tables, &L.boot_stack};
        std::uint64_t next = L.kernel.pfn.value();
        for (const Region* r : order) {
          if (r->pages == 0 || (r == &L.p2m && L.p2m_relocated)) continue;
          EXPECT_EQ(r->pfn.value(), next);
          EXPECT_EQ(r->va.value(), vb + r->pfn.value() * 4096);
          next += r->pages;
        }
        // The Linux-like image asks for INIT_P2M below VIRT_BASE: honoured after the area.
        EXPECT_EQ(L.p2m_relocated, img == &linux_img);
        if (L.p2m_relocated) {
          EXPECT_EQ(L.p2m.pfn.value(), L.bootstrap_pages);
          EXPECT_EQ(L.p2m_tables.pfn.value(), L.bootstrap_pages + L.p2m.pages);
          EXPECT_LE(L.p2m_tables.pfn.value() + L.p2m_tables.pages, pages);
          // One L1 per 2 MiB of p2m, one L2 per 1 GiB, one L3 (512 GiB apart from the kernel).
          EXPECT_EQ(L.p2m_levels[0].count, (L.p2m.pages + 511) / 512);
          EXPECT_EQ(L.p2m_levels[2].count, 1u);
        }
        EXPECT_EQ(L.p2m.pages, (pages * 8 + 4095) / 4096);
        EXPECT_EQ(L.ramdisk.pages, (rd + 4095) / 4096);
        // The area ends on 4 MiB with at least 512 KiB after the stack.
        const std::uint64_t end = L.bootstrap_end.value();
        EXPECT_EQ(end % (4u << 20), 0u);
        EXPECT_GE(end - L.stack_top.value(), 512u * 1024);
        // ... and is the first such boundary (Xen does not over-allocate).
        EXPECT_LT(end - (4u << 20), L.stack_top.value() + 512u * 1024);
        // Enough tables of each level to map [VIRT_BASE, end), and no more.
        const std::uint64_t span = end - vb;
        EXPECT_EQ(L.levels[0].count, (vb % (2u << 20) + span + (2u << 20) - 1) / (2u << 20));
        EXPECT_EQ(L.levels[3].count, 1u);
        EXPECT_EQ(L.page_tables.pages,
                  L.levels[0].count + L.levels[1].count + L.levels[2].count + L.levels[3].count);
        // Every bootstrap VA resolves to a table inside the page-table region.
        for (std::size_t l = 0; l < 4; ++l) {
          EXPECT_TRUE(L.is_page_table(L.levels[l].table_for(L.virt_base)));
          EXPECT_TRUE(L.is_page_table(L.levels[l].table_for(VirtAddr{end - 1})));
        }
        EXPECT_EQ(L.bootstrap_pages, span / 4096);
        EXPECT_LE(L.bootstrap_pages, pages);
      }
    }
  }
}

TEST(LayoutAdversarial, VcpuCount) {
  const PvGuestImage img = image_of(testing::minios_like_kernel());
  LayoutRequest r = request(8192);
  r.vcpus = 0;
  EXPECT_EQ(plan_domain_layout(img, r).error(), LoadError::BadVcpuCount);
  r.vcpus = 33;
  EXPECT_EQ(plan_domain_layout(img, r).error(), LoadError::BadVcpuCount);
  r.vcpus = 32;
  EXPECT_EQ(plan_domain_layout(img, r).error(), LoadError::Ok);
}

TEST(LayoutAdversarial, NotEnoughMemory) {
  const PvGuestImage linux_img = image_of(testing::linux_like_kernel());
  // The kernel starts at pfn 4096: 4096 pages cannot even hold it.
  EXPECT_EQ(plan_domain_layout(linux_img, request(4096)).error(), LoadError::NotEnoughMemory);
  // 5000 pages hold the elements but not the 20 MiB bootstrap area (5120 pfns).
  EXPECT_EQ(plan_domain_layout(linux_img, request(5000)).error(), LoadError::NotEnoughMemory);
  EXPECT_EQ(plan_domain_layout(linux_img, request(0)).error(), LoadError::NotEnoughMemory);
  EXPECT_EQ(plan_domain_layout(linux_img, request(~std::uint64_t{0})).error(),
            LoadError::NotEnoughMemory);
  EXPECT_EQ(plan_domain_layout(linux_img, request(kMaxDomainPages + 1)).error(),
            LoadError::NotEnoughMemory);
  // An initrd that does not fit in memory.
  EXPECT_EQ(plan_domain_layout(linux_img, request(65536, 255u << 20)).error(),
            LoadError::NotEnoughMemory);
}

TEST(LayoutAdversarial, RamdiskTooLarge) {
  const PvGuestImage img = image_of(testing::minios_like_kernel());
  EXPECT_EQ(plan_domain_layout(img, request(8192, (std::uint64_t{1} << 30) + 1)).error(),
            LoadError::RamdiskTooLarge);
  EXPECT_EQ(plan_domain_layout(img, request(8192, ~std::uint64_t{0})).error(),
            LoadError::RamdiskTooLarge);
}

TEST(LayoutAdversarial, AreaWouldWrapTheAddressSpace) {
  // A kernel in the last 4 MiB of the address space: the bootstrap area would end at 2^64.
  constexpr std::uint64_t kTop = 0xffffffffffc00000ULL;
  testing::ElfBuilder b;
  b.segment({kTop, 0, testing::pattern(0x10, 0), 0x1000})
      .note_str(xen::kElfNoteLoader, "generic")
      .note_str(xen::kElfNoteXenVersion, "xen-3.0")
      .note_u64(xen::kElfNoteVirtBase, kTop)
      .entry(kTop);
  const PvGuestImage img = image_of(b);
  EXPECT_EQ(plan_domain_layout(img, request(8192)).error(), LoadError::LayoutOverflow);
  // The lower half: the padding would run past 2^47, which is not canonical (an area
  // ending exactly at 2^47 is fine).
  constexpr std::uint64_t kLowTop = 0x00007ffffffc0000ULL;  // 256 KiB below 2^47
  testing::ElfBuilder c;
  c.segment({kLowTop, 0, testing::pattern(0x10, 0), 0x1000})
      .note_str(xen::kElfNoteLoader, "generic")
      .note_str(xen::kElfNoteXenVersion, "xen-3.0")
      .note_u64(xen::kElfNoteVirtBase, kLowTop)
      .entry(kLowTop);
  const PvGuestImage low = image_of(c);
  EXPECT_EQ(plan_domain_layout(low, request(8192)).error(), LoadError::NonCanonicalAddress);
}

TEST(LayoutAdversarial, RelocatedP2mMeetsBootstrapAreaOrMemory) {
  // The p2m of 1 GiB of memory (2 MiB) placed 1 MiB below VIRT_BASE runs into the area.
  testing::ElfBuilder b = testing::linux_like_kernel();
  b.drop_note(xen::kElfNoteInitP2m).note_u64(xen::kElfNoteInitP2m, kBase - 0x100000);
  const PvGuestImage img = image_of(b);
  EXPECT_EQ(plan_domain_layout(img, request(262144)).error(), LoadError::P2mOverlapsBootstrap);
  EXPECT_EQ(plan_domain_layout(img, request(262144, 0, false, false)).error(), LoadError::Ok);
  // In the hypervisor hole, or not canonical.
  testing::ElfBuilder h = testing::linux_like_kernel();
  h.drop_note(xen::kElfNoteInitP2m).note_u64(xen::kElfNoteInitP2m, 0xffff800000000000ULL);
  EXPECT_EQ(plan_domain_layout(image_of(h), request(65536)).error(), LoadError::HypervisorRange);
  testing::ElfBuilder n = testing::linux_like_kernel();
  n.drop_note(xen::kElfNoteInitP2m).note_u64(xen::kElfNoteInitP2m, 0x0000800000000000ULL);
  EXPECT_EQ(plan_domain_layout(image_of(n), request(65536)).error(),
            LoadError::NonCanonicalAddress);
  // Exactly enough memory for the area but not for the p2m behind it.
  EXPECT_EQ(plan_domain_layout(image_of(testing::linux_like_kernel()), request(5125)).error(),
            LoadError::NotEnoughMemory);
  EXPECT_EQ(plan_domain_layout(image_of(testing::linux_like_kernel()), request(5125, 0, false,
                                                                                  false))
                .error(),
            LoadError::Ok);
}

TEST(LayoutAdversarial, HandMadeImageIsRechecked) {
  PvGuestImage img = image_of(testing::minios_like_kernel());
  PvGuestImage bad_entry = img;
  bad_entry.entry = VirtAddr{0x30000};
  EXPECT_EQ(plan_domain_layout(bad_entry, request(8192)).error(), LoadError::EntryOutsideImage);
  PvGuestImage bad_hc = img;
  bad_hc.hypercall_page = VirtAddr{0x2f001};
  EXPECT_EQ(plan_domain_layout(bad_hc, request(8192)).error(),
            LoadError::HypercallPageOutsideImage);
  PvGuestImage bad_base = img;
  bad_base.virt_base = VirtAddr{0x1000};
  EXPECT_EQ(plan_domain_layout(bad_base, request(8192)).error(), LoadError::VirtBaseAboveKernel);
  PvGuestImage bad_end = img;
  bad_end.kernel_end = VirtAddr{0};
  bad_end.kernel_start = VirtAddr{0x1000};
  bad_end.entry = VirtAddr{0x1000};
  EXPECT_NE(plan_domain_layout(bad_end, request(8192)).error(), LoadError::Ok);
}

// --- start_info ------------------------------------------------------------------------

TEST(StartInfo, DomUFieldsFromPlanAndPlatform) {
  const PvGuestImage img = image_of(testing::minios_like_kernel());
  LoadResult<DomainLayout> p = plan_domain_layout(img, request(8192, 0x100001));
  ASSERT_TRUE(p.ok());
  StartInfoInputs in;
  in.shared_info = MachAddr{0x12345000};
  in.store_mfn = Mfn{0x777};
  in.store_evtchn = EvtchnPort{1};
  in.console_mfn = Mfn{0x888};
  in.console_evtchn = EvtchnPort{2};
  in.cmdline = "console=hvc0 root=/dev/xvda1";
  in.extra_flags = xen::kSifVirtP2m4Tools | xen::kSifPrivileged;  // privileged is not ours
  const xen::StartInfo si = build_start_info(*p, in);
  EXPECT_STREQ(si.magic.data(), "xen-3.0-x86_64");
  EXPECT_EQ(si.nr_pages, 8192u);
  EXPECT_EQ(si.shared_info, 0x12345000u);
  EXPECT_EQ(si.flags, xen::kSifVirtP2m4Tools);
  EXPECT_EQ(si.store_mfn, 0x777u);
  EXPECT_EQ(si.store_evtchn, 1u);
  EXPECT_EQ(si.console.domu.mfn, 0x888u);
  EXPECT_EQ(si.console.domu.evtchn, 2u);
  EXPECT_EQ(si.pt_base, 324u * 4096);
  EXPECT_EQ(si.nr_pt_frames, 5u);
  EXPECT_EQ(si.mfn_list, 305u * 4096);
  EXPECT_EQ(si.mod_start, 48u * 4096);
  EXPECT_EQ(si.mod_len, 0x100001u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(si.cmd_line.data())),
            "console=hvc0 root=/dev/xvda1");
  EXPECT_EQ(si.first_p2m_pfn, 0u);
  EXPECT_EQ(si.nr_p2m_frames, 0u);
  EXPECT_EQ(si.pad0, 0u);
  EXPECT_EQ(si.pad1, 0u);
  EXPECT_EQ(si.console.domu.pad, 0u);
}

TEST(StartInfo, Dom0FlagsAndNoInitrd) {
  const PvGuestImage img = image_of(testing::minios_like_kernel());
  LoadResult<DomainLayout> p = plan_domain_layout(img, request(8192, 0, true));
  ASSERT_TRUE(p.ok());
  StartInfoInputs in;
  in.store_mfn = Mfn{5};  // ignored for dom0
  const xen::StartInfo si = build_start_info(*p, in);
  EXPECT_EQ(si.flags, xen::kSifPrivileged | xen::kSifInitDomain);
  EXPECT_EQ(si.store_mfn, 0u);
  EXPECT_EQ(si.console.dom0.info_off, 0u);
  EXPECT_EQ(si.mod_start, 0u);
  EXPECT_EQ(si.mod_len, 0u);
  EXPECT_EQ(si.cmd_line[0], 0);
}

TEST(StartInfoAdversarial, Inv05_CommandLineTruncatedAndEveryByteInitialised_XSA122) {
  const PvGuestImage img = image_of(testing::minios_like_kernel());
  LoadResult<DomainLayout> p = plan_domain_layout(img, request(8192));
  ASSERT_TRUE(p.ok());
  const std::string longline(5000, 'x');
  StartInfoInputs in;
  in.cmdline = longline.c_str();
  // Build twice over differently poisoned stack memory: identical bytes mean no byte of
  // padding or tail is left uninitialised.
  alignas(8) unsigned char a[sizeof(xen::StartInfo)];
  alignas(8) unsigned char b[sizeof(xen::StartInfo)];
  std::memset(a, 0xaa, sizeof a);
  std::memset(b, 0x55, sizeof b);
  new (a) xen::StartInfo(build_start_info(*p, in));
  new (b) xen::StartInfo(build_start_info(*p, in));
  EXPECT_EQ(std::memcmp(a, b, sizeof a), 0);
  const auto* si = reinterpret_cast<const xen::StartInfo*>(a);
  EXPECT_EQ(si->cmd_line[1022], 'x');
  EXPECT_EQ(si->cmd_line[1023], 0);
  for (std::size_t i = sizeof(xen::kStartInfoMagic); i < 32; ++i) EXPECT_EQ(si->magic[i], 0);
}

}  // namespace
}  // namespace pvkit::loader
