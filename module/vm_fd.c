// SPDX-License-Identifier: GPL-2.0
/*
 * The VM fd: vCPU creation and guest memory (the KVM "VM" ioctls).
 */
#define pr_fmt(fmt) "axvm: " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/bitmap.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <uapi/axvm.h>
#include "glue.h"

static int axvm_vm_set_memory(struct axvm_vm *vm, void __user *argp)
{
	struct axvm_userspace_memory_region region;
	int err;

	if (copy_from_user(&region, argp, sizeof(region)))
		return -EFAULT;
	/* Pinning may wait on the VMM's own memory (FUSE, userfaultfd): a
	 * fatal signal must be able to end every thread waiting here. */
	if (mutex_lock_killable(&vm->lock))
		return -EINTR;
	err = axvm_core_set_memory_region(vm->core, &region);
	mutex_unlock(&vm->lock);
	if (err)
		pr_warn_ratelimited("SET_USER_MEMORY_REGION slot 0x%x gpa 0x%llx size 0x%llx flags 0x%x: %d\n",
				    region.slot, region.guest_phys_addr, region.memory_size,
				    region.flags, err);
	return err;
}

static int axvm_vm_enable_cap(struct axvm_vm *vm, struct axvm_enable_cap __user *argp)
{
	struct axvm_enable_cap cap;
	int err;

	if (copy_from_user(&cap, argp, sizeof(cap)))
		return -EFAULT;
	if (cap.flags) {
		pr_warn_ratelimited("ENABLE_CAP: flags must be 0\n");
		return -EINVAL;
	}
	if (mutex_lock_killable(&vm->lock))
		return -EINTR;
	err = axvm_core_vm_enable_cap(vm->core, cap.cap, cap.args[0]);
	mutex_unlock(&vm->lock);
	if (err)
		pr_warn_ratelimited("ENABLE_CAP %u (arg %llu): not an axvm capability\n", cap.cap, cap.args[0]);
	return err;
}

#ifdef CONFIG_X86
enum { AXVM_ARG_IN = 1, AXVM_ARG_OUT = 2 };

/*
 * A VM ioctl the architecture handles, with a fixed-size argument copied in
 * and/or out as @dir says (not always what the number's direction bits say:
 * KVM_SET_IRQCHIP is _IOR, KVM_REINJECT_CONTROL _IO with a pointer).
 */
static long axvm_vm_arch_ioctl(struct axvm_vm *vm, unsigned int cmd, void __user *argp, size_t size, int dir)
{
	void *buf;
	long err;

	buf = kzalloc(size ? size : 8, AXVM_GFP);
	if (!buf)
		return -ENOMEM;
	err = -EFAULT;
	if ((dir & AXVM_ARG_IN) && copy_from_user(buf, argp, size))
		goto out;
	err = -EINTR;
	if (mutex_lock_killable(&vm->lock))
		goto out;
	err = axvm_core_vm_arch_ioctl(vm->core, cmd, buf, size);
	mutex_unlock(&vm->lock);
	if (err >= 0 && (dir & AXVM_ARG_OUT) && copy_to_user(argp, buf, size))
		err = -EFAULT;
out:
	if (err < 0 && err != -EFAULT && err != -EINTR)
		pr_warn_ratelimited("VM ioctl 0x%x: %ld\n", cmd, err);
	kfree(buf);
	return err;
}

/* KVM_SET_GSI_ROUTING: a header and nr entries, at most 4096 (KVM's -EINVAL beyond). */
static long axvm_vm_set_gsi_routing(struct axvm_vm *vm, struct axvm_irq_routing __user *argp)
{
	struct axvm_irq_routing header, *r;
	long err;

	if (copy_from_user(&header, argp, sizeof(header)))
		return -EFAULT;
	if (header.nr > AXVM_MAX_IRQ_ROUTES || header.flags) {
		pr_warn_ratelimited("SET_GSI_ROUTING: %u routes (at most %u), flags 0x%x\n", header.nr,
				    AXVM_MAX_IRQ_ROUTES, header.flags);
		return -EINVAL;
	}
	r = kvmalloc(struct_size(r, entries, header.nr), AXVM_GFP);
	if (!r)
		return -ENOMEM;
	*r = header; /* read once: the entries come after */
	err = -EFAULT;
	if (copy_from_user(r->entries, argp->entries, header.nr * sizeof(r->entries[0])))
		goto out;
	err = -EINTR;
	if (mutex_lock_killable(&vm->lock))
		goto out;
	err = axvm_core_vm_arch_ioctl(vm->core, AXVM_SET_GSI_ROUTING, r, struct_size(r, entries, header.nr));
	mutex_unlock(&vm->lock);
out:
	if (err < 0 && err != -EFAULT && err != -EINTR)
		pr_warn_ratelimited("SET_GSI_ROUTING (%u routes): %ld\n", header.nr, err);
	kvfree(r);
	return err;
}

