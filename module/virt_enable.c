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
#include <linux/reboot.h>
#include <linux/smp.h>

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

/*
 * Reboot, power-off and kexec run the reboot notifiers: VMX left on blocks
 * INIT on Intel CPUs (the next kernel could not start its other CPUs), so,
 * as KVM's kvm_reboot() does, every CPU gives the hardware up here. (A
 * crash does it in the kernel itself: see README, "Security".)
 */
static void axvm_virt_cpu_off_here(void *unused)
{
	axvm_core_cpu_disable(smp_processor_id());
}

static int axvm_virt_reboot(struct notifier_block *nb, unsigned long code, void *unused)
{
	if (READ_ONCE(axvm_virt_users)) {
		on_each_cpu(axvm_virt_cpu_off_here, NULL, 1);
		pr_info("reboot: virtualization off on every CPU\n");
	}
	return NOTIFY_OK;
}

static struct notifier_block axvm_virt_reboot_nb = {
	.notifier_call = axvm_virt_reboot,
	.priority = 0,
};

void axvm_virt_init(void)
{
	if (axvm_core_has_backend())
		register_reboot_notifier(&axvm_virt_reboot_nb);
}

void axvm_virt_exit(void)
{
	if (axvm_core_has_backend())
		unregister_reboot_notifier(&axvm_virt_reboot_nb);
}
