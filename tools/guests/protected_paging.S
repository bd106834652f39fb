/* SPDX-License-Identifier: GPL-2.0 */
/* 32-bit protected mode with the tool's identity page tables:
 * axvm run --mode protected-paging */
	.code32
#define MODE "paged protected"
#define SCRATCH_MEM (%ebx)
#include "flat.h"
