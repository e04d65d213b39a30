// pvkit host platform: check_mm_invariants — recomputes every frame's references from scratch
// and checks the verifier's global invariants (for tests and the model-based property test).
//
// What it checks (returns "" when all hold, else a description of the first violations):
//   - refcount and type_count of every frame equal the references that really exist:
//     allocation, pins, vCPU roots, partial and devalidation states, every reference-holding
//     entry of every table, plus `extra` references the caller holds (e.g. a test grant table);
//   - invariant 7: every reference-holding RW L1 entry and RW grant PTE maps a Writable frame,
//     so no page table is mapped writable;
//   - invariant 10: linear entries are read-only and same-level, and the linear counters match;
//   - invariant 12: upper-level entries stay within one owner; L1 entries map the table owner's
//     frames, a grant PTE, or frames of a domain the owner is privileged over; hypervisor
//     frames are never owned or referenced;
//   - invariant 14: refcount > 0 implies an owner;
//   - every domain's owned-frame list (the one teardown walks) holds exactly the frames it
//     owns: links consistent both ways, tail and count right, nothing owned missing;
//   - invariants 7/8 on the fake TLBs: after observing every vCPU, no TLB holds a writable
//     translation of a frame that is (or is being turned into or out of) a page table.
//
// Concurrency: single-threaded test use only.
#pragma once

#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "pvkit/domain/domain_table.h"
#include "pvkit/mm/frame_db.h"
#include "pvkit/mm/pte.h"
#include "pvkit/mm/verifier.h"
#include "pvkit/platforms/host/machine/machine.h"

