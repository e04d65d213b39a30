/*
 * pvkit guest runtime: the event-channel upcall and failsafe entry points.
 *
 * Event upcall (registered as CALLBACKTYPE_event). On x86-64 PV, Xen enters here on the guest
 * kernel stack with events masked and this frame, top first:
 *     rcx, r11, rip, cs, rflags, rsp, ss
 * (RCX and R11 of the interrupted context were clobbered by the way Xen returns to ring 3, so
 * Xen saved them on the frame). The stub reloads RCX/R11, saves every other caller-saved
 * register, aligns the stack, and calls pvkit_guest_event_upcall() (C++: scans pending_sel
 * and the pending bitmaps and calls per-port handlers). It then restores the registers and
 * returns through HYPERVISOR_iret: it pushes iret's `flags` word (0: a plain interrupt
 * return, not VGCF_in_syscall) and jumps to the iret stub of the hypercall page, which
 * pushes RCX, R11 and RAX to complete struct iret_context. The saved RFLAGS.IF is the
 * virtual interrupt flag: iret restores the upcall mask from it (0 if events were enabled
 * when the upcall hit). Events pending at that point are delivered by the hypervisor on its
 * way back to the guest, so none is lost.
 *
 * Failsafe (CALLBACKTYPE_failsafe): Xen could not restore the guest's segment state; the
 * frame is rcx, r11, ds, es, fs, gs, rip, cs, rflags, rsp, ss. Nothing can be repaired in a
 * pvkit guest: report and crash (pvkit_guest_failsafe never returns).
 */
#define HYPERCALL_IRET_OFFSET (23 * 32)

        .text
        .globl pvkit_guest_hypervisor_callback
        .type pvkit_guest_hypervisor_callback, @function
        .balign 16
pvkit_guest_hypervisor_callback:
        popq    %rcx
        popq    %r11
        /* Stack: rip, cs, rflags, rsp, ss (the iret frame). */
        pushq   %rax
        pushq   %rcx
        pushq   %rdx
        pushq   %rsi
        pushq   %rdi
        pushq   %r8
        pushq   %r9
        pushq   %r10
        pushq   %r11
        pushq   %rbx
        cld
        movq    %rsp, %rbx
        andq    $-16, %rsp
        call    pvkit_guest_event_upcall
        movq    %rbx, %rsp
        popq    %rbx
        popq    %r11
        popq    %r10
        popq    %r9
        popq    %r8
        popq    %rdi
        popq    %rsi
        popq    %rdx
        popq    %rcx
        popq    %rax
        pushq   $0
        jmp     hypercall_page + HYPERCALL_IRET_OFFSET
        .size pvkit_guest_hypervisor_callback, . - pvkit_guest_hypervisor_callback

        .globl pvkit_guest_failsafe_callback
        .type pvkit_guest_failsafe_callback, @function
        .balign 16
pvkit_guest_failsafe_callback:
        cld
        movq    %rsp, %rdi
        andq    $-16, %rsp
        call    pvkit_guest_failsafe
1:      ud2
        jmp     1b
        .size pvkit_guest_failsafe_callback, . - pvkit_guest_failsafe_callback

        .section .note.GNU-stack, "", @progbits
