/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An arm64 guest at EL1, MMU off, loaded and entered at 0x10000: prints
 * through a UART-style transmit register (a write-only MMIO address: a
 * read-only slot at 0x09000000, whose writes exit as MMIO), reads the
 * device at 0x0a000000 (outside every slot), makes a hypercall where the
 * VMM answers one, and powers off with PSCI SYSTEM_OFF. The device is a
 * scratch register, as `axvm run` serves all MMIO: a read returns what was
 * written last.
 *
 *   x0 = 0 on entry: the plain run (what KVM and axvm answer alike).
 *   x0 = 1: also a sign-extending byte read (of 0x80) and a
 *   hypercall (HVC, x0 = 0x1234, x1 = 7) expecting 0x1235. (Debian's 6.1
 *   KVM under QEMU does not sign-extend the byte; the architecture and
 *   axvm do.)
 */
#include "arm64.h"

	.text
	.global _start
_start:
	mov	x20, x0
	ldr	x19, =UART
	adr	x2, hello
	bl	puts

	/* A 32-bit write and read back. */
	ldr	x4, =DEVICE
	ldr	w6, =0x12345678
	str	w6, [x4]
	ldr	w5, [x4]
	cmp	w5, w6
	b.ne	fail
	adr	x2, read_ok
	bl	puts

	cbz	x20, off
	mov	w8, #0x80
	strb	w8, [x4]
	ldrsb	x7, [x4]
	cmn	x7, #0x80
	b.ne	fail
	adr	x2, sign_ok
	bl	puts
	mov	x0, #0x1234
	mov	x1, #7
	hvc	#0
	mov	x6, #0x1235
	cmp	x0, x6
	b.ne	fail
	adr	x2, hypercall_ok
	bl	puts

off:	ldr	x0, =PSCI_SYSTEM_OFF
	hvc	#0
	b	.

fail:	adr	x2, failed
	bl	puts
	b	off

	define_puts

	.ltorg
hello:		.asciz "hello from an arm64 guest\n"
read_ok:	.asciz "mmio read ok\n"
sign_ok:	.asciz "sign-extending read ok\n"
hypercall_ok:	.asciz "hypercall ok\n"
failed:		.asciz "FAILED\n"
