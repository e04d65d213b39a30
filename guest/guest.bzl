"""pvkit_guest: a Xen x86-64 PV guest kernel, built as its own ELF file.

What it is: a macro around pvkit_image (//tools:image.bzl) that links the kernel with the
guest layout (//guest:guest.ld, VIRT_BASE 0xFFFFFFFF80000000) and the guest runtime
(//guest/runtime: entry stub, hypercall page, Xen ELF notes, upcall entry) instead of the
hypervisor's, and with the guest library (//guest/lib). The result is `<name>.elf`, built for
//platforms/baremetal:x86_64_none from the ordinary host build graph.

How to use it:
    load("//guest:guest.bzl", "pvkit_guest")
    pvkit_guest(name = "hello", srcs = ["hello.cc"])   # -> hello.elf; defines guest_main()
"""

load("//tools:image.bzl", "pvkit_image")

def pvkit_guest(name, srcs, deps = [], copts = [], visibility = None, tags = []):
    """Declares guest kernel `<name>` (output `<name>.elf`) and `<name>_bin` (its cc_binary)."""
    pvkit_image(
        name = name,
        srcs = srcs,
        deps = deps,
        copts = copts,
        linker_script = Label("//guest:guest.ld"),
        platform_deps = [Label("//guest/runtime"), Label("//guest/lib")],
        visibility = visibility,
        tags = tags,
    )
