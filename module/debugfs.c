// SPDX-License-Identifier: GPL-2.0
/*
 * The statistics in debugfs, with the same numbers as the binary ones:
 * /sys/kernel/debug/axvm/<pid>-<vm fd>/{remote_tlb_flush,vcpu<N>/<stat>}.
 */
#define pr_fmt(fmt) "axvm: " fmt

#include <linux/debugfs.h>
#include <linux/kernel.h>

#include "glue.h"
#include "stat_names.h"

static struct dentry *axvm_debugfs_root;

void axvm_debugfs_init(void)
{
	axvm_debugfs_root = debugfs_create_dir("axvm", NULL);
}

void axvm_debugfs_exit(void)
{
	debugfs_remove(axvm_debugfs_root);
}

void axvm_vm_debugfs_create(struct axvm_vm *vm, int fd)
{
	struct dentry *dent;
	char name[32];

	snprintf(name, sizeof(name), "%d-%d", vm->pid, fd);
	/* A VM closed under this fd number may not be gone yet (another
	 * reference holds it): this one then has no directory, as in KVM. */
	dent = debugfs_lookup(name, axvm_debugfs_root);
	if (dent) {
		pr_warn_ratelimited("debugfs: %s still belongs to a closing VM; the new one has none\n", name);
		dput(dent);
		return;
	}
	vm->debugfs = debugfs_create_dir(name, axvm_debugfs_root);
	debugfs_create_u64(axvm_vm_stat_names[0], 0444, vm->debugfs,
			   (u64 *)axvm_core_vm_remote_tlb_flush(vm->core));
}

void axvm_vcpu_debugfs_create(struct axvm_vcpu *vcpu)
{
	u64 *values = (u64 *)axvm_core_vcpu_stats(vcpu->core);
	struct dentry *dir;
	char name[16];
	size_t i;

	if (!values || IS_ERR_OR_NULL(vcpu->vm->debugfs))
		return;
	snprintf(name, sizeof(name), "vcpu%u", vcpu->id);
	dir = debugfs_create_dir(name, vcpu->vm->debugfs);
	for (i = 0; i < ARRAY_SIZE(axvm_vcpu_stat_names); i++)
		debugfs_create_u64(axvm_vcpu_stat_names[i], 0444, dir, values + i);
}

/* Before the counters go: readers of these files are waited for. */
void axvm_vm_debugfs_remove(struct axvm_vm *vm)
{
	debugfs_remove(vm->debugfs);
}
