// SPDX-License-Identifier: GPL-2.0
/*
 * KVM's binary statistics interface: AXVM_GET_STATS_FD on a VM or vCPU fd
 * (the layout is in include/uapi/axvm.h). debugfs.c shows the same
 * counters; they live in the core (struct axvm_vcpu_stats).
 */
#define pr_fmt(fmt) "axvm: " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include <uapi/axvm.h>
#include "glue.h"
#include "stat_names.h"

#define AXVM_STATS_DESC_SIZE (sizeof(struct axvm_stats_desc) + AXVM_STATS_NAME_SIZE)

struct axvm_stats_file {
	struct axvm_vm *vm; /* a reference: the counters live as long as the VM */
	const char *const *names;
	u32 count;
	const u64 *values; /* @count counters, or NULL (a vCPU without a backend) */
	char id[AXVM_STATS_NAME_SIZE];
};

static ssize_t axvm_stats_read(struct file *file, char __user *buf, size_t size, loff_t *pos)
{
	const struct axvm_stats_file *sf = file->private_data;
	const size_t desc_offset = sizeof(struct axvm_stats_header) + AXVM_STATS_NAME_SIZE;
	const size_t data_offset = desc_offset + sf->count * AXVM_STATS_DESC_SIZE;
	const size_t total = data_offset + sf->count * sizeof(u64);
	struct axvm_stats_header *h;
	ssize_t ret;
	u64 *data;
	u8 *snap;
	u32 i;

	snap = kzalloc(total, AXVM_GFP);
	if (!snap)
		return -ENOMEM;
	h = (struct axvm_stats_header *)snap;
	h->name_size = AXVM_STATS_NAME_SIZE;
	h->num_desc = sf->count;
	h->id_offset = sizeof(*h);
	h->desc_offset = desc_offset;
	h->data_offset = data_offset;
	strscpy(snap + h->id_offset, sf->id, AXVM_STATS_NAME_SIZE);
	data = (u64 *)(snap + data_offset);
	for (i = 0; i < sf->count; i++) {
		struct axvm_stats_desc *d = (void *)(snap + desc_offset + i * AXVM_STATS_DESC_SIZE);

		d->flags = AXVM_STATS_TYPE_CUMULATIVE | AXVM_STATS_UNIT_NONE | AXVM_STATS_BASE_POW10;
		d->size = 1;
		d->offset = i * sizeof(u64);
		strscpy(d->name, sf->names[i], AXVM_STATS_NAME_SIZE);
		data[i] = sf->values ? READ_ONCE(sf->values[i]) : 0;
	}
	ret = simple_read_from_buffer(buf, size, pos, snap, total);
	kfree(snap);
	return ret;
}

static int axvm_stats_release(struct inode *inode, struct file *file)
{
	struct axvm_stats_file *sf = file->private_data;

	axvm_vm_put(sf->vm);
	kfree(sf);
	return 0;
}

static const struct file_operations axvm_stats_fops = {
	.owner = THIS_MODULE,
	.read = axvm_stats_read,
	.release = axvm_stats_release,
	.llseek = noop_llseek,
};

static int axvm_stats_fd(struct axvm_vm *vm, const char *const *names, u32 count, const u64 *values,
			 const char *id)
{
	struct axvm_stats_file *sf = kzalloc(sizeof(*sf), AXVM_GFP);
	struct file *file;
	int fd;

	if (!sf)
		return -ENOMEM;
	sf->vm = vm;
	sf->names = names;
	sf->count = count;
	sf->values = values;
	strscpy(sf->id, id, sizeof(sf->id));
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		kfree(sf);
		return fd;
	}
	axvm_vm_get(vm);
	file = anon_inode_getfile("axvm-stats", &axvm_stats_fops, sf, O_RDONLY);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		axvm_vm_put(vm);
		kfree(sf);
		return PTR_ERR(file);
	}
	file->f_mode |= FMODE_PREAD;
	fd_install(fd, file);
	return fd;
}

int axvm_vm_stats_fd(struct axvm_vm *vm)
{
	char id[AXVM_STATS_NAME_SIZE];

	/* KVM's ids (api.rst, KVM_GET_STATS_FD), which tools match on. */
	snprintf(id, sizeof(id), "kvm-%d", vm->pid);
	return axvm_stats_fd(vm, axvm_vm_stat_names, ARRAY_SIZE(axvm_vm_stat_names),
			     axvm_core_vm_remote_tlb_flush(vm->core), id);
}

int axvm_vcpu_stats_fd(struct axvm_vcpu *vcpu)
{
	char id[AXVM_STATS_NAME_SIZE];

	snprintf(id, sizeof(id), "kvm-%d/vcpu-%u", vcpu->vm->pid, vcpu->id);
	return axvm_stats_fd(vcpu->vm, axvm_vcpu_stat_names, ARRAY_SIZE(axvm_vcpu_stat_names),
			     (const u64 *)axvm_core_vcpu_stats(vcpu->core), id);
}