namespace pvkit::host {

/// References held outside the frame database's own bookkeeping: mfn -> (general, type).
using ExtraRefs = std::map<std::uint64_t, std::pair<std::uint32_t, std::uint32_t>>;

template <typename V, typename Domains>
std::string check_mm_invariants(Machine& m, V& v, Domains& domains, const ExtraRefs* extra = nullptr,
                                bool check_tlbs = true) {
  using P = X86Pte;
  FrameDb& db = v.frames();
  const std::uint64_t n = db.size();
  std::vector<std::uint64_t> refs(n, 0), types(n, 0), lin_out(n, 0), lin_in(n, 0);
  std::ostringstream err;
  int errors = 0;
  auto fail = [&](const std::string& s) {
    if (errors++ < 8) err << s << "\n";
  };
  auto owner_id = [](const FrameInfo& f) { return f.owner ? static_cast<int>(f.owner->id.value()) : -1; };

  for (std::uint64_t i = 0; i < n; ++i) {
    FrameInfo& f = *db.info(Mfn{i});
    if (f.allocated) ++refs[i];
    if (f.pinned) { ++refs[i]; ++types[i]; }
    if (f.partial) { ++refs[i]; ++types[i]; }
    if (f.devalidating) ++refs[i];
    if (f.shared_xen) ++refs[i];  // the sharing reference
    if (f.xen && !f.shared_xen && (f.owner != nullptr || f.refcount != 0 || f.type_count != 0)) {
      fail("xen frame in use: " + std::to_string(i));
    }
    if (f.shared_xen && is_page_table(f.type) && (f.type_count > 0 || f.partial || f.devalidating)) {
      fail("shared hypervisor frame used as a page table: " + std::to_string(i));
    }
    if (f.refcount > 0 && f.owner == nullptr) fail("refcount without owner: " + std::to_string(i));
    if (is_page_table(f.type) && f.type_count > 0 && !f.validated && !f.partial) {
      fail("typed table neither validated nor partial: " + std::to_string(i));
    }
    if (!is_page_table(f.type) && f.type != PageType::None && (f.partial || f.devalidating)) {
      fail("non-table in a table state: " + std::to_string(i));
    }
    if (f.has_grant_ptes() && !(f.type == PageType::L1 && (f.type_count > 0 || f.devalidating))) {
      fail("grant PTE bits outside a live L1: " + std::to_string(i));
    }
    // Which entries hold references.
    unsigned lo = 0, hi = 0;
    if (is_page_table(f.type)) {
      if (f.partial) { lo = 0; hi = f.next_index; }
      else if (f.devalidating) { lo = f.next_index; hi = 512; }
      else if (f.validated && f.type_count > 0) { lo = 0; hi = 512; }
    }
    const PtLevel level = table_level(f.type);
    const std::uint64_t* e = m.frame_entries(Mfn{i});
    for (unsigned k = lo; k < hi; ++k) {
      if (V::is_xen_l4_slot(level, k)) continue;
      const std::uint64_t x = e[k];
      if (!P::Present::test(x)) {
        if (level == 1 && f.is_grant_pte(k)) fail("non-present grant PTE");
        continue;
      }
      const std::uint64_t t = P::frame(x).value();
      if (t >= n) { fail("entry maps a non-RAM frame"); continue; }
      FrameInfo& g = *db.info(Mfn{t});
      if (g.xen && !(level == 1 && g.shared_xen)) fail("entry maps a hypervisor frame: table " + std::to_string(i));
      if (level == 1 && g.shared_ro && P::Rw::test(x)) fail("RW mapping of a read-only shared frame");
      if (level == 1) {
        const bool grant = f.is_grant_pte(k);
        if (P::Rw::test(x) && g.type != PageType::Writable) {
          fail("Inv07: RW mapping of a non-writable frame " + std::to_string(t) + " (type " +
               std::to_string(static_cast<int>(g.type)) + ") from L1 " + std::to_string(i));
        }
        if (grant) continue;  // the grant table holds its references (counted via `extra`)
        ++refs[t];
        if (P::Rw::test(x)) ++types[t];
        if (g.owner != f.owner && !(f.owner && g.owner && f.owner->can_act_on(*g.owner))) {
          fail("Inv12: L1 " + std::to_string(i) + " (d" + std::to_string(owner_id(f)) + ") maps frame " +
               std::to_string(t) + " of d" + std::to_string(owner_id(g)) + " without grant or privilege");
        }
        continue;
      }
      if (t == i) {
        if (P::Rw::test(x)) fail("writable self-map");
        continue;
      }
      ++refs[t];
      ++types[t];
      if (g.owner != f.owner) fail("Inv12: upper-level entry crosses owners at table " + std::to_string(i));
      if (g.type == f.type) {
        if (P::Rw::test(x)) fail("Inv10: writable linear entry in table " + std::to_string(i));
        ++lin_out[i];
        ++lin_in[t];
      } else if (g.type != table_type(level - 1)) {
        fail("entry of L" + std::to_string(level) + " " + std::to_string(i) + " maps a frame of type " +
             std::to_string(static_cast<int>(g.type)));
      }
    }
  }
  domains.for_each([&](Domain& d) {
    for (std::uint32_t k = 0; k < d.nr_vcpus; ++k) {
      const VcpuMmState& st = d.vcpu_mm[k];
      if (st.has_kernel_root) { ++refs[st.kernel_root.value()]; ++types[st.kernel_root.value()]; }
      if (st.has_user_root) { ++refs[st.user_root.value()]; ++types[st.user_root.value()]; }
    }
  });
  if (extra != nullptr) {
    for (auto& [mfn, rt] : *extra) {
      refs[mfn] += rt.first;
      types[mfn] += rt.second;
    }
  }
  for (std::uint64_t i = 0; i < n; ++i) {
    const FrameInfo& f = *db.info(Mfn{i});
    if (f.refcount != refs[i] || f.type_count != types[i]) {
      fail("counts of frame " + std::to_string(i) + ": have ref " + std::to_string(f.refcount) + " type " +
           std::to_string(f.type_count) + ", recomputed ref " + std::to_string(refs[i]) + " type " +
           std::to_string(types[i]));
    }
    if (f.linear_out != lin_out[i] || f.linear_in != lin_in[i]) {
      fail("Inv10: linear counters of frame " + std::to_string(i));
    }
    if (lin_out[i] != 0 && lin_in[i] != 0) fail("Inv10: linear depth > 1 at frame " + std::to_string(i));
  }
  // The owned-frame lists: exactly the frames each domain owns, linked both ways.
  std::map<const Domain*, std::uint64_t> owned;
  for (std::uint64_t i = 0; i < n; ++i) {
    if (const Domain* o = db.info(Mfn{i})->owner; o != nullptr) ++owned[o];
  }
  domains.for_each([&](Domain& d) {
    const std::string who = "owned-frame list of d" + std::to_string(d.id.value());
    std::uint64_t listed = 0;
    std::uint32_t prev = kNoFrameLink;
    for (std::uint32_t i = d.owned_head; i != kNoFrameLink; i = db.info(Mfn{i})->owned_next) {
      const FrameInfo* f = db.info(Mfn{i});
      if (f == nullptr || ++listed > n) {
        fail(who + ": a link leaves the frame database or loops");
        return;
      }
      if (f->owner != &d) fail(who + ": frame " + std::to_string(i) + " is not its own");
      if (f->owned_prev != prev) fail(who + ": frame " + std::to_string(i) + " has a wrong back link");
      prev = i;
    }
    if (d.owned_tail != prev) fail(who + ": wrong tail");
    if (listed != d.owned_count) fail(who + ": count " + std::to_string(d.owned_count) + ", listed " + std::to_string(listed));
    const auto it = owned.find(&d);
    if ((it == owned.end() ? 0 : it->second) != listed) fail(who + ": owns frames it does not list");
  });
  if (check_tlbs) {
    m.observe_all();
    for (std::uint64_t i = 0; i < n; ++i) {
      const FrameInfo& f = *db.info(Mfn{i});
      const bool table_state = is_page_table(f.type) && (f.type_count > 0 || f.partial || f.devalidating);
      if (table_state && m.any_writable_translation(Mfn{i})) {
        fail("Inv08: a TLB holds a writable translation of table frame " + std::to_string(i));
      }
    }
  }
  return err.str();
}

}  // namespace pvkit::host
