/*
 * pvkit guest runtime: the kernel entry point.
 *
 * Xen enters a 64-bit PV kernel at the ENTRY note's address, in 64-bit mode, ring 3, with
 * events masked, RSI = the virtual address of start_info and RSP = the bootstrap stack the
 * builder placed after the start_info/page-table area (xen.h, comment above struct
 * start_info). The runtime switches to its own 16 KiB stack in .bss (so the bootstrap area may
 * be reused), clears the direction flag and calls pvkit_guest_start(start_info), which never
 * returns.
 */
        .section .text.entry, "ax", @progbits
        .globl _start
        .type _start, @function
_start:
        cld
        leaq    pvkit_guest_boot_stack_top(%rip), %rsp
        xorl    %ebp, %ebp
        movq    %rsi, %rdi
        call    pvkit_guest_start
1:      ud2
        jmp     1b
        .size _start, . - _start

        .section .bss.pvkit_guest_boot_stack, "aw", @nobits
        .balign 4096
        .globl pvkit_guest_boot_stack
pvkit_guest_boot_stack:
        .skip   16384
        .globl pvkit_guest_boot_stack_top
pvkit_guest_boot_stack_top:

        .section .note.GNU-stack, "", @progbits
