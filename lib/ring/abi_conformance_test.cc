// ABI conformance of pvkit/ring against Xen's public headers: the shared ring header, the slot
// array offset, the slot size and the slot count (io/ring.h's __RING_SIZE) for several entry
// sizes and area sizes, real protocol rings (blkif, netif tx/rx), GNTST values, and byte-level
// interoperation of pvkit's rings with the C macros on the same page.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <gtest/gtest.h>

// io/ring.h's barriers for the C side (pre-0x00030208 interface names).
#define mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
extern "C" {
#include <xen/xen.h>
#include <xen/grant_table.h>
#include <xen/io/ring.h>
#include <xen/io/blkif.h>
#include <xen/io/netif.h>
}

#include "pvkit/ring/back_ring.h"
#include "pvkit/ring/front_ring.h"
#include "pvkit/ring/ring_layout.h"
#include "pvkit/ring/xen_abi.h"

namespace {

// Message pairs of several sizes and alignments.
struct TinyReq { std::uint8_t v; };
struct TinyRsp { std::uint8_t v; };
struct WordReq { std::uint32_t a; };
struct HalfRsp { std::uint16_t b; };
struct OddReq { std::uint8_t b[13]; };            // 13-byte slots, alignment 1
struct OddRsp { std::uint8_t b[7]; };
struct TwelveReq { std::uint32_t a, b, c; };      // netif-tx-like 12-byte slot
struct FourRsp { std::uint16_t id; std::int16_t status; };
struct alignas(16) Wide16Req { std::uint64_t a, b, c; };   // 32-byte slot, 16-aligned
struct EightRsp { std::uint64_t id; };
struct alignas(128) Aligned128Req { std::uint8_t x; };     // slots start at 128, not 64
struct BigReq { std::uint8_t b[1000]; };                   // 4 slots in a page
struct HugeReq { std::uint8_t b[3000]; };                  // 1 slot in a page

}  // namespace

extern "C" {
DEFINE_RING_TYPES(t_tiny, TinyReq, TinyRsp);
DEFINE_RING_TYPES(t_word, WordReq, HalfRsp);
DEFINE_RING_TYPES(t_odd, OddReq, OddRsp);
DEFINE_RING_TYPES(t_twelve, TwelveReq, FourRsp);
DEFINE_RING_TYPES(t_wide, Wide16Req, EightRsp);
DEFINE_RING_TYPES(t_a128, Aligned128Req, TinyRsp);
DEFINE_RING_TYPES(t_big, BigReq, EightRsp);
DEFINE_RING_TYPES(t_huge, HugeReq, EightRsp);
}

