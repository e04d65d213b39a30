/*
 * The AP trampoline: copied by start_aps() (cpu/smp.cc) to PVKIT_AP_TRAMPOLINE_PHYS and entered
 * by SIPI in real mode at CS:IP = (phys >> 4):0. Real mode -> 32-bit protected mode (its own
 * tiny GDT) -> PAE, EFER.LME|NXE, CR3 = the AP bootstrap L4 (mailbox), paging -> 64-bit code
 * still at the identity address -> jump to pvkit_ap_entry_asm in the upper half, which takes a
 * ticket (the CPU's number) and the matching boot stack and calls pvkit_ap_main_entry.
 * The mailbox words are written by the boot CPU into the copy before the SIPI.
 * Runs on each AP once, with interrupts off; APs may run it at the same time (read-only).
 */
#include "pvkit/arch/x86/cpu/percpu.h"
#include "pvkit/arch/x86/cpu/smp.h"

#define T(sym) (PVKIT_AP_TRAMPOLINE_PHYS + ((sym) - pvkit_ap_trampoline_start))

        .section .rodata.pvkit_ap_trampoline, "a"
        .p2align 12
        .globl  pvkit_ap_trampoline_start
pvkit_ap_trampoline_start:
        .code16
        cli
        cld
        movw    %cs, %ax
        movw    %ax, %ds
        lgdtl   (tramp_gdt_ptr - pvkit_ap_trampoline_start)
        movl    %cr0, %eax
        orl     $1, %eax
        movl    %eax, %cr0
        ljmpl   $0x08, $T(ap_pm32)

        .code32
ap_pm32:
        movl    $0x10, %eax
        movl    %eax, %ds
        movl    %eax, %es
        movl    %eax, %ss
        movl    %cr4, %eax
        orl     $(1 << 5), %eax                 /* PAE */
        movl    %eax, %cr4
        movl    T(pvkit_ap_mb_cr3), %eax
        movl    %eax, %cr3
        movl    $0xC0000080, %ecx               /* EFER: LME | NXE */
        rdmsr
        orl     $((1 << 8) | (1 << 11)), %eax
        wrmsr
        movl    %cr0, %eax
        orl     $((1 << 31) | (1 << 16) | 1), %eax  /* PG | WP | PE */
        movl    %eax, %cr0
        ljmp    $0x18, $T(ap_lm64)

        .code64
ap_lm64:
        movq    T(pvkit_ap_mb_entry), %rax
        jmp     *%rax

        .p2align 3
tramp_gdt:
        .quad   0
        .quad   0x00CF9A000000FFFF              /* 0x08: 32-bit code */
        .quad   0x00CF92000000FFFF              /* 0x10: data */
        .quad   0x00AF9A000000FFFF              /* 0x18: 64-bit code */
tramp_gdt_ptr:
        .word   31
        .long   T(tramp_gdt)
        .p2align 3
        .globl  pvkit_ap_mb_cr3
pvkit_ap_mb_cr3:
        .quad   0
        .globl  pvkit_ap_mb_entry
pvkit_ap_mb_entry:
        .quad   0
        .globl  pvkit_ap_trampoline_end
pvkit_ap_trampoline_end:

/* Upper half, AP bootstrap tables, no stack yet. */
        .text
        .code64
        .p2align 4
        .globl  pvkit_ap_entry_asm
pvkit_ap_entry_asm:
        movl    $1, %eax
        lock xaddl %eax, pvkit_ap_next(%rip)    /* ticket 0, 1, ... -> CPU 1, 2, ... */
        cmpl    $(PVKIT_MAX_CPUS - 1), %eax
        jae     2f
        leaq    pvkit_ap_stack_tops(%rip), %rcx
        movq    (%rcx,%rax,8), %rsp
        leal    1(%rax), %edi
        xorl    %ebp, %ebp
        call    pvkit_ap_main_entry
2:      cli
        hlt
        jmp     2b
