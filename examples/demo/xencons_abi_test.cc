// examples/demo's struct xencons_interface against Xen's io/console.h.
#include <cstddef>

#include <gtest/gtest.h>

extern "C" {
#include <xen/xen.h>
#include <xen/io/console.h>
}

#include "examples/demo/xencons.h"

TEST(XenconsAbi, LayoutMatchesXen) {
  using pvkit::demo::XenconsInterface;
  EXPECT_EQ(sizeof(XenconsInterface), sizeof(struct xencons_interface));
  EXPECT_EQ(offsetof(XenconsInterface, in), offsetof(struct xencons_interface, in));
  EXPECT_EQ(offsetof(XenconsInterface, out), offsetof(struct xencons_interface, out));
  EXPECT_EQ(offsetof(XenconsInterface, in_cons), offsetof(struct xencons_interface, in_cons));
  EXPECT_EQ(offsetof(XenconsInterface, in_prod), offsetof(struct xencons_interface, in_prod));
  EXPECT_EQ(offsetof(XenconsInterface, out_cons), offsetof(struct xencons_interface, out_cons));
  EXPECT_EQ(offsetof(XenconsInterface, out_prod), offsetof(struct xencons_interface, out_prod));
}
