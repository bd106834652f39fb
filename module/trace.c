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
#include <axvm/boundary.h>

#define CREATE_TRACE_POINTS
#include "trace.h"

void axvm_trace_userspace_exit(axvm_u32 vcpu_id, const struct axvm_run *run)
{
	const u8 *data = (const u8 *)run + run->io.data_offset;
	u32 value = 0;

	switch (run->exit_reason) {
	case AXVM_EXIT_IO:
		if (!trace_axvm_pio_enabled())
			return;
		if (run->io.direction == AXVM_EXIT_IO_OUT)
			memcpy(&value, data, min_t(u32, run->io.size, sizeof(value)));
		trace_axvm_pio(vcpu_id, run->io.direction == AXVM_EXIT_IO_IN, run->io.port, run->io.size,
			       run->io.count, value);
		break;
	case AXVM_EXIT_MMIO: {
		u64 v = 0;

		if (!trace_axvm_mmio_enabled())
			return;
		if (run->mmio.is_write)
			memcpy(&v, run->mmio.data, min_t(u32, run->mmio.len, sizeof(v)));
		trace_axvm_mmio(vcpu_id, run->mmio.is_write, run->mmio.phys_addr, run->mmio.len, v);
		break;
	}
	case AXVM_EXIT_HYPERCALL:
		trace_axvm_hypercall(vcpu_id, run->hypercall.nr, run->hypercall.args[0], run->hypercall.args[1],
				     run->hypercall.args[2], run->hypercall.args[3]);
		break;
	}
}

void axvm_trace_inject(axvm_u32 vcpu_id, axvm_u32 vector, int nmi)
{
	trace_axvm_inj_irq(vcpu_id, vector, nmi);
}
