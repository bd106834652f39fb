/* SPDX-License-Identifier: GPL-2.0 */
/*
 * 64-bit long mode, own IDT: axvm run --mode long --timer HZ. Waits in HLT
 * for ten timer interrupts (vector 0x20), printing a dot from the handler
 * for each, then says so and halts with interrupts off. The tool's GDT
 * selector 0x8 is the 64-bit code segment.
 */
#define TICKS 10

	.code64
	.text
	.globl _start
_start:
	/* IDT entry 0x20: a 64-bit interrupt gate to tick. */
	lea tick(%rip), %rax
	lea idt + 16 * 0x20(%rip), %rdi
	mov %ax, (%rdi)                 /* offset 15:0 */
	movw $0x8, 2(%rdi)              /* selector */
	movw $0x8e00, 4(%rdi)           /* present, DPL 0, interrupt gate */
	shr $16, %rax
	mov %ax, 6(%rdi)                /* offset 31:16 */
	shr $16, %rax
	mov %eax, 8(%rdi)               /* offset 63:32 */
	lidt idtr(%rip)
	movl $0, count(%rip)
	sti
1:	hlt
	cmpl $TICKS, count(%rip)
	jb 1b
	cli
	lea done(%rip), %rsi
	mov $(done_end - done), %ecx
	mov $0xe9, %dx
	cld
	rep outsb
	hlt

tick:	/* counts (and prints) only the first TICKS: one more may come
	 * between the main loop's check and its cli */
	push %rax
	cmpl $TICKS, count(%rip)
	jae 2f
	incl count(%rip)
	mov $'.', %al
	out %al, $0xe9
2:	pop %rax
	iretq

	.balign 8
idtr:	.word 256 * 16 - 1
	.quad idt
count:	.long 0
done:	.ascii "\n10 ticks\n"
done_end:
	.balign 16
idt:	.fill 256 * 16, 1, 0
