// SPDX-License-Identifier: GPL-2.0
/*
 * CURRENT_VCPU: the vCPU published on each physical CPU while the core
 * operates on it, so architecture code can find "its" vCPU. Accessors only
 * make sense with preemption off; DEBUG_PREEMPT kernels check that.
 */
#include <linux/percpu.h>

#include <axvm/boundary.h>

static DEFINE_PER_CPU(void *, CURRENT_VCPU);

void *axvm_current_vcpu_get(void)
{
	return this_cpu_read(CURRENT_VCPU);
}

void axvm_current_vcpu_set(void *vcpu)
{
	this_cpu_write(CURRENT_VCPU, vcpu);
}

void axvm_current_vcpu_clear(void)
{
	this_cpu_write(CURRENT_VCPU, NULL);
}
