// The guest-bundle parser against good and malformed bundles.
#include "pvkit/platforms/pc/run/bundle.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace pvkit::pc {
namespace {

std::vector<std::uint8_t> bundle(const std::string& lines, std::size_t data_bytes) {
  std::string h = std::string(kBundleMagic) + lines;
  std::vector<std::uint8_t> b(kBundleHeaderBytes + data_bytes, 0);
  std::copy(h.begin(), h.end(), b.begin());
  for (std::size_t i = 0; i < data_bytes; ++i) b[kBundleHeaderBytes + i] = static_cast<std::uint8_t>(i / 4096 + 1);
  return b;
}

TEST(Bundle, ParsesEntriesAtPageAlignedOffsets) {
  auto b = bundle("100 name=a peer=2\n5000 name=b\n", 3 * 4096);
  BundleEntry e[4];
  ASSERT_EQ(parse_bundle(b, e), 2u);
  EXPECT_STREQ(e[0].cmdline, "name=a peer=2");
  EXPECT_EQ(e[0].elf.size(), 100u);
  EXPECT_EQ(e[0].elf.data(), b.data() + 4096);
  EXPECT_STREQ(e[1].cmdline, "name=b");
  EXPECT_EQ(e[1].elf.size(), 5000u);
  EXPECT_EQ(e[1].elf.data(), b.data() + 8192);
  EXPECT_EQ(e[1].elf[0], 2);
}

TEST(BundleAdversarial, MalformedHeadersAndSizesRefused) {
  BundleEntry e[2];
  auto past_end = bundle("9000 name=a\n", 4096);
  EXPECT_EQ(parse_bundle(past_end, e), 0u);
  auto huge = bundle("999999999999 x\n", 4096);
  EXPECT_EQ(parse_bundle(huge, e), 0u);
  auto no_size = bundle(" name=a\n", 4096);
  EXPECT_EQ(parse_bundle(no_size, e), 0u);
  auto zero = bundle("0 name=a\n", 4096);
  EXPECT_EQ(parse_bundle(zero, e), 0u);
  auto too_many = bundle("1 a\n1 b\n1 c\n", 3 * 4096);
  EXPECT_EQ(parse_bundle(too_many, e), 0u);
  auto long_cmd = bundle("1 " + std::string(kBundleCmdlineMax + 10, 'x') + "\n", 4096);
  EXPECT_EQ(parse_bundle(long_cmd, e), 0u);
  std::vector<std::uint8_t> no_newline(kBundleHeaderBytes + 4096, 'x');
  std::copy(kBundleMagic, kBundleMagic + sizeof(kBundleMagic) - 1, no_newline.begin());
  EXPECT_EQ(parse_bundle(no_newline, e), 0u);
  std::vector<std::uint8_t> short_module(100, 0);
  EXPECT_FALSE(is_bundle(short_module));
  EXPECT_EQ(parse_bundle(short_module, e), 0u);
}

}  // namespace
}  // namespace pvkit::pc
