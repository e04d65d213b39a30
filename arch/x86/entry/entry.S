/*
 * pvkit x86-64 entry and exit paths: exception/interrupt stubs, SYSCALL entry, the return to
 * ring 3 (SYSRET or IRETQ), and run_user/leave_user.
 *
 * Every entry builds a TrapFrame (pvkit/arch/x86/cpu/frame.h) and calls C++ with a pointer
 * to it in RDI:
 *   vector stubs     -> entry_common   -> pvkit_x86_trap(frame)
 *   NMI, #DF, #MC    -> entry_paranoid -> pvkit_x86_trap(frame)   (IST stacks)
 *   SYSCALL (64-bit) -> EntryHooks::fast_syscall(args), and only when it asks for more
 *                       pvkit_x86_syscall_slow(frame) -> syscall_finish or pvkit_x86_syscall
 *   SYSCALL (compat) -> pvkit_x86_syscall(frame) with vector PVKIT_VEC_SYSCALL32
 * Frames from ring 3 leave through pvkit_x86_exit_to_user, which lets C++ check and sanitize
 * the frame (pvkit_x86_prepare_user_return) and then uses SYSRET only when C++ said it is exact
 * and safe, IRETQ otherwise.
 *
 * GS: see pvkit/arch/x86/cpu/percpu.h for the swapgs discipline.
 * All entries run with interrupts off (interrupt gates; FMASK clears IF for SYSCALL).
 */
#include "pvkit/arch/x86/cpu/frame.h"
#include "pvkit/arch/x86/cpu/percpu.h"

#define MSR_GS_BASE 0xC0000101

.macro PUSH_GPRS
        pushq   %rax
        pushq   %rbx
        pushq   %rcx
        pushq   %rdx
        pushq   %rsi
        pushq   %rdi
        pushq   %rbp
        pushq   %r8
        pushq   %r9
        pushq   %r10
        pushq   %r11
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
.endm

.macro POP_GPRS
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %r11
        popq    %r10
        popq    %r9
        popq    %r8
        popq    %rbp
        popq    %rdi
        popq    %rsi
        popq    %rdx
        popq    %rcx
        popq    %rbx
        popq    %rax
.endm

/* FRAME_SLOTS store|load, reg, offset, ...: moves each register to (store) or from (load) its
   TrapFrame slot at offset(%rsp). */
/* What a C call may clobber, besides RAX (the fast path saves and restores these) ... */
#define SYSCALL_CLOBBERED rcx, PVKIT_FRAME_RCX, r11, PVKIT_FRAME_R11, rdi, PVKIT_FRAME_RDI, \
        rsi, PVKIT_FRAME_RSI, rdx, PVKIT_FRAME_RDX, r8, PVKIT_FRAME_R8, r9, PVKIT_FRAME_R9, r10, PVKIT_FRAME_R10
/* ... and what it preserves (the slow path stores them to complete the TrapFrame). */
#define CALLEE_SAVED rbx, PVKIT_FRAME_RBX, rbp, PVKIT_FRAME_RBP, r12, PVKIT_FRAME_R12, \
        r13, PVKIT_FRAME_R13, r14, PVKIT_FRAME_R14, r15, PVKIT_FRAME_R15
.macro FRAME_SLOTS op, reg, slot, rest:vararg
        .ifc \op, store
        movq    %\reg, \slot(%rsp)
        .else
        movq    \slot(%rsp), %\reg
        .endif
        .ifnb \rest
        FRAME_SLOTS \op, \rest
        .endif
.endm

        .text
        .code64

/* ---- 256 vector stubs, 16 bytes apart; pvkit_x86_vector_stubs[v] is stub v's address ---- */
.macro VECTOR_STUB v
        .p2align 4
1:
        /* Vectors with a CPU error code: 8 10 11 12 13 14 17 21 29 30. */
        .if ((\v == 8) | (\v == 10) | (\v == 11) | (\v == 12) | (\v == 13) | (\v == 14) | (\v == 17) | (\v == 21) | (\v == 29) | (\v == 30)) == 0
        pushq   $0
        .endif
        pushq   $\v
        .if (\v == 2) | (\v == 8) | (\v == 18)
        jmp     entry_paranoid
        .else
        jmp     entry_common
        .endif
        .pushsection .rodata.pvkit_vector_stubs, "a"
        .quad   1b
        .popsection
.endm

        .pushsection .rodata.pvkit_vector_stubs, "a"
        .p2align 3
        .globl  pvkit_x86_vector_stubs
pvkit_x86_vector_stubs:
        .popsection

        .p2align 4
        .globl  pvkit_x86_vector_stub_code