/*
 * KVM_X86_SET_MSR_FILTER: the ranges' bitmaps are user pointers; they are
 * copied into the kernel here (each at most AXVM_MSR_FILTER_MAX_BITMAP_SIZE
 * bytes) and the core takes its own copy.
 */
static int axvm_vm_set_msr_filter(struct axvm_vm *vm, struct axvm_msr_filter __user *argp)
{
	struct axvm_msr_filter *f;
	void *bitmaps[AXVM_MSR_FILTER_MAX_RANGES] = {};
	int i, err;

	f = memdup_user(argp, sizeof(*f));
	if (IS_ERR(f))
		return PTR_ERR(f);
	for (i = 0; i < AXVM_MSR_FILTER_MAX_RANGES; i++) {
		struct axvm_msr_filter_range *r = &f->ranges[i];
		size_t bytes = DIV_ROUND_UP((size_t)r->nmsrs, 8);

		if (!r->flags)
			continue;
		if (!r->nmsrs || bytes > AXVM_MSR_FILTER_MAX_BITMAP_SIZE) {
			pr_warn_ratelimited("X86_SET_MSR_FILTER: range %d has %u MSRs\n", i, r->nmsrs);
			err = -EINVAL;
			goto out;
		}
		bitmaps[i] = memdup_user(u64_to_user_ptr(r->bitmap), bytes);
		if (IS_ERR(bitmaps[i])) {
			err = PTR_ERR(bitmaps[i]);
			bitmaps[i] = NULL;
			goto out;
		}
		r->bitmap = (u64)(uintptr_t)bitmaps[i];
	}
	err = -EINTR;
	if (mutex_lock_killable(&vm->lock))
		goto out;
	err = (int)axvm_core_vm_arch_ioctl(vm->core, AXVM_X86_SET_MSR_FILTER, f, sizeof(*f));
	mutex_unlock(&vm->lock);
out:
	for (i = 0; i < AXVM_MSR_FILTER_MAX_RANGES; i++)
		kfree(bitmaps[i]);
	kfree(f);
	return err;
}
#endif

/*
 * KVM_GET_DIRTY_LOG: axvm does not track guest writes yet, so every page of
 * a slot with KVM_MEM_LOG_DIRTY_PAGES is reported dirty, a correct (if
 * costly) answer; only the slot's own bits are set in the bitmap, whose
 * size is KVM's (the page count rounded up to whole longs).
 */
static int axvm_vm_get_dirty_log(struct axvm_vm *vm, struct axvm_dirty_log __user *argp)
{
	struct axvm_dirty_log log;
	unsigned long *bitmap;
	size_t bytes;
	long pages;
	int err = 0;

	if (copy_from_user(&log, argp, sizeof(log)))
		return -EFAULT;
	if (mutex_lock_killable(&vm->lock))
		return -EINTR;
	pages = axvm_core_dirty_log_pages(vm->core, log.slot);
	mutex_unlock(&vm->lock);
	if (pages < 0) {
		pr_warn_ratelimited("GET_DIRTY_LOG: slot 0x%x: %s\n", log.slot,
				    pages == -ENOENT ? "no dirty logging on it" : "no such slot");
		return pages;
	}
	bytes = BITS_TO_LONGS(pages) * sizeof(long);
	bitmap = kvzalloc(bytes, AXVM_GFP);
	if (!bitmap)
		return -ENOMEM;
	bitmap_set(bitmap, 0, pages);
	if (copy_to_user(u64_to_user_ptr(log.dirty_bitmap), bitmap, bytes))
		err = -EFAULT;
	kvfree(bitmap);
	return err;
}

