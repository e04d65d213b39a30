// Compiled for the bare-metal platform too: proves pvkit/loader needs no hosted library.
#include <cstddef>
#include <cstdint>
#include <span>

#include "pvkit/loader/fuzz_entry.h"
#include "pvkit/loader/hypercall_page.h"
#include "pvkit/loader/layout.h"
#include "pvkit/loader/pv_image.h"
#include "pvkit/loader/segment_loader.h"
#include "pvkit/loader/start_info.h"

namespace pvkit::loader {

namespace {
/// A tiny freestanding GuestFrameWriter over one static frame.
struct OneFrameWriter {
  std::uint8_t* frame;
  Status write(Gfn, std::uint32_t off, std::span<const std::uint8_t> b) {
    for (std::size_t i = 0; i < b.size(); ++i) frame[off + i] = b[i];
    return Status::ok();
  }
  Status zero(Gfn, std::uint32_t off, std::uint32_t len) {
    for (std::uint32_t i = 0; i < len; ++i) frame[off + i] = 0;
    return Status::ok();
  }
};
static_assert(GuestFrameWriter<OneFrameWriter>);
}  // namespace

int freestanding_check_loader(const std::uint8_t* data, std::size_t size, std::uint8_t* page) {
  const std::span<const std::uint8_t> bytes(data, size);
  fill_hypercall_page(std::span<std::uint8_t, kHypercallPageSize>(page, kHypercallPageSize));
  LoadResult<PvGuestImage> img = inspect_pv_image(bytes, LoadLimits{});
  if (!img) return static_cast<int>(img.error());
  LayoutRequest req;
  req.nr_pages = 4096;
  LoadResult<DomainLayout> plan = plan_domain_layout(*img, req);
  if (!plan) return static_cast<int>(plan.error());
  const xen::StartInfo si = build_start_info(*plan, StartInfoInputs{});
  OneFrameWriter w{page};
  if (!load_kernel_segments(*img, *plan, bytes, w)) return -1;
  return static_cast<int>(si.nr_pt_frames) + static_cast<int>(run_loader_pipeline(bytes).plans);
}

}  // namespace pvkit::loader
