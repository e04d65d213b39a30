/*
 * A fake hypervisor for host tests of the guest runtime (x86-64 Linux user space).
 *
 * hypercall_page: 128 stubs of 32 bytes, like the page Xen fills, except that stub N does
 *   `mov $N, %eax; jmp pvkit_test_hypercall_entry` instead of `syscall`. The entry calls the
 *   C++ `pvkit_test_fake_hypercall(nr, a1..a5)` (fake_xen.h) and returns its value in RAX,
 *   preserving every register the guest's hypercall asm does not declare clobbered (R9, RBX,
 *   RBP, R12-R15 and all SSE registers; the host test code may keep values in XMM registers).
 *   If the C++ side set pvkit_test_upcall_on_return, the entry then delivers an event upcall
 *   to pvkit_test_upcall_callback on the way back (Xen's bounce frame; the interrupted
 *   context is the instruction after the hypercall), as Xen does when it returns to a guest
 *   whose vcpu_info has (upcall_pending, upcall_mask) == (1, 0).
 * Stub 23 (iret) implements HYPERVISOR_iret the way Xen does for a 64-bit PV guest: on entry
 *   the stack holds [flags, rip, cs, rflags, rsp, ss]; it records `flags` in
 *   pvkit_test_iret_flags and resumes the frame with IRETQ (same privilege level, so this works
 *   in user space). RAX, R11 and RCX are resumed from the registers, as Xen resumes them from
 *   the iret_context the real stub completes.
 * pvkit_test_bounce(in, out, callback, misalign): plays Xen's event delivery. It loads the
 *   "interrupted" general registers from in[0..14] (rax rbx rcx rdx rsi rdi rbp r8 r9 r10 r11
 *   r12 r13 r14 r15), records the interrupted stack pointer (8 bytes lower when `misalign`)
 *   in pvkit_test_expected_rsp, builds Xen's 64-bit PV bounce frame (rcx, r11, rip, cs,
 *   rflags, rsp, ss; pushed from that RSP rounded down to 16 bytes), jumps to `callback`, and
 *   when the callback's iret resumes the interrupted context stores the general registers into
 *   out[0..14] (same order) and RSP into out[16]. Returns normally.
 */
        .text
        .balign 4096
        .globl hypercall_page
        .type hypercall_page, @function
hypercall_page:
        .set n, 0
        .rept 128
        .balign 32
        .if n == 23
        jmp     pvkit_test_iret_entry
        .else
        movl    $n, %eax
        jmp     pvkit_test_hypercall_entry
        .endif
        .set n, n + 1
        .endr
        .balign 4096
        .size hypercall_page, 4096

        .type pvkit_test_hypercall_entry, @function
pvkit_test_hypercall_entry:
        pushq   %rbp
        movq    %rsp, %rbp
        pushq   %r9
        andq    $-16, %rsp
        subq    $256, %rsp
        movdqu  %xmm0, 0(%rsp)
        movdqu  %xmm1, 16(%rsp)
        movdqu  %xmm2, 32(%rsp)
        movdqu  %xmm3, 48(%rsp)
        movdqu  %xmm4, 64(%rsp)
        movdqu  %xmm5, 80(%rsp)
        movdqu  %xmm6, 96(%rsp)
        movdqu  %xmm7, 112(%rsp)
        movdqu  %xmm8, 128(%rsp)
        movdqu  %xmm9, 144(%rsp)
        movdqu  %xmm10, 160(%rsp)
        movdqu  %xmm11, 176(%rsp)
        movdqu  %xmm12, 192(%rsp)
        movdqu  %xmm13, 208(%rsp)
        movdqu  %xmm14, 224(%rsp)
        movdqu  %xmm15, 240(%rsp)
        /* PV ABI (rdi rsi rdx r10 r8) -> SysV (nr, a1..a5 in rdi rsi rdx rcx r8 r9). */
        movq    %r8, %r9
        movq    %r10, %r8
        movq    %rdx, %rcx
        movq    %rsi, %rdx
        movq    %rdi, %rsi
        movl    %eax, %edi
        call    pvkit_test_fake_hypercall
        movdqu  0(%rsp), %xmm0
        movdqu  16(%rsp), %xmm1
        movdqu  32(%rsp), %xmm2
        movdqu  48(%rsp), %xmm3
        movdqu  64(%rsp), %xmm4
        movdqu  80(%rsp), %xmm5
        movdqu  96(%rsp), %xmm6
        movdqu  112(%rsp), %xmm7
        movdqu  128(%rsp), %xmm8
        movdqu  144(%rsp), %xmm9
        movdqu  160(%rsp), %xmm10
        movdqu  176(%rsp), %xmm11
        movdqu  192(%rsp), %xmm12
        movdqu  208(%rsp), %xmm13
        movdqu  224(%rsp), %xmm14
        movdqu  240(%rsp), %xmm15
        movq    -8(%rbp), %r9
        movq    %rbp, %rsp
        popq    %rbp
        cmpq    $0, pvkit_test_upcall_on_return(%rip)
        jne     3f
        ret
