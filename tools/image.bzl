"""pvkit_image: a bare-metal x86-64 hypervisor image, built from the host build graph.

What it is: a macro that declares the image's cc_binary (incompatible with the host, so plain
`bazel build //...` skips it in the host configuration) and a small rule that builds that
binary for //platforms/baremetal:x86_64_none through a Starlark transition and exposes it as
`<name>.elf`. So one `bazel build //...` builds host code and images together.

How to use it:
    load("//tools:image.bzl", "pvkit_image")
    pvkit_image(name = "smoke", srcs = ["main.cc"])       # -> smoke.elf
Deps default to the PC platform (boot, console, runtime); add your own libraries in `deps`.
"""

_BAREMETAL_PLATFORM = str(Label("//platforms/baremetal:x86_64_none"))

# Host-only flags (sanitizers, fuzzing, -std for the host compiler) must not leak into the
# freestanding image: the bare-metal toolchain carries all the flags an image needs.
def _to_baremetal_impl(settings, attr):
    return {
        "//command_line_option:platforms": _BAREMETAL_PLATFORM,
        "//command_line_option:copt": [],
        "//command_line_option:cxxopt": [],
        "//command_line_option:linkopt": [],
    }

_to_baremetal = transition(
    implementation = _to_baremetal_impl,
    inputs = [],
    outputs = [
        "//command_line_option:platforms",
        "//command_line_option:copt",
        "//command_line_option:cxxopt",
        "//command_line_option:linkopt",
    ],
)

def _image_impl(ctx):
    binary = ctx.attr.binary[0][DefaultInfo].files_to_run.executable
    out = ctx.actions.declare_file(ctx.label.name + ".elf")
    ctx.actions.run_shell(
        inputs = [binary],
        outputs = [out],
        command = "cp -f \"$1\" \"$2\" && chmod 0644 \"$2\"",
        arguments = [binary.path, out.path],
        mnemonic = "PvkitImage",
        progress_message = "Packaging pvkit image %s" % out.short_path,
    )
    return [DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = [out]))]

pvkit_image_rule = rule(
    implementation = _image_impl,
    attrs = {
        "binary": attr.label(mandatory = True, cfg = _to_baremetal),
        "_allowlist_function_transition": attr.label(
            default = "@bazel_tools//tools/allowlists/function_transition_allowlist",
        ),
    },
    doc = "Builds `binary` for the bare-metal x86-64 platform and names it <name>.elf.",
)

def pvkit_image(
        name,
        srcs = [],
        deps = [],
        copts = [],
        linker_script = Label("//arch/x86:boot/hypervisor.ld"),
        platform_deps = [Label("//platforms/pc")],
        visibility = None,
        tags = []):
    """Declares `<name>` (the image, output `<name>.elf`) and `<name>_bin` (its cc_binary)."""
    native.cc_binary(
        name = name + "_bin",
        srcs = srcs,
        deps = deps + platform_deps,
        copts = copts,
        linkopts = ["-Wl,-T,$(location %s)" % linker_script],
        additional_linker_inputs = [linker_script],
        linkstatic = 1,
        features = ["-pie"],
        target_compatible_with = ["@platforms//os:none"],
        visibility = visibility,
        tags = tags,
    )
    pvkit_image_rule(
        name = name,
        binary = ":" + name + "_bin",
        visibility = visibility,
        tags = tags,
    )