#ifdef CONFIG_ARM64
/* KVM_IRQ_LINE without an in-kernel GIC: a vCPU's IRQ or FIQ line. */
static int axvm_vm_irq_line(struct axvm_vm *vm, struct axvm_irq_level __user *argp)
{
	struct axvm_irq_level l;
	u32 type, vcpu, num;
	int err;

	if (copy_from_user(&l, argp, sizeof(l)))
		return -EFAULT;
	type = (l.irq >> AXVM_ARM_IRQ_TYPE_SHIFT) & AXVM_ARM_IRQ_TYPE_MASK;
	vcpu = (l.irq >> AXVM_ARM_IRQ_VCPU_SHIFT) & AXVM_ARM_IRQ_VCPU_MASK;
	num = l.irq & AXVM_ARM_IRQ_NUM_MASK;
	if (type != AXVM_ARM_IRQ_TYPE_CPU) {
		/* SPIs and PPIs need an in-kernel GIC, which axvm lacks (KVM: -ENXIO). */
		pr_warn_ratelimited("IRQ_LINE 0x%x: only CPU lines (type 0); no in-kernel GIC\n", l.irq);
		return -ENXIO;
	}
	if (mutex_lock_killable(&vm->lock))
		return -EINTR;
	err = axvm_core_vm_irq_line(vm->core, vcpu, num, l.level);
	mutex_unlock(&vm->lock);
	if (err)
		pr_warn_ratelimited("IRQ_LINE 0x%x level %u: %d\n", l.irq, l.level, err);
	return err;
}
#endif

static long axvm_vm_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct axvm_vm *vm = file->private_data;
	int err = axvm_vm_check_owner(vm);

	if (err)
		return err;

	switch (cmd) {
	case AXVM_CREATE_VCPU:
		if (arg > U32_MAX) {
			pr_warn_ratelimited("CREATE_VCPU: id %lu out of range\n", arg);
			return -EINVAL;
		}
		return axvm_vcpu_create(vm, arg);
	case AXVM_SET_USER_MEMORY_REGION:
		return axvm_vm_set_memory(vm, (void __user *)arg);
	case AXVM_CHECK_EXTENSION:
		return axvm_core_check_extension(arg);
	case AXVM_ENABLE_CAP:
		return axvm_vm_enable_cap(vm, (void __user *)arg);
	case AXVM_GET_STATS_FD:
		return axvm_vm_stats_fd(vm);
	case AXVM_GET_DIRTY_LOG:
		return axvm_vm_get_dirty_log(vm, (void __user *)arg);
	case AXVM_IOEVENTFD:
		return axvm_vm_ioeventfd(vm, (void __user *)arg);
#ifdef CONFIG_X86
	case AXVM_SET_TSS_ADDR:
		return 0; /* VMX without unrestricted guest needs it; axvm never does */
	case AXVM_SET_IDENTITY_MAP_ADDR:
	case AXVM_IRQ_LINE:
	case AXVM_SIGNAL_MSI:
	case AXVM_CREATE_PIT2:
	case AXVM_SET_PIT2:
		return axvm_vm_arch_ioctl(vm, cmd, (void __user *)arg, _IOC_SIZE(cmd), AXVM_ARG_IN);
	case AXVM_SET_IRQCHIP: /* _IOR, but an input */
		return axvm_vm_arch_ioctl(vm, cmd, (void __user *)arg, sizeof(struct axvm_irqchip), AXVM_ARG_IN);
	case AXVM_REINJECT_CONTROL: /* _IO with a pointer */
		return axvm_vm_arch_ioctl(vm, cmd, (void __user *)arg, sizeof(struct axvm_reinject_control),
					  AXVM_ARG_IN);
	case AXVM_IRQ_LINE_STATUS:
	case AXVM_GET_IRQCHIP:
		return axvm_vm_arch_ioctl(vm, cmd, (void __user *)arg, _IOC_SIZE(cmd), AXVM_ARG_IN | AXVM_ARG_OUT);
	case AXVM_GET_PIT2:
		return axvm_vm_arch_ioctl(vm, cmd, (void __user *)arg, _IOC_SIZE(cmd), AXVM_ARG_OUT);
	case AXVM_CREATE_IRQCHIP:
		if (arg)
			return -EINVAL;
		return axvm_vm_arch_ioctl(vm, cmd, NULL, 0, 0);
	case AXVM_SET_NR_MMU_PAGES:
	case AXVM_GET_NR_MMU_PAGES:
	case AXVM_SET_BOOT_CPU_ID: {
		/* The argument by value; handed to the core as a u64. */
		u64 id = arg;
		long err;

		if (mutex_lock_killable(&vm->lock))
			return -EINTR;
		err = axvm_core_vm_arch_ioctl(vm->core, cmd, &id, sizeof(id));
		mutex_unlock(&vm->lock);
		return err;
	}
	case AXVM_X86_SET_MSR_FILTER:
		return axvm_vm_set_msr_filter(vm, (void __user *)arg);
	case AXVM_IRQFD:
		return axvm_vm_irqfd(vm, (void __user *)arg);
	case AXVM_SET_GSI_ROUTING:
		return axvm_vm_set_gsi_routing(vm, (void __user *)arg);
#endif
#ifdef CONFIG_ARM64
	case AXVM_IRQ_LINE:
		return axvm_vm_irq_line(vm, (void __user *)arg);
	case AXVM_ARM_PREFERRED_TARGET: {
		/* The one target axvm offers; no features set, as in KVM (the
		 * VMM asks for PSCI 0.2 in KVM_ARM_VCPU_INIT). */
		struct axvm_vcpu_init init = { .target = AXVM_ARM_TARGET_GENERIC_V8 };

		if (!axvm_core_has_backend())
			return -ENODEV;
		return copy_to_user((void __user *)arg, &init, sizeof(init)) ? -EFAULT : 0;
	}
#endif
	default:
		pr_info_ratelimited("unknown ioctl 0x%x on a VM fd\n", cmd);
		return -ENOTTY;
	}
}

