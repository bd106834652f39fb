// SPDX-License-Identifier: GPL-2.0
/*
 * KVM_IRQFD and KVM_IOEVENTFD: eventfds that inject an interrupt when
 * userspace (or vhost, or another VM's device) signals them, and eventfds
 * the kernel signals when the guest writes a registered address.
 *
 * An irqfd waits on its eventfd's wait queue (KVM's virt/kvm/eventfd.c
 * design): the wakeup runs in atomic context, so the injection itself is
 * work in process context; the eventfd closing (EPOLLHUP) takes the irqfd
 * down. A resampling irqfd holds a level-triggered line up until the guest
 * ends the interrupt; then the line drops and its resamplefd is signalled.
 * The ioeventfds live in the core (core/io_events.cpp), which matches them
 * in the vCPU exit path.
 */
#define pr_fmt(fmt) "axvm: " fmt
#include <linux/eventfd.h>
#include <linux/version.h>
#include <linux/file.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include <uapi/axvm.h>
#include "glue.h"

/* eventfd_signal() lost its count argument in 6.8. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
#define axvm_eventfd_add_one(ctx) eventfd_signal(ctx)
#else
#define axvm_eventfd_add_one(ctx) eventfd_signal(ctx, 1)
#endif

struct axvm_kirqfd {
	struct list_head link;	/* in vm->irqfds, under vm->irqfds_lock */
	struct axvm_vm *vm;
	struct eventfd_ctx *eventfd;
	struct eventfd_ctx *resamplefd; /* NULL: an edge per signal */
	u32 gsi;
	wait_queue_entry_t wait;
	poll_table pt;
	wait_queue_head_t *wqh;
	struct work_struct inject;
	struct work_struct shutdown;
	bool active; /* still in the list, not being taken down */
};

/* The VM's irqfds go down (and their work) on this queue, so that VM
 * teardown can wait for all of them. */
static struct workqueue_struct *axvm_irqfd_cleanup_wq;

static void axvm_irqfd_inject(struct work_struct *work)
{
	struct axvm_kirqfd *irqfd = container_of(work, struct axvm_kirqfd, inject);

	axvm_core_irqfd_inject(irqfd->vm->core, irqfd->gsi, irqfd->resamplefd != NULL);
}

/* Process context, on the cleanup queue: off the eventfd, then freed. */
static void axvm_irqfd_shutdown(struct work_struct *work)
{
	struct axvm_kirqfd *irqfd = container_of(work, struct axvm_kirqfd, shutdown);
	u64 count;

	eventfd_ctx_remove_wait_queue(irqfd->eventfd, &irqfd->wait, &count);
	flush_work(&irqfd->inject);
	if (irqfd->resamplefd) {
		axvm_core_irqfd_resample(irqfd->vm->core, irqfd->gsi, 0);
		eventfd_ctx_put(irqfd->resamplefd);
	}
	eventfd_ctx_put(irqfd->eventfd);
	kfree(irqfd);
}

/* vm->irqfds_lock held: out of the list, the rest on the cleanup queue. */
static void axvm_irqfd_deactivate(struct axvm_kirqfd *irqfd)
{
	if (!irqfd->active)
		return;
	irqfd->active = false;
	list_del_init(&irqfd->link);
	queue_work(axvm_irqfd_cleanup_wq, &irqfd->shutdown);
}

/* The eventfd's wait queue: signalled (EPOLLIN) or closed (EPOLLHUP). */
static int axvm_irqfd_wakeup(wait_queue_entry_t *wait, unsigned int mode, int sync, void *key)
{
	struct axvm_kirqfd *irqfd = container_of(wait, struct axvm_kirqfd, wait);
	__poll_t flags = key_to_poll(key);
	unsigned long irqs;
	u64 count;

	if (flags & EPOLLIN) {
		eventfd_ctx_do_read(irqfd->eventfd, &count);
		schedule_work(&irqfd->inject);
	}
	if (flags & EPOLLHUP) {
		spin_lock_irqsave(&irqfd->vm->irqfds_lock, irqs);
		axvm_irqfd_deactivate(irqfd);
		spin_unlock_irqrestore(&irqfd->vm->irqfds_lock, irqs);
	}
	return 0;
}

