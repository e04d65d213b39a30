// pvkit/arch/x86/mm/phys_map.h — the policy that turns a table's physical address into a
// pointer the code can dereference.
//
// What it is: the `PhysMap` concept. Page-table code stores physical addresses in entries but
// must read and write the tables themselves; the bare-metal image goes through the
// hypervisor's direct map (`HvDirectMap`, below), host tests use `IdentityPhysMap` (pointer
// value == "physical" address) over heap pages.
//
// How to use it: take `const M&` with `PhysMap M` and call `to_virt` / `to_phys`.
//
// Concurrency: implementations are stateless or read-only.
#pragma once

#include <concepts>
#include <cstdint>

#include "pvkit/arch/x86/boot/layout.h"

namespace pvkit::x86 {

/// How table code turns physical addresses into pointers (see the file comment).
template <typename M>
concept PhysMap = requires(const M& m, std::uint64_t pa, const void* p) {
  { m.to_virt(pa) } -> std::same_as<void*>;
  { m.to_phys(p) } -> std::same_as<std::uint64_t>;
};

/// The hypervisor's direct map of low physical memory (boot/layout.h).
struct HvDirectMap {
  /// The direct-map pointer of `pa`.
  [[nodiscard]] void* to_virt(std::uint64_t pa) const { return hv_virt(pa); }
  /// The physical address of direct-map pointer `p`.
  [[nodiscard]] std::uint64_t to_phys(const void* p) const { return hv_phys(p); }
};
static_assert(PhysMap<HvDirectMap>);

/// Host tests: a pointer's value is its "physical" address.
struct IdentityPhysMap {
  /// `pa` itself as a pointer (host tests).
  [[nodiscard]] void* to_virt(std::uint64_t pa) const { return reinterpret_cast<void*>(pa); }
  /// `p` itself as an address (host tests).
  [[nodiscard]] std::uint64_t to_phys(const void* p) const { return reinterpret_cast<std::uint64_t>(p); }
};
static_assert(PhysMap<IdentityPhysMap>);

}  // namespace pvkit::x86
