// pvkit/guest/event_dispatch.h — the guest side of the 2-level event-channel ABI: per-port
// handlers and the scan the event upcall runs.
//
// What it is: `EventDispatcher<NrPorts>` keeps a handler (function pointer + argument) per
// port and, on each upcall, does what a PV kernel must: clear vcpu_info.upcall_pending, take
// pending_sel with an atomic exchange, and for every selected word take the bits that are
// pending and not masked, clear each pending bit atomically *before* calling the port's
// handler (so an event arriving during the handler is not lost), and repeat while the
// hypervisor set upcall_pending again. Ports without a handler are counted as unhandled and
// acknowledged. No hypercalls: host tests drive it over a fake shared_info.
//
// How to use it:
//   constinit EventDispatcher<1024> ev;
//   if (auto s = ev.bind(port, &on_ring_event, &state); !s) ...
//   ev.dispatch(*shared_info, shared_info->vcpu_info[0]);   // from the upcall (events masked)
//
// Concurrency: bind/unbind with events masked on the vCPU that dispatches (one vCPU; the
// handler table is not locked). The shared_info fields are accessed only with atomic
// operations, because the hypervisor sets bits concurrently.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

#include "pvkit/base/status.h"
#include "pvkit/guest/xen_event_abi.h"
#include "pvkit/guest/xen_shared_info_abi.h"

namespace pvkit::guest {

/// Upcall handler: called with events masked, after the port's pending bit was cleared.
using EventHandler = void (*)(xen::EvtchnPort port, void* arg);

/// Per-port handlers for event upcalls, for ports 0 .. NrPorts-1.
template <std::size_t NrPorts>
class EventDispatcher {
  static_assert(NrPorts > 0 && NrPorts <= xen::kEvtchn2LevelPorts,
                "the 2-level ABI has 4096 ports on a 64-bit guest");

 public:
  constexpr EventDispatcher() = default;

  /// Installs `fn(port, arg)` for `port`. Errno::Inval for port 0, a port beyond NrPorts or a
  /// null handler; Errno::Busy if the port already has one.
  [[nodiscard]] Status bind(xen::EvtchnPort port, EventHandler fn, void* arg) {
    if (port == 0 || port >= NrPorts || fn == nullptr) return Errno::Inval;
    if (slots_[port].fn != nullptr) return Errno::Busy;
    slots_[port] = Slot{fn, arg};
    return Status::ok();
  }
  /// Removes the handler of `port` (no-op if none).
  void unbind(xen::EvtchnPort port) {
    if (port < NrPorts) slots_[port] = Slot{};
  }
  /// True if a handler is bound to `port`.
  [[nodiscard]] bool bound(xen::EvtchnPort port) const {
    return port < NrPorts && slots_[port].fn != nullptr;
  }

  /// One upcall's worth of work; returns how many events were delivered to handlers.
  std::uint64_t dispatch(xen::SharedInfo& s, xen::VcpuInfo& v) {
    std::uint64_t handled = 0;
    do {
      __atomic_store_n(&v.evtchn_upcall_pending, std::uint8_t{0}, __ATOMIC_SEQ_CST);
      std::uint64_t sel = __atomic_exchange_n(&v.evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
      while (sel != 0) {
        const unsigned w = static_cast<unsigned>(std::countr_zero(sel));
        sel &= sel - 1;
        handled += scan_word(s, w);
      }
    } while (__atomic_load_n(&v.evtchn_upcall_pending, __ATOMIC_SEQ_CST) != 0);
    ++upcalls_;
    return handled;
  }

  /// Events delivered to a port without a handler (acknowledged and dropped).
  [[nodiscard]] std::uint64_t unhandled() const { return unhandled_; }
  /// Calls of dispatch().
  [[nodiscard]] std::uint64_t upcalls() const { return upcalls_; }

 private:
  struct Slot {
    EventHandler fn = nullptr;
    void* arg = nullptr;
  };

  std::uint64_t scan_word(xen::SharedInfo& s, unsigned w) {
    std::uint64_t handled = 0;
    for (;;) {
      const std::uint64_t ready = __atomic_load_n(&s.evtchn_pending[w], __ATOMIC_SEQ_CST) &
                                  ~__atomic_load_n(&s.evtchn_mask[w], __ATOMIC_SEQ_CST);
      if (ready == 0) return handled;
      const unsigned b = static_cast<unsigned>(std::countr_zero(ready));
      const std::uint64_t bit = std::uint64_t{1} << b;
      __atomic_fetch_and(&s.evtchn_pending[w], ~bit, __ATOMIC_SEQ_CST);  // ack first
      const std::size_t port = std::size_t{w} * xen::kEvtchnBitsPerWord + b;
      if (port < NrPorts && slots_[port].fn != nullptr) {
        slots_[port].fn(static_cast<xen::EvtchnPort>(port), slots_[port].arg);
        ++handled;
      } else {
        ++unhandled_;
      }
    }
  }

  std::array<Slot, NrPorts> slots_{};
  std::uint64_t unhandled_ = 0;
  std::uint64_t upcalls_ = 0;
};

/// Sets the mask bit of `port` in shared_info (the guest owns the mask bitmap).
inline void mask_port(xen::SharedInfo& s, xen::EvtchnPort port) {
  if (port >= xen::kEvtchn2LevelPorts) return;
  __atomic_fetch_or(&s.evtchn_mask[port / xen::kEvtchnBitsPerWord],
                    std::uint64_t{1} << (port % xen::kEvtchnBitsPerWord), __ATOMIC_SEQ_CST);
}

}  // namespace pvkit::guest
