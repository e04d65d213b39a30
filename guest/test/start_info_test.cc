// start_info helpers (magic, command line) and the p2m translation, on host-made pages.
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pvkit/guest/memory.h"
#include "pvkit/guest/start_info.h"

namespace g = pvkit::guest;
namespace x = pvkit::guest::xen;

namespace {
x::StartInfo make(const char* magic, const char* cmdline) {
  x::StartInfo si{};
  std::strncpy(si.magic.data(), magic, sizeof(si.magic));
  std::strncpy(reinterpret_cast<char*>(si.cmd_line.data()), cmdline, sizeof(si.cmd_line));
  return si;
}
std::string str(g::CmdlineValue v) { return std::string(v.data, v.size); }
}  // namespace

TEST(GuestStartInfo, MagicMustBeExact) {
  EXPECT_TRUE(g::start_info_magic_ok(make("xen-3.0-x86_64", "")));
  EXPECT_FALSE(g::start_info_magic_ok(make("xen-3.0-x86_32p", "")));
  EXPECT_FALSE(g::start_info_magic_ok(make("xen-3.0-x86_6", "")));
  EXPECT_FALSE(g::start_info_magic_ok(make("xen-3.0-x86_64x", "")));  // no NUL after the magic
  EXPECT_FALSE(g::start_info_magic_ok(make("", "")));
}

TEST(GuestStartInfo, CommandLineLookup) {
  const auto si = make("xen-3.0-x86_64", "  peer=2 rounds=0x10 name=front  flag= peer=9");
  ASSERT_TRUE(g::cmdline_value(si, "peer"));
  EXPECT_EQ(str(*g::cmdline_value(si, "peer")), "2");  // the first occurrence wins
  EXPECT_EQ(g::cmdline_u64(si, "peer"), 2u);
  EXPECT_EQ(g::cmdline_u64(si, "rounds"), 16u);
  EXPECT_TRUE(g::cmdline_equals(*g::cmdline_value(si, "name"), "front"));
  EXPECT_FALSE(g::cmdline_equals(*g::cmdline_value(si, "name"), "fron"));
  EXPECT_FALSE(g::cmdline_equals(*g::cmdline_value(si, "name"), "frontend"));
  EXPECT_EQ(str(*g::cmdline_value(si, "flag")), "");
  EXPECT_FALSE(g::cmdline_u64(si, "flag"));  // empty is not a number
  EXPECT_FALSE(g::cmdline_value(si, "pee"));    // prefixes of a key do not match
  EXPECT_FALSE(g::cmdline_value(si, "missing"));
}

TEST(GuestStartInfo, MalformedNumbersAreRefused) {
  const auto si = make("xen-3.0-x86_64", "a=12x b=0x c=99999999999999999999 d=0xFFFFFFFFFFFFFFFF e=0xg");
  EXPECT_FALSE(g::cmdline_u64(si, "a"));
  EXPECT_FALSE(g::cmdline_u64(si, "b"));
  EXPECT_FALSE(g::cmdline_u64(si, "c"));  // overflows 64 bits
  EXPECT_EQ(g::cmdline_u64(si, "d"), UINT64_MAX);
  EXPECT_FALSE(g::cmdline_u64(si, "e"));
}

TEST(GuestStartInfo, UnterminatedCommandLineStaysInBounds) {
  x::StartInfo si = make("xen-3.0-x86_64", "");
  std::memset(si.cmd_line.data(), 'k', sizeof(si.cmd_line));  // no NUL anywhere
  si.cmd_line[0] = 'z';
  si.cmd_line[1] = '=';
  si.cmd_line[2] = '7';
  si.cmd_line[3] = ' ';
  EXPECT_EQ(g::cmdline_u64(si, "z"), 7u);
  EXPECT_FALSE(g::cmdline_value(si, "kkk"));
  // The last word runs to the end of the 1024-byte field and no further.
  std::memcpy(si.cmd_line.data() + sizeof(si.cmd_line) - 4, " q=5", 4);
  ASSERT_TRUE(g::cmdline_value(si, "q"));
  EXPECT_EQ(g::cmdline_value(si, "q")->size, 1u);
}

TEST(GuestPhysMap, TranslatesKernelAddressesWithinTheDomain) {
  std::vector<std::uint64_t> p2m = {0x500, 0x9a1, 0x77, 0x1234};
  const g::PhysMap m(p2m.data(), p2m.size());
  const std::uint64_t base = g::kGuestVirtBase;
  EXPECT_EQ(*m.virt_to_pfn(base), 0u);
  EXPECT_EQ(*m.virt_to_pfn(base + 0x2fff), 2u);
  EXPECT_EQ(*m.virt_to_mfn(reinterpret_cast<const void*>(base + 0x1008)), 0x9a1u);
  EXPECT_EQ(*m.virt_to_mfn(reinterpret_cast<const void*>(base + 0x3000)), 0x1234u);
}

TEST(GuestPhysMap, RefusesAddressesOutsideTheDomain) {
  std::vector<std::uint64_t> p2m = {1, 2};
  const g::PhysMap m(p2m.data(), p2m.size());
  EXPECT_EQ(m.virt_to_pfn(g::kGuestVirtBase - 1).status().error(), pvkit::Errno::Range);
  EXPECT_EQ(m.virt_to_pfn(g::kGuestVirtBase + 2 * 4096).status().error(), pvkit::Errno::Range);
  EXPECT_EQ(m.pfn_to_mfn(2).status().error(), pvkit::Errno::Range);
  EXPECT_EQ(m.pfn_to_mfn(~std::uint64_t{0}).status().error(), pvkit::Errno::Range);
  const g::PhysMap empty;
  EXPECT_FALSE(empty.pfn_to_mfn(0));
}

TEST(GuestPhysMap, StatusFromRcKeepsTheXenErrno) {
  EXPECT_TRUE(g::status_from_rc(0));
  EXPECT_TRUE(g::status_from_rc(3));
  EXPECT_EQ(g::status_from_rc(-22).error(), pvkit::Errno::Inval);
  EXPECT_EQ(g::status_from_rc(-14).error(), pvkit::Errno::Fault);
  EXPECT_EQ(g::status_from_rc(-38).guest_value(), -38);
}
