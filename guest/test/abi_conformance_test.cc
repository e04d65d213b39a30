// The guest library's own Xen ABI definitions against Xen's public headers (/usr/include/xen):
// every size, field offset and constant a pvkit guest kernel relies on.
#include <cstddef>
#include <cstdint>
#include <cstring>

// The current ABI (sched_op 29 and event_channel_op 32 rather than their _compat numbers),
// which is the one a new guest kernel is written against.
#define __XEN_INTERFACE_VERSION__ __XEN_LATEST_INTERFACE_VERSION__
extern "C" {
#include <xen/xen.h>
#include <xen/callback.h>
#include <xen/elfnote.h>
#include <xen/event_channel.h>
#include <xen/grant_table.h>
#include <xen/sched.h>
#include <xen/vcpu.h>
#include <xen/version.h>
#include <xen/io/ring.h>
}

#include <gtest/gtest.h>

#include "pvkit/guest/layout.h"
#include "pvkit/guest/xen_boot_abi.h"
#include "pvkit/guest/xen_event_abi.h"
#include "pvkit/guest/xen_grant_abi.h"
#include "pvkit/guest/xen_hypercall_abi.h"
#include "pvkit/guest/xen_mm_abi.h"
#include "pvkit/guest/xen_shared_info_abi.h"

namespace x = pvkit::guest::xen;

#define EXPECT_SAME_LAYOUT(Ours, Theirs) EXPECT_EQ(sizeof(Ours), sizeof(Theirs))
#define EXPECT_SAME_FIELD(Ours, of, Theirs, tf)                 \
  do {                                                          \
    EXPECT_EQ(offsetof(Ours, of), offsetof(Theirs, tf)) << #of; \
    EXPECT_EQ(sizeof(Ours::of), sizeof(Theirs::tf)) << #of;     \
  } while (0)

TEST(GuestAbi, HypercallNumbers) {
  EXPECT_EQ(x::hc::kMmuUpdate, unsigned{__HYPERVISOR_mmu_update});
  EXPECT_EQ(x::hc::kSetCallbacks, unsigned{__HYPERVISOR_set_callbacks});
  EXPECT_EQ(x::hc::kMemoryOp, unsigned{__HYPERVISOR_memory_op});
  EXPECT_EQ(x::hc::kMulticall, unsigned{__HYPERVISOR_multicall});
  EXPECT_EQ(x::hc::kUpdateVaMapping, unsigned{__HYPERVISOR_update_va_mapping});
  EXPECT_EQ(x::hc::kXenVersion, unsigned{__HYPERVISOR_xen_version});
  EXPECT_EQ(x::hc::kConsoleIo, unsigned{__HYPERVISOR_console_io});
  EXPECT_EQ(x::hc::kGrantTableOp, unsigned{__HYPERVISOR_grant_table_op});
  EXPECT_EQ(x::hc::kVmAssist, unsigned{__HYPERVISOR_vm_assist});
  EXPECT_EQ(x::hc::kIret, unsigned{__HYPERVISOR_iret});
  EXPECT_EQ(x::hc::kVcpuOp, unsigned{__HYPERVISOR_vcpu_op});
  EXPECT_EQ(x::hc::kMmuextOp, unsigned{__HYPERVISOR_mmuext_op});
  EXPECT_EQ(x::hc::kSchedOp, unsigned{__HYPERVISOR_sched_op});
  EXPECT_EQ(x::hc::kCallbackOp, unsigned{__HYPERVISOR_callback_op});
  EXPECT_EQ(x::hc::kEventChannelOp, unsigned{__HYPERVISOR_event_channel_op});
  EXPECT_EQ(x::kDomIdSelf, DOMID_SELF);
}

