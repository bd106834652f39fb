/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An arm64 guest taking interrupts from the VMM's IRQ line (KVM_IRQ_LINE,
 * no interrupt controller), for tests/vmm/kvm_arm64_irq.c. Loaded and entered
 * at 0x10000, EL1, MMU off. Its IRQ handler acknowledges each interrupt by
 * writing the count so far to an EOI register at 0x0a000000, on which the
 * VMM lowers the line. Tags written to the UART at 0x09000000 tell the VMM
 * when to raise it:
 *   'R'  IRQs unmasked; raise the line: the guest spins until it is taken,
 *        three times (a 'W' before the second and third)
 *   'M'  IRQs masked; raise the line: WFI must return at once (the line is
 *        pending), and the interrupt is taken when the guest unmasks
 * then "irqs ok" and PSCI SYSTEM_OFF.
 */
#include "arm64.h"

#define EOI DEVICE

	.text
	.global _start
_start:
	ldr	x19, =UART
	adr	x0, vectors
	msr	vbar_el1, x0
	isb
	mov	x21, #0			/* interrupts taken */
	msr	daifclr, #2		/* IRQs unmasked */
	tag	'R'
1:	cmp	x21, #1			/* spin until the handler has run */
	b.lo	1b
	tag	'W'
2:	cmp	x21, #2
	b.lo	2b
	tag	'W'
3:	cmp	x21, #3
	b.lo	3b

	msr	daifset, #2		/* masked: the line stays pending */
	tag	'M'
	wfi				/* returns: an interrupt is pending */
	cmp	x21, #3			/* ... but was not taken */
	b.ne	fail
	msr	daifclr, #2		/* now it is */
	isb
	cmp	x21, #4
	b.ne	fail

	adr	x2, ok
	bl	puts
off:	ldr	x0, =PSCI_SYSTEM_OFF
	hvc	#0
	b	.
fail:	adr	x2, failed
	bl	puts
	b	off

	define_puts

/* EL1h IRQ (VBAR_EL1 + 0x280): count, acknowledge, return. */
	.align 11
vectors:
	.skip	0x280
	add	x21, x21, #1
	ldr	x22, =EOI
	str	w21, [x22]
	eret
	.ltorg
ok:	.asciz "irqs ok\n"
failed:	.asciz "FAILED\n"
