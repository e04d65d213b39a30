/*
 * Ring-3 test programs for //tests/arch:ring3 (copied into a user page at run time, so they
 * are position-independent and touch only their own code, the user data page and the stack).
 * Conventions: before an instruction that should trap, R15 holds the address to resume at
 * (the test's fault hook sets RIP = R15); `mov $9, %eax; syscall` ends a program.
 */
        .section .text.pvkit_user, "ax", @progbits
        .globl  pvkit_user_blob_start
        .p2align 12
pvkit_user_blob_start:

/* ---- mode=syscall: hypercall-style calls, results back, a re-executed call ---- */
        .globl  user_syscalls
user_syscalls:
        movabsq $0x1111111111111111, %rbx
        movabsq $0x2222222222222222, %rbp
        movabsq $0x3333333333333333, %r12
        movabsq $0x4444444444444444, %r13
        movabsq $0x5555555555555555, %r14
        /* nr 1: sum of the five argument registers */
        movl    $1, %eax
        movl    $10, %edi
        movl    $20, %esi
        movl    $30, %edx
        movl    $40, %r10d
        movl    $50, %r8d
        syscall
        movq    %rax, %rdi              /* nr 2: report(rdi = result, rsi = 0) */
        xorl    %esi, %esi
        movl    $2, %eax
        syscall
        /* nr 3: a preemptible call; the hook restarts it until rdi reaches 0 */
        movl    $3, %eax
        movl    $3, %edi
        syscall
        movq    %rdi, %rsi              /* report(result, final rdi) */
        movq    %rax, %rdi
        movl    $2, %eax
        syscall
        /* an unknown number: the hook answers -ENOSYS */
        movl    $0x7777, %eax
        syscall
        movq    %rax, %rdi
        xorl    %esi, %esi
        movl    $2, %eax
        syscall
        movl    $9, %eax
        syscall
        ud2

/* ---- mode=badreturn: the hook asks to resume unsafe frames; each must be refused ---- */
        .globl  user_bad_returns
user_bad_returns:
        leaq    1f(%rip), %r15
        movl    $5, %eax                /* hook: RIP = RCX = 0x0000800000000000 */
        syscall
1:      leaq    2f(%rip), %r15
        movl    $6, %eax                /* hook: RIP = 0x8000000000000000 (IRET shape) */
        syscall
2:      leaq    3f(%rip), %r15
        movl    $7, %eax                /* hook: CS = the hypervisor's 0xe008 */
        syscall
3:      leaq    4f(%rip), %r15
        movl    $8, %eax                /* hook: RFLAGS.IOPL = 3 (must be sanitized away) */
        syscall
        cli                             /* with IOPL 0 this is #GP */
4:      leaq    5f(%rip), %r15
        movl    $10, %eax               /* hook: RSP = 0x0000800000000000 */
        syscall
5:      pushq   %rax                    /* the stack must still work */
        popq    %rax
        movl    $9, %eax
        syscall
        ud2

/* ---- mode=faults: ring-3 exceptions reach the fault hook, not a panic ---- */
        .globl  user_faults
user_faults:
        leaq    1f(%rip), %r15
        int3
1:      leaq    2f(%rip), %r15
        movq    0x1000, %rax            /* #PF: not present */
2:      leaq    3f(%rip), %r15
        movabsq $0xFFFF82D000100000, %rax
        movq    $1, (%rax)              /* #PF: a hypervisor page (present, supervisor) */
3:      leaq    4f(%rip), %r15
        cli                             /* #GP(0): privileged */
4:      leaq    5f(%rip), %r15
        int     $0x80                   /* #GP(0x80 * 8 + 2): not-present gate */
5:      leaq    6f(%rip), %r15
        ud2                             /* #UD */
6:      leaq    7f(%rip), %r15
        leaq    pvkit_user_blob_start(%rip), %rax
        movq    $1, (%rax)              /* #PF: write to the read-only code page */
