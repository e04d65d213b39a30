// pvkit robustness: PvSystem's whole-system invariant check (see pv_system.h).
//
// Compiled as its own library without libFuzzer's coverage instrumentation: it runs after
// every fuzzed action and walks every table entry, grant entry and port, so instrumented it
// would dominate the run time and feed libFuzzer coverage that says nothing about the input.
#include <sstream>
#include <string>

#include "tests/fuzz/pv_system.h"

#include "pvkit/mm/domain_teardown.h"

namespace pvkit::robustness {

std::string PvSystem::check() {
  std::ostringstream err;
  host::ExtraRefs extra = gplat_.ledger();
  {
    LockGuard g(world_.mm.lock());
    const std::string mm = host::check_mm_invariants(world_.machine, world_.mm, world_.domains, &extra);
    if (!mm.empty()) err << "mm: " << mm;
  }
  if (gplat_.violations() != 0) err << "grant: references dropped that were never taken\n";
  check_grants(err);
  check_events(err);
  return err.str();
}

void PvSystem::check_grants(std::ostringstream& err) {
  for (std::uint16_t i = 0; i < kDomains; ++i) {
    const DomId d{i};
    if (!gt_->exists(d)) continue;
    const std::uint32_t version = gt_->version(d);
    if (version != 1 && version != 2) {
      err << "grant: d" << i << " has version " << version << "\n";
      continue;
    }
    if (version == 1 && !v1_honest[i].load()) continue;
    const std::uint32_t per = version == 2 ? 256 : 512;
    const std::uint32_t n = gt_->nr_frames(d) * per;
    for (std::uint32_t ref = 0; ref < n; ++ref) {
      const grant::PinCounts pins{gt_->pin_raw(d, GrantRef{ref})};
      std::uint16_t bits = 0;
      if (version == 2) {
        std::uint8_t* s = gt_->status_frame(d, ref / 2048);
        if (s == nullptr) {
          if (pins.any()) err << "grant: d" << i << " ref " << ref << " pinned without a status frame\n";
          continue;
        }
        bits = reinterpret_cast<std::uint16_t*>(s)[ref % 2048];
      } else {
        std::uint8_t* f = gt_->shared_frame(d, ref / per);
        if (f == nullptr) continue;
        bits = __atomic_load_n(reinterpret_cast<std::uint16_t*>(f + (ref % per) * 8), __ATOMIC_ACQUIRE);
      // In an accept_transfer entry bits 2-3 are GTF_transfer_committed/_completed.
      if ((bits & xen::kGtfTypeMask) == xen::kGtfAcceptTransfer) bits &= ~(xen::kGtfReading | xen::kGtfWriting);
      }
      const bool reading = (bits & xen::kGtfReading) != 0, writing = (bits & xen::kGtfWriting) != 0;
      if (pins.any() != reading || pins.any_write() != writing) {
        err << "Inv20: d" << i << " v" << version << " ref " << ref << " pins 0x" << std::hex << pins.raw
            << " but status bits 0x" << bits << std::dec << "\n";
      }
    }
  }
}

void PvSystem::check_events(std::ostringstream& err) {
  for (std::uint16_t i = 0; i < kDomains; ++i) {
    const DomId d{i};
    if (!ev_->domain_live(d)) continue;
    const std::uint32_t n = ev_->valid_ports(d);
    for (std::uint32_t p = 0; p < n && p < 4096; ++p) {
      auto st = ev_->status(DomId{0}, d, EvtchnPort{p});
      if (!st.ok()) continue;
      const auto& s = *st;
      if (p == 0 && s.status != xen::kEvtchnStatClosed) err << "events: d" << i << " port 0 is bound\n";
      if (s.status != xen::kEvtchnStatClosed && s.vcpu >= kVcpus) {
        err << "events: d" << i << " port " << p << " notifies vCPU " << s.vcpu << "\n";
      }
      if (s.status == xen::kEvtchnStatInterdomain) {
        const DomId rd{s.u.interdomain.dom};
        auto peer = ev_->status(DomId{0}, rd, EvtchnPort{s.u.interdomain.port});
        if (!peer.ok() || peer->status != xen::kEvtchnStatInterdomain ||
            peer->u.interdomain.dom != i || peer->u.interdomain.port != p) {
          err << "events: d" << i << " port " << p << " -> d" << rd.value() << " port " << s.u.interdomain.port
              << " is not bound back\n";
        }
      }
    }
  }
  if (evplat_.bad_unmaps() != 0) err << "events: unmapped a guest frame that was not mapped\n";
}

std::string PvSystem::destroy_domain(DomId id) {
  std::ostringstream err;
  Domain* d = world_.domains.find(id);
  if (d == nullptr || destroyed_[id.value()]) return "destroy: no such domain\n";
  destroyed_[id.value()] = true;
  if (!world_.domains.begin_destroy(id)) err << "destroy: begin_destroy failed\n";
  auto bounded = [&](auto&& step, const char* what) {
    Status s = Errno::Restart;
    for (int i = 0; i < 100000 && s.is_restart(); ++i) s = step();
    if (s.is_restart()) err << "destroy: " << what << " never finished\n";
    return s;
  };
  (void)bounded([&] { return gt_->release_domain(id); }, "grant release_domain");
  Status ev = bounded([&] { return ev_->domain_destroy(id); }, "event domain_destroy");
  if (!ev) err << "destroy: event domain_destroy answered " << static_cast<int>(ev.error()) << "\n";
  Status mm = bounded([&] { return domain_teardown_step(world_.mm, *d); }, "mm teardown");
  Status gd = gt_->destroy_domain(id);
  if (!mm || !gd) {
    // A zombie: others still map its grants. They let go; then both must finish.
    for (std::uint16_t o = 0; o < kDomains; ++o) {
      if (o != id.value() && !destroyed_[o]) (void)bounded([&] { return gt_->release_domain(DomId{o}); }, "release");
    }
    mm = bounded([&] { return domain_teardown_step(world_.mm, *d); }, "mm teardown (2)");
    if (!gd) gd = gt_->destroy_domain(id);
  }
  if (!mm) err << "destroy: mm teardown answered " << static_cast<int>(mm.error()) << " after every grant was released\n";
  if (!gd) err << "destroy: grant destroy_domain answered " << static_cast<int>(gd.error()) << " after every grant was released\n";
  if (d->state.load() != DomainState::Dead) err << "destroy: the domain is not Dead\n";
  if (d->tot_pages != 0) err << "destroy: the dead domain still owns " << d->tot_pages << " frames\n";
  err << check();
  return err.str();
}

}  // namespace pvkit::robustness
