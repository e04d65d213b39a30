// Compiled for the bare-metal platform too: proves pvkit/grant needs no hosted library.
// Instantiates GrantTables and the grant_table_op handler with a tiny freestanding policy.
#include <cstdint>

#include "pvkit/base/guest_memory.h"
#include "pvkit/grant/grant_table_op.h"
#include "pvkit/grant/grant_tables.h"

namespace pvkit {
namespace {

struct TinyPlatform {
  alignas(4096) std::uint8_t pool[8][4096]{};
  std::uint32_t used = 0;
  void* alloc_page() { return used < 8 ? pool[used++] : nullptr; }
  void free_page(void*) {}
  GrantStatus get_frame(Mfn, DomId, bool) { return GrantStatus::BadPage; }
  void put_frame(Mfn, bool) {}
  std::uint8_t* frame_bytes(Mfn) { return nullptr; }
  GrantStatus steal_frame(DomId, Mfn) { return GrantStatus::BadPage; }
  GrantStatus assign_frame(DomId, Mfn) { return GrantStatus::GeneralError; }
  Result<Mfn> share_table_page(DomId, void* p, bool) {
    return Mfn{static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(p) >> 12)};
  }
  Status unshare_table_page(DomId, void*) { return Status::ok(); }
  bool controls(DomId, DomId) { return false; }
  GrantStatus install_host_mapping(DomId, const GrantHostMapping&, Mfn) { return GrantStatus::GeneralError; }
  GrantStatus remove_host_mapping(DomId, const GrantHostMapping&, Mfn) { return GrantStatus::GeneralError; }
  void release_host_mapping(DomId, const GrantHostMapping&, Mfn) {}
  GrantStatus install_device_mapping(DomId, Mfn, bool) { return GrantStatus::Okay; }
  void remove_device_mapping(DomId, Mfn) {}
  void flush_tlb(DomId) {}
};
static_assert(GrantPlatform<TinyPlatform>);

struct NoMemory {
  Status copy_from_guest(void*, VirtAddr, std::size_t) { return Errno::Fault; }
  Status copy_to_guest(VirtAddr, const void*, std::size_t) { return Errno::Fault; }
};

using Tables = GrantTables<TinyPlatform, 2>;

struct Ctx {
  NoMemory mem;
  Tables* gt;
  NoMemory& guest_memory() { return mem; }
  DomId current_domain() { return DomId{0}; }
  Tables& grant_tables() { return *gt; }
};
static_assert(GrantHypercallContext<Ctx>);

}  // namespace

std::int64_t freestanding_check_grant(HypercallArgs& args) {
  static TinyPlatform platform;
  static Tables tables{platform};
  static_cast<void>(tables.create_domain(DomId{0}));
  Ctx ctx{{}, &tables};
  return GrantTableOp::call(ctx, args);
}

}  // namespace pvkit
