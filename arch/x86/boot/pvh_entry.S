/*
 * pvkit x86-64 boot: PVH entry (32-bit protected mode, paging off) to long mode in the
 * upper half.
 *
 * QEMU (and Xen, and other PVH loaders) find the 32-bit entry point through the ELF note
 * XEN_ELFNOTE_PHYS32_ENTRY (18) and enter it with EBX = physical address of the
 * hvm_start_info structure. This code runs at its physical address (section .boot, linked
 * there), builds boot page tables that map the first GiB both identity and at
 * PVKIT_HV_DIRECT_MAP_BASE with 2 MiB pages, enables PAE, long mode, NX and paging, and
 * jumps to pvkit_boot64 in the upper half with RDI = hvm_start_info physical address.
 *
 * Nothing here is shared: it runs once on the boot CPU with interrupts off.
 */
#include "pvkit/arch/x86/boot/layout.h"

#define PHYS(sym) ((sym) - PVKIT_HV_DIRECT_MAP_BASE)

        .section .note.Xen, "a", @note
        .p2align 2
        .long 4                 /* namesz: "Xen\0" */
        .long 8                 /* descsz */
        .long 18                /* XEN_ELFNOTE_PHYS32_ENTRY */
        .asciz "Xen"
        .p2align 2
        .quad pvh_entry32
        .p2align 2

        .section .boot.text, "ax", @progbits
        .code32
        .globl pvh_entry32
pvh_entry32:
        cli
        cld
        mov     %ebx, %esi                      /* keep hvm_start_info */
        movl    $boot_stack_top32, %esp

        /* PML4[0] and PML4[slot of the direct map] -> boot_pdpt (identity / direct map). */
        movl    $boot_pdpt, %eax
        orl     $0x3, %eax                      /* P | RW */
        movl    %eax, boot_pml4
        movl    $(((PVKIT_HV_DIRECT_MAP_BASE >> 39) & 511) * 8), %edx
        movl    %eax, boot_pml4(%edx)
        /* PDPT[0] and PDPT[slot of the direct map] -> boot_pd. */
        movl    $boot_pd, %eax
        orl     $0x3, %eax
        movl    %eax, boot_pdpt
        movl    $(((PVKIT_HV_DIRECT_MAP_BASE >> 30) & 511) * 8), %edx
        movl    %eax, boot_pdpt(%edx)
        /* PD: 512 x 2 MiB pages covering the first GiB. */
        xorl    %ecx, %ecx
1:      movl    %ecx, %eax
        shll    $21, %eax
        orl     $0x83, %eax                     /* P | RW | PS */
        movl    %eax, boot_pd(,%ecx,8)
        movl    $0, boot_pd+4(,%ecx,8)
        incl    %ecx
        cmpl    $512, %ecx
        jne     1b

        movl    %cr4, %eax
        orl     $(1 << 5), %eax                 /* CR4.PAE */
        movl    %eax, %cr4
        movl    $boot_pml4, %eax
        movl    %eax, %cr3
        movl    $0xC0000080, %ecx               /* EFER */
        rdmsr
        orl     $((1 << 8) | (1 << 11)), %eax   /* LME | NXE */
        wrmsr
        movl    %cr0, %eax
        orl     $((1 << 31) | (1 << 16) | 1), %eax  /* PG | WP | PE */
        movl    %eax, %cr0

        lgdt    boot_gdt_ptr
        ljmp    $0x08, $boot_long_mode

        .code64
boot_long_mode:
        movl    $0x10, %eax
        movl    %eax, %ds
        movl    %eax, %es
        movl    %eax, %ss
        xorl    %eax, %eax
        movl    %eax, %fs
        movl    %eax, %gs
        movl    %esi, %edi                      /* arg0: hvm_start_info (physical) */
        movabsq $pvkit_boot64, %rax
        jmp     *%rax

        .section .boot.data, "aw", @progbits
        .p2align 3
boot_gdt:
        .quad 0
        .quad 0x00AF9A000000FFFF                /* 0x08: 64-bit code, DPL0 */
        .quad 0x00CF92000000FFFF                /* 0x10: data, DPL0 */
boot_gdt_end:
boot_gdt_ptr:
        .word boot_gdt_end - boot_gdt - 1
        .long boot_gdt

        .section .boot.bss, "aw", @nobits
        .p2align 12
        .globl boot_pml4
boot_pml4:
        .skip 4096
boot_pdpt:
        .skip 4096
boot_pd:
        .skip 4096
        .skip 1024
boot_stack_top32:

        /* The 64-bit half: clear .bss, switch to the upper-half stack, enter C++. */
        .text
        .code64
        .globl pvkit_boot64
pvkit_boot64:
        movq    %rdi, %r12
        leaq    __bss_start(%rip), %rdi
        leaq    __bss_end(%rip), %rcx
        subq    %rdi, %rcx
        xorl    %eax, %eax
        rep stosb
        leaq    pvkit_boot_stack_top(%rip), %rsp
        xorl    %ebp, %ebp
        movq    %r12, %rdi
        call    pvkit_arch_start
2:      cli
        hlt
        jmp     2b

        .bss
        .p2align 12
        /* Left unmapped by cpu_init(): a boot-stack overflow faults instead of corrupting .bss. */
        .globl pvkit_boot_stack_guard
pvkit_boot_stack_guard:
        .skip 4096
        .globl pvkit_boot_stack
pvkit_boot_stack:
        .skip 16384
        .globl pvkit_boot_stack_top
pvkit_boot_stack_top:
