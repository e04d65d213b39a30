// bench_guest — pvkit's in-image benchmark: a Xen x86-64 PV guest kernel run twice by the PC
// hypervisor (//platforms/pc/run) under QEMU with `-icount shift=0,align=off,sleep=off`, where
// the guest's rdtsc counts retired instructions exactly.
//
// `measure=1 peer=1` (domain 0) measures; `peer=0` (domain 1) is its partner. Every figure
// is the minimum over kTrials single operations bracketed by rdtsc, minus the minimum of an
// empty bracket (so a timer tick landing inside one trial does not count), and is printed as
//   BENCH name=<name> value=<instructions> unit=instructions
// Figures (all counted in guest and hypervisor together, on one CPU):
//   null_hypercall       xen_version(XENVER_version) through the hypercall page and back;
//   mmu_update_l1        one mmu_update (MMU_NORMAL_PT_UPDATE) of an L1 entry of this kernel;
//   grant_map_unmap      GNTTABOP_map_grant_ref + GNTTABOP_unmap_grant_ref of a page that the
//                        other domain granted (two hypercalls);
//   event_oneway         half an event round trip between the two domains on one CPU: send,
//                        wake the blocked peer, switch, upcall, the peer's handler sends back,
//                        switch, upcall here;
//   domain_switch        half a SCHEDOP_yield round trip while the peer loops on yield.
// Rendezvous without xenstore: A grants a page of its own (ref 8) to B carrying its unbound
// port; B grants a page of its own (ref 8) to A, maps A's page, binds the port and sets `ready`.
// `profile=N` (alone, one domain): only N null hypercalls, for profile_hypercall.sh, which diffs
// QEMU execution traces of N=1000 and N=0 runs to attribute the instructions to functions;
// `event_trials=N` (measurer) sets the number of event round trips, for its event mode;
// `grant_trials=N` the number of grant map+unmap pairs (profile_hypercall.sh's grant mode).
// The last line is "bench_guest: SUCCESS" (then poweroff) or "bench_guest: FAILURE (...)".
#include <cstdint>

#include "pvkit/guest/console.h"
#include "pvkit/guest/event_channel.h"
#include "pvkit/guest/events.h"
#include "pvkit/guest/grant_ops.h"
#include "pvkit/guest/grant_table.h"
#include "pvkit/guest/hypercall.h"
#include "pvkit/guest/memory.h"
#include "pvkit/guest/runtime.h"
#include "pvkit/guest/sched.h"
#include "pvkit/guest/start_info.h"

namespace g = pvkit::guest;