7:      leaq    8f(%rip), %r15
        movabsq $0xFFFF82D000100000, %rax
        jmp     *%rax                   /* #PF: instruction fetch from the hypervisor */
8:      leaq    9f(%rip), %r15
        leaq    -16(%rsp), %rax
        jmp     *%rax                   /* #PF: instruction fetch from the NX stack page */
9:      pushfq                          /* single-step across a syscall: */
        orq     $0x100, (%rsp)
        popfq
        movl    $12, %eax               /* #DB (trap) after this instruction */
        syscall                         /* FMASK clears TF: no #DB in the hypervisor */
        nop                             /* TF back from R11: #DB after this; the hook clears TF */
        movl    $9, %eax
        syscall
        ud2

/* ---- mode=io: the TSS I/O bitmap (0x3F8, 0x3FD, 0xFFFF allowed; all else denied) ---- */
        .globl  user_io
user_io:
        leaq    msg(%rip), %rsi
1:      movb    (%rsi), %cl
        testb   %cl, %cl
        jz      3f
        movw    $0x3FD, %dx             /* wait for the transmitter */
2:      inb     %dx, %al
        testb   $0x20, %al
        jz      2b
        movw    $0x3F8, %dx
        movb    %cl, %al
        outb    %al, %dx
        incq    %rsi
        jmp     1b
3:      leaq    4f(%rip), %r15
        movl    $0x10, %eax             /* isa-debug-exit's SUCCESS code: must never get out */
        movw    $0xF4, %dx
        outl    %eax, %dx
4:      leaq    5f(%rip), %r15
        movw    $0x3F9, %dx
        inb     %dx, %al                /* a neighbour of an allowed port */
5:      leaq    6f(%rip), %r15
        movw    $0x3F8, %dx
        outw    %ax, %dx                /* 0x3F8 allowed but 0x3F9 not: the whole access faults */
6:      leaq    7f(%rip), %r15
        movw    $0xFFFF, %dx
        outb    %al, %dx                /* allowed */
7:      leaq    8f(%rip), %r15
        movw    $0xFFFF, %dx
        outw    %ax, %dx                /* reaches "port 0x10000": the bitmap's trailing 0xFF byte */
8:      movl    $9, %eax
        syscall
        ud2
msg:    .asciz  "pvkit ring3: hello through the I/O bitmap\n"

/* ---- mode=copy: the hypervisor reads and writes guest memory on a syscall ---- */
        .globl  user_copy
user_copy:
        movabsq $0x1122334455667788, %rax
        pushq   %rax
        movq    %rsp, %rdi              /* a valid guest address holding the magic */
        leaq    pvkit_user_blob_start(%rip), %rsi
        movl    $11, %eax
        syscall
        popq    %rdi                    /* what the hypervisor wrote back */
        movl    $9, %eax
        syscall
        ud2

/* ---- mode=xen: real Xen hypercalls through lib/hypercall's table ---- */
        .globl  user_xen
user_xen:
        movl    $17, %eax               /* xen_version(XENVER_version, NULL) */
        xorl    %edi, %edi
        xorl    %esi, %esi
        syscall
        movq    %rax, %r12
        subq    $32, %rsp
        movl    $17, %eax               /* xen_version(XENVER_extraversion, stack buffer) */
        movl    $1, %edi
        movq    %rsp, %rsi
        syscall
        movq    %rax, %r13
        movl    $17, %eax               /* ... into the hypervisor: -EFAULT */
        movl    $1, %edi
        movabsq $0xFFFF82D000100000, %rsi
        syscall
        movq    %rax, %r14
        movl    $63, %eax               /* no such hypercall: -ENOSYS */
        syscall
        movq    %rax, %rbx
        movl    $18, %eax               /* console_io(CONSOLEIO_write, len, msg): continues */
        xorl    %edi, %edi
        movl    $(xenmsg_end - xenmsg), %esi
        leaq    xenmsg(%rip), %rdx
        syscall
        movq    %rax, %rbp
        movl    $0xDEAD, %eax           /* test over: rdi = the extraversion buffer */
        movq    %rsp, %rdi
        syscall
        ud2
        .globl  xenmsg
        .globl  xenmsg_end
