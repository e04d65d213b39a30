// The hypervisor's own page tables (see cpu/cpu.h): its L4, W^X for the image, stack guard
// pages, and MMIO mappings in the shared hypervisor slots.
#include <cstdint>

#include "pvkit/arch/x86/boot/layout.h"
#include "pvkit/arch/x86/cpu/cpu.h"
#include "pvkit/arch/x86/cpu/internal.h"
#include "pvkit/arch/x86/io.h"
#include "pvkit/arch/x86/mm/page_tables.h"
#include "pvkit/arch/x86/mm/static_page_pool.h"
#include "pvkit/arch/x86/mm/tlb.h"
#include "pvkit/base/types.h"

extern "C" {
[[noreturn]] void pvkit_panic(const char* msg);
// boot/hypervisor.ld: page-aligned section boundaries of the image.
__attribute__((visibility("hidden"))) extern const std::uint8_t __image_start[], __text_end[], __rodata_end[],
    __image_end[];
}

namespace pvkit::x86 {
namespace {

// Tables for the hypervisor's own L4, the image's 4 KiB split and MMIO mappings.
constinit StaticPagePool<16> g_hv_pool{};
constinit std::uint64_t g_hv_root = 0;

}  // namespace

namespace detail {

void paging_init() {
  // The hypervisor's own L4: its reserved slots only (the boot tables also identity-map the
  // first GiB in slot 0, which from now on must fault).
  PageTables<StaticPagePool<16>, HvDirectMap> hv(g_hv_pool, HvDirectMap{});
  const auto* boot_l4 = static_cast<const Pte*>(hv_virt(read_cr3() & ~std::uint64_t{0xFFF}));
  if (!hv.create(boot_l4)) pvkit_panic("cpu_init: no page for the hypervisor L4");
  g_hv_root = hv.root_phys();
  write_cr3(g_hv_root);
}

// W^X for the hypervisor itself: the boot tables map the first GiB read-write-executable with
// 2 MiB pages. Split the pages holding the image into 4 KiB pages — text read-only and
// executable, rodata read-only and NX, data/bss read-write and NX, stack guard pages absent —
// and make the rest of the direct map NX.
void harden_hv_mappings() {
  const auto addr = [](const std::uint8_t* p) { return reinterpret_cast<std::uint64_t>(p); };
  const std::uint64_t img = addr(__image_start), text_end = addr(__text_end), ro_end = addr(__rodata_end),
                      img_end = addr(__image_end);
  constexpr std::uint64_t k2M = level_span(2);
  const auto* l4 = static_cast<const Pte*>(hv_virt(g_hv_root));
  const Pte l4e = l4[table_index(kHvDirectMapBase, 4)];
  const Pte l3e = static_cast<const Pte*>(hv_virt(l4e.address()))[table_index(kHvDirectMapBase, 3)];
  if (!l4e.present() || !l3e.present() || l3e.large()) pvkit_panic("cpu_init: unexpected boot direct map");
  auto* pd = static_cast<Pte*>(hv_virt(l3e.address()));
  static_assert(kHvDirectMapBase % (std::uint64_t{1} << 30) == 0, "one PD maps the direct map's first GiB");
  for (unsigned i = 0; i < kPtEntries; ++i) {
    const Pte e = pd[i];
    if (!e.present() || !e.large()) continue;
    const std::uint64_t va0 = kHvDirectMapBase + i * k2M;
    if (va0 + k2M <= img || va0 >= img_end) {
      pd[i] = e.with_nx(true);
      continue;
    }
    auto* pt = static_cast<Pte*>(g_hv_pool.alloc_page());
    if (pt == nullptr) pvkit_panic("cpu_init: no page to split the image's mapping");
    for (unsigned j = 0; j < kPtEntries; ++j) {
      const std::uint64_t va = va0 + j * kPageSize;
      const Pte leaf = Pte::leaf(e.address() + j * kPageSize);
      if (is_stack_guard(va)) {
        pt[j] = Pte{};  // not present
      } else if (va >= img && va < text_end) {
        pt[j] = leaf;  // text: read-only, executable
      } else if (va >= text_end && va < ro_end) {
        pt[j] = leaf.with_nx(true);  // rodata
      } else {
        pt[j] = leaf.with_writable(true).with_nx(true);  // data, bss, everything else
      }
    }
    pd[i] = Pte::table(hv_phys(pt), false);
  }
  flush_tlb_all();
}

}  // namespace detail

std::uint64_t hv_root_phys() { return g_hv_root; }

Status map_hv_mmio(std::uint64_t pa) {
  if ((pa & 0xFFF) != 0 || pa < kBootDirectMapSize) return Status{Errno::Inval};
  PageTables<StaticPagePool<16>, HvDirectMap> hv(g_hv_pool, HvDirectMap{});
  hv.adopt(read_cr3() & ~std::uint64_t{0xFFF});
  const std::uint64_t va = reinterpret_cast<std::uint64_t>(hv_virt(pa));
  if (hv.lookup(va).present()) return Status::ok();
  Status s = hv.map(va, pa, PageFlags{.writable = true, .nx = true, .cache_disable = true, .write_through = true});
  flush_tlb_page(va);
  return s;
}

}  // namespace pvkit::x86
