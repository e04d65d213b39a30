// Grant tables (GrantTables + GrantTableOp over the host FakeGrantPlatform, v1 entries):
//   BM_GrantMapUnmap: GNTTABOP_map_grant_ref + GNTTABOP_unmap_grant_ref of one page that D1
//     granted to D2, each a full grant_table_op hypercall reading its request from D2's memory;
//   BM_GrantCopy4K: GNTTABOP_copy of 4 KiB from D1's granted page into D2's own frame, vs a
//     plain memcpy of 4 KiB (BM_Memcpy4K);
//   BM_GrantCopy4Kx16: ONE GNTTABOP_copy hypercall with 16 elements, each 4 KiB from a distinct
//     page D1 granted (16 grants) into a distinct frame of D2 (a network backend's batch), vs 16
//     plain memcpys between the same number of distinct 4 KiB buffers (BM_Memcpy4Kx16). It shows
//     what batching amortises (the hypercall, the dispatch); every element still pins its own
//     grant and takes its own frame references.
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <vector>

#include "bench/host/bench_report.h"
#include "pvkit/platforms/host/grant/grant_harness.h"

namespace pvkit {
namespace {

using host::GrantHarness;
constexpr DomId kD1{1}, kD2{2};
constexpr std::uint32_t kRef = 10;
constexpr std::uint64_t kHostAddr = 0x7000000;

void BM_GrantMapUnmap(benchmark::State& state) {
  GrantHarness h;
  h.platform.give_frame(Mfn{5}, kD1);
  h.grant_v1(kD1, kRef, kD2, Mfn{5});
  auto* req = reinterpret_cast<xen::GnttabMapGrantRef*>(h.mem[kD2.value()]->host_ptr(GrantHarness::kOps));
  auto* unreq = reinterpret_cast<xen::GnttabUnmapGrantRef*>(
      h.mem[kD2.value()]->host_ptr(VirtAddr{GrantHarness::kOps.value() + 0x1000}));
  for (auto _ : state) {
    *req = {};
    req->host_addr = kHostAddr;
    req->flags = xen::kGntmapHostMap;
    req->ref = kRef;
    req->dom = kD1.value();
    if (h.hypercall(kD2, xen::kGnttabOpMapGrantRef, GrantHarness::kOps.value(), 1) != 0 || req->status != 0)
        [[unlikely]] {
      state.SkipWithError("map failed");
      break;
    }
    *unreq = {};
    unreq->host_addr = kHostAddr;
    unreq->handle = req->handle;
    if (h.hypercall(kD2, xen::kGnttabOpUnmapGrantRef, GrantHarness::kOps.value() + 0x1000, 1) != 0 ||
        unreq->status != 0) [[unlikely]] {
      state.SkipWithError("unmap failed");
      break;
    }
  }
}
BENCHMARK(BM_GrantMapUnmap);
PVKIT_BENCH_BASELINE(BM_GrantMapUnmap, BM_NullHypercall);

void BM_GrantCopy4K(benchmark::State& state) {
  GrantHarness h;
  h.platform.give_frame(Mfn{5}, kD1);
  h.platform.give_frame(Mfn{7}, kD2);
  std::memset(h.platform.bytes(Mfn{5}), 0x5a, 4096);
  h.grant_v1(kD1, kRef, kD2, Mfn{5}, xen::kGtfPermitAccess | xen::kGtfReadonly);
  auto* req = reinterpret_cast<xen::GnttabCopy*>(h.mem[kD2.value()]->host_ptr(GrantHarness::kOps));
  for (auto _ : state) {
    *req = {};
    req->source.u.ref = kRef;
    req->source.domid = kD1.value();
    req->dest.u.gmfn = 7;
    req->dest.domid = kDomidSelf.value();
    req->len = 4096;
    req->flags = xen::kGntcopySourceGref;
    if (h.hypercall(kD2, xen::kGnttabOpCopy, GrantHarness::kOps.value(), 1) != 0 || req->status != 0)
        [[unlikely]] {
      state.SkipWithError("copy failed");
      break;
    }
    benchmark::ClobberMemory();
  }
  if (h.platform.bytes(Mfn{7})[4095] != 0x5a) state.SkipWithError("copy did not copy");
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 4096);
}
BENCHMARK(BM_GrantCopy4K);
PVKIT_BENCH_BASELINE(BM_GrantCopy4K, BM_Memcpy4K);

constexpr std::uint32_t kBatch = 16;
constexpr std::uint64_t kSrcFrame0 = 8, kDstFrame0 = kSrcFrame0 + kBatch;

void BM_GrantCopy4Kx16(benchmark::State& state) {
  GrantHarness h;
  for (std::uint32_t i = 0; i < kBatch; ++i) {
    h.platform.give_frame(Mfn{kSrcFrame0 + i}, kD1);
    h.platform.give_frame(Mfn{kDstFrame0 + i}, kD2);
    std::memset(h.platform.bytes(Mfn{kSrcFrame0 + i}), static_cast<int>(0x40 + i), 4096);
    h.grant_v1(kD1, kRef + i, kD2, Mfn{kSrcFrame0 + i}, xen::kGtfPermitAccess | xen::kGtfReadonly);
  }
  auto* req = reinterpret_cast<xen::GnttabCopy*>(h.mem[kD2.value()]->host_ptr(GrantHarness::kOps));
  for (auto _ : state) {
    for (std::uint32_t i = 0; i < kBatch; ++i) {
      req[i] = {};
      req[i].source.u.ref = kRef + i;
      req[i].source.domid = kD1.value();
      req[i].dest.u.gmfn = kDstFrame0 + i;
      req[i].dest.domid = kDomidSelf.value();
      req[i].len = 4096;
      req[i].flags = xen::kGntcopySourceGref;
    }
    if (h.hypercall(kD2, xen::kGnttabOpCopy, GrantHarness::kOps.value(), kBatch) != 0) [[unlikely]] {
      state.SkipWithError("copy failed");
      break;
    }
    for (std::uint32_t i = 0; i < kBatch; ++i) {
      if (req[i].status != 0) [[unlikely]] state.SkipWithError("copy element failed");
    }
    benchmark::ClobberMemory();
  }
  for (std::uint32_t i = 0; i < kBatch; ++i) {
    if (h.platform.bytes(Mfn{kDstFrame0 + i})[4095] != 0x40 + i) state.SkipWithError("copy did not copy");
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * kBatch * 4096);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * kBatch);
}
BENCHMARK(BM_GrantCopy4Kx16);
PVKIT_BENCH_BASELINE(BM_GrantCopy4Kx16, BM_Memcpy4Kx16);

/// The baseline of BM_GrantCopy4Kx16: 16 memcpys of 4 KiB between 16 + 16 distinct buffers.
void BM_Memcpy4Kx16(benchmark::State& state) {
  std::vector<std::array<std::uint8_t, 4096>> src(kBatch), dst(kBatch);
  for (auto& s : src) s.fill(0x5a);
  for (auto _ : state) {
    for (std::uint32_t i = 0; i < kBatch; ++i) {
      std::uint8_t* d = dst[i].data();
      const std::uint8_t* s = src[i].data();
      benchmark::DoNotOptimize(d);  // the compiler must not see through the buffers
      benchmark::DoNotOptimize(s);
      std::memcpy(d, s, 4096);
    }
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * kBatch * 4096);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * kBatch);
}
BENCHMARK(BM_Memcpy4Kx16);

}  // namespace
}  // namespace pvkit
