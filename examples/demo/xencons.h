// examples/demo/xencons.h — struct xencons_interface (xen/io/console.h): the PV console ring
// page shared by a guest (producer of `out`) and its console backend. pvkit's own definition;
// //examples/demo:xencons_abi_test checks it against Xen's header.
#pragma once

#include <cstdint>

namespace pvkit::demo {

inline constexpr std::uint32_t kConsInSize = 1024;
inline constexpr std::uint32_t kConsOutSize = 2048;

struct XenconsInterface {
  char in[kConsInSize];
  char out[kConsOutSize];
  std::uint32_t in_cons, in_prod;
  std::uint32_t out_cons, out_prod;
};
static_assert(sizeof(XenconsInterface) == 3088);

inline std::uint32_t load_acquire(const std::uint32_t* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
inline void store_release(std::uint32_t* p, std::uint32_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

}  // namespace pvkit::demo
