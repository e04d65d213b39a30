// adversary — a hostile guest kernel: tries the attacks of issue 5 item 7 against its own
// hypervisor and reports how each one was answered.
//
// For every attempt it prints one line "adversary: [refused] <what> -> <rc> (<name>)" or
// "adversary: [ACCEPTED] <what> -> <rc>", and at the end
// "adversary: <n> attempts, <r> refused, <a> accepted" and "adversary: SUCCESS" (everything
// refused) or "adversary: FAILURE". Groups, with the invariants of xen-pv.md section 7 they
// probe:
//   page tables   map its own L4 writable, write a hypervisor-reserved L4 slot, a writable
//                 linear (self) mapping, load a data page as L4, pin the pinned L4 (7, 9-11)
//   foreign       map machine frames it does not own, map into the hypervisor hole (12)
//   pointers      hypervisor-hole / unmapped / non-canonical pointers, huge counts, unknown
//                 hypercall and sub-op numbers (1, 4, 6)
//   events        send/unmask/close/status on ports it does not own, bind to foreign ports
//                 (15, 16, 19)
//   grants        bad refs, bad domains, bad handles, double unmap, RW map of a read-only
//                 grant, map after revoke, revoke while mapped (20-23)
//   last          overwrite a live grant mapping with update_va_mapping (13) — Xen kills the
//                 domain for this, so it runs last and its absence from the log means that.
// Its own domain id comes from `domid=<n>` on the command line, else from EVTCHNOP_status of
// an unbound port it allocates for DOMID_SELF.
#include <cstdint>
#include <optional>

#include "pvkit/guest/console.h"
#include "pvkit/guest/errno_name.h"
#include "pvkit/guest/event_channel.h"
#include "pvkit/guest/grant_ops.h"
#include "pvkit/guest/grant_table.h"
#include "pvkit/guest/hypercall.h"
#include "pvkit/guest/memory.h"
#include "pvkit/guest/runtime.h"
#include "pvkit/guest/start_info.h"

namespace g = pvkit::guest;
namespace x = pvkit::guest::xen;