static int axvm_vm_release(struct inode *inode, struct file *file)
{
	axvm_vm_put(file->private_data);
	return 0;
}

static const struct file_operations axvm_vm_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = axvm_vm_ioctl,
	.compat_ioctl = axvm_vm_ioctl,
	.release = axvm_vm_release,
	.llseek = noop_llseek,
};

int axvm_vm_create(void)
{
	struct axvm_vm *vm;
	struct file *file;
	int err, fd;

	err = axvm_virt_get();
	if (err) {
		pr_warn_ratelimited("CREATE_VM: cannot enable virtualization on every CPU (%d)%s\n", err,
				    err == -EBUSY ? ": another hypervisor holds it" : "");
		return err;
	}
	vm = kzalloc(sizeof(*vm), AXVM_GFP);
	if (!vm) {
		axvm_virt_put();
		return -ENOMEM;
	}
	kref_init(&vm->ref);
	mutex_init(&vm->lock);
	vm->mm = current->mm;
	mmgrab(vm->mm);
	vm->pid = task_pid_nr(current);
	INIT_LIST_HEAD(&vm->vcpus);
	INIT_LIST_HEAD(&vm->irqfds);
	spin_lock_init(&vm->irqfds_lock);
	mutex_init(&vm->irqfds_mutex);
	err = axvm_core_vm_create(&vm->core);
	if (err) {
		mmdrop(vm->mm);
		kfree(vm);
		axvm_virt_put();
		return err;
	}
	axvm_core_vm_set_glue(vm->core, vm);
	/* The fd first: debugfs names the VM by it, before userspace sees it. */
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		axvm_vm_put(vm);
		return fd;
	}
	file = anon_inode_getfile("axvm-vm", &axvm_vm_fops, vm, O_RDWR);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		axvm_vm_put(vm);
		return PTR_ERR(file);
	}
	axvm_vm_debugfs_create(vm, fd);
	fd_install(fd, file);
	return fd;
}
