// Tests of the segment loader: kernel and initrd bytes land at the planned frames, bss and
// gaps are zero, no call crosses a frame or leaves its region, writer errors propagate.
#include "pvkit/loader/segment_loader.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <map>
#include <vector>

#include "pvkit/loader/test_elf_builder.h"

namespace pvkit::loader {
namespace {

/// Records frames as 4 KiB arrays initialised to 0xee ("old contents").
struct RecordingWriter {
  std::map<std::uint64_t, std::array<std::uint8_t, 4096>> frames;
  std::uint64_t fail_at_call = ~std::uint64_t{0};
  std::uint64_t calls = 0;
  bool crossed = false;

  std::array<std::uint8_t, 4096>& frame(Gfn pfn) {
    auto [it, inserted] = frames.try_emplace(pfn.value());
    if (inserted) it->second.fill(0xee);
    return it->second;
  }
  Status write(Gfn pfn, std::uint32_t off, std::span<const std::uint8_t> bytes) {
    if (calls++ == fail_at_call) return Status{Errno::Fault};
    if (off + bytes.size() > 4096) { crossed = true; return Status{Errno::Inval}; }
    std::memcpy(frame(pfn).data() + off, bytes.data(), bytes.size());
    return Status::ok();
  }
  Status zero(Gfn pfn, std::uint32_t off, std::uint32_t len) {
    if (calls++ == fail_at_call) return Status{Errno::Fault};
    if (off + std::uint64_t{len} > 4096) { crossed = true; return Status{Errno::Inval}; }
    std::memset(frame(pfn).data() + off, 0, len);
    return Status::ok();
  }
  std::uint8_t at(const DomainLayout& L, std::uint64_t va) {
    const std::uint64_t off = va - L.virt_base.value();
    return frame(Gfn{off >> 12})[off & 0xfff];
  }
};
static_assert(GuestFrameWriter<RecordingWriter>);

struct Loaded {
  std::vector<std::uint8_t> bytes;
  PvGuestImage img;
  DomainLayout plan;
};

Loaded prepare(testing::ElfBuilder b, std::uint64_t ramdisk = 0) {
  Loaded l;
  l.bytes = b.build().bytes;
  LoadResult<PvGuestImage> img = inspect_pv_image(l.bytes, LoadLimits{});
  EXPECT_TRUE(img.ok()) << to_string(img.error());
  l.img = *img;
  LayoutRequest r;
  r.nr_pages = 65536;
  r.ramdisk_bytes = ramdisk;
  LoadResult<DomainLayout> p = plan_domain_layout(l.img, r);
  EXPECT_TRUE(p.ok()) << to_string(p.error());
  l.plan = *p;
  return l;
}

TEST(SegmentLoader, LinuxLikeKernelBytesLandAtTheirVirtualAddresses) {
  Loaded l = prepare(testing::linux_like_kernel());
  RecordingWriter w;
  ASSERT_TRUE(load_kernel_segments(l.img, l.plan, l.bytes, w).is_ok());
  EXPECT_FALSE(w.crossed);
  EXPECT_EQ(w.frames.size(), l.plan.kernel.pages);  // only kernel frames touched
  const std::vector<std::uint8_t> text = testing::pattern(0x3000, 1);
  const std::vector<std::uint8_t> data = testing::pattern(0x1000, 7);
  const std::uint64_t ks = l.img.kernel_start.value();
  for (std::uint64_t i = 0; i < text.size(); ++i) ASSERT_EQ(w.at(l.plan, ks + i), text[i]) << i;
  for (std::uint64_t i = 0x3000; i < 0x4000; ++i) ASSERT_EQ(w.at(l.plan, ks + i), 0) << i;  // gap
  for (std::uint64_t i = 0; i < data.size(); ++i) {
    ASSERT_EQ(w.at(l.plan, ks + 0x4000 + i), data[i]) << i;
  }
  for (std::uint64_t i = 0x5000; i < 0x9000; ++i) ASSERT_EQ(w.at(l.plan, ks + i), 0) << i;  // bss
}

TEST(SegmentLoader, UnalignedSegmentsAreSplitAtFrameBoundaries) {
  testing::ElfBuilder b;
  b.segment({0x1000, 0x1000, testing::pattern(0x1801, 9), 0x2000})
      .segment({0x3123, 0x3123, testing::pattern(0x20f0, 4), 0x3000})
      .note_str(xen::kElfNoteLoader, "generic")
      .note_str(xen::kElfNoteXenVersion, "xen-3.0")
      .entry(0x1000);
  Loaded l = prepare(b);
  RecordingWriter w;
  ASSERT_TRUE(load_kernel_segments(l.img, l.plan, l.bytes, w).is_ok());
  EXPECT_FALSE(w.crossed);
  const auto second = testing::pattern(0x20f0, 4);
  for (std::uint64_t i = 0; i < second.size(); ++i) ASSERT_EQ(w.at(l.plan, 0x3123 + i), second[i]);
  EXPECT_EQ(w.at(l.plan, 0x3122), 0);
  EXPECT_EQ(w.at(l.plan, 0x3123 + 0x20f0), 0);
  EXPECT_EQ(w.at(l.plan, 0x2801), 0);
}

TEST(SegmentLoader, RamdiskCopiedAndTailZeroed) {
  Loaded l = prepare(testing::minios_like_kernel(), 5000);
  const std::vector<std::uint8_t> rd = testing::pattern(5000, 2);
  RecordingWriter w;
  ASSERT_TRUE(load_ramdisk(l.plan, rd, w).is_ok());
  EXPECT_EQ(w.frames.size(), 2u);
  const std::uint64_t base = l.plan.ramdisk.va.value();
  for (std::uint64_t i = 0; i < rd.size(); ++i) ASSERT_EQ(w.at(l.plan, base + i), rd[i]);
  for (std::uint64_t i = rd.size(); i < 8192; ++i) ASSERT_EQ(w.at(l.plan, base + i), 0) << i;
}

TEST(SegmentLoaderAdversarial, WriterErrorsPropagate) {
  Loaded l = prepare(testing::linux_like_kernel());
  for (std::uint64_t k : {0u, 3u, 10u, 12u}) {
    RecordingWriter w;
    w.fail_at_call = k;
    EXPECT_EQ(load_kernel_segments(l.img, l.plan, l.bytes, w), Status{Errno::Fault}) << k;
    EXPECT_EQ(w.calls, k + 1);  // stops at the first failure
  }
}

TEST(SegmentLoaderAdversarial, MismatchedPlanOrFileIsRefused) {
  Loaded linux_l = prepare(testing::linux_like_kernel());
  Loaded minios_l = prepare(testing::minios_like_kernel());
  RecordingWriter w;
  EXPECT_EQ(load_kernel_segments(linux_l.img, minios_l.plan, linux_l.bytes, w),
            Status{Errno::Inval});
  const std::vector<std::uint8_t> short_file(linux_l.bytes.begin(), linux_l.bytes.begin() + 100);
  EXPECT_EQ(load_kernel_segments(linux_l.img, linux_l.plan, short_file, w), Status{Errno::Inval});
  const std::vector<std::uint8_t> rd(10);
  EXPECT_EQ(load_ramdisk(linux_l.plan, rd, w), Status{Errno::Inval});  // plan has no initrd
}

}  // namespace
}  // namespace pvkit::loader