pvkit_x86_vector_stub_code:
        .irp    v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        VECTOR_STUB \v
        .endr
        .irp    v, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63
        VECTOR_STUB \v
        .endr
        .irp    v, 64,65,66,67,68,69,70,71,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,87,88,89,90,91,92,93,94,95
        VECTOR_STUB \v
        .endr
        .irp    v, 96,97,98,99,100,101,102,103,104,105,106,107,108,109,110,111,112,113,114,115,116,117,118,119,120,121,122,123,124,125,126,127
        VECTOR_STUB \v
        .endr
        .irp    v, 128,129,130,131,132,133,134,135,136,137,138,139,140,141,142,143,144,145,146,147,148,149,150,151,152,153,154,155,156,157,158,159
        VECTOR_STUB \v
        .endr
        .irp    v, 160,161,162,163,164,165,166,167,168,169,170,171,172,173,174,175,176,177,178,179,180,181,182,183,184,185,186,187,188,189,190,191
        VECTOR_STUB \v
        .endr
        .irp    v, 192,193,194,195,196,197,198,199,200,201,202,203,204,205,206,207,208,209,210,211,212,213,214,215,216,217,218,219,220,221,222,223
        VECTOR_STUB \v
        .endr
        .irp    v, 224,225,226,227,228,229,230,231,232,233,234,235,236,237,238,239,240,241,242,243,244,245,246,247,248,249,250,251,252,253,254,255
        VECTOR_STUB \v
        .endr

/* ---- ordinary entry: swapgs iff we came from ring 3 ---- */
        .p2align 4
entry_common:
        testb   $3, 24(%rsp)            /* CS of the hardware frame, above vector and error */
        jz      1f
        swapgs
1:      PUSH_GPRS
        cld
        movq    %rsp, %rdi
        call    pvkit_x86_trap
        testb   $3, PVKIT_FRAME_CS(%rsp)
        jnz     pvkit_x86_exit_to_user
        POP_GPRS
        addq    $16, %rsp
        iretq

/*
 * ---- paranoid entry (NMI, #DF, #MC): may arrive anywhere, including between SYSCALL and its
 * swapgs. The PerCpu pointer sits just above the frame at the top of each IST stack; swapgs
 * iff IA32_GS_BASE is not that pointer, and undo it on the way out. ----
 */
        .p2align 4
entry_paranoid:
        PUSH_GPRS
        cld
        movl    $MSR_GS_BASE, %ecx
        rdmsr
        shlq    $32, %rdx
        orq     %rax, %rdx
        xorl    %ebx, %ebx
        cmpq    PVKIT_FRAME_SIZE(%rsp), %rdx
        je      1f
        swapgs
        movl    $1, %ebx
1:      movq    %rsp, %rdi
        call    pvkit_x86_trap
        testl   %ebx, %ebx
        jz      2f
        swapgs
2:      POP_GPRS
        addq    $16, %rsp
        iretq

/*
 * ---- SYSCALL from 64-bit ring 3: RCX = return RIP, R11 = RFLAGS, RSP still the guest's ----
 * The fast path. A TrapFrame's worth of stack is reserved, but only the registers the C call
 * may clobber (RCX RDX RSI RDI R8-R11; RAX comes back from the hook) are stored in their slots; the callee-saved ones
 * stay live in their registers, since C++ preserves them. The fast hook (cpu.h) gets the
 * hypercall's registers (RDI RSI RDX R10 R8, number in RAX) as C arguments and returns the
 * guest's RAX in RAX and a FastSyscall verdict in RDX (cpu.h):
 *   kSysret     restore the saved registers and SYSRET: RIP = RCX and RFLAGS = R11 are exactly
 *               what SYSCALL saved, from a ring-3 guest that cannot set IF, IOPL or VM, and
 *               RCX is canonical (checked below), so SYSRET is exact and cannot fault in ring 0;
 *   kFinish /   complete the TrapFrame (callee-saved registers, the hardware part) and call
 *   kNotHandled pvkit_x86_syscall_slow(frame, verdict), then leave through the ordinary exit.
 * A SYSCALL whose return RIP is non-canonical (the instruction ends at the top of the lower
 * half: RCX = 0x0000800000000000, the only possible such value) goes straight to the slow
 * path, where pvkit_x86_prepare_user_return refuses to SYSRET to it.
 */
        .p2align 4
        .globl  pvkit_x86_syscall_entry
pvkit_x86_syscall_entry:
        swapgs
        movq    %rsp, %gs:PVKIT_PERCPU_USER_RSP
        movq    %gs:PVKIT_PERCPU_KSTACK_TOP, %rsp
        subq    $PVKIT_FRAME_SIZE, %rsp
        FRAME_SLOTS store, SYSCALL_CLOBBERED
        movabsq $0x0000800000000000, %r9
        cmpq    %r9, %rcx
        je      .Lsyscall_noncanonical
        movq    %r10, %rcx              /* 4th C argument */
        movq    %rax, %r9               /* 6th: the hypercall number */
        call    *pvkit_x86_fast_syscall_hook(%rip)  /* DF and AC are clear: IA32_FMASK */
        testq   %rdx, %rdx
        jnz     .Lsyscall_slow
        FRAME_SLOTS load, SYSCALL_CLOBBERED
        movq    %gs:PVKIT_PERCPU_USER_RSP, %rsp
        swapgs
        sysretq

