/*
 * pvkit guest runtime: the hypercall page.
 *
 * A 4 KiB-aligned page of text named by the XEN_ELFNOTE_HYPERCALL_PAGE note. The hypervisor
 * fills it with 128 stubs of 32 bytes before the guest runs; hypercall N is
 * `call hypercall_page + N * 32` (pvkit/guest/hypercall.h). Until then it holds int3, so a
 * hypercall on a hypervisor that did not fill it traps instead of running on.
 */
        .section .text.hypercall_page, "ax", @progbits
        .balign 4096
        .globl hypercall_page
        .type hypercall_page, @object
hypercall_page:
        .fill   4096, 1, 0xcc
        .size hypercall_page, 4096

        .section .note.GNU-stack, "", @progbits
