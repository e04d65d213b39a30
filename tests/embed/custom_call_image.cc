// The embedding test image: pvkit's PC hypervisor with an embedder's hypercall table,
// PcTable plus `answer_op` (56), booting one real PV guest kernel (custom_call_guest) that
// calls it. Passes when the guest prints "custom: SUCCESS" and powers off, and every resource
// comes back (Hypervisor::run's verdict).
#include <cstdint>

#include "pvkit/base/status.h"
#include "pvkit/hypercall/args.h"
#include "pvkit/platforms/pc/boot_info.h"
#include "pvkit/platforms/pc/embedded_guest.h"
#include "pvkit/platforms/pc/hv/hypervisor.h"
#include "pvkit/platforms/pc/log.h"

PVKIT_EMBEDDED_GUEST(custom);

namespace {

using namespace pvkit;

/// The embedder's hypercall: RAX = a0 + a1 (each must be < 1000, else -EINVAL); when a2 is
/// not 0 the sum is also written to the guest's address a2 (checked: -EFAULT).
struct AnswerOp {
  static constexpr std::uint32_t kNumber = 56;
  static constexpr const char* kName = "answer_op";
  template <typename Ctx>
  static std::int64_t call(Ctx& ctx, HypercallArgs& args) {
    if (args.a[0] >= 1000 || args.a[1] >= 1000) return Status{Errno::Inval}.guest_value();
    const std::uint64_t sum = args.a[0] + args.a[1];
    if (args.a[2] != 0) {
      if (Status s = ctx.guest_memory().copy_to_guest(VirtAddr{args.a[2]}, &sum, sizeof sum); !s) {
        return s.guest_value();
      }
    }
    return static_cast<std::int64_t>(sum);
  }
};

using EmbedderTable = pc::PcTable::add<AnswerOp>;

}  // namespace

int pvkit_main(const pc::BootInfo& boot) {
  auto& hv = pc::Hypervisor::boot(boot);
  hv.use_hypercall_table<EmbedderTable>();
  hv.summary_label = "embedding test";
  if (auto v = hv.create_domain({.name = "custom",
                                 .elf = pvkit_embedded_custom(),
                                 .expect = pc::Expect::kSuccess,
                                 .role = "calls the embedder's hypercall 56"});
      !v) {
    pc::printf("pvkit-test: RESULT FAILURE (cannot build the guest: %ld)\n",
               static_cast<long>(v.status().guest_value()));
    return 1;
  }
  hv.run();
}
