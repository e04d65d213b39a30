/*
 * pvkit guest runtime: the Xen ELF notes of a PV guest kernel (public/elfnote.h).
 *
 * Each note is name "Xen", a type, and a descriptor: strings are NUL-terminated, numbers are
 * 8-byte little-endian values. VIRT_BASE comes from guest/guest.ld; ENTRY and HYPERCALL_PAGE
 * are the runtime's symbols. Checked on every built kernel by //guest/test:guest_elf_test.
 */
#define XEN_NOTE(type, desc_begin, desc_end)  \
        .balign 4;                            \
        .long 4;                              \
        .long desc_end - desc_begin;          \
        .long type;                           \
        .asciz "Xen";                         \
        .balign 4

        .section .note.Xen, "a", @note

        /* XEN_ELFNOTE_GUEST_OS (6) */
        XEN_NOTE(6, 1f, 2f)
1:      .asciz "pvkit"
2:
        /* XEN_ELFNOTE_XEN_VERSION (5) */
        XEN_NOTE(5, 1f, 2f)
1:      .asciz "xen-3.0"
2:
        /* XEN_ELFNOTE_LOADER (8) */
        XEN_NOTE(8, 1f, 2f)
1:      .asciz "generic"
2:
        /* XEN_ELFNOTE_VIRT_BASE (3) */
        XEN_NOTE(3, 1f, 2f)
1:      .quad PVKIT_GUEST_VIRT_BASE
2:
        /* XEN_ELFNOTE_PADDR_OFFSET (4) */
        XEN_NOTE(4, 1f, 2f)
1:      .quad 0
2:
        /* XEN_ELFNOTE_ENTRY (1) */
        XEN_NOTE(1, 1f, 2f)
1:      .quad _start
2:
        /* XEN_ELFNOTE_HYPERCALL_PAGE (2) */
        XEN_NOTE(2, 1f, 2f)
1:      .quad hypercall_page
2:
        /* XEN_ELFNOTE_FEATURES (10): '!' marks a feature the kernel requires. */
        XEN_NOTE(10, 1f, 2f)
1:      .asciz "!writable_page_tables"
2:
        .balign 4

        .section .note.GNU-stack, "", @progbits
