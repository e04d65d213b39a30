// Every built guest kernel (paths on the command line) through pvkit's own PV loader
// (//lib/loader): inspect_pv_image must accept it with the intended entry, hypercall page,
// VIRT_BASE and features, and plan_domain_layout must give a bootstrap layout in which the
// guest library's assumptions hold — the kernel sits at pfn 0 (so PhysMap's
// pfn = (va - VIRT_BASE) >> 12 is right), and start_info, the p2m list, the page tables and
// the stack all lie inside the domain's pages where virt_to_mfn can translate them.
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pvkit/guest/layout.h"
#include "pvkit/loader/layout.h"
#include "pvkit/loader/pv_image.h"

namespace {

std::vector<std::string> g_paths;

std::vector<std::uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

class GuestLoader : public testing::TestWithParam<std::string> {};

TEST_P(GuestLoader, PvkitLoaderAcceptsTheKernelAsIntended) {
  const auto bytes = read_file(GetParam());
  ASSERT_FALSE(bytes.empty());
  auto img = pvkit::loader::inspect_pv_image(bytes, pvkit::loader::LoadLimits{});
  ASSERT_TRUE(img.ok()) << "LoadError " << static_cast<int>(img.error());
  EXPECT_EQ(img->virt_base.value(), pvkit::guest::kGuestVirtBase);
  EXPECT_EQ(img->paddr_offset, 0u);
  EXPECT_EQ(img->kernel_start.value(), pvkit::guest::kGuestVirtBase);
  EXPECT_TRUE(img->entry_from_note);
  EXPECT_EQ(img->entry.value(), pvkit::guest::kGuestVirtBase);  // _start opens .text
  ASSERT_TRUE(img->hypercall_page.has_value());
  EXPECT_EQ(img->hypercall_page->value(), pvkit::guest::kGuestVirtBase + 0x1000);
  EXPECT_TRUE(img->notes.guest_os.equals("pvkit"));
  EXPECT_TRUE(img->notes.loader.equals("generic"));
  EXPECT_TRUE(img->notes.xen_version.equals("xen-3.0"));
  EXPECT_EQ(img->features.required, 1u << 0);  // !writable_page_tables
  for (const auto& s : img->load_segments()) {
    EXPECT_EQ(s.vaddr.value(), s.elf_vaddr) << "placed by p_paddr where it was linked";
  }
}

TEST_P(GuestLoader, BootstrapLayoutFitsTheGuestLibrary) {
  const auto bytes = read_file(GetParam());
  auto img = pvkit::loader::inspect_pv_image(bytes, pvkit::loader::LoadLimits{});
  ASSERT_TRUE(img.ok());
  auto plan = pvkit::loader::plan_domain_layout(*img, {.nr_pages = 4096, .vcpus = 1});
  ASSERT_TRUE(plan.ok()) << "LoadError " << static_cast<int>(plan.error());
  const std::uint64_t base = pvkit::guest::kGuestVirtBase;
  EXPECT_EQ(plan->kernel.pfn.value(), 0u);
  EXPECT_EQ(plan->kernel.va.value(), base);
  for (const auto* r : {&plan->p2m, &plan->start_info, &plan->page_tables, &plan->boot_stack}) {
    ASSERT_GT(r->pages, 0u);
    EXPECT_EQ(r->va.value(), base + r->pfn.value() * pvkit::guest::kPageSize);
    EXPECT_LT(r->pfn.value() + r->pages, plan->nr_pages + 1);
    EXPECT_GE(r->va.value(), img->kernel_end.value()) << "bootstrap data after the kernel image";
  }
  EXPECT_EQ(plan->entry.value(), img->entry.value());
  ASSERT_TRUE(plan->hypercall_page.has_value());
  EXPECT_EQ(plan->hypercall_page->value(), 1u);
}

std::string name_of(const testing::TestParamInfo<std::string>& info) {
  std::string base = info.param.substr(info.param.find_last_of('/') + 1);
  base = base.substr(0, base.find('.'));
  for (char& c : base) {
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return base;
}

INSTANTIATE_TEST_SUITE_P(Kernels, GuestLoader, testing::ValuesIn(g_paths), name_of);

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--", 2) != 0) g_paths.push_back(argv[i]);
  }
  testing::InitGoogleTest(&argc, argv);
  if (g_paths.empty()) {
    fprintf(stderr, "usage: guest_loader_test <kernel.elf>...\n");
    return 2;
  }
  return RUN_ALL_TESTS();
}
