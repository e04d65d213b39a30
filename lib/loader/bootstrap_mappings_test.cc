// Tests of the bootstrap page-table entries: a software walk through the enumerated entries
// maps exactly the bootstrap area 1:1, page-table frames only read-only, and nothing else.
#include "pvkit/loader/bootstrap_mappings.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "pvkit/loader/test_elf_builder.h"

namespace pvkit::loader {
namespace {

struct Tables {
  // (table pfn, slot) -> entry
  std::map<std::pair<std::uint64_t, unsigned>, BootstrapEntry> entries;
  std::vector<BootstrapEntry> order;
};

Tables collect(const DomainLayout& L) {
  Tables t;
  Status s = for_each_bootstrap_entry(L, [&](const BootstrapEntry& e) {
    EXPECT_TRUE(t.entries.emplace(std::make_pair(e.table.value(), e.slot), e).second)
        << "entry written twice";
    t.order.push_back(e);
    return Status::ok();
  });
  EXPECT_TRUE(s.is_ok());
  return t;
}

/// Walks L4 -> L1 for `va` like the MMU; returns the entry found at L1, or nullptr.
const BootstrapEntry* walk(const Tables& t, const DomainLayout& L, std::uint64_t va) {
  std::uint64_t table = L.levels[3].first_pfn.value();  // CR3 = pt_base
  for (unsigned lvl = 4; lvl >= 1; --lvl) {
    const unsigned slot = (va >> (12 + 9 * (lvl - 1))) & 511;
    auto it = t.entries.find({table, slot});
    if (it == t.entries.end()) return nullptr;
    EXPECT_EQ(it->second.level, lvl);
    if (lvl == 1) return &it->second;
    table = it->second.target.value();
    EXPECT_TRUE(L.is_page_table(Gfn{table})) << "upper entry does not point at a table";
  }
  return nullptr;
}

DomainLayout plan(testing::ElfBuilder b, std::uint64_t pages, std::vector<std::uint8_t>& keep,
                  bool relocate_p2m = true) {
  keep = b.build().bytes;
  LoadResult<PvGuestImage> img = inspect_pv_image(keep, LoadLimits{});
  EXPECT_TRUE(img.ok());
  LayoutRequest r;
  r.nr_pages = pages;
  r.relocate_p2m = relocate_p2m;
  LoadResult<DomainLayout> p = plan_domain_layout(*img, r);
  EXPECT_TRUE(p.ok()) << to_string(p.error());
  return *p;
}

void check_maps_exactly_the_area(const DomainLayout& L) {
  const Tables t = collect(L);
  const std::uint64_t vb = L.virt_base.value();
  std::uint64_t l1_entries = 0;
  for (const BootstrapEntry& e : t.order) {
    EXPECT_TRUE(L.is_page_table(e.table));
    if (e.level == 1) {
      ++l1_entries;
      EXPECT_TRUE(e.target.value() < L.bootstrap_pages ||
                  (L.p2m_relocated && L.p2m.contains(e.target)))
          << e.target.value();
    } else {
      EXPECT_TRUE(L.is_page_table(e.target));
      EXPECT_TRUE(e.writable);
    }
    if (e.level == 4) {  // Xen's reserved L4 slots are never used
      EXPECT_FALSE(e.slot >= 256 && e.slot < 272) << e.slot;
    }
  }
  EXPECT_EQ(l1_entries, L.bootstrap_pages + (L.p2m_relocated ? L.p2m.pages : 0));
  // Top-down order: levels never increase along the enumeration.
  for (std::size_t i = 1; i < t.order.size(); ++i) {
    EXPECT_LE(t.order[i].level, t.order[i - 1].level);
  }
  for (std::uint64_t pfn = 0; pfn < L.bootstrap_pages; ++pfn) {
    const BootstrapEntry* e = walk(t, L, vb + pfn * 4096);
    ASSERT_NE(e, nullptr) << "pfn " << pfn << " unmapped";
    EXPECT_EQ(e->target.value(), pfn);
    EXPECT_EQ(e->writable, !L.is_page_table(Gfn{pfn})) << pfn;
  }
  if (L.p2m_relocated) {  // the p2m at its own address, writable, and nothing after it
    for (std::uint64_t i = 0; i < L.p2m.pages; ++i) {
      const BootstrapEntry* e = walk(t, L, L.p2m.va.value() + i * 4096);
      ASSERT_NE(e, nullptr) << "p2m page " << i << " unmapped";
      EXPECT_EQ(e->target.value(), L.p2m.pfn.value() + i);
      EXPECT_TRUE(e->writable);
    }
    EXPECT_EQ(walk(t, L, L.p2m.va.value() + L.p2m.pages * 4096), nullptr);
    EXPECT_EQ(walk(t, L, L.p2m.va.value() - 4096), nullptr);
  }
  // Just outside the area: unmapped.
  if (vb >= 4096) {
    EXPECT_EQ(walk(t, L, vb - 4096), nullptr);
  }
  EXPECT_EQ(walk(t, L, L.bootstrap_end.value()), nullptr);
}

TEST(BootstrapMappings, Inv07_LinuxLikeAreaMappedOneToOnePageTablesReadOnly_XSA148) {
  std::vector<std::uint8_t> keep;
  const DomainLayout L = plan(testing::linux_like_kernel(), 65536, keep, false);
  check_maps_exactly_the_area(L);
  // 1 L4 entry + 1 L3 entry + 10 L2 entries + 5120 L1 entries.
  EXPECT_EQ(collect(L).order.size(), 1u + 1u + 10u + 5120u);
}

TEST(BootstrapMappings, Inv07_RelocatedP2mMappedWritableItsTablesNot_XSA148) {
  std::vector<std::uint8_t> keep;
  const DomainLayout L = plan(testing::linux_like_kernel(), 65536, keep);
  ASSERT_TRUE(L.p2m_relocated);
  check_maps_exactly_the_area(L);
  // L4: slots 1 (p2m) and 511 (kernel); L3s: 1 + 1; L2s: 10 + 1; L1: 5120 + 128.
  const Tables t = collect(L);
  EXPECT_EQ(t.order.size(), 2u + 2u + 11u + 5248u);
  EXPECT_EQ(t.entries.at({L.levels[3].first_pfn.value(), 1}).target, L.p2m_levels[2].first_pfn);
  // The p2m's own tables are not mapped anywhere (the guest may not write them either).
  for (const BootstrapEntry& e : t.order) {
    if (e.level == 1) EXPECT_FALSE(L.p2m_tables.contains(e.target));
  }
}

TEST(BootstrapMappings, RelocatedP2mSharingTheL3OfTheArea) {
  testing::ElfBuilder b;
  b.segment({0x40000000, 0, testing::pattern(0x100, 0), 0x1000})
      .note_str(xen::kElfNoteLoader, "generic")
      .note_str(xen::kElfNoteXenVersion, "xen-3.0")
      .note_u64(xen::kElfNoteVirtBase, 0x40000000)
      .note_u64(xen::kElfNoteInitP2m, 0x100000)
      .entry(0x40000000);
  std::vector<std::uint8_t> keep;
  const DomainLayout L = plan(b, 8192, keep);
  ASSERT_TRUE(L.p2m_relocated);
  check_maps_exactly_the_area(L);
  // The bootstrap area's L3 gains slot 0 (the p2m's L2) next to slot 1 (its own L2).
  const Tables t = collect(L);
  EXPECT_EQ(t.entries.at({L.levels[2].first_pfn.value(), 0}).target, L.p2m_levels[1].first_pfn);
  EXPECT_EQ(t.entries.at({L.levels[2].first_pfn.value(), 1}).target, L.levels[1].first_pfn);
}

TEST(BootstrapMappings, Inv07_LowerHalfAreaMappedOneToOnePageTablesReadOnly_XSA148) {
  std::vector<std::uint8_t> keep;
  check_maps_exactly_the_area(plan(testing::minios_like_kernel(), 8192, keep));
}

TEST(BootstrapMappings, AreaCrossingA1GiBBoundaryAndUnaligned2MiBBase) {
  // VIRT_BASE 1 MiB below a 1 GiB boundary (so also 1 MiB into a 2 MiB page); a 1 GiB
  // domain's 2 MiB p2m pushes the area across the boundary, into a second L2.
  constexpr std::uint64_t kVb = 0xffffffffbff00000ULL;
  testing::ElfBuilder b;
  b.segment({kVb, 0, testing::pattern(0x100, 0), 0x1000})
      .note_str(xen::kElfNoteLoader, "generic")
      .note_str(xen::kElfNoteXenVersion, "xen-3.0")
      .note_u64(xen::kElfNoteVirtBase, kVb)
      .entry(kVb);
  std::vector<std::uint8_t> keep;
  const DomainLayout L = plan(b, 262144, keep);
  EXPECT_EQ(L.levels[1].count, 2u);  // two L2s: the area spans two 1 GiB slots
  check_maps_exactly_the_area(L);
}

TEST(BootstrapMappings, CallbackErrorStopsTheEnumeration) {
  std::vector<std::uint8_t> keep;
  const DomainLayout L = plan(testing::minios_like_kernel(), 8192, keep);
  int calls = 0;
  Status s = for_each_bootstrap_entry(L, [&](const BootstrapEntry&) {
    return ++calls == 3 ? Status{Errno::NoMem} : Status::ok();
  });
  EXPECT_EQ(s, Status{Errno::NoMem});
  EXPECT_EQ(calls, 3);
}

}  // namespace
}  // namespace pvkit::loader
