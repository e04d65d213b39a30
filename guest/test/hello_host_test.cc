// Runs the real hello guest kernel on the host against the fake hypercall page: it must print
// what the domain builder told it and SUCCESS for a good start_info, and refuse a bad magic.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "fake_xen.h"
#include "pvkit/guest/runtime.h"
#include "pvkit/guest/xen_hypercall_abi.h"

namespace x = pvkit::guest::xen;
using fake_xen::Call;

namespace {

// In the process image, as start_info is inside the guest's pages (hello translates its address).
x::StartInfo g_start_info;

struct Console {
  std::string text;
  void install(fake_xen::FakeXen& xen) {
    xen.handlers[x::hc::kConsoleIo] = [this](const Call& c) {
      text.append(reinterpret_cast<const char*>(c.a[2]), c.a[1]);
      return 0L;
    };
    xen.handlers[x::hc::kXenVersion] = [](const Call& c) { return c.a[0] == 0 ? 0x4000eL : -38L; };
  }
};

TEST(HelloOnHost, PrintsTheStartInfoAndSucceeds) {
  fake_xen::ProcessPhysMap pm;
  auto& xen = fake_xen::instance();
  xen.reset();
  Console console;
  console.install(xen);
  x::StartInfo& si = g_start_info;
  std::memcpy(si.magic.data(), "xen-3.0-x86_64", 15);
  std::memcpy(si.cmd_line.data(), "console=hvc0 answer=42", 23);
  si.nr_pages = pm.p2m.size();
  si.mfn_list = reinterpret_cast<std::uint64_t>(pm.p2m.data());
  si.shared_info = 0x7000;
  EXPECT_EQ(guest_main(si), 0);
  std::printf("%s", console.text.c_str());
  const std::string& out = console.text;
  EXPECT_NE(out.find("hello: magic xen-3.0-x86_64 ok"), std::string::npos) << out;
  EXPECT_NE(out.find("nr_pages=" + std::to_string(pm.p2m.size())), std::string::npos) << out;
  EXPECT_NE(out.find("shared_info=0x7000"), std::string::npos) << out;
  EXPECT_NE(out.find("cmdline \"console=hvc0 answer=42\""), std::string::npos) << out;
  EXPECT_NE(out.find("hypervisor version 4.14"), std::string::npos) << out;
  char mfn[64];
  std::snprintf(mfn, sizeof(mfn), "machine frame %#lx", static_cast<unsigned long>(pm.mfn_of(&si)));
  EXPECT_NE(out.find(mfn), std::string::npos) << out;
  EXPECT_NE(out.find("hello: SUCCESS"), std::string::npos) << out;
  xen.reset();
}

TEST(HelloOnHost, RefusesAWrongMagic) {
  auto& xen = fake_xen::instance();
  xen.reset();
  Console console;
  console.install(xen);
  x::StartInfo si{};
  std::memcpy(si.magic.data(), "xen-3.0-x86_32p", 16);
  EXPECT_EQ(guest_main(si), 1);
  EXPECT_NE(console.text.find("hello: FAILURE (start_info magic \"xen-3.0-x86_32p\""),
            std::string::npos)
      << console.text;
  xen.reset();
}

}  // namespace
