/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Real mode, own interrupt vector table: axvm run --mode real --timer HZ.
 * Waits in HLT for ten timer interrupts (vector 0x20), printing a dot from
 * the handler for each, then says so and halts with interrupts off.
 */
#define OFF(label) ((label) - _start)
#define TICKS 10

	.code16
	.text
	.globl _start
_start:
	xor %ax, %ax
	mov %ax, %es
	movw $OFF(tick), %es:4 * 0x20      /* IVT[0x20] = CS:tick */
	mov %cs, %es:4 * 0x20 + 2
	movw $0, OFF(count)
	sti
1:	hlt
	cmpw $TICKS, OFF(count)
	jb 1b
	cli
	mov $OFF(done), %si
	mov $(done_end - done), %cx
	mov $0xe9, %dx
	cld
	rep outsb
	hlt

tick:	/* counts (and prints) only the first TICKS: one more may come
	 * between the main loop's check and its cli */
	push %ax
	cmpw $TICKS, %cs:OFF(count)
	jae 2f
	incw %cs:OFF(count)
	mov $'.', %al
	out %al, $0xe9
2:	pop %ax
	iret

count:	.word 0
done:	.ascii "\n10 ticks\n"
done_end:
