// Cross-checks the loader against ELF files produced by a real toolchain (llvm-mc-14 and
// ld.lld-14, run at test time), not only by pvkit's own test builder: notes emitted by the
// assembler, program headers laid out by the linker (including PT_GNU_STACK), stripped
// section headers. Skipped when the tools are not installed.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "pvkit/loader/fuzz_entry.h"
#include "pvkit/loader/layout.h"
#include "pvkit/loader/pv_image.h"
#include "pvkit/loader/test_elf_builder.h"

namespace pvkit::loader {
namespace {

constexpr char kAsm[] = R"(
  .section .text.entry, "ax"
  .globl _start
_start:
  nop
  jmp _start
  .section .text.hypercall_page, "ax"
  .balign 4096
  .globl hypercall_page
hypercall_page:
  .fill 4096, 1, 0xcc
  .section .bss, "aw", @nobits
  .balign 4096
stack: .zero 16384
  .section .note.Xen, "a", @note
  .balign 4; .long 4; .long 6; .long 6; .asciz "Xen"; .balign 4; .asciz "pvkit"; .balign 4
  .balign 4; .long 4; .long 8; .long 5; .asciz "Xen"; .balign 4; .asciz "xen-3.0"; .balign 4
  .balign 4; .long 4; .long 8; .long 8; .asciz "Xen"; .balign 4; .asciz "generic"; .balign 4
  .balign 4; .long 4; .long 8; .long 3; .asciz "Xen"; .balign 4; .quad 0xffffffff80000000
  .balign 4; .long 4; .long 8; .long 4; .asciz "Xen"; .balign 4; .quad 0
  .balign 4; .long 4; .long 8; .long 1; .asciz "Xen"; .balign 4; .quad _start
  .balign 4; .long 4; .long 8; .long 2; .asciz "Xen"; .balign 4; .quad hypercall_page
  .balign 4; .long 4; .long 22; .long 10; .asciz "Xen"; .balign 4; .asciz "!writable_page_tables"; .balign 4
  .section .note.GNU-stack, "", @progbits
)";

constexpr char kLinkerScript[] = R"(
ENTRY(_start)
PHDRS { text PT_LOAD FLAGS(5); data PT_LOAD FLAGS(6); note PT_NOTE FLAGS(4); }
SECTIONS {
  . = 0xffffffff80000000;
  .text : AT(ADDR(.text) - 0xffffffff80000000) { *(.text.entry) *(.text.hypercall_page) *(.text*) } :text
  .note.Xen : AT(ADDR(.note.Xen) - 0xffffffff80000000) { KEEP(*(.note.Xen)) } :text :note
  . = ALIGN(4096);
  .bss : AT(ADDR(.bss) - 0xffffffff80000000) { *(.bss*) } :data
}
)";

class ToolchainImage : public ::testing::Test {
 protected:
  // Assembles the kernel object once for the suite.
  static void SetUpTestSuite() {
    available_ = std::system("command -v llvm-mc-14 >/dev/null && command -v ld.lld-14 "
                             ">/dev/null && command -v llvm-objcopy-14 >/dev/null") == 0;
    if (!available_) return;
    const char* tmp = std::getenv("TEST_TMPDIR");
    dir_ = tmp ? tmp : "/tmp";
    write(dir_ + "/k.s", kAsm);
    write(dir_ + "/k.ld", kLinkerScript);
    assembled_ = sh("llvm-mc-14 -filetype=obj -triple=x86_64-none-elf -o " + dir_ + "/k.o " +
                    dir_ + "/k.s") == 0;
  }
  void SetUp() override {
    if (!available_) GTEST_SKIP() << "LLVM 14 tools (llvm-mc, ld.lld, llvm-objcopy) missing";
    ASSERT_TRUE(assembled_);
  }
  static void write(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
  }
  static int sh(const std::string& cmd) { return std::system(cmd.c_str()); }
  static std::vector<std::uint8_t> read(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::vector<std::uint8_t>(std::istreambuf_iterator<char>(f), {});
  }
  static inline std::string dir_;
  static inline bool available_ = false;
  static inline bool assembled_ = false;
};

TEST_F(ToolchainImage, LinkedKernelIsAcceptedAndPlanned) {
  ASSERT_EQ(sh("ld.lld-14 -static -z max-page-size=4096 -T " + dir_ + "/k.ld -o " + dir_ +
               "/k.elf " + dir_ + "/k.o"),
            0);
  const std::vector<std::uint8_t> bytes = read(dir_ + "/k.elf");
  LoadResult<PvGuestImage> img = inspect_pv_image(bytes, LoadLimits{});
  ASSERT_TRUE(img.ok()) << to_string(img.error());
  EXPECT_EQ(img->virt_base.value(), 0xffffffff80000000ULL);
  EXPECT_EQ(img->kernel_start.value(), 0xffffffff80000000ULL);
  EXPECT_EQ(img->entry.value(), 0xffffffff80000000ULL);  // _start, from the ENTRY note
  ASSERT_TRUE(img->hypercall_page.has_value());
  EXPECT_EQ(img->hypercall_page->value(), 0xffffffff80001000ULL);
  EXPECT_TRUE(img->notes.guest_os.equals("pvkit"));
  EXPECT_EQ(img->features.required, 1u);
  EXPECT_EQ(img->segment_count, 2u);
  EXPECT_GE(img->kernel_bytes(), 0x2000u + 16384u);
  LayoutRequest req;
  req.nr_pages = 4096;
  LoadResult<DomainLayout> plan = plan_domain_layout(*img, req);
  ASSERT_TRUE(plan.ok()) << to_string(plan.error());
  EXPECT_EQ(plan->hypercall_page->value(), 1u);
  EXPECT_FALSE(run_loader_pipeline(bytes).invariant_broken);
}

TEST_F(ToolchainImage, StrippedSectionHeadersStillLoadFromPtNote) {
  ASSERT_EQ(sh("ld.lld-14 -static -T " + dir_ + "/k.ld -o " + dir_ + "/k.elf " + dir_ + "/k.o"),
            0);
  ASSERT_EQ(sh("llvm-objcopy-14 --strip-sections " + dir_ + "/k.elf " + dir_ + "/k.strip"), 0);
  const std::vector<std::uint8_t> bytes = read(dir_ + "/k.strip");
  LoadResult<PvGuestImage> img = inspect_pv_image(bytes, LoadLimits{});
  ASSERT_TRUE(img.ok()) << to_string(img.error());
  EXPECT_EQ(img->hypercall_page->value(), 0xffffffff80001000ULL);
}

TEST_F(ToolchainImage, DefaultLinkWithoutPhysicalAddressesIsRefused) {
  // A kernel linked without a PV linker script: lld adds a read-only headers segment at
  // 0x200000 and sets p_paddr = p_vaddr, so the segments Xen would load span from 0x200000 to
  // the top 2 GiB. The span exceeds any memory budget and must be refused, not planned.
  ASSERT_EQ(sh("ld.lld-14 -static -Ttext=0xffffffff80000000 -o " + dir_ + "/d.elf " + dir_ +
               "/k.o"),
            0);
  const std::vector<std::uint8_t> bytes = read(dir_ + "/d.elf");
  EXPECT_EQ(inspect_pv_image(bytes, LoadLimits{}).error(), LoadError::ImageTooLarge);
  const PipelineOutcome o = run_loader_pipeline(bytes);
  EXPECT_FALSE(o.invariant_broken);
  EXPECT_EQ(o.plans, 0u);
}

}  // namespace
}  // namespace pvkit::loader
