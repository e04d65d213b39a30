"""pvkit_embed_guests: guest kernel ELF files built into a hypervisor image.

What it is: a macro producing a cc_library whose assembler source `.incbin`s each guest ELF
into .rodata (page aligned) between the symbols `pvkit_guest_<key>_start` and
`pvkit_guest_<key>_end`. The ELFs stay ordinary build outputs of //guest/kernels.

How to use it:
    load("//platforms/pc:embed.bzl", "pvkit_embed_guests")
    pvkit_embed_guests(name = "guests", guests = {"hello": "//guest/kernels:hello"})
and in C++: PVKIT_EMBEDDED_GUEST(hello) (platforms/pc/embedded_guest.h).
"""

def pvkit_embed_guests(name, guests, visibility = None):
    keys = sorted(guests.keys())
    incs = ["%s_%s.inc" % (name, k) for k in keys]
    lines = ["\t.section .rodata.pvkit_guests,\"a\",@progbits"]
    for k in keys:
        lines += [
            "\t.balign 4096",
            "\t.globl pvkit_guest_%s_start" % k,
            "pvkit_guest_%s_start:" % k,
            "\t.incbin \"$(RULEDIR)/%s_%s.inc\"" % (name, k),
            "\t.globl pvkit_guest_%s_end" % k,
            "pvkit_guest_%s_end:" % k,
        ]
    lines.append("\t.section .note.GNU-stack,\"\",@progbits")
    cmds = ["cp -f $(location %s) $(RULEDIR)/%s_%s.inc" % (guests[k], name, k) for k in keys]
    cmds.append("printf '%s\\n' " + " ".join(["'%s'" % l for l in lines]) + " > $(location %s.S)" % name)
    native.genrule(
        name = name + "_gen",
        srcs = [guests[k] for k in keys],
        outs = [name + ".S"] + incs,
        cmd = " && ".join(cmds),
        target_compatible_with = ["@platforms//os:none"],
    )
    native.cc_library(
        name = name,
        srcs = [name + ".S"],
        textual_hdrs = incs,
        alwayslink = 1,
        target_compatible_with = ["@platforms//os:none"],
        visibility = visibility,
    )
