/*
 * Copies between the hypervisor and the running guest's memory with fault recovery
 * (pvkit/arch/x86/mm/guest_copy.h). The ring-0 fault path (pvkit_x86_trap) looks the faulting
 * RIP up in pvkit_x86_extable and, on a match, resumes at the paired recovery address instead
 * of panicking. REP MOVSQ and REP MOVSB are restartable: on a fault RCX holds the quadwords or
 * bytes not yet copied.
 * Concurrency: reentrant (registers and the two buffers only).
 */
        .text
        .code64

/* size_t pvkit_x86_copy_guest(void* dst (rdi), const void* src (rsi), size_t n (rdx)) */
        .p2align 4
        .globl  pvkit_x86_copy_guest
pvkit_x86_copy_guest:
        movq    %rdx, %rcx
        shrq    $3, %rcx                /* quadwords (one REP iteration each under -icount) */
        andl    $7, %edx                /* then the tail bytes */
        cld
.Lcopy_quads:
        rep movsq
        movq    %rdx, %rcx
.Lcopy_insn:
        rep movsb
        xorl    %eax, %eax
        ret
.Lcopy_quads_fixup:
        leaq    (%rdx,%rcx,8), %rax     /* bytes left: quadwords not copied, and the tail */
        ret
.Lcopy_fixup:
        movq    %rcx, %rax              /* bytes left: the caller answers -EFAULT */
        testq   %rax, %rax
        jnz     1f
        movl    $1, %eax                /* a fault on the last byte still counts */
1:      ret

        .section .rodata.pvkit_extable, "a"
        .p2align 3
        .globl  pvkit_x86_extable
pvkit_x86_extable:
        .quad   .Lcopy_quads, .Lcopy_quads_fixup
        .quad   .Lcopy_insn, .Lcopy_fixup
        .globl  pvkit_x86_extable_end
pvkit_x86_extable_end:
