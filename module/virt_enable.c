// SPDX-License-Identifier: GPL-2.0
/*
 * Hardware virtualization is switched on (EFER.SVME, VMXON, ...) on every
 * online CPU while at least one VM exists, and off when the last VM goes, so
 * that axvm holds the hardware no longer than it must and another hypervisor
 * (kvm_amd, kvm_intel) can have it otherwise. A CPU hotplug state does the
 * per-CPU work: registering it enables every online CPU (and rolls back if
 * one refuses), CPUs coming online later are enabled by the same callback,
 * and removing the state disables them all.
 */
#define pr_fmt(fmt) "axvm: " fmt

#include <linux/cpuhotplug.h>
#include <linux/mutex.h>

#include "glue.h"

static DEFINE_MUTEX(axvm_virt_lock);
static unsigned int axvm_virt_users;
static enum cpuhp_state axvm_virt_state;

static int axvm_virt_cpu_online(unsigned int cpu)
{
	return axvm_core_cpu_enable(cpu);
}

static int axvm_virt_cpu_offline(unsigned int cpu)
{
	axvm_core_cpu_disable(cpu);
	return 0;
}

int axvm_virt_get(void)
{
	int ret = 0;

	if (!axvm_core_has_backend())
		return 0; /* nothing to enable; RUN reports -ENODEV */
	mutex_lock(&axvm_virt_lock);
	if (axvm_virt_users == 0) {
		ret = cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "axvm:online", axvm_virt_cpu_online,
					axvm_virt_cpu_offline);
		if (ret >= 0) {
			axvm_virt_state = ret;
			ret = 0;
		}
	}
	if (!ret)
		axvm_virt_users++;
	mutex_unlock(&axvm_virt_lock);
	return ret;
}

void axvm_virt_put(void)
{
	if (!axvm_core_has_backend())
		return;
	mutex_lock(&axvm_virt_lock);
	if (--axvm_virt_users == 0)
		cpuhp_remove_state(axvm_virt_state);
	mutex_unlock(&axvm_virt_lock);
}
