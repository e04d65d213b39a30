"""The freestanding clang-14 C++20 toolchain that builds pvkit's bare-metal x86-64 images.

What it is: a `cc_toolchain_config` rule for Bazel 4.2.3 describing clang-14 + lld-14 with
libc++ 14 headers used freestanding (no libc, no exceptions, no RTTI, no red zone, no SSE/x87
code). Images run in the upper half of the address space (Xen's hypervisor slots), so code is
compiled position-independent (RIP-relative) and linked static at its final address.

How to use it: nothing to do by hand. //tools/toolchain:x86_64_none_toolchain is registered in
WORKSPACE and is selected whenever the target platform is //platforms/baremetal:x86_64_none
(the `pvkit_image` rule transitions to it).
"""

load("@bazel_tools//tools/build_defs/cc:action_names.bzl", "ACTION_NAMES")
load(
    "@bazel_tools//tools/cpp:cc_toolchain_config_lib.bzl",
    "feature",
    "flag_group",
    "flag_set",
    "tool_path",
)

_COMPILE_ACTIONS = [
    ACTION_NAMES.assemble,
    ACTION_NAMES.preprocess_assemble,
    ACTION_NAMES.c_compile,
    ACTION_NAMES.cpp_compile,
    ACTION_NAMES.cpp_header_parsing,
    ACTION_NAMES.cpp_module_compile,
]

_CXX_ACTIONS = [
    ACTION_NAMES.cpp_compile,
    ACTION_NAMES.cpp_header_parsing,
    ACTION_NAMES.cpp_module_compile,
]

_LINK_ACTIONS = [
    ACTION_NAMES.cpp_link_executable,
    ACTION_NAMES.cpp_link_dynamic_library,
    ACTION_NAMES.cpp_link_nodeps_dynamic_library,
]

# libc++ configuration for a target without threads, clocks, locales or a filesystem.
_LIBCXX_DEFINES = [
    "-D_LIBCPP_HAS_NO_THREADS",
    "-D_LIBCPP_HAS_NO_MONOTONIC_CLOCK",
    "-D_LIBCPP_HAS_NO_LOCALIZATION",
    "-D_LIBCPP_HAS_NO_WIDE_CHARACTERS",
    "-D_LIBCPP_HAS_NO_RANDOM_DEVICE",
    "-D_LIBCPP_HAS_NO_FILESYSTEM_LIBRARY",
    "-D_LIBCPP_DISABLE_EXTERN_TEMPLATE",
    "-D_LIBCPP_NO_EXCEPTIONS",
]

def _impl(ctx):
    root = ctx.label.workspace_root  # "" in pvkit itself, "external/<name>" when embedded
    prefix = (root + "/") if root else ""
    libc_dir = prefix + "tools/toolchain/freestanding/libc"

    tool_paths = [
        tool_path(name = "gcc", path = "/usr/bin/clang-14"),
        tool_path(name = "ld", path = "/usr/bin/ld.lld-14"),
        tool_path(name = "ar", path = "/usr/bin/llvm-ar-14"),
        tool_path(name = "cpp", path = "/usr/bin/clang-cpp-14"),
        tool_path(name = "nm", path = "/usr/bin/llvm-nm-14"),
        tool_path(name = "objdump", path = "/usr/bin/llvm-objdump-14"),
        tool_path(name = "objcopy", path = "/usr/bin/llvm-objcopy-14"),
        tool_path(name = "strip", path = "/usr/bin/llvm-strip-14"),
        tool_path(name = "gcov", path = "/bin/false"),
        tool_path(name = "dwp", path = "/bin/false"),
    ]

    compile_flags = feature(
        name = "pvkit_freestanding_compile_flags",
        enabled = True,
        flag_sets = [
            flag_set(
                actions = _COMPILE_ACTIONS,
                flag_groups = [flag_group(flags = [
                    "--target=x86_64-unknown-none-elf",
                    "-no-canonical-prefixes",
                    "-ffreestanding",
                    "-nostdlibinc",
                    "-mno-red-zone",
                    "-mno-sse",
                    "-mno-sse2",
                    "-mno-mmx",
                    "-mno-avx",
                    "-fpie",
                    "-fno-stack-protector",
                    # No frame-pointer chain: nothing walks one (the trap dump prints registers),
                    # and every hypercall pays 3 instructions per function level for it.
                    "-fomit-frame-pointer",
                    "-fno-asynchronous-unwind-tables",
                    "-fno-unwind-tables",
                    "-fno-builtin-printf",
                    "-O2",
                    "-g",
                    "-Wall",
                    "-Wextra",
                    "-DPVKIT_FREESTANDING=1",
                ])],
            ),
            flag_set(
                actions = _CXX_ACTIONS,
                flag_groups = [flag_group(flags = [
                    "-std=c++20",
                    "-nostdinc++",
                    "-fno-exceptions",
                    "-fno-rtti",
                    "-fno-threadsafe-statics",
                    "-fno-use-cxa-atexit",
                    "-isystem",
                    "/usr/lib/llvm-14/include/c++/v1",
                ] + _LIBCXX_DEFINES)],
            ),
            # The declaration-only C headers that libc++'s wrappers #include_next come after
            # libc++ (and clang's own resource headers are always searched).
            flag_set(
                actions = _COMPILE_ACTIONS,
                flag_groups = [flag_group(flags = ["-idirafter", libc_dir])],
            ),
        ],
    )

    link_flags = feature(
        name = "pvkit_freestanding_link_flags",
        enabled = True,
        flag_sets = [
            flag_set(
                actions = _LINK_ACTIONS,
                flag_groups = [flag_group(flags = [
                    "--target=x86_64-linux-gnu",
                    "--ld-path=/usr/bin/ld.lld-14",
                    "-nostdlib",
                    "-static",
                    "-Wl,--build-id=none",
                    "-Wl,-z,max-page-size=4096",
                    "-Wl,-z,norelro",
                    "-Wl,--no-dynamic-linker",
                ])],
            ),
        ],
    )

    return cc_common.create_cc_toolchain_config_info(
        ctx = ctx,
        features = [compile_flags, link_flags],
        cxx_builtin_include_directories = [
            "/usr/lib/llvm-14/include/c++/v1",
            "/usr/lib/llvm-14/lib/clang",
            "/usr/lib/clang",
            ("%package(@" + ctx.label.workspace_name + "//tools/toolchain)%" if root else "%package(//tools/toolchain)%") + "/freestanding/libc",
        ],
        toolchain_identifier = "pvkit-x86_64-none-clang14",
        host_system_name = "x86_64-linux-gnu",
        target_system_name = "x86_64-unknown-none-elf",
        target_cpu = "x86_64",
        target_libc = "none",
        compiler = "clang",
        abi_version = "none",
        abi_libc_version = "none",
        tool_paths = tool_paths,
    )

pvkit_cc_toolchain_config = rule(
    implementation = _impl,
    attrs = {},
    provides = [CcToolchainConfigInfo],
)
