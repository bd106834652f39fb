/* SPDX-License-Identifier: GPL-2.0 */
/*
 * make bench: 10,000 local APIC timer interrupts, 64-bit long mode (the
 * tool's identity map covers the APIC page), for a VM with the in-kernel
 * irqchip. The timer is one-shot with an initial count of 1 at divide 1:
 * it expires at once, so each tick costs what the hypervisor adds (the
 * TMICT write, the timer, the injection, the EOI), not a period. The
 * handler re-arms it; the last tick ends the run with an OUT to 0xf4.
 */
#include "iretq_past_hlt.h"

#define APIC 0xfee00000
#define TICKS 10000

	.code64
	.text
	.globl _start
_start:
	lea tick(%rip), %rax
	lea idt + 16 * 0x40(%rip), %rdi
	mov %ax, (%rdi)                 /* offset 15:0 */
	movw $0x8, 2(%rdi)              /* selector */
	movw $0x8e00, 4(%rdi)           /* present, DPL 0, interrupt gate */
	shr $16, %rax
	mov %ax, 6(%rdi)                /* offset 31:16 */
	shr $16, %rax
	mov %eax, 8(%rdi)               /* offset 63:32 */
	lidt idtr(%rip)
	mov $APIC, %ebx
	movl $0x1ff, 0xf0(%rbx)         /* SVR: APIC on, spurious vector 0xff */
	movl $0xb, 0x3e0(%rbx)          /* divide by 1 */
	movl $0x40, 0x320(%rbx)         /* LVT timer: one-shot, vector 0x40 */
	mov $TICKS, %esi
	movl $1, 0x380(%rbx)            /* TMICT: armed */
1:	cli                             /* no tick between the test and HLT: */
	test %esi, %esi                 /* STI's shadow covers the HLT */
	jz 2f
	sti
wait_hlt:
	hlt
	jmp 1b
2:	out %al, $0xf4
	hlt

tick:	movl $0, 0xb0(%rbx)             /* EOI */
	dec %esi
	jz 3f
	movl $1, 0x380(%rbx)            /* the next one */
3:	iretq_past_hlt wait_hlt

	.balign 8
idtr:	.word 256 * 16 - 1
	.quad idt
	.balign 16
idt:	.fill 256 * 16, 1, 0