TEST(GuestAbi, ConsoleVersionSched) {
  EXPECT_EQ(x::kConsoleIoWrite, unsigned{CONSOLEIO_write});
  EXPECT_EQ(x::kConsoleIoRead, unsigned{CONSOLEIO_read});
  EXPECT_EQ(x::kXenVerVersion, unsigned{XENVER_version});
  EXPECT_EQ(x::kXenVerExtraversion, unsigned{XENVER_extraversion});
  EXPECT_EQ(x::kXenVerGetFeatures, unsigned{XENVER_get_features});
  EXPECT_EQ(x::kXenVerPagesize, unsigned{XENVER_pagesize});
  EXPECT_EQ(x::kXenExtraversionLen, sizeof(xen_extraversion_t));
  EXPECT_SAME_LAYOUT(x::FeatureInfo, xen_feature_info_t);
  EXPECT_SAME_FIELD(x::FeatureInfo, submap_idx, xen_feature_info_t, submap_idx);
  EXPECT_SAME_FIELD(x::FeatureInfo, submap, xen_feature_info_t, submap);
  EXPECT_EQ(x::kSchedOpYield, unsigned{SCHEDOP_yield});
  EXPECT_EQ(x::kSchedOpBlock, unsigned{SCHEDOP_block});
  EXPECT_EQ(x::kSchedOpShutdown, unsigned{SCHEDOP_shutdown});
  EXPECT_EQ(x::kSchedOpPoll, unsigned{SCHEDOP_poll});
  EXPECT_EQ(x::kShutdownPoweroff, unsigned{SHUTDOWN_poweroff});
  EXPECT_EQ(x::kShutdownReboot, unsigned{SHUTDOWN_reboot});
  EXPECT_EQ(x::kShutdownSuspend, unsigned{SHUTDOWN_suspend});
  EXPECT_EQ(x::kShutdownCrash, unsigned{SHUTDOWN_crash});
  EXPECT_EQ(x::kShutdownWatchdog, unsigned{SHUTDOWN_watchdog});
  EXPECT_SAME_LAYOUT(x::SchedShutdown, sched_shutdown_t);
  EXPECT_SAME_FIELD(x::SchedShutdown, reason, sched_shutdown_t, reason);
}

TEST(GuestAbi, CallbacksVcpuIretMulticall) {
  EXPECT_EQ(x::kCallbackTypeEvent, CALLBACKTYPE_event);
  EXPECT_EQ(x::kCallbackTypeFailsafe, CALLBACKTYPE_failsafe);
  EXPECT_EQ(x::kCallbackTypeSyscall, CALLBACKTYPE_syscall);
  EXPECT_EQ(x::kCallbackTypeNmi, CALLBACKTYPE_nmi);
  EXPECT_EQ(x::kCallbackFlagMaskEvents, CALLBACKF_mask_events);
  EXPECT_EQ(x::kCallbackOpRegister, unsigned{CALLBACKOP_register});
  EXPECT_EQ(x::kCallbackOpUnregister, unsigned{CALLBACKOP_unregister});
  EXPECT_SAME_LAYOUT(x::CallbackRegister, callback_register_t);
  EXPECT_SAME_FIELD(x::CallbackRegister, type, callback_register_t, type);
  EXPECT_SAME_FIELD(x::CallbackRegister, flags, callback_register_t, flags);
  EXPECT_SAME_FIELD(x::CallbackRegister, address, callback_register_t, address);
  EXPECT_SAME_LAYOUT(x::CallbackUnregister, callback_unregister_t);
  EXPECT_SAME_FIELD(x::CallbackUnregister, type, callback_unregister_t, type);

  EXPECT_EQ(x::kVcpuOpUp, unsigned{VCPUOP_up});
  EXPECT_EQ(x::kVcpuOpDown, unsigned{VCPUOP_down});
  EXPECT_EQ(x::kVcpuOpIsUp, unsigned{VCPUOP_is_up});
  EXPECT_EQ(x::kVcpuOpRegisterVcpuInfo, unsigned{VCPUOP_register_vcpu_info});
  using RV = vcpu_register_vcpu_info_t;
  EXPECT_SAME_LAYOUT(x::VcpuRegisterVcpuInfo, RV);
  EXPECT_SAME_FIELD(x::VcpuRegisterVcpuInfo, mfn, RV, mfn);
  EXPECT_SAME_FIELD(x::VcpuRegisterVcpuInfo, offset, RV, offset);

  EXPECT_EQ(x::kVgcfInSyscall, std::uint64_t{VGCF_in_syscall});
  using Iret = struct iret_context;
  EXPECT_SAME_LAYOUT(x::IretContext, Iret);
  EXPECT_SAME_FIELD(x::IretContext, rax, Iret, rax);
  EXPECT_SAME_FIELD(x::IretContext, r11, Iret, r11);
  EXPECT_SAME_FIELD(x::IretContext, rcx, Iret, rcx);
  EXPECT_SAME_FIELD(x::IretContext, flags, Iret, flags);
  EXPECT_SAME_FIELD(x::IretContext, rip, Iret, rip);
  EXPECT_SAME_FIELD(x::IretContext, cs, Iret, cs);
  EXPECT_SAME_FIELD(x::IretContext, rflags, Iret, rflags);
  EXPECT_SAME_FIELD(x::IretContext, rsp, Iret, rsp);
  EXPECT_SAME_FIELD(x::IretContext, ss, Iret, ss);

  EXPECT_SAME_LAYOUT(x::MulticallEntry, multicall_entry_t);
  EXPECT_SAME_FIELD(x::MulticallEntry, op, multicall_entry_t, op);
  EXPECT_SAME_FIELD(x::MulticallEntry, result, multicall_entry_t, result);
  EXPECT_SAME_FIELD(x::MulticallEntry, args, multicall_entry_t, args);
}

