// Model-based property test: random sequences of event-channel operations across three
// domains (one privileged, one switched to the FIFO ABI) are applied both to EventChannels and
// to a deliberately simple model. After every step the return code must match the model's
// prediction, and the status and pending state of every port of every domain must match it.
#include <array>
#include <cstdint>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "pvkit/event/event_channels.h"
#include "pvkit/event/event_testutil.h"

namespace pvkit::event {
namespace {

using testing::EventWorld;

constexpr std::uint32_t kNrVcpus = 2;
constexpr std::array<std::uint16_t, 3> kDoms{1, 2, 3};
constexpr std::uint16_t kPrivileged = 1;
constexpr std::uint16_t kFifoDom = 3;

struct MPort {
  ChannelState st = ChannelState::Free;
  std::uint16_t rdom = 0;
  std::uint32_t rport = 0;
  std::uint32_t vcpu = 0;
  std::uint32_t virq = 0;
  std::uint32_t virq_slot = 0;  // the vCPU whose VIRQ table holds this port
  bool pending = false;
};

struct MDom {
  std::uint32_t valid = 0;
  std::map<std::uint32_t, MPort> ports;  // an entry for every port < valid
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::uint32_t> virqs;  // (vcpu, virq) -> port

  MPort* find(std::uint32_t p) { return p < valid ? &ports[p] : nullptr; }
  /// What get_free_port hands out, allocating a bucket exactly like the real thing.
  std::uint32_t alloc() {
    for (std::uint32_t p = 1; p < valid; ++p) {
      if (ports[p].st == ChannelState::Free) return p;
    }
    const std::uint32_t first = valid == 0 ? 1 : valid;
    for (std::uint32_t p = valid; p < valid + kPortsPerBucket; ++p) ports[p] = MPort{};
    if (valid == 0) ports[0].st = ChannelState::Reserved;
    valid += kPortsPerBucket;
    return first;
  }
  void free(std::uint32_t p) {
    MPort& m = ports[p];
    if (m.st == ChannelState::Virq) virqs.erase({m.virq_slot, m.virq});
    m = MPort{};
  }
};

class ModelTest : public ::testing::TestWithParam<std::uint32_t> {
 protected:
  std::map<std::uint16_t, MDom> m;
  EventWorld w;
  std::mt19937 rng;
  std::string trace;
  int interdomain_binds = 0, interdomain_closes = 0, deliveries = 0, resets = 0;

  std::uint32_t pick(std::uint32_t n) { return rng() % n; }
  std::uint16_t pick_dom() { return kDoms[pick(3)]; }
  /// Mostly a bound port (that is where the interesting answers are), sometimes any number.
  std::uint32_t pick_port(std::uint16_t d) {
    if (pick(4) != 0) {
      std::vector<std::uint32_t> bound;
      for (auto& [p, mp] : m[d].ports) {
        if (mp.st != ChannelState::Free && mp.st != ChannelState::Reserved) bound.push_back(p);
      }
      if (!bound.empty()) return bound[pick(static_cast<std::uint32_t>(bound.size()))];
    }
    return pick(m[d].valid + 3);
  }

  void deliver(std::uint16_t d, std::uint32_t p) {
    m[d].ports[p].pending = true;
    ++deliveries;
  }

  // ---- one operation each: apply to both, compare the answer ----
  void op_alloc_unbound() {
    const std::uint16_t d = pick_dom();
    const bool other = pick(4) == 0;
    const std::uint16_t target = other ? pick_dom() : d;
    const std::uint16_t remote = pick(5) == 0 ? kDomidSelf.value() : pick_dom();
    auto r = w.ev->alloc_unbound(DomId{d}, other ? DomId{target} : kDomidSelf, DomId{remote});
    trace += " alloc_unbound";
    if (target != d && d != kPrivileged) {
      EXPECT_EQ(r.status().error(), Errno::Perm);
      return;
    }
    const std::uint32_t p = m[target].alloc();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->value(), p);
    MPort& mp = m[target].ports[p];
    mp.st = ChannelState::Unbound;
    mp.rdom = remote == kDomidSelf.value() ? d : remote;
  }
  void op_bind_interdomain() {
    const std::uint16_t d = pick_dom();
    const std::uint16_t rd = pick(5) == 0 ? d : pick_dom();
    std::uint32_t rp = pick_port(rd);
    if (pick(4) != 0) {  // mostly aim at a port that is waiting for us
      std::vector<std::uint32_t> waiting;
      for (auto& [p, mp] : m[rd].ports) {
        if (mp.st == ChannelState::Unbound && mp.rdom == d) waiting.push_back(p);
      }
      if (!waiting.empty()) rp = waiting[pick(static_cast<std::uint32_t>(waiting.size()))];
    }
    auto r = w.ev->bind_interdomain(DomId{d}, pick(2) ? DomId{rd} : (rd == d ? kDomidSelf : DomId{rd}),
                                    EvtchnPort{rp});
    trace += " bind_interdomain";
    const std::uint32_t lp = m[d].alloc();  // allocated before the remote check, as in Xen
    MPort* rm = m[rd].find(rp);
    if (rm == nullptr || rm->st != ChannelState::Unbound || rm->rdom != d) {
      EXPECT_EQ(r.status().error(), Errno::Inval);
      return;
    }
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->value(), lp);
    MPort& lm = m[d].ports[lp];
    lm.st = ChannelState::Interdomain;
    lm.rdom = rd;
    lm.rport = rp;
    rm->st = ChannelState::Interdomain;
    rm->rdom = d;
    rm->rport = lp;
    lm.pending = true;
    ++interdomain_binds;
  }
  void op_bind_ipi() {
    const std::uint16_t d = pick_dom();
    const std::uint32_t v = pick(kNrVcpus + 1);
    auto r = w.ev->bind_ipi(DomId{d}, VcpuId{v});
    trace += " bind_ipi";
    if (v >= kNrVcpus) {
      EXPECT_EQ(r.status().error(), Errno::NoEnt);
      return;
    }
    const std::uint32_t p = m[d].alloc();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->value(), p);
    m[d].ports[p].st = ChannelState::Ipi;
    m[d].ports[p].vcpu = v;
  }
  void op_bind_virq() {
    const std::uint16_t d = pick_dom();
    static constexpr std::uint32_t kVirqs[] = {xen::kVirqTimer, xen::kVirqDebug, xen::kVirqConsole,
                                               xen::kNrVirqs};
    const std::uint32_t virq = kVirqs[pick(4)];
    const std::uint32_t v = pick(kNrVcpus + 1);
    auto r = w.ev->bind_virq(DomId{d}, virq, VcpuId{v});
    trace += " bind_virq";
    if (virq >= xen::kNrVirqs || (xen::virq_is_global(virq) && v != 0)) {
      EXPECT_EQ(r.status().error(), Errno::Inval);
      return;
    }
    if (v >= kNrVcpus) {
      EXPECT_EQ(r.status().error(), Errno::NoEnt);
      return;
    }
    if (m[d].virqs.count({v, virq}) != 0) {
      EXPECT_EQ(r.status().error(), Errno::Exist);
      return;
    }
    const std::uint32_t p = m[d].alloc();
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->value(), p);
    MPort& mp = m[d].ports[p];
    mp.st = ChannelState::Virq;
    mp.virq = virq;
    mp.vcpu = v;
    mp.virq_slot = v;
    m[d].virqs[{v, virq}] = p;
  }
  void close_model(std::uint16_t d, std::uint32_t p) {
    MPort& mp = m[d].ports[p];
    if (mp.st == ChannelState::Interdomain) {
      ++interdomain_closes;
      MPort& peer = m[mp.rdom].ports[mp.rport];
      peer.st = ChannelState::Unbound;
      peer.rdom = d;
      peer.rport = 0;
    }
    m[d].free(p);
  }
  void op_close() {
    const std::uint16_t d = pick_dom();
    const std::uint32_t p = pick_port(d);
    Status s = w.ev->close(DomId{d}, EvtchnPort{p});
    trace += " close";
    MPort* mp = m[d].find(p);
    if (mp == nullptr || mp->st == ChannelState::Free || mp->st == ChannelState::Reserved) {
      EXPECT_EQ(s.error(), Errno::Inval);
      return;
    }
    EXPECT_TRUE(s);
    close_model(d, p);
  }
  void op_send() {
    const std::uint16_t d = pick_dom();
    const std::uint32_t p = pick_port(d);
    Status s = w.ev->send(DomId{d}, EvtchnPort{p});
    trace += " send";
    MPort* mp = m[d].find(p);
    if (mp == nullptr) {
      EXPECT_EQ(s.error(), Errno::Inval);
      return;
    }
    switch (mp->st) {
      case ChannelState::Interdomain:
        EXPECT_TRUE(s);
        deliver(mp->rdom, mp->rport);
        break;
      case ChannelState::Ipi:
        EXPECT_TRUE(s);
        deliver(d, p);
        break;
      case ChannelState::Unbound:
        EXPECT_TRUE(s);
        break;
      default:
        EXPECT_EQ(s.error(), Errno::Inval);
    }
  }
  void op_bind_vcpu() {
    const std::uint16_t d = pick_dom();
    const std::uint32_t p = pick_port(d);
    const std::uint32_t v = pick(kNrVcpus + 1);
    Status s = w.ev->bind_vcpu(DomId{d}, EvtchnPort{p}, VcpuId{v});
    trace += " bind_vcpu";
    if (v >= kNrVcpus) {
      EXPECT_EQ(s.error(), Errno::NoEnt);
      return;
    }
    MPort* mp = m[d].find(p);
    const bool ok = mp != nullptr && (mp->st == ChannelState::Unbound ||
                                      mp->st == ChannelState::Interdomain ||
                                      (mp->st == ChannelState::Virq && xen::virq_is_global(mp->virq)));
    if (!ok) {
      EXPECT_EQ(s.error(), Errno::Inval);
      return;
    }
    EXPECT_TRUE(s);
    mp->vcpu = v;
  }
  void op_unmask() {
    const std::uint16_t d = pick_dom();
    const std::uint32_t p = pick_port(d);
    Status s = w.ev->unmask(DomId{d}, EvtchnPort{p});
    trace += " unmask";
    if (m[d].find(p) == nullptr) {
      EXPECT_EQ(s.error(), Errno::Inval);
    } else {
      EXPECT_TRUE(s);
    }
  }
  void op_reset() {
    const std::uint16_t d = pick_dom();
    const bool other = pick(3) == 0;
    const std::uint16_t target = other ? pick_dom() : d;
    trace += " reset";
    Status s = w.ev->reset(DomId{d}, other ? DomId{target} : kDomidSelf, false);
    if (target != d && d != kPrivileged) {
      EXPECT_EQ(s.error(), Errno::Perm);
      return;
    }
    while (s.is_restart()) s = w.ev->reset(DomId{d}, other ? DomId{target} : kDomidSelf, true);
    EXPECT_TRUE(s);
    ++resets;
    for (std::uint32_t p = 1; p < m[target].valid; ++p) {
      const ChannelState st = m[target].ports[p].st;
      if (st != ChannelState::Free) close_model(target, p);
    }
  }
  void op_raise_virq() {
    const std::uint16_t d = pick_dom();
    const std::uint32_t v = pick(kNrVcpus);
    static constexpr std::uint32_t kVirqs[] = {xen::kVirqTimer, xen::kVirqDebug, xen::kVirqConsole};
    const std::uint32_t virq = kVirqs[pick(3)];
    w.ev->raise_virq(DomId{d}, VcpuId{v}, virq);
    trace += " raise_virq";
    const std::uint32_t slot = xen::virq_is_global(virq) ? 0 : v;
    auto it = m[d].virqs.find({slot, virq});
    if (it != m[d].virqs.end()) deliver(d, it->second);
  }
  void op_guest_clears_pending() {
    const std::uint16_t d = pick_dom();
    const std::uint32_t p = pick(m[d].valid == 0 ? 1 : m[d].valid);
    trace += " guest_clear";
    if (m[d].valid == 0) return;
    if (w.ev->abi(DomId{d}) == EventAbi::Fifo) {
      guest_fetch_and(&w.event_word(DomId{d}, p),
                      ~((1u << xen::kEvtchnFifoPendingBit) | (1u << xen::kEvtchnFifoLinkedBit)));
    } else {
      guest_fetch_and(&w.si(DomId{d})->evtchn_pending[p / 64], ~(std::uint64_t{1} << (p % 64)));
    }
    m[d].ports[p].pending = false;
  }

  void check_everything() {
    for (std::uint16_t d : kDoms) {
      ASSERT_EQ(w.ev->valid_ports(DomId{d}), m[d].valid) << "dom " << d;
      for (std::uint32_t p = 0; p < m[d].valid + 2; ++p) {
        auto s = w.ev->status(DomId{d}, kDomidSelf, EvtchnPort{p});
        MPort* mp = m[d].find(p);
        if (mp == nullptr) {
          ASSERT_EQ(s.status().error(), Errno::Inval);
          continue;
        }
        ASSERT_TRUE(s.ok());
        const std::string where = "dom " + std::to_string(d) + " port " + std::to_string(p);
        switch (mp->st) {
          case ChannelState::Free:
          case ChannelState::Reserved:
            ASSERT_EQ(s->status, xen::kEvtchnStatClosed) << where;
            break;
          case ChannelState::Unbound:
            ASSERT_EQ(s->status, xen::kEvtchnStatUnbound) << where;
            ASSERT_EQ(s->u.unbound.dom, mp->rdom) << where;
            break;
          case ChannelState::Interdomain:
            ASSERT_EQ(s->status, xen::kEvtchnStatInterdomain) << where;
            ASSERT_EQ(s->u.interdomain.dom, mp->rdom) << where;
            ASSERT_EQ(s->u.interdomain.port, mp->rport) << where;
            break;
          case ChannelState::Virq:
            ASSERT_EQ(s->status, xen::kEvtchnStatVirq) << where;
            ASSERT_EQ(s->u.virq, mp->virq) << where;
            break;
          case ChannelState::Ipi:
            ASSERT_EQ(s->status, xen::kEvtchnStatIpi) << where;
            break;
          case ChannelState::Pirq:
            FAIL() << "no pirqs in this model";
        }
        if (mp->st != ChannelState::Free && mp->st != ChannelState::Reserved) {
          ASSERT_EQ(s->vcpu, mp->vcpu) << where;
        }
        ASSERT_EQ(w.ev->is_pending(DomId{d}, EvtchnPort{p}), mp->pending) << where;
      }
    }
  }
};

