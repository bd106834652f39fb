/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the arm64 test guests share: the machine `axvm run` and the tests
 * give them (a UART-style transmit register, a device register, PSCI), a
 * one-byte UART write, and puts.
 */
#define UART 0x09000000
#define DEVICE 0x0a000000
#define PSCI_SYSTEM_OFF 0x84000008

/* Writes the byte @c to the UART; x19 holds its address. */
.macro tag c
	mov	w3, #\c
	strb	w3, [x19]
.endm

/* puts: writes the NUL-terminated string at x2 to the UART at x19. */
.macro define_puts
puts:	ldrb	w3, [x2], #1
	cbz	w3, 1f
	strb	w3, [x19]
	b	puts
1:	ret
.endm