TEST(GuestAbi, StartInfoAndNotes) {
  using S = start_info_t;
  EXPECT_SAME_LAYOUT(x::StartInfo, S);
  EXPECT_SAME_FIELD(x::StartInfo, magic, S, magic);
  EXPECT_SAME_FIELD(x::StartInfo, nr_pages, S, nr_pages);
  EXPECT_SAME_FIELD(x::StartInfo, shared_info, S, shared_info);
  EXPECT_SAME_FIELD(x::StartInfo, flags, S, flags);
  EXPECT_SAME_FIELD(x::StartInfo, store_mfn, S, store_mfn);
  EXPECT_SAME_FIELD(x::StartInfo, store_evtchn, S, store_evtchn);
  EXPECT_SAME_FIELD(x::StartInfo, console, S, console);
  EXPECT_EQ(offsetof(x::StartInfo, console) + offsetof(x::StartInfoConsoleDomU, mfn),
            offsetof(S, console.domU.mfn));
  EXPECT_EQ(offsetof(x::StartInfo, console) + offsetof(x::StartInfoConsoleDomU, evtchn),
            offsetof(S, console.domU.evtchn));
  EXPECT_SAME_FIELD(x::StartInfo, pt_base, S, pt_base);
  EXPECT_SAME_FIELD(x::StartInfo, nr_pt_frames, S, nr_pt_frames);
  EXPECT_SAME_FIELD(x::StartInfo, mfn_list, S, mfn_list);
  EXPECT_SAME_FIELD(x::StartInfo, mod_start, S, mod_start);
  EXPECT_SAME_FIELD(x::StartInfo, mod_len, S, mod_len);
  EXPECT_SAME_FIELD(x::StartInfo, cmd_line, S, cmd_line);
  EXPECT_SAME_FIELD(x::StartInfo, first_p2m_pfn, S, first_p2m_pfn);
  EXPECT_SAME_FIELD(x::StartInfo, nr_p2m_frames, S, nr_p2m_frames);
  EXPECT_EQ(x::kMaxGuestCmdline, std::size_t{MAX_GUEST_CMDLINE});
  EXPECT_EQ(x::kSifPrivileged, unsigned{SIF_PRIVILEGED});
  EXPECT_EQ(x::kSifInitDomain, unsigned{SIF_INITDOMAIN});
  // XEN_VERSION "xen-3.0" + "-x86_64" is the magic of a 64-bit PV start_info.
  EXPECT_STREQ(x::kStartInfoMagic, "xen-3.0-x86_64");

  EXPECT_EQ(x::kElfNoteEntry, unsigned{XEN_ELFNOTE_ENTRY});
  EXPECT_EQ(x::kElfNoteHypercallPage, unsigned{XEN_ELFNOTE_HYPERCALL_PAGE});
  EXPECT_EQ(x::kElfNoteVirtBase, unsigned{XEN_ELFNOTE_VIRT_BASE});
  EXPECT_EQ(x::kElfNotePaddrOffset, unsigned{XEN_ELFNOTE_PADDR_OFFSET});
  EXPECT_EQ(x::kElfNoteXenVersion, unsigned{XEN_ELFNOTE_XEN_VERSION});
  EXPECT_EQ(x::kElfNoteGuestOs, unsigned{XEN_ELFNOTE_GUEST_OS});
  EXPECT_EQ(x::kElfNoteLoader, unsigned{XEN_ELFNOTE_LOADER});
  EXPECT_EQ(x::kElfNoteFeatures, unsigned{XEN_ELFNOTE_FEATURES});
  // The guest kernel base sits above the PV hypervisor hole, in the top 2 GiB.
  EXPECT_GE(pvkit::guest::kGuestVirtBase, std::uint64_t{HYPERVISOR_VIRT_END});
  EXPECT_EQ(pvkit::guest::kPageSize, std::size_t{1} << XEN_PAGE_SHIFT);
}

