// ABI conformance of the generic Xen definitions pvkit uses: hypercall numbers, errno values,
// xen_version / console_io / vm_assist / sched_op / vcpu_op numbers, multicall_entry_t and
// the other structs, compared with Xen's own public headers (sizes, offsets, values).
#include <stdint.h>

#include <cstddef>
#include <cstring>
#include <set>
#include <string>
#include <utility>
#include <vector>

// The current interface (otherwise sched_op / event_channel_op map to their _compat numbers).
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#include <xen/xen.h>
#include <xen/errno.h>
#include <xen/features.h>
#include <xen/sched.h>
#include <xen/vcpu.h>
#include <xen/version.h>

#include <gtest/gtest.h>

#include "pvkit/base/errno.h"
#include "pvkit/base/types.h"
#include "pvkit/hypercall/multicall.h"
#include "pvkit/xen/hypercall_numbers.h"
#include "pvkit/xen/sched_abi.h"
#include "pvkit/xen/vcpu_abi.h"
#include "pvkit/xen/version_abi.h"
#include "pvkit/xen/xen_abi.h"

namespace pvkit {
namespace {

#define PVKIT_SAME(pvkit_value, xen_value) \
  static_assert(static_cast<std::uint64_t>(pvkit_value) == static_cast<std::uint64_t>(xen_value), #xen_value)

// ---- hypercall numbers (xen.h) ---------------------------------------------------------------
PVKIT_SAME(xen::hc::kSetTrapTable, __HYPERVISOR_set_trap_table);
PVKIT_SAME(xen::hc::kMmuUpdate, __HYPERVISOR_mmu_update);
PVKIT_SAME(xen::hc::kSetGdt, __HYPERVISOR_set_gdt);
PVKIT_SAME(xen::hc::kStackSwitch, __HYPERVISOR_stack_switch);
PVKIT_SAME(xen::hc::kSetCallbacks, __HYPERVISOR_set_callbacks);
PVKIT_SAME(xen::hc::kFpuTaskswitch, __HYPERVISOR_fpu_taskswitch);
PVKIT_SAME(xen::hc::kSchedOpCompat, __HYPERVISOR_sched_op_compat);
PVKIT_SAME(xen::hc::kPlatformOp, __HYPERVISOR_platform_op);
PVKIT_SAME(xen::hc::kSetDebugreg, __HYPERVISOR_set_debugreg);
PVKIT_SAME(xen::hc::kGetDebugreg, __HYPERVISOR_get_debugreg);
PVKIT_SAME(xen::hc::kUpdateDescriptor, __HYPERVISOR_update_descriptor);
PVKIT_SAME(xen::hc::kMemoryOp, __HYPERVISOR_memory_op);
PVKIT_SAME(xen::hc::kMulticall, __HYPERVISOR_multicall);
PVKIT_SAME(xen::hc::kUpdateVaMapping, __HYPERVISOR_update_va_mapping);
PVKIT_SAME(xen::hc::kSetTimerOp, __HYPERVISOR_set_timer_op);
PVKIT_SAME(xen::hc::kEventChannelOpCompat, __HYPERVISOR_event_channel_op_compat);
PVKIT_SAME(xen::hc::kXenVersion, __HYPERVISOR_xen_version);
PVKIT_SAME(xen::hc::kConsoleIo, __HYPERVISOR_console_io);
PVKIT_SAME(xen::hc::kPhysdevOpCompat, __HYPERVISOR_physdev_op_compat);
PVKIT_SAME(xen::hc::kGrantTableOp, __HYPERVISOR_grant_table_op);
PVKIT_SAME(xen::hc::kVmAssist, __HYPERVISOR_vm_assist);
PVKIT_SAME(xen::hc::kUpdateVaMappingOtherdomain, __HYPERVISOR_update_va_mapping_otherdomain);
PVKIT_SAME(xen::hc::kIret, __HYPERVISOR_iret);
PVKIT_SAME(xen::hc::kVcpuOp, __HYPERVISOR_vcpu_op);
PVKIT_SAME(xen::hc::kSetSegmentBase, __HYPERVISOR_set_segment_base);
PVKIT_SAME(xen::hc::kMmuextOp, __HYPERVISOR_mmuext_op);
PVKIT_SAME(xen::hc::kXsmOp, __HYPERVISOR_xsm_op);
PVKIT_SAME(xen::hc::kNmiOp, __HYPERVISOR_nmi_op);
PVKIT_SAME(xen::hc::kSchedOp, __HYPERVISOR_sched_op);
PVKIT_SAME(xen::hc::kCallbackOp, __HYPERVISOR_callback_op);
PVKIT_SAME(xen::hc::kXenoprofOp, __HYPERVISOR_xenoprof_op);
PVKIT_SAME(xen::hc::kEventChannelOp, __HYPERVISOR_event_channel_op);
PVKIT_SAME(xen::hc::kPhysdevOp, __HYPERVISOR_physdev_op);
PVKIT_SAME(xen::hc::kHvmOp, __HYPERVISOR_hvm_op);
PVKIT_SAME(xen::hc::kSysctl, __HYPERVISOR_sysctl);
PVKIT_SAME(xen::hc::kDomctl, __HYPERVISOR_domctl);
PVKIT_SAME(xen::hc::kKexecOp, __HYPERVISOR_kexec_op);
PVKIT_SAME(xen::hc::kTmemOp, __HYPERVISOR_tmem_op);
PVKIT_SAME(xen::hc::kArgoOp, __HYPERVISOR_argo_op);
PVKIT_SAME(xen::hc::kXenpmuOp, __HYPERVISOR_xenpmu_op);
PVKIT_SAME(xen::hc::kDmOp, __HYPERVISOR_dm_op);
PVKIT_SAME(xen::hc::kHypfsOp, __HYPERVISOR_hypfs_op);
PVKIT_SAME(xen::hc::kArch0, __HYPERVISOR_arch_0);
PVKIT_SAME(xen::hc::kArch1, __HYPERVISOR_arch_1);
PVKIT_SAME(xen::hc::kArch2, __HYPERVISOR_arch_2);
PVKIT_SAME(xen::hc::kArch3, __HYPERVISOR_arch_3);
PVKIT_SAME(xen::hc::kArch4, __HYPERVISOR_arch_4);
PVKIT_SAME(xen::hc::kArch5, __HYPERVISOR_arch_5);
PVKIT_SAME(xen::hc::kArch6, __HYPERVISOR_arch_6);
PVKIT_SAME(xen::hc::kArch7, __HYPERVISOR_arch_7);
static_assert(xen::hc::kArch7 < xen::hc::kNrHypercalls && __HYPERVISOR_hypfs_op < xen::hc::kNrHypercalls);

// ---- sub-op numbers ------------------------------------------------------------------------
PVKIT_SAME(xen::kConsoleIoWrite, CONSOLEIO_write);
PVKIT_SAME(xen::kConsoleIoRead, CONSOLEIO_read);
PVKIT_SAME(xen::kVmAsstCmdEnable, VMASST_CMD_enable);
PVKIT_SAME(xen::kVmAsstCmdDisable, VMASST_CMD_disable);
PVKIT_SAME(xen::kVmAsstType4gbSegments, VMASST_TYPE_4gb_segments);
PVKIT_SAME(xen::kVmAsstType4gbSegmentsNotify, VMASST_TYPE_4gb_segments_notify);
PVKIT_SAME(xen::kVmAsstTypeWritablePagetables, VMASST_TYPE_writable_pagetables);
PVKIT_SAME(xen::kVmAsstTypePaeExtendedCr3, VMASST_TYPE_pae_extended_cr3);
PVKIT_SAME(xen::kVmAsstTypeArchitecturalIopl, VMASST_TYPE_architectural_iopl);
PVKIT_SAME(xen::kVmAsstTypeRunstateUpdateFlag, VMASST_TYPE_runstate_update_flag);
PVKIT_SAME(xen::kVmAsstTypeM2pStrict, VMASST_TYPE_m2p_strict);

PVKIT_SAME(xen::kXenVerVersion, XENVER_version);
PVKIT_SAME(xen::kXenVerExtraversion, XENVER_extraversion);
PVKIT_SAME(xen::kXenVerCompileInfo, XENVER_compile_info);
PVKIT_SAME(xen::kXenVerCapabilities, XENVER_capabilities);
PVKIT_SAME(xen::kXenVerChangeset, XENVER_changeset);
PVKIT_SAME(xen::kXenVerPlatformParameters, XENVER_platform_parameters);
PVKIT_SAME(xen::kXenVerGetFeatures, XENVER_get_features);
PVKIT_SAME(xen::kXenVerPagesize, XENVER_pagesize);
PVKIT_SAME(xen::kXenVerGuestHandle, XENVER_guest_handle);
PVKIT_SAME(xen::kXenVerCommandline, XENVER_commandline);
PVKIT_SAME(xen::kXenVerBuildId, XENVER_build_id);

PVKIT_SAME(xen::kXenFeatWritablePageTables, XENFEAT_writable_page_tables);
PVKIT_SAME(xen::kXenFeatWritableDescriptorTables, XENFEAT_writable_descriptor_tables);
PVKIT_SAME(xen::kXenFeatAutoTranslatedPhysmap, XENFEAT_auto_translated_physmap);
PVKIT_SAME(xen::kXenFeatSupervisorModeKernel, XENFEAT_supervisor_mode_kernel);
PVKIT_SAME(xen::kXenFeatPaePgdirAbove4gb, XENFEAT_pae_pgdir_above_4gb);
PVKIT_SAME(xen::kXenFeatMmuPtUpdatePreserveAd, XENFEAT_mmu_pt_update_preserve_ad);
PVKIT_SAME(xen::kXenFeatHighmemAssist, XENFEAT_highmem_assist);
PVKIT_SAME(xen::kXenFeatGnttabMapAvailBits, XENFEAT_gnttab_map_avail_bits);
PVKIT_SAME(xen::kXenFeatHvmCallbackVector, XENFEAT_hvm_callback_vector);
PVKIT_SAME(xen::kXenFeatHvmSafePvclock, XENFEAT_hvm_safe_pvclock);
PVKIT_SAME(xen::kXenFeatHvmPirqs, XENFEAT_hvm_pirqs);
PVKIT_SAME(xen::kXenFeatDom0, XENFEAT_dom0);
PVKIT_SAME(xen::kXenFeatMemoryOpVnodeSupported, XENFEAT_memory_op_vnode_supported);
PVKIT_SAME(xen::kXenFeatArmSmcccSupported, XENFEAT_ARM_SMCCC_supported);
PVKIT_SAME(xen::kXenFeatLinuxRsdpUnrestricted, XENFEAT_linux_rsdp_unrestricted);
PVKIT_SAME(xen::kXenFeatNotDirectMapped, XENFEAT_not_direct_mapped);
PVKIT_SAME(xen::kXenFeatDirectMapped, XENFEAT_direct_mapped);
PVKIT_SAME(xen::kXenFeatNrSubmaps, XENFEAT_NR_SUBMAPS);

PVKIT_SAME(xen::kSchedOpYield, SCHEDOP_yield);
PVKIT_SAME(xen::kSchedOpBlock, SCHEDOP_block);
PVKIT_SAME(xen::kSchedOpShutdown, SCHEDOP_shutdown);
PVKIT_SAME(xen::kSchedOpPoll, SCHEDOP_poll);
PVKIT_SAME(xen::kSchedOpRemoteShutdown, SCHEDOP_remote_shutdown);
PVKIT_SAME(xen::kSchedOpShutdownCode, SCHEDOP_shutdown_code);
PVKIT_SAME(xen::kSchedOpWatchdog, SCHEDOP_watchdog);
PVKIT_SAME(xen::kSchedOpPinOverride, SCHEDOP_pin_override);
PVKIT_SAME(xen::kShutdownPoweroff, SHUTDOWN_poweroff);
PVKIT_SAME(xen::kShutdownReboot, SHUTDOWN_reboot);
PVKIT_SAME(xen::kShutdownSuspend, SHUTDOWN_suspend);
PVKIT_SAME(xen::kShutdownCrash, SHUTDOWN_crash);
PVKIT_SAME(xen::kShutdownWatchdog, SHUTDOWN_watchdog);
PVKIT_SAME(xen::kShutdownSoftReset, SHUTDOWN_soft_reset);
PVKIT_SAME(xen::kShutdownMax, SHUTDOWN_MAX);

PVKIT_SAME(xen::kVcpuOpInitialise, VCPUOP_initialise);
PVKIT_SAME(xen::kVcpuOpUp, VCPUOP_up);
PVKIT_SAME(xen::kVcpuOpDown, VCPUOP_down);
PVKIT_SAME(xen::kVcpuOpIsUp, VCPUOP_is_up);
PVKIT_SAME(xen::kVcpuOpGetRunstateInfo, VCPUOP_get_runstate_info);
PVKIT_SAME(xen::kVcpuOpRegisterRunstateMemoryArea, VCPUOP_register_runstate_memory_area);
PVKIT_SAME(xen::kVcpuOpSetPeriodicTimer, VCPUOP_set_periodic_timer);
PVKIT_SAME(xen::kVcpuOpStopPeriodicTimer, VCPUOP_stop_periodic_timer);
PVKIT_SAME(xen::kVcpuOpSetSingleshotTimer, VCPUOP_set_singleshot_timer);
PVKIT_SAME(xen::kVcpuOpStopSingleshotTimer, VCPUOP_stop_singleshot_timer);
PVKIT_SAME(xen::kVcpuOpRegisterVcpuInfo, VCPUOP_register_vcpu_info);
PVKIT_SAME(xen::kVcpuOpSendNmi, VCPUOP_send_nmi);
PVKIT_SAME(xen::kVcpuOpGetPhysid, VCPUOP_get_physid);
PVKIT_SAME(xen::kVcpuOpRegisterVcpuTimeMemoryArea, VCPUOP_register_vcpu_time_memory_area);

PVKIT_SAME(xen::kHypervisorVirtStart, HYPERVISOR_VIRT_START);
PVKIT_SAME(xen::kHypervisorVirtEnd, HYPERVISOR_VIRT_END);

// Reserved domain ids (pvkit/base/types.h).
PVKIT_SAME(kDomidSelf.value(), DOMID_SELF);
PVKIT_SAME(kDomidIo.value(), DOMID_IO);
PVKIT_SAME(kDomidXen.value(), DOMID_XEN);
PVKIT_SAME(kDomidCow.value(), DOMID_COW);
PVKIT_SAME(kDomidInvalid.value(), DOMID_INVALID);
PVKIT_SAME(kDomidIdle.value(), DOMID_IDLE);
PVKIT_SAME(kDomidFirstReserved, DOMID_FIRST_RESERVED);
static_assert(sizeof(DomId::rep_type) == sizeof(domid_t));

// ---- struct layouts -------------------------------------------------------------------------
#define PVKIT_SAME_SIZE(P, X) static_assert(sizeof(P) == sizeof(X), #X " size")
#define PVKIT_SAME_OFFSET(P, pf, X, xf) \
  static_assert(offsetof(P, pf) == offsetof(X, xf), #X "." #xf " offset")
#define PVKIT_SAME_FIELD_SIZE(P, pf, X, xf) \
  static_assert(sizeof(P::pf) == sizeof(X::xf), #X "." #xf " size")
#define PVKIT_SAME_MEMBER(P, pf, X, xf) \
  PVKIT_SAME_OFFSET(P, pf, X, xf);      \
  PVKIT_SAME_FIELD_SIZE(P, pf, X, xf)

PVKIT_SAME_SIZE(xen::XenUlong, xen_ulong_t);
PVKIT_SAME_SIZE(xen::MulticallEntry, multicall_entry_t);
PVKIT_SAME_MEMBER(xen::MulticallEntry, op, multicall_entry_t, op);
PVKIT_SAME_MEMBER(xen::MulticallEntry, result, multicall_entry_t, result);
PVKIT_SAME_MEMBER(xen::MulticallEntry, args, multicall_entry_t, args);
static_assert(xen::kMulticallEntryResultOffset == offsetof(multicall_entry_t, result));
static_assert(xen::kMulticallEntryArgsOffset == offsetof(multicall_entry_t, args));

PVKIT_SAME_SIZE(xen::DomainHandle, xen_domain_handle_t);
PVKIT_SAME_SIZE(xen::XenExtraversion, xen_extraversion_t);
PVKIT_SAME_SIZE(xen::XenCapabilitiesInfo, xen_capabilities_info_t);
PVKIT_SAME_SIZE(xen::XenChangesetInfo, xen_changeset_info_t);
PVKIT_SAME_SIZE(xen::XenCommandline, xen_commandline_t);
PVKIT_SAME_SIZE(xen::XenCompileInfo, xen_compile_info_t);
PVKIT_SAME_MEMBER(xen::XenCompileInfo, compiler, xen_compile_info_t, compiler);
PVKIT_SAME_MEMBER(xen::XenCompileInfo, compile_by, xen_compile_info_t, compile_by);
PVKIT_SAME_MEMBER(xen::XenCompileInfo, compile_domain, xen_compile_info_t, compile_domain);
PVKIT_SAME_MEMBER(xen::XenCompileInfo, compile_date, xen_compile_info_t, compile_date);
PVKIT_SAME_SIZE(xen::XenPlatformParameters, xen_platform_parameters_t);
PVKIT_SAME_MEMBER(xen::XenPlatformParameters, virt_start, xen_platform_parameters_t, virt_start);
PVKIT_SAME_SIZE(xen::XenFeatureInfo, xen_feature_info_t);
PVKIT_SAME_MEMBER(xen::XenFeatureInfo, submap_idx, xen_feature_info_t, submap_idx);
PVKIT_SAME_MEMBER(xen::XenFeatureInfo, submap, xen_feature_info_t, submap);

PVKIT_SAME_SIZE(xen::SchedShutdown, sched_shutdown_t);
PVKIT_SAME_MEMBER(xen::SchedShutdown, reason, sched_shutdown_t, reason);
PVKIT_SAME_SIZE(xen::SchedRemoteShutdown, sched_remote_shutdown_t);
PVKIT_SAME_MEMBER(xen::SchedRemoteShutdown, domain_id, sched_remote_shutdown_t, domain_id);
PVKIT_SAME_MEMBER(xen::SchedRemoteShutdown, reason, sched_remote_shutdown_t, reason);
PVKIT_SAME_SIZE(xen::SchedPoll, sched_poll_t);
PVKIT_SAME_MEMBER(xen::SchedPoll, ports, sched_poll_t, ports);
PVKIT_SAME_MEMBER(xen::SchedPoll, nr_ports, sched_poll_t, nr_ports);
PVKIT_SAME_MEMBER(xen::SchedPoll, timeout, sched_poll_t, timeout);

// ---- errno: every value of Xen's list, including the hypervisor-internal ones ----------------

// pvkit's names for Xen's E* names (aliases map to the same enumerator).
const std::vector<std::pair<std::string, Errno>>& pvkit_errnos() {
  static const std::vector<std::pair<std::string, Errno>> v = {
      {"EPERM", Errno::Perm},         {"ENOENT", Errno::NoEnt},
      {"ESRCH", Errno::Srch},         {"EINTR", Errno::Intr},
      {"EIO", Errno::Io},             {"ENXIO", Errno::NxIo},
      {"E2BIG", Errno::TooBig},       {"ENOEXEC", Errno::NoExec},
      {"EBADF", Errno::BadF},         {"ECHILD", Errno::Child},
      {"EAGAIN", Errno::Again},       {"EWOULDBLOCK", Errno::Again},
      {"ENOMEM", Errno::NoMem},       {"EACCES", Errno::Acces},
      {"EFAULT", Errno::Fault},       {"EBUSY", Errno::Busy},
      {"EEXIST", Errno::Exist},       {"EXDEV", Errno::XDev},
      {"ENODEV", Errno::NoDev},       {"ENOTDIR", Errno::NotDir},
      {"EISDIR", Errno::IsDir},       {"EINVAL", Errno::Inval},
      {"ENFILE", Errno::NFile},       {"EMFILE", Errno::MFile},
      {"ENOSPC", Errno::NoSpc},       {"EROFS", Errno::RoFs},
      {"EMLINK", Errno::MLink},       {"EDOM", Errno::Dom},
      {"ERANGE", Errno::Range},       {"EDEADLK", Errno::DeadLk},
      {"EDEADLOCK", Errno::DeadLk},   {"ENAMETOOLONG", Errno::NameTooLong},
      {"ENOLCK", Errno::NoLck},       {"ENOSYS", Errno::NoSys},
      {"ENOTEMPTY", Errno::NotEmpty}, {"ENODATA", Errno::NoData},
      {"ETIME", Errno::Time},         {"EBADMSG", Errno::BadMsg},
      {"EOVERFLOW", Errno::Overflow}, {"EILSEQ", Errno::IlSeq},
      {"ERESTART", Errno::Restart},   {"ENOTSOCK", Errno::NotSock},
      {"EMSGSIZE", Errno::MsgSize},   {"EOPNOTSUPP", Errno::OpNotSupp},
      {"EADDRINUSE", Errno::AddrInUse}, {"EADDRNOTAVAIL", Errno::AddrNotAvail},
      {"ENOBUFS", Errno::NoBufs},     {"EISCONN", Errno::IsConn},
      {"ENOTCONN", Errno::NotConn},   {"ETIMEDOUT", Errno::TimedOut},
      {"ECONNREFUSED", Errno::ConnRefused},
  };
  return v;
}

// Xen's list, expanded through its own X-macro; __XEN__ exposes the internal EINTR/ERESTART.
const std::vector<std::pair<std::string, int>>& xen_errnos() {
  static const std::vector<std::pair<std::string, int>> v = {
#define __XEN__
#define XEN_ERRNO(name, value) {#name, value},
#include <xen/errno.h>
#undef __XEN__
  };
  return v;
}

TEST(AbiErrno, EveryXenErrnoHasTheSameValueInPvkit) {
  ASSERT_GE(xen_errnos().size(), 50u);
  for (const auto& [name, value] : xen_errnos()) {
    bool found = false;
    for (const auto& [pname, e] : pvkit_errnos()) {
      if (pname == name) {
        found = true;
        EXPECT_EQ(static_cast<int>(e), value) << name;
        EXPECT_EQ(Status{e}.guest_value(), -value) << name;
      }
    }
    EXPECT_TRUE(found) << "pvkit lacks " << name;
  }
}

TEST(AbiErrno, PvkitHasNoValueXenLacks) {
  std::set<int> xen_values;
  for (const auto& [name, value] : xen_errnos()) xen_values.insert(value);
  std::set<int> pvkit_values;
  for (const auto& [name, e] : pvkit_errnos()) {
    pvkit_values.insert(static_cast<int>(e));
    EXPECT_TRUE(xen_values.count(static_cast<int>(e))) << name;
  }
  EXPECT_EQ(pvkit_values, xen_values);
  // The values a guest sees most, spelled out against the default (non-__XEN__) enum too.
  EXPECT_EQ(static_cast<int>(Errno::NoSys), XEN_ENOSYS);
  EXPECT_EQ(static_cast<int>(Errno::Fault), XEN_EFAULT);
  EXPECT_EQ(static_cast<int>(Errno::Inval), XEN_EINVAL);
  EXPECT_EQ(static_cast<int>(Errno::Perm), XEN_EPERM);
}

TEST(AbiLayout, MulticallEntryRoundTripsThroughXensStruct) {
  multicall_entry_t x;
  std::memset(&x, 0, sizeof x);
  x.op = 17;
  x.result = static_cast<xen_ulong_t>(-38);
  for (int i = 0; i < 6; ++i) x.args[i] = 100 + i;
  xen::MulticallEntry p;
  std::memcpy(&p, &x, sizeof p);
  EXPECT_EQ(p.op, 17u);
  EXPECT_EQ(static_cast<std::int64_t>(p.result), -38);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(p.args[i], 100u + i);
}

}  // namespace
}  // namespace pvkit