namespace {

constexpr std::uint32_t kRef = 8;
constexpr int kTrials = 64;
constexpr std::uint32_t kMagic = 0x42454e43;  // "BENC"
enum Mode : std::uint32_t { kPingPong = 0, kYield = 1, kDone = 2 };

/// The page A grants to B.
struct Shared {
  std::uint32_t magic;
  std::uint32_t port;   ///< A's unbound port for B
  std::uint32_t ready;  ///< B: bound, and its own page is granted
  std::uint32_t mode;   ///< A -> B
};

constinit g::PageSlot g_gnttab_frames[1]{};
constinit g::GrantTable<g::xen::kGrantEntriesPerFrameV1> g_gnttab;
constinit g::PageSlot g_own_page{};   // granted to the peer
constinit g::PageSlot g_peer_page{};  // where the peer's page is mapped
constinit g::PageSlot g_scratch{};    // its L1 entry is what mmu_update rewrites
volatile std::uint64_t g_events = 0;  // events this domain received on its channel
g::xen::EvtchnPort g_port = 0;

/// A raw rdtsc reading, EDX:EAX as the instruction leaves them.
struct Tsc {
  std::uint32_t lo, hi;
};
inline Tsc rdtsc() {
  Tsc t;
  asm volatile("rdtsc" : "=a"(t.lo), "=d"(t.hi)::"memory");
  return t;
}
/// Instructions between two readings. The barrier makes both readings opaque until after the
/// second rdtsc, so the compiler cannot schedule the arithmetic inside the bracket: the
/// bracket around an operation and the empty one then cost the same few register moves.
inline std::uint64_t tsc_delta(Tsc t0, Tsc t1) {
  asm volatile("" : "+r"(t0.lo), "+r"(t0.hi), "+r"(t1.lo), "+r"(t1.hi));
  return ((static_cast<std::uint64_t>(t1.hi) << 32) | t1.lo) - ((static_cast<std::uint64_t>(t0.hi) << 32) | t0.lo);
}

template <typename T>
T volatile_load(const T* p) {
  return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}
template <typename T>
void volatile_store(T* p, T v) {
  __atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}

/// Minimum instructions of `op` over `trials` runs, minus the empty bracket.
template <typename Op>
std::uint64_t measure(std::uint64_t empty, Op&& op, std::uint64_t trials = kTrials) {
  std::uint64_t best = ~0ull;
  for (std::uint64_t i = 0; i < trials; ++i) {
    const Tsc t0 = rdtsc();
    op();
    const Tsc t1 = rdtsc();
    const std::uint64_t d = tsc_delta(t0, t1);
    if (d < best) best = d;
  }
  return best != ~0ull && best > empty ? best - empty : 0;
}

std::uint64_t empty_bracket() {
  std::uint64_t best = ~0ull;
  for (int i = 0; i < kTrials; ++i) {
    const Tsc t0 = rdtsc();
    const Tsc t1 = rdtsc();
    const std::uint64_t d = tsc_delta(t0, t1);
    if (d < best) best = d;
  }
  return best;
}

void report(const char* name, std::uint64_t value) {
  g::print("BENCH name=%s value=%lu unit=instructions\n", name, value);
}

int fail(const char* what, long rc) {
  g::print("bench_guest: FAILURE (%s: %ld)\n", what, rc);
  return 1;
}

void on_event(g::xen::EvtchnPort, void* answer) {
  g_events = g_events + 1;
  if (answer != nullptr) (void)g::evtchn_send(g_port);  // B answers every event at once
}

/// Sleeps until more than `seen` events arrived.
void wait_events(std::uint64_t seen) {
  for (;;) {
    g::events_disable();
    if (g_events > seen) break;
    (void)g::block();
  }
  g::events_enable();
}

/// The virtual address of one of this kernel's own frames (page tables are mapped read-only in
/// the bootstrap area), by searching the p2m list; 0 if it is not one of ours.
std::uint64_t va_of_mfn(const g::xen::StartInfo& si, std::uint64_t mfn) {
  const auto* p2m = reinterpret_cast<const std::uint64_t*>(si.mfn_list);
  for (std::uint64_t pfn = 0; pfn < si.nr_pages; ++pfn) {
    if (p2m[pfn] == mfn) return g::guest_virt_base() + (pfn << 12);
  }
  return 0;
}

/// Machine address of the L1 entry mapping `va`, walking this kernel's page tables; 0 if none.
std::uint64_t l1_entry_maddr(const g::xen::StartInfo& si, std::uint64_t va) {
  std::uint64_t table_va = si.pt_base;
  std::uint64_t table_mfn = 0;
  for (int level = 4; level >= 1; --level) {
    const unsigned idx = (va >> (12 + 9 * (level - 1))) & 511;
    if (level == 1) return (table_mfn << 12) + idx * 8;
    const g::xen::Pte e{reinterpret_cast<const std::uint64_t*>(table_va)[idx]};
    if (!e.present()) return 0;
    table_mfn = e.mfn();
    table_va = va_of_mfn(si, table_mfn);
    if (table_va == 0) return 0;
  }
  return 0;
}

int role_a(const g::xen::StartInfo& si, g::xen::DomId peer) {
  const std::uint64_t empty = empty_bracket();
  g::print("bench_guest: empty rdtsc bracket = %lu instructions\n", empty);

  // 1. Null hypercall through the hypercall page.
  long ver = 0;
  report("null_hypercall", measure(empty, [&] { ver = g::HYPERVISOR_xen_version(0, nullptr); }));
  if (ver < 0) return fail("xen_version", ver);

  // 2. One mmu_update of an L1 entry: the scratch page's PTE, toggling RW.
  const std::uint64_t maddr = l1_entry_maddr(si, g::va_of(&g_scratch));
  if (maddr == 0) return fail("page-table walk", 0);
  const g::PhysMap p2m(si);
  auto scratch_mfn = p2m.virt_to_mfn(&g_scratch);
  if (!scratch_mfn) return fail("scratch mfn", 0);
  bool writable = true;
  long rc = 0;
  report("mmu_update_l1", measure(empty, [&] {
           writable = !writable;
           const g::xen::MmuUpdate req{maddr | g::xen::kMmuNormalPtUpdate,
                                       g::xen::Pte::page(*scratch_mfn).with_writable(writable).raw()};
           std::uint32_t done = 0;
           const long r = g::HYPERVISOR_mmu_update(&req, 1, &done, 0x7FF0);  // DOMID_SELF
           if (r != 0) rc = r;
         }));
  if (rc != 0) return fail("mmu_update", rc);

  // Rendezvous with B.
  auto port = g::evtchn_alloc_unbound(peer);
  if (!port) return fail("alloc_unbound", port.status().guest_value());
  g_port = *port;
  if (auto s = g::events().bind(g_port, &on_event, nullptr); !s) return fail("bind handler", s.guest_value());
  auto* shared = reinterpret_cast<Shared*>(&g_own_page);
  shared->port = g_port;
  shared->magic = kMagic;
  auto own = p2m.virt_to_mfn(&g_own_page);
  if (!own) return fail("own page mfn", 0);
  if (auto s = g_gnttab.grant_access(kRef, peer, *own, false); !s) return fail("grant", s.guest_value());
  g::events_enable();
  while (volatile_load(&shared->ready) == 0) (void)g::yield();
  g::print("bench_guest: peer domain %u ready on port %u\n", peer, g_port);

  // 3. Grant map + unmap of the page the peer granted.
  rc = 0;
  report("grant_map_unmap", measure(empty, [&] {
           const auto m = g::grant_map(peer, kRef, &g_peer_page, true);
           if (!m.ok()) {
             rc = m.rc != 0 ? m.rc : m.status;
             return;
           }
           const auto u = g::grant_unmap(m.handle, &g_peer_page);
           if (!u.ok()) rc = u.rc != 0 ? u.rc : u.status;
         },
         g::cmdline_u64(si, "grant_trials").value_or(kTrials)));
  if (rc != 0) return fail("grant map/unmap", rc);

  // 4. Event ping-pong: one round trip is two one-way trips. (`event_trials=N` changes the
  // number of round trips, for profile_hypercall.sh's event mode.)
  std::uint64_t rt = measure(
      empty,
      [&] {
        const std::uint64_t seen = g_events;
        (void)g::evtchn_send(g_port);
        wait_events(seen);
      },
      g::cmdline_u64(si, "event_trials").value_or(kTrials));
  report("event_oneway", rt / 2);

  // 5. Domain switch: the peer loops on yield.
  volatile_store(&shared->mode, static_cast<std::uint32_t>(kYield));
  const std::uint64_t seen = g_events;
  (void)g::evtchn_send(g_port);
  wait_events(seen);  // B's answer: it saw the event and is about to loop on yield
  rt = measure(empty, [] { (void)g::yield(); });
  report("domain_switch", rt / 2);
  volatile_store(&shared->mode, static_cast<std::uint32_t>(kDone));
  (void)g::yield();
  g::print("bench_guest: SUCCESS\n");
  return 0;
}

int role_b(const g::xen::StartInfo& si, g::xen::DomId peer) {
  const g::PhysMap p2m(si);
  auto own = p2m.virt_to_mfn(&g_own_page);
  if (!own) return fail("own page mfn", 0);
  if (auto s = g_gnttab.grant_access(kRef, peer, *own, false); !s) return fail("grant", s.guest_value());
  g::GrantMapping m;
  for (int i = 0; i < 100000; ++i) {
    m = g::grant_map(peer, kRef, &g_peer_page, false);
    if (m.ok()) break;
    (void)g::yield();
  }
  if (!m.ok()) return fail("map the peer's page", m.rc != 0 ? m.rc : m.status);
  auto* shared = reinterpret_cast<Shared*>(&g_peer_page);
  while (volatile_load(&shared->magic) != kMagic) (void)g::yield();
  auto port = g::evtchn_bind_interdomain(peer, shared->port);
  if (!port) return fail("bind_interdomain", port.status().guest_value());
  g_port = *port;
  if (auto s = g::events().bind(g_port, &on_event, &g_port); !s) return fail("bind handler", s.guest_value());
  g::events_enable();
  volatile_store(&shared->ready, 1u);
  // Answer events from the upcall handler until A switches to yield mode.
  for (;;) {
    g::events_disable();
    if (volatile_load(&shared->mode) != kPingPong) break;
    (void)g::block();
  }
  g::events_enable();
  while (volatile_load(&shared->mode) == kYield) (void)g::yield();
  (void)g::grant_unmap(m.handle, &g_peer_page);
  g::print("bench_guest: partner done after %lu events\n", static_cast<std::uint64_t>(g_events));
  g::print("bench_guest: SUCCESS\n");
  return 0;
}

}  // namespace

int guest_main(const g::xen::StartInfo& si) {
  if (!g::start_info_magic_ok(si)) return fail("start_info magic", 0);
  if (auto n = g::cmdline_u64(si, "profile")) {
    for (std::uint64_t i = 0; i < *n; ++i) (void)g::HYPERVISOR_xen_version(0, nullptr);
    g::print("bench_guest: SUCCESS\n");
    return 0;
  }
  const bool a = g::cmdline_u64(si, "measure").value_or(0) != 0;
  const auto peer = static_cast<g::xen::DomId>(g::cmdline_u64(si, "peer").value_or(1));
  if (auto s = g::init_events(si); !s) return fail("init_events", s.guest_value());
  if (auto s = g::setup_grant_table(g_gnttab, g_gnttab_frames, 1); !s) return fail("setup_grant_table", s.guest_value());
  return a ? role_a(si, peer) : role_b(si, peer);
}
