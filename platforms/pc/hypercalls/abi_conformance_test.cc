// The PC platform's own Xen ABI definitions against Xen's public headers.
#include <cstddef>

#include <gtest/gtest.h>

extern "C" {
#include <xen/xen.h>
#include <xen/callback.h>
#include <xen/sched.h>
}

#include "pvkit/platforms/pc/hypercalls/xen_abi.h"
#include "pvkit/platforms/pc/hypercalls/sched_op.h"

namespace x = pvkit::pc::xen;

TEST(PcAbiConformance, CallbackConstants) {
  EXPECT_EQ(x::kCallbackOpRegister, CALLBACKOP_register);
  EXPECT_EQ(x::kCallbackOpUnregister, CALLBACKOP_unregister);
  EXPECT_EQ(x::kCallbackTypeEvent, CALLBACKTYPE_event);
  EXPECT_EQ(x::kCallbackTypeFailsafe, CALLBACKTYPE_failsafe);
  EXPECT_EQ(x::kCallbackTypeSyscall, CALLBACKTYPE_syscall);
  EXPECT_EQ(x::kCallbackTypeNmi, CALLBACKTYPE_nmi);
  EXPECT_EQ(x::kCallbackFMaskEvents, CALLBACKF_mask_events);
}

TEST(PcAbiConformance, CallbackLayouts) {
  EXPECT_EQ(sizeof(x::CallbackRegister), sizeof(struct callback_register));
  EXPECT_EQ(offsetof(x::CallbackRegister, type), offsetof(struct callback_register, type));
  EXPECT_EQ(offsetof(x::CallbackRegister, flags), offsetof(struct callback_register, flags));
  EXPECT_EQ(offsetof(x::CallbackRegister, address), offsetof(struct callback_register, address));
  EXPECT_EQ(sizeof(x::CallbackUnregister), sizeof(struct callback_unregister));
  EXPECT_EQ(offsetof(x::CallbackUnregister, type), offsetof(struct callback_unregister, type));
}

TEST(PcAbiConformance, IretContext) {
  EXPECT_EQ(x::kVgcfInSyscall, static_cast<std::uint64_t>(VGCF_in_syscall));
  EXPECT_EQ(sizeof(x::IretContext), sizeof(struct iret_context));
  EXPECT_EQ(offsetof(x::IretContext, rax), offsetof(struct iret_context, rax));
  EXPECT_EQ(offsetof(x::IretContext, r11), offsetof(struct iret_context, r11));
  EXPECT_EQ(offsetof(x::IretContext, rcx), offsetof(struct iret_context, rcx));
  EXPECT_EQ(offsetof(x::IretContext, flags), offsetof(struct iret_context, flags));
  EXPECT_EQ(offsetof(x::IretContext, rip), offsetof(struct iret_context, rip));
  EXPECT_EQ(offsetof(x::IretContext, cs), offsetof(struct iret_context, cs));
  EXPECT_EQ(offsetof(x::IretContext, rflags), offsetof(struct iret_context, rflags));
  EXPECT_EQ(offsetof(x::IretContext, rsp), offsetof(struct iret_context, rsp));
  EXPECT_EQ(offsetof(x::IretContext, ss), offsetof(struct iret_context, ss));
}

TEST(PcAbiConformance, TrapInfo) {
  EXPECT_EQ(sizeof(x::TrapInfo), sizeof(struct trap_info));
  EXPECT_EQ(offsetof(x::TrapInfo, vector), offsetof(struct trap_info, vector));
  EXPECT_EQ(offsetof(x::TrapInfo, flags), offsetof(struct trap_info, flags));
  EXPECT_EQ(offsetof(x::TrapInfo, cs), offsetof(struct trap_info, cs));
  EXPECT_EQ(offsetof(x::TrapInfo, address), offsetof(struct trap_info, address));
}

TEST(PcAbiConformance, SchedPoll) {
  EXPECT_EQ(sizeof(pvkit::xen::SchedPoll), sizeof(struct sched_poll));
  EXPECT_EQ(offsetof(pvkit::xen::SchedPoll, nr_ports), offsetof(struct sched_poll, nr_ports));
  EXPECT_EQ(offsetof(pvkit::xen::SchedPoll, timeout), offsetof(struct sched_poll, timeout));
}
