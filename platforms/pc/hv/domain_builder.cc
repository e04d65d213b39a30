// The PC platform's PV domain builder, following Xen's x86-64 PV boot protocol with
// lib/loader: inspect the ELF64 kernel and its Xen notes, plan the start-of-day layout, give
// the domain its frames (the p2m), load the segments, write the p2m list, start_info and
// shared_info, fill the hypercall page, write the bootstrap page tables (page-table frames
// mapped read-only), pin the L4 through the verifier (which validates every level and copies
// the hypervisor's L4 slots in) and load it as vCPU 0's root. vCPU 0 starts at the ELF entry
// in ring 3 with RSI = start_info's virtual address and events masked.
#include <cstring>
#include <new>
#include <optional>

#include "pvkit/arch/x86/boot/layout.h"
#include "pvkit/arch/x86/cpu/cpu.h"
#include "pvkit/loader/bootstrap_mappings.h"
#include "pvkit/loader/hypercall_page.h"
#include "pvkit/loader/layout.h"
#include "pvkit/loader/pv_image.h"
#include "pvkit/loader/segment_loader.h"
#include "pvkit/loader/start_info.h"
#include "pvkit/platforms/pc/hv/hypervisor.h"
#include "pvkit/platforms/pc/log.h"

namespace pvkit::pc {
namespace {

/// lib/loader's GuestFrameWriter over the new domain's p2m and the direct map.
struct FrameWriter {
  Vcpu& v;
  std::uint8_t* bytes(Gfn pfn) {
    if (pfn.value() >= v.nr_pages) return nullptr;
    return static_cast<std::uint8_t*>(x86::hv_virt(v.p2m[pfn.value()].value() << kPageShift));
  }
  Status write(Gfn pfn, std::uint32_t offset, std::span<const std::uint8_t> b) {
    std::uint8_t* p = bytes(pfn);
    if (p == nullptr || offset + b.size() > kPageSize) return Errno::Inval;
    std::memcpy(p + offset, b.data(), b.size());
    return Status::ok();
  }
  Status zero(Gfn pfn, std::uint32_t offset, std::uint32_t length) {
    std::uint8_t* p = bytes(pfn);
    if (p == nullptr || offset + length > kPageSize) return Errno::Inval;
    std::memset(p + offset, 0, length);
    return Status::ok();
  }
};
static_assert(loader::GuestFrameWriter<FrameWriter>);

/// The PTE the builder writes: present, user (guest kernels run in ring 3), accessed; RW
/// unless the loader says read-only; leaves also dirty. Protection is enforced at L1.
std::uint64_t bootstrap_pte(Mfn target, unsigned level, bool writable) {
  std::uint64_t e = X86Pte::Present::kMask | X86Pte::User::kMask | X86Pte::Accessed::kMask;
  if (writable) e |= X86Pte::Rw::kMask;
  if (level == 1 && writable) e |= X86Pte::Dirty::kMask;
  return X86Pte::with_frame(e, target);
}

}  // namespace

Result<Vcpu*> Hypervisor::create_domain(const GuestSpec& spec) {
  std::size_t slot = kMaxDomains;
  for (std::size_t i = 0; i < kMaxDomains; ++i) {
    if (vcpus[i].state == VcpuState::kFree) {
      slot = i;
      break;
    }
  }
  if (slot == kMaxDomains) {
    printf("pvkit: cannot build %s: all %lu domain slots are in use\n", spec.name,
           static_cast<unsigned long>(kMaxDomains));
    return Errno::NoSpc;
  }
  const DomId id{static_cast<std::uint16_t>(slot)};
  bool in_table = false;  // from here on a failure must undo the build
  auto fail = [&](const char* step, Status s) {
    printf("pvkit: building d%u (%s) failed at %s: error %d\n", static_cast<unsigned>(slot), spec.name, step,
           -static_cast<int>(s.error()));
    if (in_table) {
      // Undo everything done so far with the teardown of a destroyed domain (no other domain
      // can hold any of its grants yet, so it completes and frees the slot).
      Vcpu& u = vcpus[slot];
      u.ended = true;
      u.end = "never built";
      u.state = VcpuState::kDead;
      u.destroy_requested = true;
      (void)teardown(u);
    }
    return s;
  };

  loader::LoadResult<loader::PvGuestImage> img = loader::inspect_pv_image(spec.elf, loader::LoadLimits{});
  if (!img) return fail("ELF/Xen notes", img.status());
  if (spec.nr_pages > kMaxDomainPages) return fail("memory size", Errno::Inval);
  loader::LoadResult<loader::DomainLayout> plan =
      loader::plan_domain_layout(*img, {.nr_pages = spec.nr_pages, .vcpus = 1});
  if (!plan) return fail("layout", plan.status());
  // Its memory and shared_info come from the pool (the event and grant areas allocate their
  // own pages and answer NoMem themselves; a build failing there is undone).
  if (pool.free_frames() < spec.nr_pages + 1) return fail("frames", Errno::NoMem);

  Result<Domain*> dom = domains.create(id, {.privileged = spec.privileged,
                                            .max_pages = spec.nr_pages + 64,
                                            .nr_vcpus = 1});
  if (!dom) return fail("domain table", dom.status());
  Vcpu& v = vcpus[slot];
  v.~Vcpu();
  new (&v) Vcpu();
  v.id = id;
  v.dom = *dom;
  v.spec = spec;
  v.nr_pages = 0;  // grows with the frames actually given (what a failed build gives back)
  v.state = VcpuState::kBlocked;  // exists (for the platform objects), not runnable until built
  v.console.id = id;
  in_table = true;

  // Memory: one frame per pfn, owned by the domain, with its M2P entry. (Failures leave the
  // locked block first: undoing the build takes the verifier's lock.)
  {
    const char* step = nullptr;
    Status st = Status::ok();
    {
      LockGuard lock(mm->lock());
      for (std::uint64_t pfn = 0; pfn < spec.nr_pages; ++pfn) {
        const std::optional<Mfn> m = pool.alloc();
        if (!m) {
          step = "frames";
          st = Errno::NoMem;
          break;
        }
        v.p2m[pfn] = *m;
        v.nr_pages = pfn + 1;
        if (st = frames->assign(*m, *v.dom); !st) {
          step = "frame assignment";
          break;
        }
        (void)mm->set_m2p(*v.dom, *m, pfn);
      }
      // shared_info: the domain's, with a permanent Writable type reference (never a table).
      const std::optional<Mfn> si = step == nullptr ? pool.alloc() : std::nullopt;
      if (step == nullptr && !si) {
        step = "shared_info";
        st = Errno::NoMem;
      }
      if (step == nullptr) {
        v.shared_info_mfn = *si;
        if (st = frames->assign(*si, *v.dom); !st) step = "shared_info";
      }
      if (step == nullptr) {
        if (st = mm->get_page_and_type(*si, v.dom, PageType::Writable); !st) step = "shared_info";
      }
      if (step == nullptr) {
        v.shared_info = static_cast<::pvkit::xen::SharedInfo*>(x86::hv_virt(si->value() << kPageShift));
      }
    }
    if (step != nullptr) return fail(step, st);
  }
  v.vcpu_info()->evtchn_upcall_mask = 1;  // the kernel starts with events masked

  FrameWriter w{v};
  if (Status s = loader::load_kernel_segments(*img, *plan, spec.elf, w); !s) return fail("kernel segments", s);
  for (std::uint64_t pfn = 0; pfn < spec.nr_pages; ++pfn) {  // the p2m list
    const std::uint64_t off = pfn * 8;
    const std::uint64_t mfn = v.p2m[pfn].value();
    const auto* b = reinterpret_cast<const std::uint8_t*>(&mfn);
    if (Status s = w.write(Gfn{plan->p2m.pfn.value() + off / kPageSize}, static_cast<std::uint32_t>(off % kPageSize),
                           std::span<const std::uint8_t>(b, 8));
        !s) {
      return fail("p2m list", s);
    }
  }

  if (Status s = events->domain_create(id, {.nr_vcpus = 1, .privileged = spec.privileged,
                                            .shared_info = v.shared_info});
      !s) {
    return fail("event channels", s);
  }
  if (Status s = grants->create_domain(id); !s) return fail("grant table", s);

  if (spec.console_backend >= 0) {
    // The toolstack's part of a PV console: an unbound port for the backend, and the console
    // page granted to it at GNTTAB_RESERVED_CONSOLE.
    Result<EvtchnPort> port =
        events->alloc_unbound(id, kDomidSelf, DomId{static_cast<std::uint16_t>(spec.console_backend)});
    if (!port) return fail("console event channel", port.status());
    v.console_port = port->value();
    if (plan->console.pages == 0) return fail("console page", Errno::Inval);
    auto* entry = reinterpret_cast<::pvkit::xen::GrantEntryV1*>(grants->shared_frame(id, 0));
    if (entry == nullptr) return fail("console grant", Errno::Inval);
    entry->domid = static_cast<std::uint16_t>(spec.console_backend);
    entry->frame = static_cast<std::uint32_t>(v.p2m[plan->console.pfn.value()].value());
    __atomic_store_n(&entry->flags, static_cast<std::uint16_t>(::pvkit::xen::kGtfPermitAccess), __ATOMIC_RELEASE);
  }
  const loader::StartInfoInputs in{
      .shared_info = MachAddr{v.shared_info_mfn.value() << kPageShift},
      .store_mfn = plan->xenstore.pages != 0 ? v.p2m[plan->xenstore.pfn.value()] : Mfn{},
      .console_mfn = plan->console.pages != 0 ? v.p2m[plan->console.pfn.value()] : Mfn{},
      .console_evtchn = EvtchnPort{v.console_port},
      .cmdline = spec.cmdline,
  };
  const auto si = loader::build_start_info(*plan, in);
  for (std::uint64_t off = 0; off < sizeof si; off += kPageSize) {
    const std::uint64_t n = sizeof si - off < kPageSize ? sizeof si - off : kPageSize;
    if (Status s = w.write(Gfn{plan->start_info.pfn.value() + off / kPageSize}, 0,
                           std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(&si) + off, n));
        !s) {
      return fail("start_info", s);
    }
  }
  if (plan->hypercall_page) {
    std::uint8_t* hp = w.bytes(*plan->hypercall_page);
    if (hp == nullptr) return fail("hypercall page", Errno::Inval);
    loader::fill_hypercall_page(std::span<std::uint8_t, loader::kHypercallPageSize>(hp, loader::kHypercallPageSize));
  }

  // Bootstrap page tables, then pin the L4 (validating everything) and load it.
  Status s = loader::for_each_bootstrap_entry(*plan, [&](const loader::BootstrapEntry& e) -> Status {
    if (e.table.value() >= v.nr_pages || e.target.value() >= v.nr_pages) return Errno::Inval;
    auto* t = static_cast<std::uint64_t*>(x86::hv_virt(v.p2m[e.table.value()].value() << kPageShift));
    t[e.slot] = bootstrap_pte(v.p2m[e.target.value()], e.level, e.writable);
    return Status::ok();
  });
  if (!s) return fail("bootstrap page tables", s);
  const Mfn l4 = v.p2m[plan->page_tables.pfn.value()];
  const char* step = nullptr;
  {
    LockGuard lock(mm->lock());
    do {
      mm->begin_call();
      s = mm->pin(*v.dom, l4, PageType::L4);
    } while (s.is_restart());
    if (!s) {
      step = "pinning the L4";
    } else {
      do {
        mm->begin_call();
        s = mm->new_baseptr(*v.dom, VcpuId{0}, l4);
      } while (s.is_restart());
      if (!s) step = "loading the L4";
    }
  }
  if (step != nullptr) return fail(step, s);

  v.frame = x86::make_user_frame(plan->entry.value(), plan->stack_top.value());
  v.frame.rsi = plan->start_info.va.value();
  v.state = VcpuState::kRunnable;
  v.built = true;
  ++domains_built;
  ++census_epoch_;
  if (!spec.quiet) {
    printf("pvkit: built d%u \"%s\"%s%s: %lu pages, entry %lx, start_info %lx, page tables pinned at mfn %lx%s\n",
           static_cast<unsigned>(slot), spec.name, spec.role[0] != '\0' ? " - " : "", spec.role,
           static_cast<unsigned long>(spec.nr_pages), plan->entry.value(), plan->start_info.va.value(),
           static_cast<unsigned long>(l4.value()), spec.privileged ? " (privileged)" : "");
  }
  return &v;
}

}  // namespace pvkit::pc
