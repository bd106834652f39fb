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
#include <linux/signal.h>
#include <linux/spinlock.h>

#include <axvm/boundary.h>
#include <uapi/axvm.h>

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
	spinlock_t irqfds_lock;  /* the irqfds (eventfd.c); taken in eventfd wakeups */
	struct mutex irqfds_mutex; /* one KVM_IRQFD assign or deassign at a time */
	struct list_head irqfds;
};

struct axvm_vcpu {
	struct list_head link; /* in axvm_vm.vcpus once the core created it */
	struct axvm_vm *vm;    /* a reference, dropped when the fd closes */
	struct axvm_core_vcpu *core;
	u32 id;
	/* struct axvm_run, then the I/O data page: two pages, one mapping of
	 * both for the core (run). */
	struct page *run_pages[AXVM_RUN_PAGES];
	void *run;
	/* KVM_SET_SIGNAL_MASK: the signals blocked while inside KVM_RUN. */
	spinlock_t sigset_lock;
	bool sigset_active;
	sigset_t sigset;
};

/*
 * The glue's files, each calling only those listed before it:
 *   virt_enable.c  hardware on while VMs exist, off at reboot
 *   trace.c        the tracepoints
 *   debugfs.c      the statistics in debugfs
 *   eventfd.c      irqfds and ioeventfds
 *   vm.c           the VM object's lifetime and owner
 *   stats.c        statistics fds (hold a VM reference)
 *   vcpu_fd.c      vCPU fds (hold a VM reference)
 *   vm_fd.c        VM fds; creates vCPU and statistics fds
 *   main.c         /dev/axvm, module load and unload
 * (services.c, current_vcpu.c and guest_memory.c serve the core.)
 */

/* virt_enable.c: hardware enabled on every online CPU while a reference is
 * held (one per VM); at module load and unload, the reboot notifier. */
int axvm_virt_get(void);
void axvm_virt_put(void);
void axvm_virt_init(void);
void axvm_virt_exit(void);
/* eventfd.c */
int axvm_eventfd_init(void);
void axvm_eventfd_exit(void);
struct axvm_irqfd; /* uapi */
struct axvm_ioeventfd;
int axvm_vm_irqfd(struct axvm_vm *vm, struct axvm_irqfd __user *argp);
int axvm_vm_ioeventfd(struct axvm_vm *vm, struct axvm_ioeventfd __user *argp);
void axvm_vm_irqfds_release(struct axvm_vm *vm);
/* services.c: set up at module load; at unload, waits for kicks still on
 * their way. */
void axvm_services_init(void);
void axvm_services_exit(void);

/* trace.c: the events of an exit to userspace. */
void axvm_trace_userspace_exit(u32 vcpu_id, const struct axvm_exit_record *record);

/* debugfs.c */
void axvm_debugfs_init(void);
void axvm_debugfs_exit(void);
void axvm_vm_debugfs_create(struct axvm_vm *vm, int fd);
void axvm_vcpu_debugfs_create(struct axvm_vcpu *vcpu);
void axvm_vm_debugfs_remove(struct axvm_vm *vm);

/* vm.c */
static inline void axvm_vm_get(struct axvm_vm *vm)
{
	kref_get(&vm->ref);
}
void axvm_vm_put(struct axvm_vm *vm);
/* -EIO (and one dmesg line) unless the caller is in the VM's process. */
int axvm_vm_check_owner(struct axvm_vm *vm);
int axvm_vcpu_alloc_run(struct axvm_vcpu *vcpu);
void axvm_vcpu_free(struct axvm_vcpu *vcpu);

/* stats.c */
int axvm_vm_stats_fd(struct axvm_vm *vm);
int axvm_vcpu_stats_fd(struct axvm_vcpu *vcpu);

/* vcpu_fd.c */
int axvm_vcpu_create(struct axvm_vm *vm, u32 id);
#ifdef CONFIG_X86
/* KVM_GET/SET_MSRS of vCPU @core, or without one KVM_GET_MSRS on /dev/axvm. */
long axvm_msrs_ioctl(struct axvm_core_vcpu *core, unsigned int cmd, struct axvm_msrs __user *argp);
#endif

/* vm_fd.c */
int axvm_vm_create(void);

#endif /* AXVM_GLUE_H */