TEST(GuestAbi, SharedInfoAndVcpuInfo) {
  using V = vcpu_info_t;
  EXPECT_SAME_LAYOUT(x::VcpuInfo, V);
  EXPECT_SAME_FIELD(x::VcpuInfo, evtchn_upcall_pending, V, evtchn_upcall_pending);
  EXPECT_SAME_FIELD(x::VcpuInfo, evtchn_upcall_mask, V, evtchn_upcall_mask);
  EXPECT_SAME_FIELD(x::VcpuInfo, evtchn_pending_sel, V, evtchn_pending_sel);
  EXPECT_SAME_FIELD(x::VcpuInfo, arch, V, arch);
  EXPECT_SAME_FIELD(x::VcpuInfo, time, V, time);
  using T = vcpu_time_info_t;
  EXPECT_SAME_LAYOUT(x::VcpuTimeInfo, T);
  EXPECT_SAME_FIELD(x::VcpuTimeInfo, version, T, version);
  EXPECT_SAME_FIELD(x::VcpuTimeInfo, tsc_timestamp, T, tsc_timestamp);
  EXPECT_SAME_FIELD(x::VcpuTimeInfo, system_time, T, system_time);
  EXPECT_SAME_FIELD(x::VcpuTimeInfo, tsc_to_system_mul, T, tsc_to_system_mul);
  EXPECT_SAME_FIELD(x::VcpuTimeInfo, tsc_shift, T, tsc_shift);
  EXPECT_SAME_FIELD(x::VcpuTimeInfo, flags, T, flags);
  using A = arch_vcpu_info_t;
  EXPECT_SAME_LAYOUT(x::ArchVcpuInfo, A);
  EXPECT_SAME_FIELD(x::ArchVcpuInfo, cr2, A, cr2);

  using S = shared_info_t;
  EXPECT_SAME_LAYOUT(x::SharedInfo, S);
  EXPECT_SAME_FIELD(x::SharedInfo, vcpu_info, S, vcpu_info);
  EXPECT_SAME_FIELD(x::SharedInfo, evtchn_pending, S, evtchn_pending);
  EXPECT_SAME_FIELD(x::SharedInfo, evtchn_mask, S, evtchn_mask);
  EXPECT_SAME_FIELD(x::SharedInfo, wc_version, S, wc_version);
  EXPECT_SAME_FIELD(x::SharedInfo, wc_sec, S, wc_sec);
  EXPECT_SAME_FIELD(x::SharedInfo, wc_nsec, S, wc_nsec);
  EXPECT_SAME_FIELD(x::SharedInfo, wc_sec_hi, S, wc_sec_hi);
  EXPECT_SAME_FIELD(x::SharedInfo, arch, S, arch);
  using AS = arch_shared_info_t;
  EXPECT_SAME_LAYOUT(x::ArchSharedInfo, AS);
  EXPECT_SAME_FIELD(x::ArchSharedInfo, max_pfn, AS, max_pfn);
  EXPECT_SAME_FIELD(x::ArchSharedInfo, pfn_to_mfn_frame_list_list, AS, pfn_to_mfn_frame_list_list);
  EXPECT_SAME_FIELD(x::ArchSharedInfo, nmi_reason, AS, nmi_reason);
  EXPECT_SAME_FIELD(x::ArchSharedInfo, p2m_cr3, AS, p2m_cr3);
  EXPECT_SAME_FIELD(x::ArchSharedInfo, p2m_vaddr, AS, p2m_vaddr);
  EXPECT_SAME_FIELD(x::ArchSharedInfo, p2m_generation, AS, p2m_generation);
  EXPECT_EQ(x::kLegacyMaxVcpus, unsigned{XEN_LEGACY_MAX_VCPUS});
  EXPECT_EQ(x::kEvtchn2LevelPorts, unsigned{EVTCHN_2L_NR_CHANNELS});
}

TEST(GuestAbi, EventChannelOps) {
  EXPECT_EQ(x::kEvtchnOpBindInterdomain, unsigned{EVTCHNOP_bind_interdomain});
  EXPECT_EQ(x::kEvtchnOpBindVirq, unsigned{EVTCHNOP_bind_virq});
  EXPECT_EQ(x::kEvtchnOpClose, unsigned{EVTCHNOP_close});
  EXPECT_EQ(x::kEvtchnOpSend, unsigned{EVTCHNOP_send});
  EXPECT_EQ(x::kEvtchnOpStatus, unsigned{EVTCHNOP_status});
  EXPECT_EQ(x::kEvtchnOpAllocUnbound, unsigned{EVTCHNOP_alloc_unbound});
  EXPECT_EQ(x::kEvtchnOpBindIpi, unsigned{EVTCHNOP_bind_ipi});
  EXPECT_EQ(x::kEvtchnOpUnmask, unsigned{EVTCHNOP_unmask});
  EXPECT_EQ(x::kEvtchnStatClosed, unsigned{EVTCHNSTAT_closed});
  EXPECT_EQ(x::kEvtchnStatUnbound, unsigned{EVTCHNSTAT_unbound});
  EXPECT_EQ(x::kEvtchnStatInterdomain, unsigned{EVTCHNSTAT_interdomain});
  EXPECT_EQ(x::kEvtchnStatPirq, unsigned{EVTCHNSTAT_pirq});
  EXPECT_EQ(x::kEvtchnStatVirq, unsigned{EVTCHNSTAT_virq});
  EXPECT_EQ(x::kEvtchnStatIpi, unsigned{EVTCHNSTAT_ipi});

  using AU = evtchn_alloc_unbound_t;
  EXPECT_SAME_LAYOUT(x::EvtchnAllocUnbound, AU);
  EXPECT_SAME_FIELD(x::EvtchnAllocUnbound, dom, AU, dom);
  EXPECT_SAME_FIELD(x::EvtchnAllocUnbound, remote_dom, AU, remote_dom);
  EXPECT_SAME_FIELD(x::EvtchnAllocUnbound, port, AU, port);
  using BI = evtchn_bind_interdomain_t;
  EXPECT_SAME_LAYOUT(x::EvtchnBindInterdomain, BI);
  EXPECT_SAME_FIELD(x::EvtchnBindInterdomain, remote_dom, BI, remote_dom);
  EXPECT_SAME_FIELD(x::EvtchnBindInterdomain, remote_port, BI, remote_port);
  EXPECT_SAME_FIELD(x::EvtchnBindInterdomain, local_port, BI, local_port);
  EXPECT_SAME_LAYOUT(x::EvtchnClose, evtchn_close_t);
  EXPECT_SAME_FIELD(x::EvtchnClose, port, evtchn_close_t, port);
  EXPECT_SAME_LAYOUT(x::EvtchnSend, evtchn_send_t);
  EXPECT_SAME_FIELD(x::EvtchnSend, port, evtchn_send_t, port);
  EXPECT_SAME_LAYOUT(x::EvtchnUnmask, evtchn_unmask_t);
  EXPECT_SAME_FIELD(x::EvtchnUnmask, port, evtchn_unmask_t, port);
  using ST = evtchn_status_t;
  EXPECT_SAME_LAYOUT(x::EvtchnStatus, ST);
  EXPECT_SAME_FIELD(x::EvtchnStatus, dom, ST, dom);
  EXPECT_SAME_FIELD(x::EvtchnStatus, port, ST, port);
  EXPECT_SAME_FIELD(x::EvtchnStatus, status, ST, status);
  EXPECT_SAME_FIELD(x::EvtchnStatus, vcpu, ST, vcpu);
  EXPECT_SAME_FIELD(x::EvtchnStatus, u, ST, u);
  EXPECT_EQ(offsetof(x::EvtchnStatus, u.unbound.dom), offsetof(ST, u.unbound.dom));
  EXPECT_EQ(offsetof(x::EvtchnStatus, u.interdomain.dom), offsetof(ST, u.interdomain.dom));
  EXPECT_EQ(offsetof(x::EvtchnStatus, u.interdomain.port), offsetof(ST, u.interdomain.port));
}

TEST(GuestAbi, GrantTable) {
  EXPECT_EQ(x::kGnttabOpMapGrantRef, unsigned{GNTTABOP_map_grant_ref});
  EXPECT_EQ(x::kGnttabOpUnmapGrantRef, unsigned{GNTTABOP_unmap_grant_ref});
  EXPECT_EQ(x::kGnttabOpSetupTable, unsigned{GNTTABOP_setup_table});
  EXPECT_EQ(x::kGnttabOpQuerySize, unsigned{GNTTABOP_query_size});
  EXPECT_EQ(x::kGnttabNrReservedEntries, unsigned{GNTTAB_NR_RESERVED_ENTRIES});
  EXPECT_EQ(x::kGrantEntriesPerFrameV1, (std::size_t{1} << XEN_PAGE_SHIFT) / sizeof(grant_entry_v1_t));
  EXPECT_EQ(x::kGtfInvalid, GTF_invalid);
  EXPECT_EQ(x::kGtfPermitAccess, GTF_permit_access);
  EXPECT_EQ(x::kGtfTypeMask, GTF_type_mask);
  EXPECT_EQ(x::kGtfReadonly, GTF_readonly);
  EXPECT_EQ(x::kGtfReading, GTF_reading);
  EXPECT_EQ(x::kGtfWriting, GTF_writing);
  EXPECT_EQ(x::kGntmapDeviceMap, unsigned{GNTMAP_device_map});
  EXPECT_EQ(x::kGntmapHostMap, unsigned{GNTMAP_host_map});
  EXPECT_EQ(x::kGntmapReadonly, unsigned{GNTMAP_readonly});
  EXPECT_EQ(x::kGntmapApplicationMap, unsigned{GNTMAP_application_map});
  EXPECT_EQ(x::kGntmapContainsPte, unsigned{GNTMAP_contains_pte});
  EXPECT_EQ(static_cast<int>(x::GntStatus::Okay), GNTST_okay);
  EXPECT_EQ(static_cast<int>(x::GntStatus::GeneralError), GNTST_general_error);
  EXPECT_EQ(static_cast<int>(x::GntStatus::BadDomain), GNTST_bad_domain);
  EXPECT_EQ(static_cast<int>(x::GntStatus::BadGntref), GNTST_bad_gntref);
  EXPECT_EQ(static_cast<int>(x::GntStatus::BadHandle), GNTST_bad_handle);
  EXPECT_EQ(static_cast<int>(x::GntStatus::BadVirtAddr), GNTST_bad_virt_addr);
  EXPECT_EQ(static_cast<int>(x::GntStatus::BadDevAddr), GNTST_bad_dev_addr);
  EXPECT_EQ(static_cast<int>(x::GntStatus::NoDeviceSpace), GNTST_no_device_space);
  EXPECT_EQ(static_cast<int>(x::GntStatus::PermissionDenied), GNTST_permission_denied);
  EXPECT_EQ(static_cast<int>(x::GntStatus::BadPage), GNTST_bad_page);
  EXPECT_EQ(static_cast<int>(x::GntStatus::BadCopyArg), GNTST_bad_copy_arg);
  EXPECT_EQ(static_cast<int>(x::GntStatus::AddressTooBig), GNTST_address_too_big);
  EXPECT_EQ(static_cast<int>(x::GntStatus::Eagain), GNTST_eagain);
  EXPECT_EQ(static_cast<int>(x::GntStatus::NoSpace), GNTST_no_space);

  using E = grant_entry_v1_t;
  EXPECT_SAME_LAYOUT(x::GrantEntryV1, E);
  EXPECT_SAME_FIELD(x::GrantEntryV1, flags, E, flags);
  EXPECT_SAME_FIELD(x::GrantEntryV1, domid, E, domid);
  EXPECT_SAME_FIELD(x::GrantEntryV1, frame, E, frame);
  using ST = gnttab_setup_table_t;
  EXPECT_SAME_LAYOUT(x::GnttabSetupTable, ST);
  EXPECT_SAME_FIELD(x::GnttabSetupTable, dom, ST, dom);
  EXPECT_SAME_FIELD(x::GnttabSetupTable, nr_frames, ST, nr_frames);
  EXPECT_SAME_FIELD(x::GnttabSetupTable, status, ST, status);
  EXPECT_SAME_FIELD(x::GnttabSetupTable, frame_list, ST, frame_list);
  using M = gnttab_map_grant_ref_t;
  EXPECT_SAME_LAYOUT(x::GnttabMapGrantRef, M);
  EXPECT_SAME_FIELD(x::GnttabMapGrantRef, host_addr, M, host_addr);
  EXPECT_SAME_FIELD(x::GnttabMapGrantRef, flags, M, flags);
  EXPECT_SAME_FIELD(x::GnttabMapGrantRef, ref, M, ref);
  EXPECT_SAME_FIELD(x::GnttabMapGrantRef, dom, M, dom);
  EXPECT_SAME_FIELD(x::GnttabMapGrantRef, status, M, status);
  EXPECT_SAME_FIELD(x::GnttabMapGrantRef, handle, M, handle);
  EXPECT_SAME_FIELD(x::GnttabMapGrantRef, dev_bus_addr, M, dev_bus_addr);
  using U = gnttab_unmap_grant_ref_t;
  EXPECT_SAME_LAYOUT(x::GnttabUnmapGrantRef, U);
  EXPECT_SAME_FIELD(x::GnttabUnmapGrantRef, host_addr, U, host_addr);
  EXPECT_SAME_FIELD(x::GnttabUnmapGrantRef, dev_bus_addr, U, dev_bus_addr);
  EXPECT_SAME_FIELD(x::GnttabUnmapGrantRef, handle, U, handle);
  EXPECT_SAME_FIELD(x::GnttabUnmapGrantRef, status, U, status);
  using Q = gnttab_query_size_t;
  EXPECT_SAME_LAYOUT(x::GnttabQuerySize, Q);
  EXPECT_SAME_FIELD(x::GnttabQuerySize, dom, Q, dom);
  EXPECT_SAME_FIELD(x::GnttabQuerySize, nr_frames, Q, nr_frames);
  EXPECT_SAME_FIELD(x::GnttabQuerySize, max_nr_frames, Q, max_nr_frames);
  EXPECT_SAME_FIELD(x::GnttabQuerySize, status, Q, status);
}

