/* SPDX-License-Identifier: GPL-2.0 */
/*
 * make bench: an IPI ping-pong between two vCPUs (APIC IDs 0 and 1), 64-bit
 * long mode, for a VM with the in-kernel irqchip. vCPU 0 sends vector 0x41
 * to vCPU 1, whose handler answers with the same vector to vCPU 0; 5,000
 * round trips, then vCPU 0 ends the run with an OUT to 0xf4. vCPU 1 runs
 * the same code from the same entry on its own stack and only waits;
 * vCPU 0 starts once vCPU 1 says its APIC is on.
 */
#include "iretq_past_hlt.h"

#define APIC 0xfee00000
#define ROUNDS 5000

	.code64
	.text
	.globl _start
_start:
	lea pong(%rip), %rax
	lea idt + 16 * 0x41(%rip), %rdi
	mov %ax, (%rdi)
	movw $0x8, 2(%rdi)
	movw $0x8e00, 4(%rdi)
	shr $16, %rax
	mov %ax, 6(%rdi)
	shr $16, %rax
	mov %eax, 8(%rdi)
	lidt idtr(%rip)
	mov $APIC, %ebx
	movl $0x1ff, 0xf0(%rbx)         /* SVR: APIC on */
	mov 0x20(%rbx), %edi            /* APIC ID */
	shr $24, %edi
	test %edi, %edi
	jnz 9f

8:	pause                           /* vCPU 1's APIC on first: a */
	cmpl $0, ready(%rip)            /* disabled APIC drops what comes */
	je 8b
	mov $ROUNDS, %esi
1:	movl $0, got(%rip)
	movl $(1 << 24), 0x310(%rbx)    /* ICR: to APIC ID 1, */
	movl $0x41, 0x300(%rbx)         /* fixed, vector 0x41 */
2:	cli                             /* wait for the answer, */
	cmpl $0, got(%rip)              /* with no race against HLT */
	jne 3f
	sti
wait_hlt:
	hlt
	jmp 2b
3:	dec %esi
	jnz 1b
	out %al, $0xf4
	hlt

9:	sti                             /* vCPU 1: answers in its handler */
	movl $1, ready(%rip)
7:	hlt
	jmp 7b

pong:	movl $0, 0xb0(%rbx)             /* EOI */
	test %edi, %edi
	jnz 4f
	movl $1, got(%rip)              /* vCPU 0: the answer came */
	iretq_past_hlt wait_hlt
4:	movl $0, 0x310(%rbx)            /* vCPU 1: answer APIC ID 0 */
	movl $0x41, 0x300(%rbx)
	iretq

	.balign 8
idtr:	.word 256 * 16 - 1
	.quad idt
got:	.long 0
ready:	.long 0
	.balign 16
idt:	.fill 256 * 16, 1, 0
