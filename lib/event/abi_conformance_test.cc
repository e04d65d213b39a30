// ABI conformance: pvkit's event-channel definitions against Xen's public headers.
// Every size, field offset and constant the event area uses is compared here.
#include <cstddef>
#include <cstdint>

#include <gtest/gtest.h>

// The hypervisor's view: the latest interface version (a guest that names none gets the legacy
// one, where __HYPERVISOR_event_channel_op is the old compat number 16).
#define __XEN_TOOLS__ 1
extern "C" {
#include <xen/xen.h>
#include <xen/event_channel.h>
}

#include "pvkit/event/event_word.h"
#include "pvkit/event/shared_info_abi.h"
#include "pvkit/event/two_level.h"
#include "pvkit/event/xen_abi.h"

namespace pvkit::xen {
namespace {

#define EXPECT_SAME_LAYOUT(ours, theirs) \
  EXPECT_EQ(sizeof(ours), sizeof(theirs)); \
  EXPECT_EQ(alignof(ours), alignof(theirs))
#define EXPECT_SAME_OFFSET(ours, theirs, ofield, tfield) \
  EXPECT_EQ(offsetof(ours, ofield), offsetof(theirs, tfield)) << #ofield

TEST(EventAbiConformance, SubOpNumbers) {
  EXPECT_EQ(kEvtchnOpBindInterdomain, EVTCHNOP_bind_interdomain);
  EXPECT_EQ(kEvtchnOpBindVirq, EVTCHNOP_bind_virq);
  EXPECT_EQ(kEvtchnOpBindPirq, EVTCHNOP_bind_pirq);
  EXPECT_EQ(kEvtchnOpClose, EVTCHNOP_close);
  EXPECT_EQ(kEvtchnOpSend, EVTCHNOP_send);
  EXPECT_EQ(kEvtchnOpStatus, EVTCHNOP_status);
  EXPECT_EQ(kEvtchnOpAllocUnbound, EVTCHNOP_alloc_unbound);
  EXPECT_EQ(kEvtchnOpBindIpi, EVTCHNOP_bind_ipi);
  EXPECT_EQ(kEvtchnOpBindVcpu, EVTCHNOP_bind_vcpu);
  EXPECT_EQ(kEvtchnOpUnmask, EVTCHNOP_unmask);
  EXPECT_EQ(kEvtchnOpReset, EVTCHNOP_reset);
  EXPECT_EQ(kEvtchnOpInitControl, EVTCHNOP_init_control);
  EXPECT_EQ(kEvtchnOpExpandArray, EVTCHNOP_expand_array);
  EXPECT_EQ(kEvtchnOpSetPriority, EVTCHNOP_set_priority);
  EXPECT_EQ(kEvtchnOpResetCont, 14u);  // Xen-internal (#ifdef __XEN__) continuation
  EXPECT_EQ(32u, __HYPERVISOR_event_channel_op);
  EXPECT_EQ(sizeof(EvtchnPortRaw), sizeof(evtchn_port_t));
  EXPECT_EQ(sizeof(DomIdRaw), sizeof(domid_t));
}

TEST(EventAbiConformance, AllocUnbound) {
  EXPECT_SAME_LAYOUT(EvtchnAllocUnbound, evtchn_alloc_unbound_t);
  EXPECT_SAME_OFFSET(EvtchnAllocUnbound, evtchn_alloc_unbound_t, dom, dom);
  EXPECT_SAME_OFFSET(EvtchnAllocUnbound, evtchn_alloc_unbound_t, remote_dom, remote_dom);
  EXPECT_SAME_OFFSET(EvtchnAllocUnbound, evtchn_alloc_unbound_t, port, port);
}

TEST(EventAbiConformance, BindInterdomain) {
  EXPECT_SAME_LAYOUT(EvtchnBindInterdomain, evtchn_bind_interdomain_t);
  EXPECT_SAME_OFFSET(EvtchnBindInterdomain, evtchn_bind_interdomain_t, remote_dom, remote_dom);
  EXPECT_SAME_OFFSET(EvtchnBindInterdomain, evtchn_bind_interdomain_t, remote_port, remote_port);
  EXPECT_SAME_OFFSET(EvtchnBindInterdomain, evtchn_bind_interdomain_t, local_port, local_port);
}

TEST(EventAbiConformance, BindVirqPirqIpi) {
  EXPECT_SAME_LAYOUT(EvtchnBindVirq, evtchn_bind_virq_t);
  EXPECT_SAME_OFFSET(EvtchnBindVirq, evtchn_bind_virq_t, virq, virq);
  EXPECT_SAME_OFFSET(EvtchnBindVirq, evtchn_bind_virq_t, vcpu, vcpu);
  EXPECT_SAME_OFFSET(EvtchnBindVirq, evtchn_bind_virq_t, port, port);
  EXPECT_SAME_LAYOUT(EvtchnBindPirq, evtchn_bind_pirq_t);
  EXPECT_SAME_OFFSET(EvtchnBindPirq, evtchn_bind_pirq_t, pirq, pirq);
  EXPECT_SAME_OFFSET(EvtchnBindPirq, evtchn_bind_pirq_t, flags, flags);
  EXPECT_SAME_OFFSET(EvtchnBindPirq, evtchn_bind_pirq_t, port, port);
  EXPECT_EQ(kBindPirqWillShare, static_cast<std::uint32_t>(BIND_PIRQ__WILL_SHARE));
  EXPECT_SAME_LAYOUT(EvtchnBindIpi, evtchn_bind_ipi_t);
  EXPECT_SAME_OFFSET(EvtchnBindIpi, evtchn_bind_ipi_t, vcpu, vcpu);
  EXPECT_SAME_OFFSET(EvtchnBindIpi, evtchn_bind_ipi_t, port, port);
}

TEST(EventAbiConformance, OnePortStructs) {
  EXPECT_SAME_LAYOUT(EvtchnClose, evtchn_close_t);
  EXPECT_SAME_OFFSET(EvtchnClose, evtchn_close_t, port, port);
  EXPECT_SAME_LAYOUT(EvtchnSend, evtchn_send_t);
  EXPECT_SAME_OFFSET(EvtchnSend, evtchn_send_t, port, port);
  EXPECT_SAME_LAYOUT(EvtchnUnmask, evtchn_unmask_t);
  EXPECT_SAME_OFFSET(EvtchnUnmask, evtchn_unmask_t, port, port);
  EXPECT_SAME_LAYOUT(EvtchnBindVcpu, evtchn_bind_vcpu_t);
  EXPECT_SAME_OFFSET(EvtchnBindVcpu, evtchn_bind_vcpu_t, port, port);
  EXPECT_SAME_OFFSET(EvtchnBindVcpu, evtchn_bind_vcpu_t, vcpu, vcpu);
  EXPECT_SAME_LAYOUT(EvtchnReset, evtchn_reset_t);
  EXPECT_SAME_OFFSET(EvtchnReset, evtchn_reset_t, dom, dom);
  EXPECT_SAME_LAYOUT(EvtchnSetPriority, evtchn_set_priority_t);
  EXPECT_SAME_OFFSET(EvtchnSetPriority, evtchn_set_priority_t, port, port);
  EXPECT_SAME_OFFSET(EvtchnSetPriority, evtchn_set_priority_t, priority, priority);
  EXPECT_SAME_LAYOUT(EvtchnExpandArray, evtchn_expand_array_t);
  EXPECT_SAME_OFFSET(EvtchnExpandArray, evtchn_expand_array_t, array_gfn, array_gfn);
}

TEST(EventAbiConformance, Status) {
  EXPECT_SAME_LAYOUT(EvtchnStatus, evtchn_status_t);
  EXPECT_SAME_OFFSET(EvtchnStatus, evtchn_status_t, dom, dom);
  EXPECT_SAME_OFFSET(EvtchnStatus, evtchn_status_t, port, port);
  EXPECT_SAME_OFFSET(EvtchnStatus, evtchn_status_t, status, status);
  EXPECT_SAME_OFFSET(EvtchnStatus, evtchn_status_t, vcpu, vcpu);
  EXPECT_SAME_OFFSET(EvtchnStatus, evtchn_status_t, u, u);
  EXPECT_SAME_OFFSET(EvtchnStatus, evtchn_status_t, u.unbound.dom, u.unbound.dom);
  EXPECT_SAME_OFFSET(EvtchnStatus, evtchn_status_t, u.interdomain.dom, u.interdomain.dom);
  EXPECT_SAME_OFFSET(EvtchnStatus, evtchn_status_t, u.interdomain.port, u.interdomain.port);
  EXPECT_SAME_OFFSET(EvtchnStatus, evtchn_status_t, u.pirq, u.pirq);
  EXPECT_SAME_OFFSET(EvtchnStatus, evtchn_status_t, u.virq, u.virq);
  EXPECT_EQ(sizeof(EvtchnStatus{}.u), sizeof(evtchn_status_t{}.u));
  EXPECT_EQ(kEvtchnStatClosed, static_cast<std::uint32_t>(EVTCHNSTAT_closed));
  EXPECT_EQ(kEvtchnStatUnbound, static_cast<std::uint32_t>(EVTCHNSTAT_unbound));
  EXPECT_EQ(kEvtchnStatInterdomain, static_cast<std::uint32_t>(EVTCHNSTAT_interdomain));
  EXPECT_EQ(kEvtchnStatPirq, static_cast<std::uint32_t>(EVTCHNSTAT_pirq));
  EXPECT_EQ(kEvtchnStatVirq, static_cast<std::uint32_t>(EVTCHNSTAT_virq));
  EXPECT_EQ(kEvtchnStatIpi, static_cast<std::uint32_t>(EVTCHNSTAT_ipi));
}

TEST(EventAbiConformance, InitControl) {
  EXPECT_SAME_LAYOUT(EvtchnInitControl, evtchn_init_control_t);
  EXPECT_SAME_OFFSET(EvtchnInitControl, evtchn_init_control_t, control_gfn, control_gfn);
  EXPECT_SAME_OFFSET(EvtchnInitControl, evtchn_init_control_t, offset, offset);
  EXPECT_SAME_OFFSET(EvtchnInitControl, evtchn_init_control_t, vcpu, vcpu);
  EXPECT_SAME_OFFSET(EvtchnInitControl, evtchn_init_control_t, link_bits, link_bits);
  EXPECT_SAME_OFFSET(EvtchnInitControl, evtchn_init_control_t, pad, _pad);
}

TEST(EventAbiConformance, Virqs) {
  EXPECT_EQ(kVirqTimer, static_cast<std::uint32_t>(VIRQ_TIMER));
  EXPECT_EQ(kVirqDebug, static_cast<std::uint32_t>(VIRQ_DEBUG));
  EXPECT_EQ(kVirqConsole, static_cast<std::uint32_t>(VIRQ_CONSOLE));
  EXPECT_EQ(kVirqDomExc, static_cast<std::uint32_t>(VIRQ_DOM_EXC));
  EXPECT_EQ(kVirqTbuf, static_cast<std::uint32_t>(VIRQ_TBUF));
  EXPECT_EQ(kVirqDebugger, static_cast<std::uint32_t>(VIRQ_DEBUGGER));
  EXPECT_EQ(kVirqXenoprof, static_cast<std::uint32_t>(VIRQ_XENOPROF));
  EXPECT_EQ(kVirqConRing, static_cast<std::uint32_t>(VIRQ_CON_RING));
  EXPECT_EQ(kVirqPcpuState, static_cast<std::uint32_t>(VIRQ_PCPU_STATE));
  EXPECT_EQ(kVirqMemEvent, static_cast<std::uint32_t>(VIRQ_MEM_EVENT));
  EXPECT_EQ(kVirqArgo, static_cast<std::uint32_t>(VIRQ_ARGO));
  EXPECT_EQ(kVirqEnomem, static_cast<std::uint32_t>(VIRQ_ENOMEM));
  EXPECT_EQ(kVirqXenpmu, static_cast<std::uint32_t>(VIRQ_XENPMU));
  EXPECT_EQ(kVirqArch0, static_cast<std::uint32_t>(VIRQ_ARCH_0));
  EXPECT_EQ(kVirqArch7, static_cast<std::uint32_t>(VIRQ_ARCH_7));
  EXPECT_EQ(kNrVirqs, static_cast<std::uint32_t>(NR_VIRQS));
  // The per-vCPU ("V") VIRQs of xen.h's list; all others are global.
  EXPECT_FALSE(virq_is_global(VIRQ_TIMER));
  EXPECT_FALSE(virq_is_global(VIRQ_DEBUG));
  EXPECT_FALSE(virq_is_global(VIRQ_XENOPROF));
  EXPECT_FALSE(virq_is_global(VIRQ_XENPMU));
  EXPECT_TRUE(virq_is_global(VIRQ_CONSOLE));
  EXPECT_TRUE(virq_is_global(VIRQ_DOM_EXC));
}

TEST(EventAbiConformance, FifoConstantsAndControlBlock) {
  EXPECT_EQ(kEvtchnFifoPriorityMax, static_cast<std::uint32_t>(EVTCHN_FIFO_PRIORITY_MAX));
  EXPECT_EQ(kEvtchnFifoPriorityDefault, static_cast<std::uint32_t>(EVTCHN_FIFO_PRIORITY_DEFAULT));
  EXPECT_EQ(kEvtchnFifoPriorityMin, static_cast<std::uint32_t>(EVTCHN_FIFO_PRIORITY_MIN));
  EXPECT_EQ(kEvtchnFifoMaxQueues, static_cast<std::uint32_t>(EVTCHN_FIFO_MAX_QUEUES));
  EXPECT_EQ(kEvtchnFifoPendingBit, static_cast<unsigned>(EVTCHN_FIFO_PENDING));
  EXPECT_EQ(kEvtchnFifoMaskedBit, static_cast<unsigned>(EVTCHN_FIFO_MASKED));
  EXPECT_EQ(kEvtchnFifoLinkedBit, static_cast<unsigned>(EVTCHN_FIFO_LINKED));
  EXPECT_EQ(kEvtchnFifoBusyBit, static_cast<unsigned>(EVTCHN_FIFO_BUSY));
  EXPECT_EQ(kEvtchnFifoLinkBits, static_cast<unsigned>(EVTCHN_FIFO_LINK_BITS));
  EXPECT_EQ(kEvtchnFifoLinkMask, static_cast<std::uint32_t>(EVTCHN_FIFO_LINK_MASK));
  EXPECT_EQ(kEvtchnFifoNrChannels, static_cast<std::uint32_t>(EVTCHN_FIFO_NR_CHANNELS));
  EXPECT_EQ(sizeof(EventWordRaw), sizeof(event_word_t));
  EXPECT_EQ(kEvtchnFifoWordsPerPage * sizeof(event_word_t), 4096u);
  EXPECT_SAME_LAYOUT(EvtchnFifoControlBlock, evtchn_fifo_control_block_t);
  EXPECT_SAME_OFFSET(EvtchnFifoControlBlock, evtchn_fifo_control_block_t, ready, ready);
  EXPECT_SAME_OFFSET(EvtchnFifoControlBlock, evtchn_fifo_control_block_t, head, head);
  EXPECT_EQ(sizeof(EvtchnFifoControlBlock::head), sizeof(evtchn_fifo_control_block_t::head));
  // The named-field view uses exactly these bits.
  EXPECT_EQ(event::EventWord::kPending, 1u << EVTCHN_FIFO_PENDING);
  EXPECT_EQ(event::EventWord::kMasked, 1u << EVTCHN_FIFO_MASKED);
  EXPECT_EQ(event::EventWord::kLinked, 1u << EVTCHN_FIFO_LINKED);
  EXPECT_EQ(event::EventWord::kBusy, 1u << EVTCHN_FIFO_BUSY);
  EXPECT_EQ(event::EventWord::kLinkMask, static_cast<std::uint32_t>(EVTCHN_FIFO_LINK_MASK));
}

TEST(EventAbiConformance, TwoLevelSharedInfoAndVcpuInfo) {
  EXPECT_EQ(kEvtchn2lNrChannels, static_cast<std::uint32_t>(EVTCHN_2L_NR_CHANNELS));
  EXPECT_EQ(kLegacyMaxVcpus, static_cast<std::uint32_t>(XEN_LEGACY_MAX_VCPUS));
  EXPECT_SAME_LAYOUT(VcpuInfo, struct vcpu_info);
  EXPECT_SAME_OFFSET(VcpuInfo, struct vcpu_info, evtchn_upcall_pending, evtchn_upcall_pending);
  EXPECT_SAME_OFFSET(VcpuInfo, struct vcpu_info, evtchn_upcall_mask, evtchn_upcall_mask);
  EXPECT_SAME_OFFSET(VcpuInfo, struct vcpu_info, evtchn_pending_sel, evtchn_pending_sel);
  EXPECT_SAME_OFFSET(VcpuInfo, struct vcpu_info, arch, arch);
  EXPECT_SAME_OFFSET(VcpuInfo, struct vcpu_info, time, time);
  EXPECT_SAME_LAYOUT(VcpuTimeInfo, struct vcpu_time_info);
  EXPECT_SAME_OFFSET(VcpuTimeInfo, struct vcpu_time_info, version, version);
  EXPECT_SAME_OFFSET(VcpuTimeInfo, struct vcpu_time_info, tsc_timestamp, tsc_timestamp);
  EXPECT_SAME_OFFSET(VcpuTimeInfo, struct vcpu_time_info, system_time, system_time);
  EXPECT_SAME_OFFSET(VcpuTimeInfo, struct vcpu_time_info, tsc_to_system_mul, tsc_to_system_mul);
  EXPECT_SAME_OFFSET(VcpuTimeInfo, struct vcpu_time_info, tsc_shift, tsc_shift);
  EXPECT_SAME_LAYOUT(ArchVcpuInfo, struct arch_vcpu_info);
  EXPECT_SAME_OFFSET(ArchVcpuInfo, struct arch_vcpu_info, cr2, cr2);
  EXPECT_SAME_LAYOUT(SharedInfo, struct shared_info);
  EXPECT_SAME_OFFSET(SharedInfo, struct shared_info, vcpu_info, vcpu_info);
  EXPECT_SAME_OFFSET(SharedInfo, struct shared_info, evtchn_pending, evtchn_pending);
  EXPECT_SAME_OFFSET(SharedInfo, struct shared_info, evtchn_mask, evtchn_mask);
  EXPECT_SAME_OFFSET(SharedInfo, struct shared_info, wc_version, wc_version);
  EXPECT_SAME_OFFSET(SharedInfo, struct shared_info, wc_sec, wc_sec);
  EXPECT_SAME_OFFSET(SharedInfo, struct shared_info, wc_nsec, wc_nsec);
  EXPECT_SAME_OFFSET(SharedInfo, struct shared_info, wc_sec_hi, wc_sec_hi);
  EXPECT_SAME_OFFSET(SharedInfo, struct shared_info, arch, arch);
  EXPECT_SAME_LAYOUT(ArchSharedInfo, struct arch_shared_info);
  EXPECT_SAME_OFFSET(ArchSharedInfo, struct arch_shared_info, max_pfn, max_pfn);
  EXPECT_SAME_OFFSET(ArchSharedInfo, struct arch_shared_info, p2m_generation, p2m_generation);
  EXPECT_EQ(sizeof(SharedInfo::evtchn_pending), sizeof(shared_info_t::evtchn_pending));
  EXPECT_EQ(sizeof(SharedInfo::evtchn_mask), sizeof(shared_info_t::evtchn_mask));
  EXPECT_EQ(event::two_level_nr_ports<SharedInfo>(), EVTCHN_2L_NR_CHANNELS);
}

// Xen's public headers only describe the compat (32-bit guest) layout on i386 builds; these
// are the offsets its compat translation uses (vcpu_info 64 bytes, 32-bit selector at 4,
// 32 x u32 bitmaps after the 32 vcpu_info slots).
TEST(EventAbiConformance, CompatTwoLevelLayout) {
  EXPECT_EQ(sizeof(CompatVcpuInfo), 64u);
  EXPECT_EQ(offsetof(CompatVcpuInfo, evtchn_pending_sel), 4u);
  EXPECT_EQ(offsetof(CompatVcpuInfo, time), 32u);
  EXPECT_EQ(offsetof(CompatSharedInfo, evtchn_pending), 2048u);
  EXPECT_EQ(offsetof(CompatSharedInfo, evtchn_mask), 2176u);
  EXPECT_EQ(offsetof(CompatSharedInfo, wc_version), 2304u);
  EXPECT_EQ(event::two_level_nr_ports<CompatSharedInfo>(), 1024u);
}

}  // namespace
}  // namespace pvkit::xen
