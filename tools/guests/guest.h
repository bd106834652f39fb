/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the test guests. Each one does, in this order, what the
 * end-to-end tests check: a line through the serial port one OUT at a time,
 * a line through port 0xe9 with REP OUTSB, 16- and 32-bit I/O on port 0x80,
 * an MMIO write and read-back at the tool's scratch device, a hypercall
 * whose result is checked, and HLT.
 */
#define SERIAL 0x3f8
#define DEBUG_PORT 0xe9
#define POST_PORT 0x80
#define SCRATCH 0xd0000000 /* outside RAM: the tool's scratch register */
#define HYPERCALL_NR 0x42  /* axvm run answers nr + 1 */

#define MESSAGES(mode)                      \
hello:	.ascii "hello from " mode " mode\n"; \
hello_end:                                  \
e9:	.ascii "string I/O on port 0xe9\n";  \
e9_end:                                     \
mmio_ok:	.ascii "mmio ok\n";          \
mmio_ok_end:                                \
mmio_bad:	.ascii "mmio BAD\n";         \
mmio_bad_end:                               \
hc_ok:	.ascii "hypercall ok\n";             \
hc_ok_end:                                  \
hc_bad:	.ascii "hypercall BAD\n";            \
hc_bad_end:
