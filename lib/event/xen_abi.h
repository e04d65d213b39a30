// pvkit/event/xen_abi.h — Xen's event-channel ABI (public/event_channel.h, xen.h VIRQs).
//
// What it is: pvkit's own definitions, with named fields, of every EVTCHNOP_* sub-op number,
// argument struct, EVTCHNSTAT_* value, VIRQ number and FIFO-ABI constant/layout that the
// event-channel area uses (namespace pvkit::xen). lib/ never includes Xen's headers; the host
// test //lib/event:abi_conformance_test checks every size, offset and value against them.
//
// How to use it: the EventChannelOp handler copies one of these structs in with a GuestHandle,
// validates the copy and copies it (fully initialised) back.
//
// Concurrency: constants and plain value types only.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pvkit::xen {

// ---- EVTCHNOP_* sub-op numbers (HYPERVISOR_event_channel_op's `cmd`) ----
inline constexpr std::uint32_t kEvtchnOpBindInterdomain = 0;
inline constexpr std::uint32_t kEvtchnOpBindVirq = 1;
inline constexpr std::uint32_t kEvtchnOpBindPirq = 2;
inline constexpr std::uint32_t kEvtchnOpClose = 3;
inline constexpr std::uint32_t kEvtchnOpSend = 4;
inline constexpr std::uint32_t kEvtchnOpStatus = 5;
inline constexpr std::uint32_t kEvtchnOpAllocUnbound = 6;
inline constexpr std::uint32_t kEvtchnOpBindIpi = 7;
inline constexpr std::uint32_t kEvtchnOpBindVcpu = 8;
inline constexpr std::uint32_t kEvtchnOpUnmask = 9;
inline constexpr std::uint32_t kEvtchnOpReset = 10;
inline constexpr std::uint32_t kEvtchnOpInitControl = 11;
inline constexpr std::uint32_t kEvtchnOpExpandArray = 12;
inline constexpr std::uint32_t kEvtchnOpSetPriority = 13;
/// Xen-internal (`#ifdef __XEN__`): the continuation of a preempted EVTCHNOP_reset.
inline constexpr std::uint32_t kEvtchnOpResetCont = 14;

/// evtchn_port_t.
using EvtchnPortRaw = std::uint32_t;
/// domid_t.
using DomIdRaw = std::uint16_t;

/// evtchn_alloc_unbound_t.
struct EvtchnAllocUnbound {
  DomIdRaw dom;         ///< IN: domain to allocate in (DOMID_SELF or, privileged, another)
  DomIdRaw remote_dom;  ///< IN: domain allowed to bind (may be DOMID_SELF)
  EvtchnPortRaw port;   ///< OUT
};

/// evtchn_bind_interdomain_t.
struct EvtchnBindInterdomain {
  DomIdRaw remote_dom;         ///< IN
  EvtchnPortRaw remote_port;   ///< IN
  EvtchnPortRaw local_port;    ///< OUT
};

/// evtchn_bind_virq_t.
struct EvtchnBindVirq {
  std::uint32_t virq;  ///< IN: VIRQ_*
  std::uint32_t vcpu;  ///< IN
  EvtchnPortRaw port;  ///< OUT
};

/// evtchn_bind_pirq_t.
struct EvtchnBindPirq {
  std::uint32_t pirq;   ///< IN
  std::uint32_t flags;  ///< IN: BIND_PIRQ__*
  EvtchnPortRaw port;   ///< OUT
};
inline constexpr std::uint32_t kBindPirqWillShare = 1;

/// evtchn_bind_ipi_t.
struct EvtchnBindIpi {
  std::uint32_t vcpu;  ///< IN
  EvtchnPortRaw port;  ///< OUT
};

/// evtchn_close_t, evtchn_send_t, evtchn_unmask_t: one IN port.
struct EvtchnClose {
  EvtchnPortRaw port;
};
/// evtchn_send_t.
struct EvtchnSend {
  EvtchnPortRaw port;
};
/// evtchn_unmask_t.
struct EvtchnUnmask {
  EvtchnPortRaw port;
};

/// EVTCHNSTAT_* values of evtchn_status_t::status.
inline constexpr std::uint32_t kEvtchnStatClosed = 0;
inline constexpr std::uint32_t kEvtchnStatUnbound = 1;
inline constexpr std::uint32_t kEvtchnStatInterdomain = 2;
inline constexpr std::uint32_t kEvtchnStatPirq = 3;
inline constexpr std::uint32_t kEvtchnStatVirq = 4;
inline constexpr std::uint32_t kEvtchnStatIpi = 5;

/// evtchn_status_t.
struct EvtchnStatus {
  DomIdRaw dom;        ///< IN (DOMID_SELF allowed)
  EvtchnPortRaw port;  ///< IN
  std::uint32_t status;  ///< OUT: EVTCHNSTAT_*
  std::uint32_t vcpu;    ///< OUT: vCPU the channel notifies
  union {
    struct {
      DomIdRaw dom;
    } unbound;  ///< EVTCHNSTAT_unbound
    struct {
      DomIdRaw dom;
      EvtchnPortRaw port;
    } interdomain;       ///< EVTCHNSTAT_interdomain
    std::uint32_t pirq;  ///< EVTCHNSTAT_pirq
    std::uint32_t virq;  ///< EVTCHNSTAT_virq
  } u;
};

/// evtchn_bind_vcpu_t.
struct EvtchnBindVcpu {
  EvtchnPortRaw port;
  std::uint32_t vcpu;
};

/// evtchn_reset_t.
struct EvtchnReset {
  DomIdRaw dom;
};

/// evtchn_init_control_t.
struct EvtchnInitControl {
  std::uint64_t control_gfn;  ///< IN: guest frame holding the control block
  std::uint32_t offset;       ///< IN: byte offset of the control block in that frame
  std::uint32_t vcpu;         ///< IN
  std::uint8_t link_bits;     ///< OUT: EVTCHN_FIFO_LINK_BITS
  std::uint8_t pad[7];
};

/// evtchn_expand_array_t.
struct EvtchnExpandArray {
  std::uint64_t array_gfn;  ///< IN: guest frame to add to the event array
};

/// evtchn_set_priority_t.
struct EvtchnSetPriority {
  EvtchnPortRaw port;
  std::uint32_t priority;
};

// ---- VIRQs (xen.h). "V" = per-vCPU, "G" = global. ----
inline constexpr std::uint32_t kVirqTimer = 0;       // V
inline constexpr std::uint32_t kVirqDebug = 1;       // V
inline constexpr std::uint32_t kVirqConsole = 2;     // G
inline constexpr std::uint32_t kVirqDomExc = 3;      // G
inline constexpr std::uint32_t kVirqTbuf = 4;        // G
inline constexpr std::uint32_t kVirqDebugger = 6;    // G
inline constexpr std::uint32_t kVirqXenoprof = 7;    // V
inline constexpr std::uint32_t kVirqConRing = 8;     // G
inline constexpr std::uint32_t kVirqPcpuState = 9;   // G
inline constexpr std::uint32_t kVirqMemEvent = 10;   // G
inline constexpr std::uint32_t kVirqArgo = 11;       // G
inline constexpr std::uint32_t kVirqEnomem = 12;     // G
inline constexpr std::uint32_t kVirqXenpmu = 13;     // V
inline constexpr std::uint32_t kVirqArch0 = 16;      // G (x86: VIRQ_MCA)
inline constexpr std::uint32_t kVirqArch7 = 23;
inline constexpr std::uint32_t kNrVirqs = 24;

/// Whether a VIRQ is global (bound on vCPU 0, re-bindable) rather than per-vCPU.
constexpr bool virq_is_global(std::uint32_t virq) {
  switch (virq) {
    case kVirqTimer:
    case kVirqDebug:
    case kVirqXenoprof:
    case kVirqXenpmu:
      return false;
    default:
      return true;  // every other VIRQ, including the architectural ones, is global
  }
}

// ---- 2-level ABI ----
/// EVTCHN_2L_NR_CHANNELS for a 64-bit guest (64 words of 64 bits).
inline constexpr std::uint32_t kEvtchn2lNrChannels = 4096;
/// The same for a 32-bit (compat) guest: 32 words of 32 bits.
inline constexpr std::uint32_t kEvtchn2lNrChannelsCompat = 1024;

// ---- FIFO ABI ----
inline constexpr std::uint32_t kEvtchnFifoPriorityMax = 0;
inline constexpr std::uint32_t kEvtchnFifoPriorityDefault = 7;
inline constexpr std::uint32_t kEvtchnFifoPriorityMin = 15;
inline constexpr std::uint32_t kEvtchnFifoMaxQueues = kEvtchnFifoPriorityMin + 1;
inline constexpr unsigned kEvtchnFifoPendingBit = 31;
inline constexpr unsigned kEvtchnFifoMaskedBit = 30;
inline constexpr unsigned kEvtchnFifoLinkedBit = 29;
inline constexpr unsigned kEvtchnFifoBusyBit = 28;
inline constexpr unsigned kEvtchnFifoLinkBits = 17;
inline constexpr std::uint32_t kEvtchnFifoLinkMask = (1u << kEvtchnFifoLinkBits) - 1;
inline constexpr std::uint32_t kEvtchnFifoNrChannels = 1u << kEvtchnFifoLinkBits;
/// event_word_t count per event-array page, and the most pages an array can have.
inline constexpr std::uint32_t kEvtchnFifoWordsPerPage = 4096 / sizeof(std::uint32_t);
inline constexpr std::uint32_t kEvtchnFifoMaxArrayPages =
    kEvtchnFifoNrChannels / kEvtchnFifoWordsPerPage;

/// event_word_t.
using EventWordRaw = std::uint32_t;

/// evtchn_fifo_control_block_t (guest-owned; the hypervisor writes READY bits and heads).
struct EvtchnFifoControlBlock {
  std::uint32_t ready;  ///< bit q set: queue q has events
  std::uint32_t rsvd;
  std::uint32_t head[kEvtchnFifoMaxQueues];  ///< first port of each priority queue
};

static_assert(sizeof(EvtchnAllocUnbound) == 8);
static_assert(sizeof(EvtchnBindInterdomain) == 12);
static_assert(sizeof(EvtchnStatus) == 24);
static_assert(sizeof(EvtchnInitControl) == 24);
static_assert(sizeof(EvtchnFifoControlBlock) == 72);

}  // namespace pvkit::xen
