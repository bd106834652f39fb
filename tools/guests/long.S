/* SPDX-License-Identifier: GPL-2.0 */
/* 64-bit long mode with the tool's identity page tables: axvm run --mode long */
	.code64
#define MODE "long"
#define SCRATCH_MEM (%rbx)
#include "flat.h"
