// The appliance: a hypervisor image composed from pvkit by a separate Bazel workspace, the way a
// user's repository consumes pvkit (`local_repository(name = "pvkit", path = "../..")`).
// For now it proves the embedding path: pvkit's PC platform, image rule and QEMU test rule,
// used from outside the pvkit repository.
#include "pvkit/platforms/pc/boot_info.h"
#include "pvkit/platforms/pc/ktest.h"
#include "pvkit/platforms/pc/log.h"

int pvkit_main(const pvkit::pc::BootInfo&) {
  pvkit::pc::printf("appliance: an external workspace's hypervisor built on pvkit\n");
  pvkit::pc::Ktest t;
  t.check("appliance image booted through pvkit's PC platform", true);
  t.finish();
}
