// The per-domain console sink, and multicall through lib/hypercall's handler (see basic_calls.h).
#include "pvkit/platforms/pc/hv/basic_calls.h"

#include "pvkit/arch/x86/mm/guest_copy.h"
#include "pvkit/hypercall/console_io.h"
#include "pvkit/hypercall/multicall.h"
#include "pvkit/platforms/pc/log.h"

namespace pvkit::pc {
namespace {

bool contains(const char* s, const char* word) {
  for (; *s != '\0'; ++s) {
    std::size_t i = 0;
    while (word[i] != '\0' && s[i] == word[i]) ++i;
    if (word[i] == '\0') return true;
  }
  return false;
}

static_assert(ConsoleSink<GuestConsole>);

/// The context of a multicall: guest memory, and the outer context to dispatch entries with.
struct MultiCtx {
  void* outer;
  InnerDispatch dispatch;
  x86::CurrentGuestMemory mem{};
  bool guest_kernel_mode() { return true; }
  x86::CurrentGuestMemory& guest_memory() { return mem; }
};
static_assert(MulticallContext<MultiCtx>);

/// A "table" whose dispatch is the caller's real one.
struct ErasedTable {
  static std::int64_t dispatch(MultiCtx& ctx, HypercallArgs& args) { return ctx.dispatch(ctx.outer, args); }
};

}  // namespace

std::int64_t multicall_call(void* ctx, InnerDispatch dispatch, HypercallArgs& args) {
  MultiCtx m{ctx, dispatch};
  return Multicall::call_in<ErasedTable>(m, args);
}


void GuestConsole::write(std::span<const char> s) {
  for (char c : s) {
    if (c == '\n') {
      flush();
    } else if (c != '\r' && len + 1 < line.size()) {
      line[len++] = (c >= 0x20 && c < 0x7f) ? c : '?';
    }
  }
}

void GuestConsole::flush() {
  if (len == 0) return;
  line[len] = '\0';
  printf("(d%u) %s\n", static_cast<unsigned>(id.value()), line.data());
  if (contains(line.data(), "[refused]")) ++refused;
  if (contains(line.data(), "[ACCEPTED]")) ++accepted;
  if (contains(line.data(), ": SUCCESS")) success = true;
  if (contains(line.data(), ": FAILURE")) failure = true;
  len = 0;
}

}  // namespace pvkit::pc
