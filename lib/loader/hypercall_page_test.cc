// Tests of the hypercall-page filler: exact bytes of known encodings, and an independent
// check by disassembling the page with llvm-objdump-14.
#include "pvkit/loader/hypercall_page.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace pvkit::loader {
namespace {

std::array<std::uint8_t, kHypercallPageSize> filled_page() {
  std::array<std::uint8_t, kHypercallPageSize> page;
  page.fill(0x00);
  fill_hypercall_page(page);
  return page;
}

TEST(HypercallPage, ExactBytesOfOrdinaryStubs) {
  const auto page = filled_page();
  // Stub 1 (mmu_update) and 127: push %rcx; push %r11; mov $n,%eax; syscall; pop %r11;
  // pop %rcx; ret; then int3 to the end of the 32 bytes.
  for (std::uint32_t nr : {0u, 1u, 22u, 24u, 32u, 127u}) {
    const std::uint8_t* s = page.data() + nr * 32;
    const std::uint8_t want[14] = {0x51, 0x41, 0x53, 0xb8, static_cast<std::uint8_t>(nr),
                                   0x00, 0x00, 0x00, 0x0f, 0x05, 0x41, 0x5b, 0x59, 0xc3};
    for (int i = 0; i < 14; ++i) EXPECT_EQ(s[i], want[i]) << "stub " << nr << " byte " << i;
    for (int i = 14; i < 32; ++i) EXPECT_EQ(s[i], 0xcc) << "stub " << nr << " byte " << i;
  }
}

TEST(HypercallPage, IretStubDoesNotReturn) {
  const auto page = filled_page();
  const std::uint8_t* s = page.data() + 23 * 32;
  const std::uint8_t want[11] = {0x51, 0x41, 0x53, 0x50, 0xb8, 23, 0, 0, 0, 0x0f, 0x05};
  for (int i = 0; i < 11; ++i) EXPECT_EQ(s[i], want[i]) << i;
  for (int i = 11; i < 32; ++i) EXPECT_EQ(s[i], 0xcc) << i;  // no pop/ret after syscall
}

TEST(HypercallPage, EveryStubHasItsOwnNumber) {
  const auto page = filled_page();
  for (std::uint32_t nr = 0; nr < kHypercallStubs; ++nr) {
    const std::size_t imm = nr * 32 + (nr == kIretHypercall ? 5 : 4);
    std::uint32_t v;
    std::memcpy(&v, page.data() + imm, 4);
    EXPECT_EQ(v, nr);
  }
}

// Disassembles the page with the system's LLVM tools; skipped if they are not installed.
std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  return out;
}

TEST(HypercallPage, DisassemblesToTheDocumentedStubs) {
  if (std::system("command -v llvm-objdump-14 >/dev/null && command -v llvm-objcopy-14 "
                  ">/dev/null") != 0) {
    GTEST_SKIP() << "llvm-objdump-14 / llvm-objcopy-14 not installed";
  }
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = tmp ? tmp : "/tmp";
  const std::string bin = dir + "/hypercall_page.bin";
  const std::string obj = dir + "/hypercall_page.o";
  const auto page = filled_page();
  {
    std::ofstream f(bin, std::ios::binary);
    f.write(reinterpret_cast<const char*>(page.data()), page.size());
  }
  ASSERT_EQ(std::system(("llvm-objcopy-14 -I binary -O elf64-x86-64 " + bin + " " + obj).c_str()),
            0);
  const std::string text =
      run("llvm-objdump-14 -D -j .data --no-show-raw-insn --no-leading-addr " + obj);
  // Collect the mnemonics, one per instruction line.
  std::vector<std::string> insns;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line.back() == ':' || line.find("file format") !=
                                                                 std::string::npos ||
        line.rfind("Disassembly", 0) == 0) {
      continue;
    }
    std::string insn = line.substr(first);
    for (char& c : insn) c = c == '\t' ? ' ' : c;
    insns.push_back(insn);
  }
  std::vector<std::string> want;
  for (std::uint32_t nr = 0; nr < kHypercallStubs; ++nr) {
    want.push_back("pushq %rcx");
    want.push_back("pushq %r11");
    if (nr == kIretHypercall) want.push_back("pushq %rax");
    want.push_back("movl $" + std::to_string(nr) + ", %eax");
    want.push_back("syscall");
    std::size_t used = 10 + (nr == kIretHypercall ? 1 : 0);
    if (nr != kIretHypercall) {
      want.push_back("popq %r11");
      want.push_back("popq %rcx");
      want.push_back("retq");
      used = 14;
    }
    for (std::size_t i = used; i < 32; ++i) want.push_back("int3");
  }
  ASSERT_EQ(insns.size(), want.size()) << text.substr(0, 2000);
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(insns[i], want[i]) << i;
}

}  // namespace
}  // namespace pvkit::loader