static void axvm_irqfd_queue(struct file *file, wait_queue_head_t *wqh, poll_table *pt)
{
	struct axvm_kirqfd *irqfd = container_of(pt, struct axvm_kirqfd, pt);

	irqfd->wqh = wqh;
	add_wait_queue_priority(wqh, &irqfd->wait);
}

/* The irqchip ended a level interrupt of @gsi: every resamplefd on it. */
void axvm_irqfd_resampled(void *glue, axvm_u32 gsi)
{
	struct axvm_vm *vm = glue;
	struct axvm_kirqfd *irqfd;
	unsigned long flags;

	if (!vm)
		return;
	spin_lock_irqsave(&vm->irqfds_lock, flags);
	list_for_each_entry(irqfd, &vm->irqfds, link)
		if (irqfd->resamplefd && irqfd->gsi == gsi)
			axvm_eventfd_add_one(irqfd->resamplefd);
	spin_unlock_irqrestore(&vm->irqfds_lock, flags);
}

static int axvm_irqfd_assign(struct axvm_vm *vm, const struct axvm_irqfd *args)
{
	const bool resample = args->flags & AXVM_IRQFD_FLAG_RESAMPLE;
	struct axvm_kirqfd *irqfd, *other;
	unsigned long flags;
	struct file *file;
	__poll_t events;
	int err;

	err = axvm_core_irqfd_allowed(vm->core, resample);
	if (err)
		return err;
	irqfd = kzalloc(sizeof(*irqfd), AXVM_GFP);
	if (!irqfd)
		return -ENOMEM;
	irqfd->vm = vm;
	irqfd->gsi = args->gsi;
	INIT_LIST_HEAD(&irqfd->link);
	INIT_WORK(&irqfd->inject, axvm_irqfd_inject);
	INIT_WORK(&irqfd->shutdown, axvm_irqfd_shutdown);

	file = fget(args->fd);
	if (!file) {
		err = -EBADF;
		goto fail;
	}
	irqfd->eventfd = eventfd_ctx_fileget(file);
	if (IS_ERR(irqfd->eventfd)) {
		err = PTR_ERR(irqfd->eventfd);
		irqfd->eventfd = NULL;
		goto fail_fd;
	}
	if (resample) {
		irqfd->resamplefd = eventfd_ctx_fdget(args->resamplefd);
		if (IS_ERR(irqfd->resamplefd)) {
			err = PTR_ERR(irqfd->resamplefd);
			irqfd->resamplefd = NULL;
			goto fail_fd;
		}
		err = axvm_core_irqfd_resample(vm->core, args->gsi, 1);
		if (err) {
			eventfd_ctx_put(irqfd->resamplefd);
			irqfd->resamplefd = NULL;
			goto fail_fd;
		}
	}

	init_waitqueue_func_entry(&irqfd->wait, axvm_irqfd_wakeup);
	init_poll_funcptr(&irqfd->pt, axvm_irqfd_queue);

	/*
	 * In the list before it is on the eventfd's wait queue: a deassign
	 * then (another thread) would take down an irqfd not yet on the queue
	 * and free it under vfs_poll. The mutex keeps deassigns out until it
	 * is. (KVM 6.1 has that window; later kernels add to the list from the
	 * poll callback.) Its eventfd cannot close meanwhile: @file is held.
	 */
	mutex_lock(&vm->irqfds_mutex);
	spin_lock_irqsave(&vm->irqfds_lock, flags);
	list_for_each_entry(other, &vm->irqfds, link) {
		if (other->eventfd == irqfd->eventfd) {
			/* KVM: one eventfd drives one irqfd. */
			spin_unlock_irqrestore(&vm->irqfds_lock, flags);
			mutex_unlock(&vm->irqfds_mutex);
			pr_warn_ratelimited("IRQFD: eventfd %u is an irqfd already\n", args->fd);
			err = -EBUSY;
			goto fail_resample;
		}
	}
	irqfd->active = true;
	list_add_tail(&irqfd->link, &vm->irqfds);
	spin_unlock_irqrestore(&vm->irqfds_lock, flags);

	/* On the wait queue from here; a count already there fires at once. */
	events = vfs_poll(file, &irqfd->pt);
	mutex_unlock(&vm->irqfds_mutex);
	if (events & EPOLLIN)
		schedule_work(&irqfd->inject);
	fput(file);
	return 0;

fail_resample:
	if (irqfd->resamplefd) {
		axvm_core_irqfd_resample(vm->core, args->gsi, 0);
		eventfd_ctx_put(irqfd->resamplefd);
	}
fail_fd:
	if (irqfd->eventfd)
		eventfd_ctx_put(irqfd->eventfd);
	fput(file);
fail:
	kfree(irqfd);
	return err;
}

