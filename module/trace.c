// SPDX-License-Identifier: GPL-2.0
/*
 * The tracepoints' definitions, and the calls through which the C++ core
 * fires them. Each returns at once, on a static branch, while its event
 * is off.
 */
#include <linux/kernel.h>
#include <linux/string.h>
#include <linux/types.h>

#include <uapi/axvm.h>
#include "glue.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

void axvm_trace_userspace_exit(u32 vcpu_id, const struct axvm_exit_record *r)
{
	switch (r->kind) {
	case AXVM_RECORD_PIO:
		trace_axvm_pio(vcpu_id, !r->write, r->addr, r->size, 1, r->data);
		break;
	case AXVM_RECORD_MMIO:
		trace_axvm_mmio(vcpu_id, r->write, r->addr, r->size, r->data);
		break;
	case AXVM_RECORD_HYPERCALL:
		trace_axvm_hypercall(vcpu_id, r->addr, r->args[0], r->args[1], r->args[2], r->args[3]);
		break;
	}
}

void axvm_trace_inject(axvm_u32 vcpu_id, axvm_u32 vector, int nmi)
{
	trace_axvm_inj_irq(vcpu_id, vector, nmi);
}

int axvm_trace_entry_enabled(void)
{
	return trace_axvm_entry_enabled();
}

void axvm_trace_entry(axvm_u32 vcpu_id, axvm_u64 rip)
{
	trace_axvm_entry(vcpu_id, rip);
}

int axvm_trace_exit_enabled(void)
{
	return trace_axvm_exit_enabled();
}

void axvm_trace_exit(axvm_u32 vcpu_id, axvm_u64 rip, axvm_u64 code, axvm_u64 info1, axvm_u64 info2)
{
	trace_axvm_exit(vcpu_id, rip, code, info1, info2);
}
