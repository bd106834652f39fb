/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Objects of the C glue: a VM fd and its vCPU fds. The C++ core owns the
 * VM's substance (struct axvm_core_vm); the glue owns file lifetimes.
 *
 * Lifetime: the VM is reference counted; its fd and every vCPU fd hold a
 * reference, so fds may be closed in any order. vCPUs are freed with the
 * VM (as in KVM). Every fd's file_operations has .owner = THIS_MODULE, so
 * the module cannot be unloaded while any VM exists.
 */
#ifndef AXVM_GLUE_H
#define AXVM_GLUE_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>

#include <axvm/boundary.h>

/*
 * Every allocation a VMM causes: charged to its memory cgroup, and failing
 * with -ENOMEM at the cgroup's limit (or when the host is short) rather than
 * invoking the OOM killer on the VMM's behalf.
 */
#define AXVM_GFP (GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL)

struct axvm_vm {
	struct kref ref;
	struct mutex lock; /* serializes vCPU creation and memory slot changes */
	struct list_head vcpus;
	struct axvm_core_vm *core;
	struct mm_struct *mm; /* the creator's: only it may use the VM (as in KVM) */
	pid_t pid;	      /* the creator's, for the stats id and debugfs name */
	struct dentry *debugfs; /* /sys/kernel/debug/axvm/<pid>-<fd> */
};

/* -EIO (and one dmesg line) unless the caller is in the VM's process. */
int axvm_vm_check_owner(struct axvm_vm *vm);

struct axvm_vcpu {
	struct list_head link; /* in axvm_vm.vcpus once the core created it */
	struct axvm_vm *vm;    /* a reference, dropped when the fd closes */
	struct axvm_core_vcpu *core;
	u32 id;
	struct page *run_page; /* struct axvm_run, mmap-ed at offset 0 */
};

/* Hardware enabled on every online CPU while a reference is held (one per VM). */
int axvm_virt_get(void);
void axvm_virt_put(void);
/* At module load and unload: the reboot notifier that gives the hardware up. */
void axvm_virt_init(void);
void axvm_virt_exit(void);

/* stats.c: AXVM_GET_STATS_FD and the debugfs tree. */
void axvm_stats_init(void);
void axvm_stats_exit(void);
int axvm_vm_stats_fd(struct axvm_vm *vm);
int axvm_vcpu_stats_fd(struct axvm_vcpu *vcpu);
void axvm_vm_debugfs_create(struct axvm_vm *vm, int fd);
void axvm_vcpu_debugfs_create(struct axvm_vcpu *vcpu);
void axvm_vm_debugfs_remove(struct axvm_vm *vm);

/* trace.c: the events of an exit to userspace. */
void axvm_trace_userspace_exit(u32 vcpu_id, const struct axvm_exit_record *record);

int axvm_vm_create(void);
void axvm_vm_put(struct axvm_vm *vm);
int axvm_vcpu_create(struct axvm_vm *vm, u32 id);
void axvm_vcpu_free(struct axvm_vcpu *vcpu);

#endif /* AXVM_GLUE_H */