.Lsyscall_noncanonical:
        movl    $2, %edx                /* FastSyscall::kNotHandled; RAX is still the number */
.Lsyscall_slow:
        /* RAX: the hook gave the number back; the callee-saved registers are still the guest's */
        FRAME_SLOTS store, rax, PVKIT_FRAME_RAX, CALLEE_SAVED
        movq    $PVKIT_VEC_SYSCALL, PVKIT_FRAME_VECTOR(%rsp)
        movq    $0, PVKIT_FRAME_ERROR(%rsp)
        movq    PVKIT_FRAME_RCX(%rsp), %rax
        movq    %rax, PVKIT_FRAME_RIP(%rsp)
        movq    $PVKIT_SEL_GUEST_CS64, PVKIT_FRAME_CS(%rsp)
        movq    PVKIT_FRAME_R11(%rsp), %rax
        movq    %rax, PVKIT_FRAME_RFLAGS(%rsp)
        movq    %gs:PVKIT_PERCPU_USER_RSP, %rax
        movq    %rax, PVKIT_FRAME_RSP(%rsp)
        movq    $PVKIT_SEL_GUEST_SS, PVKIT_FRAME_SS(%rsp)
        movq    %rsp, %rdi
        movq    %rdx, %rsi
        call    pvkit_x86_syscall_slow
        jmp     pvkit_x86_exit_to_user

/* ---- SYSCALL from compatibility mode (AMD; Intel raises #UD instead) ---- */
        .p2align 4
        .globl  pvkit_x86_syscall32_entry
pvkit_x86_syscall32_entry:
        swapgs
        movq    %rsp, %gs:PVKIT_PERCPU_USER_RSP
        movq    %gs:PVKIT_PERCPU_KSTACK_TOP, %rsp
        pushq   $PVKIT_SEL_GUEST_SS
        pushq   %gs:PVKIT_PERCPU_USER_RSP
        pushq   %r11
        pushq   $PVKIT_SEL_GUEST_CS32
        pushq   %rcx
        pushq   $0
        pushq   $PVKIT_VEC_SYSCALL32
        PUSH_GPRS
        cld
        movq    %rsp, %rdi
        call    pvkit_x86_syscall
        jmp     pvkit_x86_exit_to_user

/*
 * ---- return to ring 3. RSP = the TrapFrame; GS = the hypervisor's. ----
 * pvkit_x86_prepare_user_return refuses unsafe frames (non-canonical RIP, non-guest
 * selectors), sanitizes RFLAGS and returns 1 only if SYSRET restores the frame exactly
 * (RCX == RIP, R11 == RFLAGS, 64-bit selectors). A non-canonical RCX therefore never reaches
 * SYSRET, whose #GP would otherwise be taken in ring 0 on the guest's stack.
 */
        .p2align 4
        .globl  pvkit_x86_exit_to_user
pvkit_x86_exit_to_user:
        cli
        movq    %rsp, %rdi
        call    pvkit_x86_prepare_user_return
        movl    $PVKIT_SEL_HV_DS, %ecx  /* a usable SS for SYSRET (AMD keeps SS attributes) */
        movl    %ecx, %ss
        testl   %eax, %eax
        POP_GPRS                        /* pop and lea leave the flags alone */
        leaq    16(%rsp), %rsp          /* vector, error code */
        jz      1f
        movq    24(%rsp), %rsp          /* the guest's RSP (IRET frame: rip cs rflags rsp ss) */
        swapgs
        sysretq
1:      swapgs
        iretq

/*
 * ---- void pvkit_x86_run_user(TrapFrame* frame_at_kstack_top) ----
 * Saves the callee-saved registers and RSP of the hypervisor context, then enters ring 3
 * through the common exit path. pvkit_x86_leave_user (called from a hook) returns here.
 */
        .p2align 4
        .globl  pvkit_x86_run_user
pvkit_x86_run_user:
        pushq   %rbx
        pushq   %rbp
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        movq    %rsp, %gs:PVKIT_PERCPU_HOST_RSP
        movq    %rdi, %rsp
        jmp     pvkit_x86_exit_to_user

        .p2align 4
        .globl  pvkit_x86_leave_user
pvkit_x86_leave_user:
        movq    %gs:PVKIT_PERCPU_HOST_RSP, %rsp
        movq    $0, %gs:PVKIT_PERCPU_HOST_RSP
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbp
        popq    %rbx
        ret
