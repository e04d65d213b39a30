// The guest printf formatter: conversions, widths, flags, and what happens with too few
// arguments or a full buffer.
#include <cstdint>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "pvkit/guest/errno_name.h"
#include "pvkit/guest/format.h"

namespace g = pvkit::guest;

namespace {
template <typename... Args>
std::string fmt(const char* f, const Args&... args) {
  char buf[256];
  g::format_buf(buf, sizeof(buf), f, args...);
  return buf;
}
}  // namespace

TEST(GuestFormat, Integers) {
  EXPECT_EQ(fmt("%d", 0), "0");
  EXPECT_EQ(fmt("%d %i", -22, 38), "-22 38");
  EXPECT_EQ(fmt("%ld", INT64_MIN), "-9223372036854775808");
  EXPECT_EQ(fmt("%lu", UINT64_MAX), "18446744073709551615");
  EXPECT_EQ(fmt("%u", 4096u), "4096");
  EXPECT_EQ(fmt("%x %X", 0xbeefu, 0xbeefu), "beef BEEF");
  EXPECT_EQ(fmt("%#lx", std::uint64_t{0xFFFFFFFF80000000}), "0xffffffff80000000");
  EXPECT_EQ(fmt("%hhu %zu", std::uint8_t{255}, std::size_t{7}), "255 7");
}

TEST(GuestFormat, TheArgumentTypeDecidesNotTheLengthModifier) {
  // A negative int printed with %u shows its 64-bit two's complement, never stack garbage.
  EXPECT_EQ(fmt("%u", -1), "18446744073709551615");
  EXPECT_EQ(fmt("%d", std::uint32_t{0xFFFFFFFF}), "4294967295");
  EXPECT_EQ(fmt("%x", std::int8_t{-1}), "ffffffffffffffff");
}

TEST(GuestFormat, WidthAndFlags) {
  EXPECT_EQ(fmt("[%5d]", 42), "[   42]");
  EXPECT_EQ(fmt("[%-5d]", 42), "[42   ]");
  EXPECT_EQ(fmt("[%05d]", -42), "[-0042]");
  EXPECT_EQ(fmt("[%08x]", 0xabcu), "[00000abc]");
  EXPECT_EQ(fmt("[%#010x]", 0xabcu), "[0x00000abc]");
  EXPECT_EQ(fmt("[%6s]", "ab"), "[    ab]");
  EXPECT_EQ(fmt("[%-6s]", "ab"), "[ab    ]");
  EXPECT_EQ(fmt("[%2d]", 12345), "[12345]");
}

TEST(GuestFormat, StringsCharsPointers) {
  EXPECT_EQ(fmt("%s, %s!", "hello", "pvkit"), "hello, pvkit!");
  EXPECT_EQ(fmt("%s", static_cast<const char*>(nullptr)), "(null)");
  EXPECT_EQ(fmt("%c%c", 'o', 'k'), "ok");
  EXPECT_EQ(fmt("%p", reinterpret_cast<void*>(0x1000)), "0x1000");
  EXPECT_EQ(fmt("100%%"), "100%");
  EXPECT_EQ(fmt("%s", 5), "<?>");  // a number where a string was expected
}

TEST(GuestFormat, MissingArgumentsAndUnknownConversions) {
  EXPECT_EQ(fmt("%d and %d", 1), "1 and <?>");
  EXPECT_EQ(fmt("%q", 1), "%q");
  EXPECT_EQ(fmt("trailing %"), "trailing ");
  EXPECT_EQ(fmt("extra", 1, 2), "extra");
}

TEST(GuestFormat, BufferIsBoundedAndTerminated) {
  char buf[8];
  std::memset(buf, 'X', sizeof(buf));
  EXPECT_EQ(g::format_buf(buf, sizeof(buf), "%s", "0123456789"), 7u);
  EXPECT_STREQ(buf, "0123456");
  EXPECT_EQ(g::format_buf(buf, 0, "%s", "x"), 0u);
  EXPECT_EQ(buf[0], '0');  // untouched with cap 0
  g::ArraySink s{buf, 4};
  g::format_to(s, "abcdef");
  EXPECT_EQ(s.len, 3u);
  EXPECT_EQ(s.dropped, 3u);
}

TEST(GuestFormat, ConstexprFormatting) {
  constexpr auto check = [] {
    char b[16] = {};
    g::format_buf(b, sizeof(b), "%d:%x", -7, 255u);
    return b[0] == '-' && b[1] == '7' && b[2] == ':' && b[3] == 'f' && b[4] == 'f' && b[5] == 0;
  };
  static_assert(check());
}

TEST(GuestFormat, ErrnoAndGntstNames) {
  EXPECT_STREQ(g::errno_name(0), "OK");
  EXPECT_STREQ(g::errno_name(5), "OK");
  EXPECT_STREQ(g::errno_name(-22), "EINVAL");
  EXPECT_STREQ(g::errno_name(-14), "EFAULT");
  EXPECT_STREQ(g::errno_name(-38), "ENOSYS");
  EXPECT_STREQ(g::errno_name(-16), "EBUSY");
  EXPECT_STREQ(g::errno_name(-1), "EPERM");
  EXPECT_STREQ(g::errno_name(-9999), "E?");
  EXPECT_STREQ(g::gntst_name(0), "GNTST_okay");
  EXPECT_STREQ(g::gntst_name(-8), "GNTST_permission_denied");
  EXPECT_STREQ(g::gntst_name(-4), "GNTST_bad_handle");
  EXPECT_STREQ(g::gntst_name(-100), "GNTST_?");
}
