/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Real mode: axvm run --mode real --mem 512K. CS = DS = ES = SS = load
 * address / 16, so addresses are offsets from _start. The scratch device
 * is reached at 0x90000 (FS = 0x9000), outside the 512 KiB of RAM.
 */
#include "guest.h"
#define OFF(label) ((label) - _start)

	.code16
	.text
	.globl _start
_start:
	mov $OFF(hello), %si
	mov $(hello_end - hello), %cx
	call serial_write

	mov $OFF(e9), %si
	mov $(e9_end - e9), %cx
	mov $DEBUG_PORT, %dx
	cld
	rep outsb

	mov $0x1234, %ax
	outw %ax, $POST_PORT
	mov $0x89abcdef, %eax
	outl %eax, $POST_PORT
	inl $POST_PORT, %eax

	mov $0x9000, %ax
	mov %ax, %fs
	movl $0x12345678, %fs:0
	movl %fs:0, %eax
	mov $OFF(mmio_ok), %si
	mov $(mmio_ok_end - mmio_ok), %cx
	cmp $0x12345678, %eax
	je 1f
	mov $OFF(mmio_bad), %si
	mov $(mmio_bad_end - mmio_bad), %cx
1:	call serial_write

	mov $HYPERCALL_NR, %eax
	mov $7, %ebx
	vmmcall
	mov $OFF(hc_ok), %si
	mov $(hc_ok_end - hc_ok), %cx
	cmp $(HYPERCALL_NR + 1), %eax
	je 2f
	mov $OFF(hc_bad), %si
	mov $(hc_bad_end - hc_bad), %cx
2:	call serial_write
	hlt

/* %si: offset of the bytes, %cx: count */
serial_write:
	mov $SERIAL, %dx
3:	lodsb
	outb %al, %dx
	loop 3b
	ret

MESSAGES("real")