static int axvm_irqfd_deassign(struct axvm_vm *vm, const struct axvm_irqfd *args)
{
	struct axvm_kirqfd *irqfd, *next;
	struct eventfd_ctx *eventfd;
	unsigned long flags;

	eventfd = eventfd_ctx_fdget(args->fd);
	if (IS_ERR(eventfd))
		return PTR_ERR(eventfd);
	mutex_lock(&vm->irqfds_mutex);
	spin_lock_irqsave(&vm->irqfds_lock, flags);
	list_for_each_entry_safe(irqfd, next, &vm->irqfds, link)
		if (irqfd->eventfd == eventfd && irqfd->gsi == args->gsi)
			axvm_irqfd_deactivate(irqfd);
	spin_unlock_irqrestore(&vm->irqfds_lock, flags);
	mutex_unlock(&vm->irqfds_mutex);
	eventfd_ctx_put(eventfd);
	/* As KVM: gone once the ioctl returns (no injection after). */
	flush_workqueue(axvm_irqfd_cleanup_wq);
	return 0;
}

int axvm_vm_irqfd(struct axvm_vm *vm, struct axvm_irqfd __user *argp)
{
	struct axvm_irqfd args;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	if (args.flags & ~(AXVM_IRQFD_FLAG_DEASSIGN | AXVM_IRQFD_FLAG_RESAMPLE)) {
		pr_warn_ratelimited("IRQFD: flags 0x%x\n", args.flags);
		return -EINVAL;
	}
	if (args.flags & AXVM_IRQFD_FLAG_DEASSIGN)
		return axvm_irqfd_deassign(vm, &args);
	return axvm_irqfd_assign(vm, &args);
}

/* The VM goes: every irqfd with it, before the core's irqchip. */
void axvm_vm_irqfds_release(struct axvm_vm *vm)
{
	struct axvm_kirqfd *irqfd, *next;
	unsigned long flags;

	spin_lock_irqsave(&vm->irqfds_lock, flags);
	list_for_each_entry_safe(irqfd, next, &vm->irqfds, link)
		axvm_irqfd_deactivate(irqfd);
	spin_unlock_irqrestore(&vm->irqfds_lock, flags);
	flush_workqueue(axvm_irqfd_cleanup_wq);
}

int axvm_vm_ioeventfd(struct axvm_vm *vm, struct axvm_ioeventfd __user *argp)
{
	struct axvm_ioeventfd args;
	struct eventfd_ctx *eventfd;
	int err;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	eventfd = eventfd_ctx_fdget(args.fd);
	if (IS_ERR(eventfd))
		return PTR_ERR(eventfd);
	if (mutex_lock_killable(&vm->lock)) {
		eventfd_ctx_put(eventfd);
		return -EINTR;
	}
	err = axvm_core_ioeventfd(vm->core, &args, eventfd);
	mutex_unlock(&vm->lock);
	/* The core keeps the reference of a new registration, and put the
	 * registered one of a removed one; ours goes otherwise. */
	if (err || (args.flags & AXVM_IOEVENTFD_FLAG_DEASSIGN))
		eventfd_ctx_put(eventfd);
	return err;
}

void axvm_eventfd_signal(void *eventfd)
{
	axvm_eventfd_add_one(eventfd);
}

void axvm_eventfd_put(void *eventfd)
{
	eventfd_ctx_put(eventfd);
}

int axvm_eventfd_init(void)
{
	axvm_irqfd_cleanup_wq = alloc_workqueue("axvm-irqfd-cleanup", 0, 0);
	return axvm_irqfd_cleanup_wq ? 0 : -ENOMEM;
}

void axvm_eventfd_exit(void)
{
	destroy_workqueue(axvm_irqfd_cleanup_wq);
}
