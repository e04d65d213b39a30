/*
 * tests/demo trapper: the guest's exception handlers, entered by the hypervisor through Xen's
 * x86-64 PV exception bounce frame on the kernel stack (lowest address first):
 *     rcx, r11, [error code], rip, cs, rflags, rsp, ss
 * Each handler counts itself, steps over the faulting instruction where needed and returns
 * with HYPERVISOR_iret: push the iret `flags` word (0) and jump to the hypercall page's iret
 * stub, which pushes RCX, R11 and RAX to complete struct iret_context.
 */
#define HYPERCALL_IRET_OFFSET (23 * 32)

        .text
        .globl trapper_bp
        .balign 16
trapper_bp:                         /* int3: a trap, RIP is already past it */
        popq    %rcx
        popq    %r11
        incq    trapper_bp_count(%rip)
        pushq   $0
        jmp     hypercall_page + HYPERCALL_IRET_OFFSET

        .globl trapper_ud
        .balign 16
trapper_ud:                         /* ud2: a fault, step over its 2 bytes */
        popq    %rcx
        popq    %r11
        incq    trapper_ud_count(%rip)
        addq    $2, (%rsp)
        pushq   $0
        jmp     hypercall_page + HYPERCALL_IRET_OFFSET

        .globl trapper_pf
        .balign 16
trapper_pf:                         /* the 3-byte load in trapper_touch_null: step over it */
        popq    %rcx
        popq    %r11
        popq    trapper_pf_error(%rip)
        incq    trapper_pf_count(%rip)
        addq    $3, (%rsp)
        pushq   $0
        jmp     hypercall_page + HYPERCALL_IRET_OFFSET

        .globl trapper_touch_null
        .balign 16
trapper_touch_null:                 /* returns RDI unchanged if the #PF was stepped over */
        movq    %rdi, %rax
        xorl    %edx, %edx
        movq    (%rdx), %rax        /* 48 8b 02 */
        ret

        .data
        .balign 8
        .globl trapper_bp_count, trapper_ud_count, trapper_pf_count, trapper_pf_error
trapper_bp_count:  .quad 0
trapper_ud_count:  .quad 0
trapper_pf_count:  .quad 0
trapper_pf_error:  .quad 0

        .section .note.GNU-stack, "", @progbits