TEST_P(ModelTest, RandomOperationSequencesMatchTheModel) {
  rng.seed(GetParam());
  for (std::uint16_t d : kDoms) {
    w.create_ok(DomId{d}, {.nr_vcpus = kNrVcpus, .privileged = d == kPrivileged});
    m[d] = MDom{};
  }
  w.make_fifo(DomId{kFifoDom}, kNrVcpus, 1);
  for (int step = 0; step < 400; ++step) {
    switch (pick(12)) {
      case 0: op_alloc_unbound(); break;
      case 1: op_bind_interdomain(); break;
      case 2: op_bind_interdomain(); break;
      case 3: op_bind_ipi(); break;
      case 4: op_bind_virq(); break;
      case 5: op_close(); break;
      case 6: op_send(); break;
      case 7: op_bind_vcpu(); break;
      case 8: op_unmask(); break;
      case 9: pick(10) == 0 ? op_reset() : op_send(); break;
      case 10: op_raise_virq(); break;
      case 11: op_guest_clears_pending(); break;
    }
    check_everything();
    if (HasFailure()) {
      ADD_FAILURE() << "seed " << GetParam() << " step " << step << " ops:" << trace;
      return;
    }
    if (trace.size() > 400) trace.erase(0, trace.size() - 400);
  }
  // The sequence really exercised the interesting paths (the model is not vacuous).
  EXPECT_GT(interdomain_binds, 5);
  EXPECT_GT(interdomain_closes, 2);
  EXPECT_GT(deliveries, 20);
}

INSTANTIATE_TEST_SUITE_P(Seeds, ModelTest, ::testing::Values(1u, 2u, 42u, 1234u));

}  // namespace
}  // namespace pvkit::event