namespace pvkit::ring {
namespace {

TEST(RingAbi, HeaderMatchesSring) {
  EXPECT_EQ(offsetof(t_word_sring, req_prod), offsetof(xen::SharedRingHeader, req_prod));
  EXPECT_EQ(offsetof(t_word_sring, req_event), offsetof(xen::SharedRingHeader, req_event));
  EXPECT_EQ(offsetof(t_word_sring, rsp_prod), offsetof(xen::SharedRingHeader, rsp_prod));
  EXPECT_EQ(offsetof(t_word_sring, rsp_event), offsetof(xen::SharedRingHeader, rsp_event));
  EXPECT_EQ(offsetof(t_word_sring, pvt), offsetof(xen::SharedRingHeader, pvt));
  EXPECT_EQ(sizeof(t_word_sring{}.pvt), sizeof(xen::SharedRingHeader{}.pvt));
  EXPECT_EQ(offsetof(t_word_sring, __pad), offsetof(xen::SharedRingHeader, pad));
  EXPECT_EQ(sizeof(t_word_sring{}.__pad), sizeof(xen::SharedRingHeader{}.pad));
  EXPECT_EQ(offsetof(t_word_sring, ring), sizeof(xen::SharedRingHeader));
  EXPECT_EQ(sizeof(RING_IDX), sizeof(xen::RingIdx));
  EXPECT_EQ(XEN_PAGE_SHIFT, static_cast<int>(xen::kXenPageShift));
}

// Compares pvkit's layout with the C ring `Sring` for every area size in `sizes`.
template <typename Req, typename Rsp, typename Sring, typename Entry>
void ExpectLayoutMatches(const char* name) {
  SCOPED_TRACE(name);
  using L = RingLayout<Req, Rsp>;
  EXPECT_EQ(L::kEntrySize, sizeof(Entry));
  EXPECT_EQ(L::kEntryAlign, alignof(Entry));
  EXPECT_EQ(L::kEntriesOffset, offsetof(Sring, ring));
  for (std::size_t bytes : {std::size_t{4096}, std::size_t{8192}, std::size_t{16384},
                            std::size_t{4096} * 32, std::size_t{3000}}) {
    if (bytes < offsetof(Sring, ring) + sizeof(Entry)) continue;
    SCOPED_TRACE(bytes);
    alignas(4096) static unsigned char area[4096 * 32];
    auto* s = reinterpret_cast<Sring*>(area);
    const std::uint32_t xen_slots = __RING_SIZE(s, bytes);
    EXPECT_EQ(L::slots(bytes), xen_slots);
    // Byte offset of slot i, as RING_GET_REQUEST computes it, for indices across a wrap.
    for (RING_IDX i : {0u, 1u, xen_slots - 1, xen_slots, 0xFFFFFFFFu, 0x80000001u}) {
      const auto c_off = reinterpret_cast<unsigned char*>(&s->ring[i & (xen_slots - 1)]) - area;
      EXPECT_EQ(L::slot_offset(i, L::slots(bytes)), static_cast<std::size_t>(c_off)) << i;
    }
  }
}

#define PVKIT_EXPECT_LAYOUT(tag, Req, Rsp) \
  ExpectLayoutMatches<Req, Rsp, tag##_sring, union tag##_sring_entry>(#tag)

TEST(RingAbi, SlotCountsAndOffsetsMatchDefineRingTypes) {
  PVKIT_EXPECT_LAYOUT(t_tiny, TinyReq, TinyRsp);
  PVKIT_EXPECT_LAYOUT(t_word, WordReq, HalfRsp);
  PVKIT_EXPECT_LAYOUT(t_odd, OddReq, OddRsp);
  PVKIT_EXPECT_LAYOUT(t_twelve, TwelveReq, FourRsp);
  PVKIT_EXPECT_LAYOUT(t_wide, Wide16Req, EightRsp);
  PVKIT_EXPECT_LAYOUT(t_a128, Aligned128Req, TinyRsp);
  PVKIT_EXPECT_LAYOUT(t_big, BigReq, EightRsp);
  PVKIT_EXPECT_LAYOUT(t_huge, HugeReq, EightRsp);
}

TEST(RingAbi, RealProtocolRingsMatch) {
  PVKIT_EXPECT_LAYOUT(blkif, blkif_request, blkif_response);
  PVKIT_EXPECT_LAYOUT(netif_tx, netif_tx_request, netif_tx_response);
  PVKIT_EXPECT_LAYOUT(netif_rx, netif_rx_request, netif_rx_response);
  // The numbers Linux drivers rely on: 32 blkif slots and 256 netif slots in a 4 KiB page.
  EXPECT_EQ((RingLayout<blkif_request, blkif_response>::slots(4096)), 32u);
  EXPECT_EQ((RingLayout<netif_tx_request, netif_tx_response>::slots(4096)), 256u);
  EXPECT_EQ((RingLayout<netif_rx_request, netif_rx_response>::slots(4096)), 256u);
  EXPECT_EQ((RingLayout<blkif_request, blkif_response>::slots(4096)),
            __CONST_RING_SIZE(blkif, 4096));
}

TEST(RingAbi, SlotCountIsZeroWhenNothingFits) {
  EXPECT_EQ((RingLayout<HugeReq, EightRsp>::slots(64 + 2999)), 0u);
  EXPECT_EQ((RingLayout<HugeReq, EightRsp>::slots(64 + 3000)), 1u);
  EXPECT_EQ((RingLayout<TinyReq, TinyRsp>::slots(63)), 0u);
  EXPECT_EQ((RingLayout<TinyReq, TinyRsp>::slots(std::size_t{1} << 40)), 0u);  // too large
}

TEST(RingAbi, GrantStatusValuesMatchGrantTableH) {
  EXPECT_EQ(static_cast<int>(xen::GntStatus::Okay), GNTST_okay);
  EXPECT_EQ(static_cast<int>(xen::GntStatus::GeneralError), GNTST_general_error);
  EXPECT_EQ(static_cast<int>(xen::GntStatus::BadDomain), GNTST_bad_domain);
  EXPECT_EQ(static_cast<int>(xen::GntStatus::BadGntref), GNTST_bad_gntref);
  EXPECT_EQ(static_cast<int>(xen::GntStatus::BadHandle), GNTST_bad_handle);
  EXPECT_EQ(static_cast<int>(xen::GntStatus::BadVirtAddr), GNTST_bad_virt_addr);
  EXPECT_EQ(static_cast<int>(xen::GntStatus::BadDevAddr), GNTST_bad_dev_addr);
  EXPECT_EQ(static_cast<int>(xen::GntStatus::NoDeviceSpace), GNTST_no_device_space);
  EXPECT_EQ(static_cast<int>(xen::GntStatus::PermissionDenied), GNTST_permission_denied);
  EXPECT_EQ(static_cast<int>(xen::GntStatus::BadPage), GNTST_bad_page);
  EXPECT_EQ(static_cast<int>(xen::GntStatus::BadCopyArg), GNTST_bad_copy_arg);
  EXPECT_EQ(static_cast<int>(xen::GntStatus::AddressTooBig), GNTST_address_too_big);
  EXPECT_EQ(static_cast<int>(xen::GntStatus::Eagain), GNTST_eagain);
  EXPECT_EQ(static_cast<int>(xen::GntStatus::NoSpace), GNTST_no_space);
}

// SHARED_RING_INIT and pvkit's init write the same header bytes.
TEST(RingAbi, InitWritesTheSameHeaderAsSharedRingInit) {
  alignas(4096) static unsigned char a[4096];
  alignas(4096) static unsigned char b[4096];
  std::memset(a, 0xAB, sizeof(a));
  std::memset(b, 0xAB, sizeof(b));
  auto* s = reinterpret_cast<blkif_sring*>(a);
  SHARED_RING_INIT(s);
  FrontRing<blkif_request, blkif_response> f;
  ASSERT_TRUE(f.init(b, 4096));
  EXPECT_EQ(std::memcmp(a, b, 64), 0);
  EXPECT_EQ(f.size(), 32u);
}

// A pvkit frontend and a C-macro backend share one page, then a C-macro frontend and a pvkit
// backend: requests and responses cross intact, so indices and slot bytes agree.
TEST(RingAbi, InteroperatesWithCMacrosOnTheSamePage) {
  alignas(4096) static unsigned char page[4096];
  FrontRing<blkif_request, blkif_response> front;
  ASSERT_TRUE(front.init(page, 4096));
  blkif_back_ring_t cback;
  BACK_RING_INIT(&cback, reinterpret_cast<blkif_sring*>(page), 4096);
  for (std::uint64_t round = 0; round < 3; ++round) {
    for (std::uint64_t i = 0; i < 20; ++i) {
      blkif_request r{};
      r.id = round * 100 + i;
      r.sector_number = i * 8;
      r.operation = BLKIF_OP_READ;
      ASSERT_TRUE(front.put_request(r));
    }
    front.push_requests();
    RING_IDX rp = cback.sring->req_prod;
    ASSERT_EQ(rp - cback.req_cons, 20u);
    while (cback.req_cons != rp) {
      blkif_request r;
      RING_COPY_REQUEST(&cback, cback.req_cons, &r);
      cback.req_cons++;
      EXPECT_EQ(r.sector_number, (r.id - round * 100) * 8);
      blkif_response* rsp = RING_GET_RESPONSE(&cback, cback.rsp_prod_pvt);
      rsp->id = r.id;
      rsp->operation = r.operation;
      rsp->status = BLKIF_RSP_OKAY;
      cback.rsp_prod_pvt++;
    }
    RING_PUSH_RESPONSES(&cback);
    for (std::uint64_t i = 0; i < 20; ++i) {
      blkif_response rsp;
      auto got = front.take_response(rsp);
      ASSERT_TRUE(got.ok());
      ASSERT_TRUE(*got);
      EXPECT_EQ(rsp.id, round * 100 + i);
    }
    blkif_response none;
    auto got = front.take_response(none);
    ASSERT_TRUE(got.ok());
    EXPECT_FALSE(*got);
  }

  // C frontend, pvkit backend.
  alignas(4096) static unsigned char page2[4096];
  blkif_front_ring_t cfront;
  auto* s2 = reinterpret_cast<blkif_sring*>(page2);
  SHARED_RING_INIT(s2);
  FRONT_RING_INIT(&cfront, s2, 4096);
  BackRing<blkif_request, blkif_response> back;
  ASSERT_TRUE(back.attach(page2, 4096));
  for (std::uint64_t i = 0; i < 32; ++i) {
    blkif_request* r = RING_GET_REQUEST(&cfront, cfront.req_prod_pvt);
    std::memset(r, 0, sizeof(*r));
    r->id = 7000 + i;
    cfront.req_prod_pvt++;
  }
  EXPECT_TRUE(RING_FULL(&cfront));
  int notify = 0;
  RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&cfront, notify);
  EXPECT_TRUE(notify);  // req_event starts at 1
  blkif_request r;
  for (std::uint64_t i = 0; i < 32; ++i) {
    auto got = back.take_request(r);
    ASSERT_TRUE(got.ok());
    ASSERT_TRUE(*got);
    EXPECT_EQ(r.id, 7000 + i);
    blkif_response rsp{};
    rsp.id = r.id;
    ASSERT_TRUE(back.put_response(rsp));
  }
  // Before the C frontend asks (rsp_event = 1), the first push notifies.
  EXPECT_TRUE(back.push_responses_and_check_notify());
  int more = 0;
  RING_FINAL_CHECK_FOR_RESPONSES(&cfront, more);
  EXPECT_TRUE(more);
  EXPECT_EQ(XEN_RING_NR_UNCONSUMED_RESPONSES(&cfront), 32u);
  EXPECT_EQ(RING_GET_RESPONSE(&cfront, 31)->id, 7031u);
}

}  // namespace
}  // namespace pvkit::ring
