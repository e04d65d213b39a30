/*
 * guest.S — the appliance's guest: a ring-3 program that talks to the appliance hypervisor
 * only through hypercalls (`syscall` with Xen's x86-64 PV register convention: RAX = number,
 * RDI RSI RDX R10 R8 = arguments, result in RAX).
 *
 * The hypervisor copies the blob between pvkit_guest_start and pvkit_guest_end into user
 * pages at run time, so the code is position-independent and uses only its own pages and its
 * stack. Every result the guest sees is reported with appliance_op(APPLIANCE_report, check,
 * value); the hypervisor compares them with what the appliance promises (main.cc).
 *
 *   check 0  xen_version(XENVER_version)            pvkit's XenVersion: 4.17
 *   check 1  console_io(CONSOLEIO_write)            removed from the table: -ENOSYS
 *   check 2  EVTCHNOP_alloc_unbound successes       the appliance's port limit (7 ports)
 *   check 3  the alloc_unbound after the last one   -ENOSPC
 *   check 4  appliance_op(log) of hypervisor memory -EFAULT
 *   check 5  appliance_op(log) of 1000 bytes        -EINVAL
 *   check 6  appliance_op(unknown command 7)        -ENOSYS
 *   check 7  EVTCHNOP_close(7), bind_interdomain(DOMID_SELF, 1)   the reused port (7)
 *   check 8  EVTCHNOP_send(7)                       0 (port 1 becomes pending)
 *   check 9  appliance_op(log) of the greeting      its length
 */
        .section .text.appliance_guest, "ax", @progbits
        .globl  pvkit_guest_start
        .p2align 12
pvkit_guest_start:

#define APPLIANCE_OP 56
#define REPORT(check)                  \
        movq    %rax, %rdx;            \
        movl    $APPLIANCE_OP, %eax;   \
        movl    $1, %edi;              \
        movl    $check, %esi;          \
        syscall

        .globl  appliance_guest
appliance_guest:
        /* Say hello through the appliance's own logger. */
        movl    $APPLIANCE_OP, %eax
        xorl    %edi, %edi                      /* APPLIANCE_log */
        leaq    hello(%rip), %rsi
        movl    $(hello_end - hello), %edx
        syscall
        REPORT(9)

        /* check 0: a Xen hypercall the appliance keeps. */
        movl    $17, %eax                       /* xen_version(XENVER_version, NULL) */
        xorl    %edi, %edi
        xorl    %esi, %esi
        syscall
        REPORT(0)

        /* check 1: console_io was removed: the guest must see -ENOSYS. */
        movl    $18, %eax                       /* console_io(CONSOLEIO_write, len, buf) */
        xorl    %edi, %edi
        movl    $(hello_end - hello), %esi
        leaq    hello(%rip), %rdx
        syscall
        movq    %rax, %rbx
        REPORT(1)
        cmpq    $-38, %rbx
        jne     1f
        movl    $APPLIANCE_OP, %eax             /* the guest's own verdict, in its log */
        xorl    %edi, %edi
        leaq    gone(%rip), %rsi
        movl    $(gone_end - gone), %edx
        syscall
1:
        /* checks 2, 3: allocate unbound ports until the domain's limit answers -ENOSPC. */
        subq    $16, %rsp                       /* evtchn_alloc_unbound_t / bind_interdomain_t */
        xorl    %r12d, %r12d                    /* successes */
2:      movw    $0x7FF0, 0(%rsp)                /* dom = DOMID_SELF */
        movw    $0x7FF0, 2(%rsp)                /* remote_dom = DOMID_SELF */
        movl    $0, 4(%rsp)
        movl    $32, %eax                       /* event_channel_op(EVTCHNOP_alloc_unbound) */
        movl    $6, %edi
        movq    %rsp, %rsi
        syscall
        testq   %rax, %rax
        jne     3f
        incl    %r12d
        cmpl    $100, %r12d                     /* never loop for ever */
        jb      2b
3:      movq    %rax, %rbx
        movq    %r12, %rax
        REPORT(2)
        movq    %rbx, %rax
        REPORT(3)

        /* check 4: a log buffer in hypervisor memory. */
        movl    $APPLIANCE_OP, %eax
        xorl    %edi, %edi
        movabsq $0xFFFF82D000100000, %rsi
        movl    $16, %edx
        syscall
        REPORT(4)

        /* check 5: a log line longer than the appliance accepts. */
        movl    $APPLIANCE_OP, %eax
        xorl    %edi, %edi
        leaq    hello(%rip), %rsi
        movl    $1000, %edx
        syscall
        REPORT(5)

        /* check 6: an unknown appliance_op command. */
        movl    $APPLIANCE_OP, %eax
        movl    $7, %edi
        syscall
        REPORT(6)

        /* check 7: close port 7, then bind a loopback channel to port 1 (it reuses port 7). */
        movl    $7, 0(%rsp)
        movl    $32, %eax                       /* EVTCHNOP_close */
        movl    $3, %edi
        movq    %rsp, %rsi
        syscall
        movw    $0x7FF0, 0(%rsp)                /* remote_dom = DOMID_SELF */
        movl    $1, 4(%rsp)                     /* remote_port = 1 */
        movl    $0, 8(%rsp)
        movl    $32, %eax                       /* EVTCHNOP_bind_interdomain */
        xorl    %edi, %edi
        movq    %rsp, %rsi
        syscall
        testq   %rax, %rax
        jne     4f
        movl    8(%rsp), %eax                   /* local_port */
4:      REPORT(7)

        /* check 8: send on the loopback channel: port 1 becomes pending. */
        movl    8(%rsp), %eax
        movl    %eax, 0(%rsp)
        movl    $32, %eax                       /* EVTCHNOP_send */
        movl    $4, %edi
        movq    %rsp, %rsi
        syscall
        REPORT(8)
        addq    $16, %rsp

        movl    $APPLIANCE_OP, %eax             /* APPLIANCE_poweroff */
        movl    $2, %edi
        syscall
        ud2

hello:  .ascii  "hello from the appliance guest: ring 3, calling appliance_op (56)\n"
hello_end:
gone:   .ascii  "console_io answered -ENOSYS: the appliance removed it, as configured\n"
gone_end:

        .globl  pvkit_guest_end
pvkit_guest_end:
