"""pvkit_qemu_test: boots a pvkit image under QEMU as a Bazel test.

The test passes only if the image prints exactly one final `pvkit-test: RESULT SUCCESS` line AND
leaves QEMU through isa-debug-exit with the success code; a triple fault (status 0), a timeout,
a missing or failing result line all fail, and the test log shows the serial output
(tools/qemu/run_qemu_test.sh).

    pvkit_qemu_test(name = "smoke_qemu_test", image = ":smoke", append = "mode=x")
"""

def pvkit_qemu_test(
        name,
        image,
        append = "",
        initrd = [],
        machine = "microvm",
        smp = 1,
        icount = False,
        timeout_secs = 60,
        size = "medium",
        tags = [],
        **kwargs):
    args = [
        "--image",
        "$(location %s)" % image,
        "--timeout",
        str(timeout_secs),
        "--machine",
        machine,
        "--smp",
        str(smp),
    ]
    if append:
        args += ["--append", "'%s'" % append]
    if initrd:
        args += ["--initrd", ",".join(["$(location %s)" % f for f in initrd])]
    if icount:
        args.append("--icount")
    native.sh_test(
        name = name,
        srcs = [Label("//tools/qemu:run_qemu_test.sh")],
        args = args,
        data = [image] + initrd,
        size = size,
        tags = tags + ["qemu"],
        **kwargs
    )