xenmsg: .ascii  "pvkit ring3: console_io through lib/hypercall; this message is longer than one\n"
        .ascii  "pvkit ring3: 128-byte chunk, and the handler's 16-byte budget makes it continue\n"
        .ascii  "pvkit ring3: after every chunk: RIP goes back over the syscall, which runs again\n"
        .ascii  "pvkit ring3: with the advanced (count, buffer) the handler left in RSI and RDX.\n"
xenmsg_end:

/* ---- mode=bench: 1000 xen_version calls timed with rdtsc (instructions under -icount) ---- */
        .globl  user_bench
user_bench:
        movl    $1000, %r12d
        rdtsc
        shlq    $32, %rdx
        orq     %rax, %rdx
        movq    %rdx, %r13
1:      movl    $17, %eax               /* 6 guest instructions per iteration */
        xorl    %edi, %edi
        xorl    %esi, %esi
        syscall
        decl    %r12d
        jnz     1b
        rdtsc
        shlq    $32, %rdx
        orq     %rax, %rdx
        subq    %r13, %rdx
        movq    %rdx, %r14
        movl    $1000, %r12d            /* the same loop with a null hook: entry + exit only */
        rdtsc
        shlq    $32, %rdx
        orq     %rax, %rdx
        movq    %rdx, %r13
2:      movl    $0x7FFE, %eax
        xorl    %edi, %edi
        xorl    %esi, %esi
        syscall
        decl    %r12d
        jnz     2b
        rdtsc
        shlq    $32, %rdx
        orq     %rax, %rdx
        subq    %r13, %rdx
        movq    %rdx, %rsi
        movq    %r14, %rdi
        movl    $0xDEAD, %eax
        syscall
        ud2

/* ---- mode=fast: the 64-bit SYSCALL fast path (EntryHooks::fast_syscall) ---- */
        .p2align 4
        .globl  user_fast
user_fast:
        movabsq $0x1111111111111111, %rbx
        movabsq $0x2222222222222222, %rbp
        movabsq $0x3333333333333333, %r12
        movabsq $0x4444444444444444, %r13
        movabsq $0x5555555555555555, %r14
        movabsq $0x6666666666666666, %r15
        movl    $1, %edi
        movl    $2, %esi
        movl    $3, %edx
        movl    $4, %r10d
        movl    $5, %r8d
        movl    $6, %r9d
        movl    $20, %eax               /* fast hook: RAX = sum of the five arguments, SYSRET */
        syscall
        .globl  user_fast_ret1
user_fast_ret1:
        pushq   %rax                    /* what came back, for the slow hook to read */
        pushq   %rcx
        pushq   %r11
        movl    $21, %eax               /* not handled fast: the slow hook snapshots everything */
        syscall
        addq    $24, %rsp
        movl    $22, %eax               /* the fast hook runs it and asks for syscall_finish */
        syscall
        .globl  user_fast_ret2
user_fast_ret2:
        pushq   %rax
        pushq   %rcx
        pushq   %r11
        movl    $21, %eax
        syscall
        addq    $24, %rsp
        /* a SYSCALL that ends at the top of the lower half: its RCX is non-canonical */
        movl    $20, %eax
        movabsq $0x00007FFFFFFFFFFE, %rcx
        jmp     *%rcx

/* ---- mode=timer: two spinning tasks, preempted and switched by the timer hook ---- */
        .p2align 4
        .globl  user_task_odd
user_task_odd:
        movl    $1, %ebx
1:      addq    $2, %rbx
        jmp     1b
        .p2align 4
        .globl  user_task_even
user_task_even:
        xorl    %ebx, %ebx
1:      addq    $2, %rbx
        jmp     1b

        .globl  pvkit_user_blob_end
pvkit_user_blob_end:
