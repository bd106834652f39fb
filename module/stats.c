// SPDX-License-Identifier: GPL-2.0
/*
 * Statistics, two ways, with the same numbers: KVM's binary statistics
 * interface (AXVM_GET_STATS_FD on a VM or vCPU fd; the layout is in
 * include/uapi/axvm.h) and a debugfs tree,
 * /sys/kernel/debug/axvm/<pid>-<vm fd>/{remote_tlb_flush,vcpu<N>/<stat>}.
 * The counters themselves live in the core (struct axvm_vcpu_stats).
 */
#define pr_fmt(fmt) "axvm: " fmt

#include <linux/anon_inodes.h>
#include <linux/debugfs.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include <uapi/axvm.h>
#include "glue.h"

/* struct axvm_vcpu_stats, in order: KVM's names, then one per exit kind. */
static const char *const axvm_vcpu_stat_names[] = {
	"exits", "io_exits", "mmio_exits", "halt_exits", "signal_exits", "irq_window_exits",
	"request_irq_exits", "hypercalls", "irq_injections", "nmi_injections",
	"exit_hypercall", "exit_mmio_read", "exit_mmio_write", "exit_io_read", "exit_io_write",
	"exit_sys_reg_read", "exit_sys_reg_write", "exit_external_interrupt", "exit_halt",
	"exit_cpu_up", "exit_cpu_down", "exit_system_down", "exit_nested_page_fault",
	"exit_send_ipi", "exit_fail_entry", "exit_internal_error", "exit_nothing",
};
static_assert(ARRAY_SIZE(axvm_vcpu_stat_names) * sizeof(u64) == sizeof(struct axvm_vcpu_stats));

static const char *const axvm_vm_stat_names[] = { "remote_tlb_flush" };

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
	kref_get(&vm->ref);
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

	snprintf(id, sizeof(id), "axvm-%d", vm->pid);
	return axvm_stats_fd(vm, axvm_vm_stat_names, ARRAY_SIZE(axvm_vm_stat_names),
			     axvm_core_vm_remote_tlb_flush(vm->core), id);
}

int axvm_vcpu_stats_fd(struct axvm_vcpu *vcpu)
{
	char id[AXVM_STATS_NAME_SIZE];

	snprintf(id, sizeof(id), "axvm-%d/vcpu-%u", vcpu->vm->pid, vcpu->id);
	return axvm_stats_fd(vcpu->vm, axvm_vcpu_stat_names, ARRAY_SIZE(axvm_vcpu_stat_names),
			     (const u64 *)axvm_core_vcpu_stats(vcpu->core), id);
}

/* ---- debugfs --------------------------------------------------------------- */

static struct dentry *axvm_debugfs_root;

void axvm_stats_init(void)
{
	axvm_debugfs_root = debugfs_create_dir("axvm", NULL);
}

void axvm_stats_exit(void)
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
