/* SPDX-License-Identifier: GPL-2.0 */
/* The guest for the flat, identity-mapped modes (32-bit protected with or
 * without paging, 64-bit long). The includer sets the code size, MODE and
 * SCRATCH_MEM (the scratch address through %ebx or %rbx). 32-bit register
 * writes zero-extend in 64-bit mode, so the same code serves both. */
#include "guest.h"

	.text
	.globl _start
_start:
	mov $hello, %esi
	mov $(hello_end - hello), %ecx
	call serial_write

	mov $e9, %esi
	mov $(e9_end - e9), %ecx
	mov $DEBUG_PORT, %dx
	cld
	rep outsb

	mov $0x1234, %ax
	outw %ax, $POST_PORT
	mov $0x89abcdef, %eax
	outl %eax, $POST_PORT
	inl $POST_PORT, %eax

	mov $SCRATCH, %ebx
	movl $0x12345678, SCRATCH_MEM
	movl SCRATCH_MEM, %eax
	mov $mmio_ok, %esi
	mov $(mmio_ok_end - mmio_ok), %ecx
	cmp $0x12345678, %eax
	je 1f
	mov $mmio_bad, %esi
	mov $(mmio_bad_end - mmio_bad), %ecx
1:	call serial_write

	mov $HYPERCALL_NR, %eax
	mov $7, %ebx
	vmmcall
	mov $hc_ok, %esi
	mov $(hc_ok_end - hc_ok), %ecx
	cmp $(HYPERCALL_NR + 1), %eax
	je 2f
	mov $hc_bad, %esi
	mov $(hc_bad_end - hc_bad), %ecx
2:	call serial_write
	hlt

/* %esi: bytes, %ecx: count */
serial_write:
	mov $SERIAL, %dx
3:	lodsb
	outb %al, %dx
	loop 3b
	ret

MESSAGES(MODE)
