// A domain's end: shutdown or crash, teardown of everything it holds (events, grants, page
// tables, frames) and, when the last domain is gone, the summary and the verdict.
#include <cstring>
#include <new>

#include "pvkit/arch/x86/boot/layout.h"
#include "pvkit/arch/x86/cpu/cpu.h"
#include "pvkit/arch/x86/mm/tlb.h"
#include "pvkit/platforms/pc/hv/hypervisor.h"
#include "pvkit/platforms/pc/log.h"
#include "pvkit/mm/domain_teardown.h"
#include "pvkit/platforms/pc/ktest.h"

namespace pvkit::pc {

const char* shutdown_name(std::uint32_t r) {
  switch (r) {
    case 0: return "powered off";
    case 1: return "rebooted (treated as powered off)";
    case 2: return "suspended (treated as powered off)";
    case 3: return "crashed (SHUTDOWN_crash)";
    case 4: return "stopped by its watchdog";
    default: return "shut down";
  }
}

// ------------------------------------------------------------------ domain end

void Hypervisor::end_domain(Vcpu& v, const char* how) {
  if (v.ended) return;
  v.console.flush();
  v.ended = true;
  v.end = how;
  v.state = VcpuState::kDead;
  ++census_epoch_;
  if (!v.spec.quiet) {
    printf("pvkit: d%u (%s) %s after %lu hypercalls, %lu event upcalls, %lu preemptions; releasing its resources\n",
           static_cast<unsigned>(v.id.value()), v.spec.name, how, static_cast<unsigned long>(v.hypercalls),
           static_cast<unsigned long>(v.upcalls), static_cast<unsigned long>(v.preemptions));
  }
  if (cur_ == &v) {
    x86::write_cr3(x86::hv_root_phys());  // never run on tables that are being freed
    x86::flush_tlb_all();
    cur_ = nullptr;
  }
  if (!teardown(v)) teardown_backlog_ = true;
}

bool Hypervisor::teardown(Vcpu& v) {
  if (v.torn_down) return true;
  if (v.teardown_stage == 0) {  // its ports and the grant mappings it holds
    Status s = events->domain_destroy(v.id);
    while (s.is_restart()) s = events->domain_destroy(v.id);
    while (grants->release_domain(v.id).is_restart()) {
    }
    (void)domains.begin_destroy(v.id);
    if (v.shared_info != nullptr) {  // (a build that failed early has none)
      LockGuard lock(mm->lock());
      mm->put_page_and_type(v.shared_info_mfn);  // the shared_info's permanent type reference
    }
    v.teardown_stage = 1;
  }
  // Its page tables go first (they may map its own grant-table frames), then the grant table
  // (Busy while another domain still maps one of its grants), then the rest of its memory.
  Status s = domain_teardown_step(*mm, *v.dom);
  while (s.is_restart()) s = domain_teardown_step(*mm, *v.dom);
  if (v.teardown_stage == 1) {
    // Srch: it never had a grant table (a build that failed before creating it).
    if (Status g = grants->destroy_domain(v.id); !g && g.error() != Errno::Srch) return false;
    v.teardown_stage = 2;
    s = domain_teardown_step(*mm, *v.dom);
    while (s.is_restart()) s = domain_teardown_step(*mm, *v.dom);
  }
  if (!s) return false;  // Busy: a zombie until the others drop their references
  // Every frame it owned is free in the frame database: back to the pool.
  auto recycle = [&](Mfn m) {
    FrameInfo* f = frames->info(m);
    if (f != nullptr && f->owner == nullptr && f->refcount == 0 && !f->xen) pool.free(m);
  };
  for (std::uint64_t p = 0; p < v.nr_pages; ++p) recycle(v.p2m[p]);
  if (v.shared_info_mfn.value() != 0) recycle(v.shared_info_mfn);
  (void)domains.release(v.id);
  v.torn_down = true;
  if (!v.spec.quiet) {
    printf("pvkit: d%u (%s): every frame, port and grant released\n", static_cast<unsigned>(v.id.value()),
           v.spec.name);
  }
  if (v.destroy_requested) free_slot(v);
  return true;
}

Status Hypervisor::destroy_domain(DomId id) {
  Vcpu* v = vcpu_of(id);
  if (v == nullptr || v->destroy_requested) return Errno::Srch;
  v->destroy_requested = true;
  if (!v->ended) {
    end_domain(*v, "destroyed");  // ... which runs the teardown
  } else if (!v->torn_down) {
    (void)teardown(*v);
  } else {
    free_slot(*v);
  }
  return v->state == VcpuState::kFree ? Status::ok() : Status{Errno::Busy};
}

void Hypervisor::free_slot(Vcpu& v) {
  if (v.built) --domains_built;
  v.built = false;
  v.state = VcpuState::kFree;  // create_domain resets the rest
  ++census_epoch_;
}

void Hypervisor::retry_teardowns() {
  if (!teardown_backlog_) return;
  bool left = false;
  for (auto& v : vcpus) {
    if (v.state == VcpuState::kDead && !v.torn_down && !teardown(v)) left = true;
  }
  teardown_backlog_ = left;
}

void Hypervisor::finish() {
  x86::timer_stop();
  retry_teardowns();
  std::uint32_t refused = 0, nd = 0;
  for (auto& v : vcpus) {
    if (v.state == VcpuState::kFree) continue;
    ++nd;
    refused += v.console.refused;
  }
  printf("pvkit: %s finished: %u domains, %lu hypercalls, %lu events, %lu grant maps, %u attacks refused\n",
         summary_label, nd, static_cast<unsigned long>(total_hypercalls), static_cast<unsigned long>(total_upcalls),
         static_cast<unsigned long>(grant_policy->maps), refused);
  Ktest t;
  char what[160];
  for (auto& v : vcpus) {
    if (v.state == VcpuState::kFree) continue;
    const unsigned id = v.id.value();
    bool ok = false;
    switch (v.spec.expect) {
      case Expect::kPoweroff:
        ok = v.end == shutdown_name(0) && !v.console.failure;
        snprintf(what, sizeof what, "d%u %s powered off (ended: %s)", id, v.spec.name, v.end);
        break;
      case Expect::kSuccess:
        ok = v.console.success && !v.console.failure && v.end == shutdown_name(0);
        snprintf(what, sizeof what, "d%u %s printed SUCCESS and powered off (ended: %s)", id, v.spec.name, v.end);
        break;
      case Expect::kCrash:
        ok = v.end[0] == 'c';  // "crashed..."
        snprintf(what, sizeof what, "d%u %s crashed, and only it (ended: %s)", id, v.spec.name, v.end);
        break;
      case Expect::kService:
        ok = v.end[0] == 's';
        snprintf(what, sizeof what, "d%u %s served until the others were done (ended: %s)", id, v.spec.name, v.end);
        break;
      case Expect::kSpin:
        ok = v.preemptions >= 1 && v.end[0] == 's';  // the timer took the CPU from it
        snprintf(what, sizeof what, "d%u %s was preempted %lu times and stopped at the end", id, v.spec.name,
                 static_cast<unsigned long>(v.preemptions));
        break;
    }
    t.check(what, ok);
    snprintf(what, sizeof what, "d%u %s: every resource released", id, v.spec.name);
    t.check(what, v.torn_down);
    if (v.console.accepted != 0) {
      snprintf(what, sizeof what, "d%u %s: no attack accepted (%u were)", id, v.spec.name, v.console.accepted);
      t.check(what, false);
    }
  }
  snprintf(what, sizeof what, "all %lu domain frames back in the pool (%lu free)",
           static_cast<unsigned long>(boot_free_frames), static_cast<unsigned long>(pool.free_frames()));
  t.check(what, pool.free_frames() == boot_free_frames);
  t.finish();
}


}  // namespace pvkit::pc
