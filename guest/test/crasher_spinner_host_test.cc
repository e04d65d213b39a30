// Runs the real crasher and spinner guest kernels on the host (each in a forked death-test
// child): every crasher mode must really take its exception (the signal Linux turns it into)
// after announcing it, never reaching its "still running" line; the spinner must print its
// line and then never return (it is still spinning when the alarm kills it).
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include "fake_xen.h"
#include "pvkit/guest/xen_boot_abi.h"
#include "pvkit/guest/xen_hypercall_abi.h"

namespace x = pvkit::guest::xen;
using fake_xen::Call;

// Both kernels define guest_main; the build renames them (copts -Dguest_main=...).
int crasher_main(const x::StartInfo&);
int spinner_main(const x::StartInfo&);

namespace {

// Console output goes straight to stderr, where the death test matches it.
void console_to_stderr() {
  auto& xen = fake_xen::instance();
  xen.reset();
  xen.handlers[x::hc::kConsoleIo] = [](const Call& c) {
    (void)!write(2, reinterpret_cast<const char*>(c.a[2]), c.a[1]);
    return 0L;
  };
}

x::StartInfo with_cmdline(const char* cmdline) {
  x::StartInfo si{};
  std::memcpy(si.magic.data(), "xen-3.0-x86_64", 15);
  std::strncpy(reinterpret_cast<char*>(si.cmd_line.data()), cmdline, si.cmd_line.size() - 1);
  return si;
}

void crash(const char* cmdline) {
  console_to_stderr();
  crasher_main(with_cmdline(cmdline));
}

// Killed by `sig`; under a sanitizer, whose handler turns the signal into a report and a
// non-zero exit, any non-zero exit. Returning from crasher_main is never a death.
struct DiedOf {
  int sig;
  bool operator()(int status) const {
    if (WIFSIGNALED(status)) return WTERMSIG(status) == sig;
    return WIFEXITED(status) && WEXITSTATUS(status) != 0;
  }
};

TEST(CrasherOnHost, EveryModeTakesItsException) {
  testing::FLAGS_gtest_death_test_style = "threadsafe";
  EXPECT_EXIT(crash(""), DiedOf{SIGSEGV}, "^crasher: about to null\n");
  EXPECT_EXIT(crash("crash=null"), DiedOf{SIGSEGV}, "about to null");
  EXPECT_EXIT(crash("crash=ud2"), DiedOf{SIGILL}, "about to ud2");
  EXPECT_EXIT(crash("crash=int3"), DiedOf{SIGTRAP}, "about to int3");
  EXPECT_EXIT(crash("crash=divide"), DiedOf{SIGFPE}, "about to divide");
  EXPECT_EXIT(crash("x=1 crash=noncanonical"), DiedOf{SIGSEGV}, "about to noncanonical");
}

TEST(SpinnerOnHost, SpinsForeverAfterOneLine) {
  testing::FLAGS_gtest_death_test_style = "threadsafe";
  EXPECT_EXIT(
      {
        console_to_stderr();
        alarm(1);
        spinner_main(with_cmdline(""));
        std::_Exit(0);  // never reached
      },
      testing::KilledBySignal(SIGALRM), "^spinner: spinning forever without yielding\n$");
}

}  // namespace
