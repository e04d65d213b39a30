"""pvkit_doccheck_test: fails when a public declaration in a public header has no doc comment.

What it is: a test rule. It collects the headers of `libs` (each cc_library's own public
headers are checked; headers of their dependencies are only made available for #include)
and of `extra_hdrs` (single header files of libraries that do not build for the host, with
their include names), writes a manifest, and runs doccheck_test.sh: one translation unit of
all of them through `clang++-14 -fsyntax-only -fparse-all-comments -Xclang -ast-dump`, the dump
filtered by //tools/doccheck:doccheck (see doccheck.cc for what counts as public). An optional
`baseline` lists known undocumented declarations ("file: kind name"); anything else fails,
and so does a baseline line that is documented now (the baseline only shrinks).

How to use it:
    load("//tools/doccheck:doccheck.bzl", "pvkit_doccheck_test")
    pvkit_doccheck_test(name = "api_docs_test", libs = ["//lib/base"],
                        extra_hdrs = {"//arch/x86:cpu/cpu.h": "pvkit/arch/x86/cpu/cpu.h"})
"""

def _include_name(f):
    # Headers of cc_library targets with include_prefix live under _virtual_includes/<target>/.
    marker = "_virtual_includes/"
    path = "/" + f.short_path
    i = path.find("/" + marker)
    if i < 0:
        return None
    rest = path[i + 1 + len(marker):]
    return rest[rest.find("/") + 1:]

def _impl(ctx):
    lines = []
    runfiles = []
    for lib in ctx.attr.libs:
        cc = lib[CcInfo].compilation_context
        group = str(lib.label)
        for f in cc.direct_public_headers:
            name = _include_name(f)
            if name:
                lines.append("check %s %s %s" % (group, name, f.short_path))
        for f in cc.headers.to_list():
            name = _include_name(f)
            if name:
                lines.append("inc - %s %s" % (name, f.short_path))
        runfiles.append(cc.headers)
    extra_files = []
    for target, name in ctx.attr.extra_hdrs.items():
        for f in target.files.to_list():
            lines.append("check %s %s %s" % (str(target.label), name, f.short_path))
            extra_files.append(f)
    manifest = ctx.actions.declare_file(ctx.label.name + ".manifest")
    ctx.actions.write(manifest, "\n".join(lines) + "\n")
    script = ctx.actions.declare_file(ctx.label.name + ".sh")
    ctx.actions.write(
        script,
        "#!/usr/bin/env bash\nr=\"$TEST_SRCDIR/$TEST_WORKSPACE\"\nexec \"$r/%s\" \"$r/%s\" \"$r/%s\" %s\n" % (
            ctx.file._driver.short_path,
            ctx.executable._doccheck.short_path,
            manifest.short_path,
            ("\"$r/%s\"" % ctx.file.baseline.short_path) if ctx.file.baseline else "",
        ),
        is_executable = True,
    )
    rf = ctx.runfiles(
        files = [manifest, ctx.file._driver] + extra_files + ([ctx.file.baseline] if ctx.file.baseline else []),
        transitive_files = depset(transitive = runfiles),
    ).merge(ctx.attr._doccheck[DefaultInfo].default_runfiles)
    return [DefaultInfo(executable = script, runfiles = rf)]

pvkit_doccheck_test = rule(
    implementation = _impl,
    test = True,
    attrs = {
        "libs": attr.label_list(providers = [CcInfo]),
        "extra_hdrs": attr.label_keyed_string_dict(allow_files = [".h"]),
        "baseline": attr.label(allow_single_file = True, doc = "Known undocumented declarations; only shrinks."),
        "_doccheck": attr.label(default = Label("//tools/doccheck:doccheck"), executable = True, cfg = "target"),
        "_driver": attr.label(default = Label("//tools/doccheck:doccheck_test.sh"), allow_single_file = True),
    },
    doc = "Checks that every public declaration in the given libraries' headers has a doc comment.",
)
