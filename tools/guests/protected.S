/* SPDX-License-Identifier: GPL-2.0 */
/* 32-bit protected mode, paging off: axvm run --mode protected */
	.code32
#define MODE "protected"
#define SCRATCH_MEM (%ebx)
#include "flat.h"