namespace {

// Addresses no guest may hand to the hypervisor.
constexpr std::uint64_t kHypervisorHole = 0xFFFF'8000'0000'1000ull;
constexpr std::uint64_t kUnmapped = 0x1000;
constexpr std::uint64_t kNonCanonical = 0x0000'8000'0000'0000ull;
constexpr std::uint32_t kHugeCount = 0x7FFF'FFFF;

constinit g::PageSlot g_gnttab_frames[1]{};
constinit g::GrantTable<x::kGrantEntriesPerFrameV1> g_gnttab;
constinit g::PageSlot g_scratch[4]{};   // targets of refused mappings
constinit g::PageSlot g_granted{};      // a page of ours granted to ourselves
constinit g::PageSlot g_map_slot{};     // where that grant gets mapped

struct Tally {
  std::uint32_t attempts = 0;
  std::uint32_t refused = 0;
  std::uint32_t accepted = 0;
};
constinit Tally g_tally;

void hypercall_refused(const char* what, long rc) {
  ++g_tally.attempts;
  if (rc < 0) {
    ++g_tally.refused;
    g::print("adversary: [refused] %s -> %ld (%s)\n", what, rc, g::errno_name(rc));
  } else {
    ++g_tally.accepted;
    g::print("adversary: [ACCEPTED] %s -> %ld\n", what, rc);
  }
}

// A grant op is refused when the hypercall or the element's GNTST status is negative.
void grant_refused(const char* what, long rc, std::int16_t status) {
  ++g_tally.attempts;
  if (rc < 0 || status < 0) {
    ++g_tally.refused;
    g::print("adversary: [refused] %s -> rc %ld (%s), status %d (%s)\n", what, rc,
             g::errno_name(rc), status, g::gntst_name(status));
  } else {
    ++g_tally.accepted;
    g::print("adversary: [ACCEPTED] %s -> rc %ld, status %d\n", what, rc, status);
  }
}

template <typename T>
T* ptr(std::uint64_t a) {
  return reinterpret_cast<T*>(a);
}

long map_at(g::PageSlot* slot, std::uint64_t mfn, bool writable) {
  return g::HYPERVISOR_update_va_mapping(g::va_of(slot), x::Pte::page(mfn).with_writable(writable).raw(),
                                         x::kUvmfInvlpg);
}

void page_table_attacks(const x::StartInfo& si, const g::PhysMap& p2m) {
  g::print("adversary: --- page tables ---\n");
  auto l4 = p2m.virt_to_mfn(ptr<const void>(si.pt_base));
  auto data = p2m.virt_to_mfn(&g_granted);
  if (!l4 || !data) {
    g::print("adversary: cannot translate pt_base/data page (p2m): skipping page-table group\n");
    return;
  }
  hypercall_refused("update_va_mapping: own L4 page table, writable", map_at(&g_scratch[0], *l4, true));

  x::MmuUpdate reserved{(*l4 << 12) + 256 * 8 + x::kMmuNormalPtUpdate,
                        x::Pte::page(*data).with_writable(true).raw()};
  std::uint32_t done = 0;
  hypercall_refused("mmu_update: hypervisor-reserved L4 slot 256",
                    g::HYPERVISOR_mmu_update(&reserved, 1, &done, x::kDomIdSelf));

  x::MmuUpdate linear{(*l4 << 12) + 300 * 8 + x::kMmuNormalPtUpdate,
                      x::Pte::page(*l4).with_writable(true).raw() & ~x::Pte::kNoExecute};
  hypercall_refused("mmu_update: writable linear (self) mapping of the L4",
                    g::HYPERVISOR_mmu_update(&linear, 1, &done, x::kDomIdSelf));

  x::MmuextOp baseptr{x::kMmuextNewBaseptr, 0, *data, 0};
  hypercall_refused("mmuext_op: NEW_BASEPTR to a data page",
                    g::HYPERVISOR_mmuext_op(&baseptr, 1, &done, x::kDomIdSelf));

  x::MmuextOp repin{x::kMmuextPinL4Table, 0, *l4, 0};
  hypercall_refused("mmuext_op: pin the already pinned L4 again",
                    g::HYPERVISOR_mmuext_op(&repin, 1, &done, x::kDomIdSelf));

}

void foreign_frame_attacks() {
  g::print("adversary: --- foreign frames ---\n");
  hypercall_refused("update_va_mapping: machine frame 0", map_at(&g_scratch[1], 0, false));
  hypercall_refused("update_va_mapping: machine frame 1, writable", map_at(&g_scratch[1], 1, true));
  hypercall_refused("update_va_mapping: nonexistent machine frame 0xFFFFFFFFF",
                    map_at(&g_scratch[1], 0xF'FFFF'FFFFull, false));
  hypercall_refused("update_va_mapping: a VA in the hypervisor hole",
                    g::HYPERVISOR_update_va_mapping(kHypervisorHole, x::Pte::page(0).raw(),
                                                    x::kUvmfInvlpg));
}

void pointer_attacks() {
  g::print("adversary: --- bad pointers and huge counts ---\n");
  hypercall_refused("console_io write from the hypervisor hole",
                    g::HYPERVISOR_console_io(x::kConsoleIoWrite, 64, ptr<const char>(kHypervisorHole)));
  hypercall_refused("console_io write from an unmapped address",
                    g::HYPERVISOR_console_io(x::kConsoleIoWrite, 16, ptr<const char>(kUnmapped)));
  hypercall_refused("console_io write, huge count, unmapped buffer",
                    g::HYPERVISOR_console_io(x::kConsoleIoWrite, kHugeCount, ptr<const char>(kUnmapped)));
  std::uint32_t done = 0;
  hypercall_refused("mmu_update: huge count, unmapped array",
                    g::HYPERVISOR_mmu_update(ptr<const x::MmuUpdate>(kUnmapped), kHugeCount, &done,
                                             x::kDomIdSelf));
  hypercall_refused("mmu_update: array in the hypervisor hole",
                    g::HYPERVISOR_mmu_update(ptr<const x::MmuUpdate>(kHypervisorHole), 1, &done,
                                             x::kDomIdSelf));
  hypercall_refused("mmuext_op: non-canonical array",
                    g::HYPERVISOR_mmuext_op(ptr<const x::MmuextOp>(kNonCanonical), 4, &done,
                                            x::kDomIdSelf));
  hypercall_refused("multicall: huge count, null array",
                    g::HYPERVISOR_multicall(nullptr, kHugeCount));
  hypercall_refused("grant_table_op setup_table: argument in the hypervisor hole",
                    g::HYPERVISOR_grant_table_op(x::kGnttabOpSetupTable, ptr<void>(kHypervisorHole), 1));
  hypercall_refused("grant_table_op map_grant_ref: huge count, unmapped array",
                    g::HYPERVISOR_grant_table_op(x::kGnttabOpMapGrantRef, ptr<void>(kUnmapped), kHugeCount));
  hypercall_refused("event_channel_op send: null argument",
                    g::HYPERVISOR_event_channel_op(x::kEvtchnOpSend, nullptr));
  hypercall_refused("sched_op shutdown: null argument",
                    g::HYPERVISOR_sched_op(x::kSchedOpShutdown, nullptr));
  hypercall_refused("xen_version extraversion into the hypervisor hole",
                    g::HYPERVISOR_xen_version(x::kXenVerExtraversion, ptr<void>(kHypervisorHole)));
  hypercall_refused("callback_op register: null argument",
                    g::HYPERVISOR_callback_op(x::kCallbackOpRegister, nullptr));
  hypercall_refused("unknown hypercall number 60", g::hypercall<60>(1, 2, 3, 4, 5));
  hypercall_refused("unknown hypercall number 127", g::hypercall<127>());
  x::EvtchnSend dummy{1};
  hypercall_refused("event_channel_op: unknown sub-op 999",
                    g::HYPERVISOR_event_channel_op(999, &dummy));
  hypercall_refused("grant_table_op: unknown sub-op 0xfff",
                    g::HYPERVISOR_grant_table_op(0xfff, &dummy, 1));
}

void event_attacks() {
  g::print("adversary: --- event channels ---\n");
  for (std::uint32_t port : {0u, 4095u, 4096u, 0xFFFF'FFFFu}) {
    x::EvtchnSend send{port};
    char what[64];
    g::format_buf(what, sizeof(what), "send on port %u (not ours)", port);
    hypercall_refused(what, g::HYPERVISOR_event_channel_op(x::kEvtchnOpSend, &send));
  }
  x::EvtchnUnmask unmask{100000};
  hypercall_refused("unmask port 100000", g::HYPERVISOR_event_channel_op(x::kEvtchnOpUnmask, &unmask));
  x::EvtchnClose close{4000};
  hypercall_refused("close port 4000 (never allocated)",
                    g::HYPERVISOR_event_channel_op(x::kEvtchnOpClose, &close));
  x::EvtchnBindInterdomain bind{0, 1, 0};
  hypercall_refused("bind_interdomain to domain 0 port 1 (not offered to us)",
                    g::HYPERVISOR_event_channel_op(x::kEvtchnOpBindInterdomain, &bind));
  x::EvtchnAllocUnbound foreign{0, x::kDomIdSelf, 0};
  hypercall_refused("alloc_unbound on behalf of domain 0",
                    g::HYPERVISOR_event_channel_op(x::kEvtchnOpAllocUnbound, &foreign));
  x::EvtchnStatus status{};
  status.dom = 0;
  status.port = 1;
  hypercall_refused("status of domain 0's port 1",
                    g::HYPERVISOR_event_channel_op(x::kEvtchnOpStatus, &status));
}

// Our own domain id: from the command line, else from the status of an unbound port whose
// remote end is DOMID_SELF (the hypervisor records the resolved id).
std::optional<x::DomId> own_domid(const x::StartInfo& si) {
  if (auto v = g::cmdline_u64(si, "domid"); v && *v < x::kDomIdSelf) return static_cast<x::DomId>(*v);
  auto port = g::evtchn_alloc_unbound(x::kDomIdSelf);
  if (!port) return std::nullopt;
  auto st = g::evtchn_status(*port);
  (void)g::evtchn_close(*port);
  if (!st || st->status != x::kEvtchnStatUnbound || st->u.unbound.dom >= x::kDomIdSelf) {
    return std::nullopt;
  }
  return st->u.unbound.dom;
}

long unmap(x::GrantHandle handle, std::int16_t* status) {
  x::GnttabUnmapGrantRef op{g::va_of(&g_map_slot), 0, handle, -1};
  const long rc = g::HYPERVISOR_grant_table_op(x::kGnttabOpUnmapGrantRef, &op, 1);
  *status = op.status;
  return rc;
}

// Answers the handle of a live mapping of our own grant at g_map_slot (for the last attack).
std::optional<x::GrantHandle> grant_attacks(const g::PhysMap& p2m, x::DomId self) {
  g::print("adversary: --- grants (own domain id %u) ---\n", self);
  if (auto s = g::setup_grant_table(g_gnttab, g_gnttab_frames, 1); !s) {
    g::print("adversary: setup_grant_table failed (%d): skipping grant group\n", s.guest_value());
    return std::nullopt;
  }
  auto frame = p2m.virt_to_mfn(&g_granted);
  if (!frame) return std::nullopt;

  g::GrantMapping m = g::grant_map(self, 0xFFFFF, &g_map_slot, false);
  grant_refused("map_grant_ref: ref 0xFFFFF beyond the table", m.rc, m.status);
  m = g::grant_map(0x7FF4, 8, &g_map_slot, false);
  grant_refused("map_grant_ref: from nonexistent domain 0x7FF4", m.rc, m.status);
  m = g::grant_map(self, 20, &g_map_slot, false);
  grant_refused("map_grant_ref: ref 20 never granted", m.rc, m.status);

  auto ro = g_gnttab.grant(self, *frame, /*readonly=*/true);
  if (ro) {
    m = g::grant_map(self, *ro, &g_map_slot, /*readonly=*/false);
    grant_refused("map_grant_ref: read-only grant mapped writable", m.rc, m.status);
    if (m.ok()) (void)g::grant_unmap(m.handle, &g_map_slot);
    (void)g_gnttab.revoke(*ro);
  }

  auto ref = g_gnttab.grant(self, *frame, false);
  if (!ref) return std::nullopt;
  x::GnttabMapGrantRef hole{kHypervisorHole, x::kGntmapHostMap, *ref, self, 0, 0, 0};
  long rc = g::HYPERVISOR_grant_table_op(x::kGnttabOpMapGrantRef, &hole, 1);
  grant_refused("map_grant_ref: host_addr in the hypervisor hole", rc, hole.status);

  m = g::grant_map(self, *ref, &g_map_slot, false);
  if (!m.ok()) {
    g::print("adversary: mapping our own grant failed (rc %ld, %s): skipping the rest\n", m.rc,
             g::gntst_name(m.status));
    return std::nullopt;
  }
  g::print("adversary: mapped own grant ref %u, handle %u, entry flags %#x\n", *ref, m.handle,
           g_gnttab.flags(*ref));
  // Revoking while mapped must fail: the hypervisor marked the entry in use.
  ++g_tally.attempts;
  if (pvkit::Status s = g_gnttab.end_access(*ref); s.error() == pvkit::Errno::Busy) {
    ++g_tally.refused;
    g::print("adversary: [refused] revoke while mapped -> entry in use (GTF_reading|writing)\n");
  } else {
    ++g_tally.accepted;
    g::print("adversary: [ACCEPTED] revoke while mapped -> %d: the hypervisor did not mark the entry\n",
             s.guest_value());
    return std::nullopt;
  }

  std::int16_t st = 0;
  rc = unmap(0xFFFF, &st);
  grant_refused("unmap_grant_ref: bogus handle 0xFFFF", rc, st);
  rc = unmap(m.handle, &st);
  g::print("adversary: unmapped handle %u -> rc %ld, %s\n", m.handle, rc, g::gntst_name(st));
  rc = unmap(m.handle, &st);
  grant_refused("unmap_grant_ref: the same handle twice", rc, st);

  if (auto s = g_gnttab.revoke(*ref); !s) {
    g::print("adversary: revoke after unmap failed (%d)\n", s.guest_value());
    return std::nullopt;
  }
  m = g::grant_map(self, *ref, &g_map_slot, false);
  grant_refused("map_grant_ref: after the grant was revoked", m.rc, m.status);
  if (m.ok()) (void)g::grant_unmap(m.handle, &g_map_slot);

  // Set up a live mapping for the final attack.
  ref = g_gnttab.grant(self, *frame, false);
  if (!ref) return std::nullopt;
  m = g::grant_map(self, *ref, &g_map_slot, false);
  if (!m.ok()) return std::nullopt;
  return m.handle;
}

}  // namespace

int guest_main(const x::StartInfo& si) {
  g::print("adversary: hostile PV guest starting\n");
  if (!g::start_info_magic_ok(si)) {
    g::print("adversary: FAILURE (bad start_info magic)\n");
    return 1;
  }
  const g::PhysMap p2m(si);
  page_table_attacks(si, p2m);
  foreign_frame_attacks();
  pointer_attacks();
  event_attacks();
  std::optional<x::GrantHandle> live;
  if (auto self = own_domid(si)) {
    live = grant_attacks(p2m, *self);
  } else {
    g::print("adversary: own domain id unknown (pass domid=<n>): skipping grant group\n");
  }
  if (live) {
    g::print("adversary: --- last: overwrite a live grant mapping (Xen kills the domain here) ---\n");
    auto other = p2m.virt_to_mfn(&g_scratch[3]);
    if (other) {
      hypercall_refused("update_va_mapping over a live grant mapping",
                        map_at(&g_map_slot, *other, true));
    }
  }
  g::print("adversary: %u attempts, %u refused, %u accepted\n", g_tally.attempts, g_tally.refused,
           g_tally.accepted);
  if (g_tally.accepted != 0) {
    g::print("adversary: FAILURE\n");
    return 1;
  }
  g::print("adversary: SUCCESS\n");
  return 0;
}