TEST(GuestAbi, MemoryManagement) {
  EXPECT_EQ(x::kMmuNormalPtUpdate, std::uint64_t{MMU_NORMAL_PT_UPDATE});
  EXPECT_EQ(x::kMmuMachphysUpdate, std::uint64_t{MMU_MACHPHYS_UPDATE});
  EXPECT_EQ(x::kMmuPtUpdatePreserveAd, std::uint64_t{MMU_PT_UPDATE_PRESERVE_AD});
  EXPECT_SAME_LAYOUT(x::MmuUpdate, mmu_update_t);
  EXPECT_SAME_FIELD(x::MmuUpdate, ptr, mmu_update_t, ptr);
  EXPECT_SAME_FIELD(x::MmuUpdate, val, mmu_update_t, val);
  EXPECT_EQ(x::kMmuextPinL1Table, unsigned{MMUEXT_PIN_L1_TABLE});
  EXPECT_EQ(x::kMmuextPinL4Table, unsigned{MMUEXT_PIN_L4_TABLE});
  EXPECT_EQ(x::kMmuextUnpinTable, unsigned{MMUEXT_UNPIN_TABLE});
  EXPECT_EQ(x::kMmuextNewBaseptr, unsigned{MMUEXT_NEW_BASEPTR});
  EXPECT_EQ(x::kMmuextTlbFlushLocal, unsigned{MMUEXT_TLB_FLUSH_LOCAL});
  EXPECT_EQ(x::kMmuextInvlpgLocal, unsigned{MMUEXT_INVLPG_LOCAL});
  EXPECT_SAME_LAYOUT(x::MmuextOp, mmuext_op_t);
  EXPECT_SAME_FIELD(x::MmuextOp, cmd, mmuext_op_t, cmd);
  EXPECT_EQ(offsetof(x::MmuextOp, arg1), offsetof(mmuext_op_t, arg1));
  EXPECT_EQ(offsetof(x::MmuextOp, arg2), offsetof(mmuext_op_t, arg2));
  EXPECT_EQ(x::kUvmfNone, std::uint64_t{UVMF_NONE});
  EXPECT_EQ(x::kUvmfTlbFlush, std::uint64_t{UVMF_TLB_FLUSH});
  EXPECT_EQ(x::kUvmfInvlpg, std::uint64_t{UVMF_INVLPG});
  EXPECT_EQ(x::kUvmfLocal, std::uint64_t{UVMF_LOCAL});
  EXPECT_EQ(x::kUvmfAll, std::uint64_t{UVMF_ALL});
}

TEST(GuestAbi, PteFields) {
  constexpr auto p = x::Pte::page(0x12345);
  static_assert(p.present() && !p.writable() && p.mfn() == 0x12345);
  EXPECT_EQ(p.raw() & 0xFFF, 0x065u);  // P | US | A | D
  EXPECT_EQ(p.raw() >> 63, 1u);        // NX
  EXPECT_TRUE(p.with_writable(true).writable());
  EXPECT_EQ(p.with_writable(true).raw(), p.raw() | 2);
  EXPECT_EQ(p.with_writable(true).with_writable(false).raw(), p.raw());
  // Frame bits above the 52-bit physical address limit are dropped, never smeared into flags.
  EXPECT_EQ(x::Pte::page(~std::uint64_t{0}).raw() & 0xFFF, 0x065u);
}