3:      /* Deliver an event upcall on the way back, as Xen does when it returns to a guest with
         * (upcall_pending, upcall_mask) == (1, 0): the interrupted context is the instruction
         * after the hypercall, RAX holds the result; RCX/R11 are dead after a hypercall. */
        movq    $0, pvkit_test_upcall_on_return(%rip)
        popq    upcall_rip(%rip)
        movq    %rsp, upcall_rsp(%rip)
        andq    $-16, %rsp
        xorl    %ecx, %ecx
        movw    %ss, %cx
        pushq   %rcx                     /* ss */
        pushq   upcall_rsp(%rip)         /* rsp */
        pushfq                           /* rflags */
        movw    %cs, %cx
        pushq   %rcx                     /* cs */
        pushq   upcall_rip(%rip)         /* rip */
        pushq   $0                       /* r11 */
        pushq   $0                       /* rcx */
        incq    pvkit_test_upcalls_delivered(%rip)
        jmp     *pvkit_test_upcall_callback(%rip)
        .size pvkit_test_hypercall_entry, . - pvkit_test_hypercall_entry

        .type pvkit_test_iret_entry, @function
pvkit_test_iret_entry:
        popq    pvkit_test_iret_flags(%rip)
        incq    pvkit_test_iret_count(%rip)
        iretq
        .size pvkit_test_iret_entry, . - pvkit_test_iret_entry

        .globl pvkit_test_bounce
        .type pvkit_test_bounce, @function
pvkit_test_bounce:
        pushq   %rbx
        pushq   %rbp
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        movq    %rsi, bounce_out(%rip)
        movq    %rdx, bounce_callback(%rip)
        movq    %rsp, bounce_saved_rsp(%rip)
        /* The interrupted context's stack is this one; Xen aligns the frame to 16 bytes. */
        testq   %rcx, %rcx
        jz      2f
        subq    $8, %rsp
2:      movq    %rsp, %rax
        movq    %rax, pvkit_test_expected_rsp(%rip)
        andq    $-16, %rsp
        xorl    %ecx, %ecx
        movw    %ss, %cx
        pushq   %rcx                     /* ss */
        pushq   %rax                     /* rsp */
        pushfq                           /* rflags (IF set in user space) */
        movw    %cs, %cx
        pushq   %rcx                     /* cs */
        leaq    1f(%rip), %rcx
        pushq   %rcx                     /* rip */
        pushq   80(%rdi)                 /* r11 (in[10]) */
        pushq   16(%rdi)                 /* rcx (in[2]) */
        movq    0(%rdi), %rax
        movq    8(%rdi), %rbx
        movq    $0xdead0001, %rcx        /* clobbered by Xen's return to the guest */
        movq    24(%rdi), %rdx
        movq    32(%rdi), %rsi
        movq    48(%rdi), %rbp
        movq    56(%rdi), %r8
        movq    64(%rdi), %r9
        movq    72(%rdi), %r10
        movq    $0xdead0002, %r11        /* clobbered by Xen's return to the guest */
        movq    88(%rdi), %r12
        movq    96(%rdi), %r13
        movq    104(%rdi), %r14
        movq    112(%rdi), %r15
        movq    40(%rdi), %rdi
        jmp     *bounce_callback(%rip)
1:      /* Resumed by the callback's HYPERVISOR_iret: record everything. */
        movq    %rax, bounce_scratch(%rip)
        movq    bounce_out(%rip), %rax
        movq    %rbx, 8(%rax)
        movq    %rcx, 16(%rax)
        movq    %rdx, 24(%rax)
        movq    %rsi, 32(%rax)
        movq    %rdi, 40(%rax)
        movq    %rbp, 48(%rax)
        movq    %r8, 56(%rax)
        movq    %r9, 64(%rax)
        movq    %r10, 72(%rax)
        movq    %r11, 80(%rax)
        movq    %r12, 88(%rax)
        movq    %r13, 96(%rax)
        movq    %r14, 104(%rax)
        movq    %r15, 112(%rax)
        movq    %rsp, 128(%rax)
        movq    bounce_scratch(%rip), %rcx
        movq    %rcx, 0(%rax)
        movq    bounce_saved_rsp(%rip), %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbp
        popq    %rbx
        ret
        .size pvkit_test_bounce, . - pvkit_test_bounce

        .data
        .balign 8
        .globl pvkit_test_iret_flags
pvkit_test_iret_flags:  .quad 0
        .globl pvkit_test_iret_count
pvkit_test_iret_count:  .quad 0
        .globl pvkit_test_expected_rsp
pvkit_test_expected_rsp: .quad 0
bounce_out:             .quad 0
bounce_callback:        .quad 0
bounce_saved_rsp:       .quad 0
bounce_scratch:         .quad 0
upcall_rip:             .quad 0
upcall_rsp:             .quad 0
        .globl pvkit_test_upcall_on_return
pvkit_test_upcall_on_return: .quad 0
        .globl pvkit_test_upcall_callback
pvkit_test_upcall_callback: .quad 0
        .globl pvkit_test_upcalls_delivered
pvkit_test_upcalls_delivered: .quad 0

        .section .note.GNU-stack, "", @progbits
