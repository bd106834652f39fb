// SPDX-License-Identifier: GPL-2.0
/*
 * The vCPU fd: RUN and the mmap-ed run page (the KVM "vCPU" ioctls).
 */
#define pr_fmt(fmt) "axvm: " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/sched/signal.h>
#include <linux/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <uapi/axvm.h>
#include "glue.h"

/*
 * A fixed-size architecture ioctl (REGS, SREGS): copy the struct in (for
 * _IOW) and out (for _IOR) around the core's handler.
 */
static long axvm_vcpu_arch_ioctl(struct axvm_vcpu *vcpu, unsigned int cmd, void __user *argp,
				 size_t size)
{
	void *buf;
	long err;

	buf = kzalloc(size, AXVM_GFP);
	if (!buf)
		return -ENOMEM;
	err = -EFAULT;
	if ((_IOC_DIR(cmd) & _IOC_WRITE) && copy_from_user(buf, argp, size))
		goto out;
	err = axvm_core_vcpu_arch_ioctl(vcpu->core, cmd, buf, size);
	if (!err && (_IOC_DIR(cmd) & _IOC_READ) && copy_to_user(argp, buf, size))
		err = -EFAULT;
out:
	if (err && err != -EFAULT && err != -EBUSY)
		pr_warn_ratelimited("vCPU ioctl 0x%x: %ld\n", cmd, err);
	kfree(buf);
	return err;
}

/*
 * A GET or SET whose value lives at a user address (ONE_REG, DEVICE_ATTR):
 * @size bytes of it in @value, which the core's argument @arg holds, copied
 * in before the core's handler for a SET (@set), out after it for a GET.
 */
static long axvm_vcpu_value_ioctl(struct axvm_vcpu *vcpu, unsigned int cmd, void *arg, size_t arg_size,
				  void *value, size_t size, void __user *addr, bool set)
{
	long err;

	if (set && copy_from_user(value, addr, size))
		return -EFAULT;
	err = axvm_core_vcpu_arch_ioctl(vcpu->core, cmd, arg, arg_size);
	if (!err && !set && copy_to_user(addr, value, size))
		err = -EFAULT;
	return err;
}

/*
 * arm64 KVM_GET/SET_ONE_REG: the value lives at a user address and is as
 * wide as the register id says (up to 128 bits here).
 */
static long axvm_vcpu_one_reg_ioctl(struct axvm_vcpu *vcpu, unsigned int cmd,
				    struct axvm_one_reg __user *argp)
{
	struct axvm_reg_value value = {};
	struct axvm_one_reg reg;
	size_t size;

	if (copy_from_user(&reg, argp, sizeof(reg)))
		return -EFAULT;
	size = 1ul << ((reg.id & AXVM_REG_SIZE_MASK) >> AXVM_REG_SIZE_SHIFT);
	if (size > sizeof(value.value)) {
		pr_warn_ratelimited("ONE_REG: register 0x%llx is %zu bytes wide\n", reg.id, size);
		return -EINVAL;
	}
	value.id = reg.id;
	return axvm_vcpu_value_ioctl(vcpu, cmd, &value, sizeof(value), value.value, size, u64_to_user_ptr(reg.addr),
				     cmd == AXVM_SET_ONE_REG);
}

/*
 * arm64 KVM_GET_REG_LIST: n goes back to userspace first, then -E2BIG if
 * the ids do not fit in the n it gave (KVM's order), else the ids.
 */
static long axvm_vcpu_reg_list_ioctl(struct axvm_vcpu *vcpu, struct axvm_reg_list __user *argp)
{
	struct axvm_reg_list *buf;
	u64 room;
	long err;

	if (get_user(room, &argp->n))
		return -EFAULT;
	buf = kzalloc(struct_size(buf, reg, AXVM_MAX_REG_LIST), AXVM_GFP);
	if (!buf)
		return -ENOMEM;
	buf->n = AXVM_MAX_REG_LIST;
	err = axvm_core_vcpu_arch_ioctl(vcpu->core, AXVM_GET_REG_LIST, buf,
					struct_size(buf, reg, AXVM_MAX_REG_LIST));
	if (err)
		goto out;
	err = -EFAULT;
	if (put_user(buf->n, &argp->n))
		goto out;
	err = -E2BIG;
	if (room < buf->n)
		goto out;
	err = copy_to_user(argp->reg, buf->reg, buf->n * sizeof(buf->reg[0])) ? -EFAULT : 0;
out:
	kfree(buf);
	return err;
}

/* KVM_SET_CPUID2 / KVM_GET_CPUID2: a header and nent entries. */
static long axvm_vcpu_cpuid_ioctl(struct axvm_vcpu *vcpu, unsigned int cmd,
				  struct axvm_cpuid2 __user *argp)
{
	struct axvm_cpuid2 header;
	size_t size;

	if (copy_from_user(&header, argp, sizeof(header)))
		return -EFAULT;
	if (header.nent > AXVM_MAX_CPUID_ENTRIES) {
		if (cmd == AXVM_SET_CPUID2) {
			pr_warn_ratelimited("SET_CPUID2: %u entries, at most %u\n", header.nent,
					    AXVM_MAX_CPUID_ENTRIES);
			return -E2BIG;
		}
		header.nent = AXVM_MAX_CPUID_ENTRIES; /* GET: room enough for ours */
	}
	size = struct_size(&header, entries, header.nent);
	if (cmd == AXVM_GET_CPUID2) {
		/* The core fills what it has; nent in and out like KVM. */
		struct axvm_cpuid2 *buf = kzalloc(size, AXVM_GFP);
		long err;

		if (!buf)
			return -ENOMEM;
		buf->nent = header.nent;
		err = axvm_core_vcpu_arch_ioctl(vcpu->core, cmd, buf, size);
		if ((!err || err == -E2BIG) &&
		    copy_to_user(argp, buf, err ? sizeof(header) : struct_size(buf, entries, buf->nent)))
			err = -EFAULT;
		kfree(buf);
		return err;
	}
	return axvm_vcpu_arch_ioctl(vcpu, cmd, argp, size);
}

#ifdef CONFIG_X86
/*
 * KVM_GET/SET_MSRS: a header and nmsrs entries (fewer than AXVM_MAX_MSR_IO, as
 * KVM's MAX_IO_MSRS); returns how many entries were processed, as KVM. A
 * vCPU's MSRs, or without @core (GET on /dev/axvm) the feature MSRs.
 */
long axvm_msrs_ioctl(struct axvm_core_vcpu *core, unsigned int cmd, struct axvm_msrs __user *argp)
{
	struct axvm_msrs header, *buf;
	size_t size;
	long err;

	if (copy_from_user(&header, argp, sizeof(header)))
		return -EFAULT;
	if (header.nmsrs >= AXVM_MAX_MSR_IO) {
		pr_warn_ratelimited("%s_MSRS: %u entries, fewer than %u\n", cmd == AXVM_GET_MSRS ? "GET" : "SET",
				    header.nmsrs, AXVM_MAX_MSR_IO);
		return -E2BIG;
	}
	size = struct_size(buf, entries, header.nmsrs);
	buf = kzalloc(size, AXVM_GFP);
	if (!buf)
		return -ENOMEM;
	err = -EFAULT;
	if (copy_from_user(buf, argp, size))
		goto out;
	buf->nmsrs = header.nmsrs; /* read once */
	err = core ? axvm_core_vcpu_arch_ioctl(core, cmd, buf, size) : axvm_core_feature_msrs(buf);
	if (err)
		goto out;
	err = buf->nmsrs;
	if (cmd == AXVM_GET_MSRS &&
	    copy_to_user(argp->entries, buf->entries, buf->nmsrs * sizeof(buf->entries[0])))
		err = -EFAULT;
out:
	kfree(buf);
	return err;
}
#endif

/*
 * KVM_HAS/GET/SET_DEVICE_ATTR on a vCPU (x86: the TSC offset; arm64: steal
 * time): whether the attribute exists
 * (-ENXIO, as KVM) is settled before its value, a __u64 at attr.addr, is
 * read or written.
 */
static long axvm_vcpu_attr_ioctl(struct axvm_vcpu *vcpu, unsigned int cmd,
				 struct axvm_device_attr __user *argp)
{
	struct axvm_attr_value v = {};
	struct axvm_device_attr attr;
	long err;

	if (copy_from_user(&attr, argp, sizeof(attr)))
		return -EFAULT;
	if (attr.flags) {
		pr_warn_ratelimited("vCPU DEVICE_ATTR: flags 0x%x, none are defined\n", attr.flags);
		return -EINVAL;
	}
	v.group = attr.group;
	v.attr = attr.attr;
	err = axvm_core_vcpu_arch_ioctl(vcpu->core, AXVM_HAS_DEVICE_ATTR, &v, sizeof(v));
	if (err == -ENXIO && cmd != AXVM_HAS_DEVICE_ATTR)
		pr_warn_ratelimited("vCPU DEVICE_ATTR: no attribute %llu in group %u\n", attr.attr, attr.group);
	if (err || cmd == AXVM_HAS_DEVICE_ATTR)
		return err;
	return axvm_vcpu_value_ioctl(vcpu, cmd, &v, sizeof(v), &v.value, sizeof(v.value), u64_to_user_ptr(attr.addr),
				     cmd == AXVM_SET_DEVICE_ATTR);
}

/*
 * KVM_SET_SIGNAL_MASK: with an argument, the signals blocked while the
 * thread is inside KVM_RUN (SIGKILL and SIGSTOP never are); without one,
 * none. KVM's semantics, so VMMs that kick vCPU threads with a signal
 * blocked outside KVM_RUN (QEMU without KVM_CAP_IMMEDIATE_EXIT) work.
 */
static long axvm_vcpu_set_signal_mask(struct axvm_vcpu *vcpu, struct axvm_signal_mask __user *argp)
{
	struct axvm_signal_mask header;
	sigset_t set;

	if (argp) {
		if (copy_from_user(&header, argp, sizeof(header)))
			return -EFAULT;
		if (header.len != sizeof(set)) {
			pr_warn_ratelimited("SET_SIGNAL_MASK: len %u, the kernel's sigset is %zu bytes\n",
					    header.len, sizeof(set));
			return -EINVAL;
		}
		if (copy_from_user(&set, argp->sigset, sizeof(set)))
			return -EFAULT;
		sigdelsetmask(&set, sigmask(SIGKILL) | sigmask(SIGSTOP));
	}
	spin_lock(&vcpu->sigset_lock);
	vcpu->sigset_active = argp != NULL;
	if (argp)
		vcpu->sigset = set;
	spin_unlock(&vcpu->sigset_lock);
	return 0;
}

/* KVM_RUN under the VMM's signal mask, as kvm_sigset_activate() does it. */
static int axvm_vcpu_run(struct axvm_vcpu *vcpu, struct axvm_exit_record *record)
{
	sigset_t set;
	bool active;
	int err;

	spin_lock(&vcpu->sigset_lock);
	active = vcpu->sigset_active;
	set = vcpu->sigset;
	spin_unlock(&vcpu->sigset_lock);
	if (active)
		sigprocmask(SIG_SETMASK, &set, &current->real_blocked);
	err = axvm_core_vcpu_run(vcpu->core, record);
	if (active) {
		sigprocmask(SIG_SETMASK, &current->real_blocked, NULL);
		sigemptyset(&current->real_blocked);
	}
	return err;
}

/* AXVM_QUEUE_INTERRUPT: any thread, no claim, also while RUN is in progress. */
static long axvm_vcpu_queue_interrupt(struct axvm_vcpu *vcpu, struct axvm_queue_interrupt __user *argp)
{
	struct axvm_queue_interrupt q;
	int err;

	if (copy_from_user(&q, argp, sizeof(q)))
		return -EFAULT;
	if (q.flags & ~AXVM_QUEUE_NMI) {
		pr_warn_ratelimited("QUEUE_INTERRUPT: unknown flags 0x%x\n", q.flags);
		return -EINVAL;
	}
	err = axvm_core_vcpu_queue_interrupt(vcpu->core, q.vector, q.flags & AXVM_QUEUE_NMI);
	if (err)
		pr_warn_ratelimited("QUEUE_INTERRUPT vector %u: %d\n", q.vector, err);
	return err;
}

static long axvm_vcpu_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct axvm_vcpu *vcpu = file->private_data;
	int err = axvm_vm_check_owner(vcpu->vm);

	if (err)
		return err;

	switch (cmd) {
	case AXVM_GET_REGS:
	case AXVM_SET_REGS:
	case AXVM_GET_SREGS:
	case AXVM_SET_SREGS:
		return axvm_vcpu_arch_ioctl(vcpu, cmd, (void __user *)arg, _IOC_SIZE(cmd));
	case AXVM_SET_CPUID2:
	case AXVM_GET_CPUID2:
		return axvm_vcpu_cpuid_ioctl(vcpu, cmd, (void __user *)arg);
	case AXVM_INTERRUPT:
	case AXVM_GET_VCPU_EVENTS:
	case AXVM_SET_VCPU_EVENTS:
	case AXVM_GET_MP_STATE:
	case AXVM_SET_MP_STATE:
		return axvm_vcpu_arch_ioctl(vcpu, cmd, (void __user *)arg, _IOC_SIZE(cmd));
#ifdef CONFIG_X86
	case AXVM_GET_LAPIC:
	case AXVM_SET_LAPIC:
	case AXVM_ENABLE_CAP:
	case AXVM_TPR_ACCESS_REPORTING:
	case AXVM_SET_VAPIC_ADDR:
		return axvm_vcpu_arch_ioctl(vcpu, cmd, (void __user *)arg, _IOC_SIZE(cmd));
#endif
	case AXVM_SET_SIGNAL_MASK:
		return axvm_vcpu_set_signal_mask(vcpu, (void __user *)arg);
#ifdef CONFIG_X86
	case AXVM_GET_MSRS:
	case AXVM_SET_MSRS:
		return axvm_msrs_ioctl(vcpu->core, cmd, (void __user *)arg);
	case AXVM_X86_SETUP_MCE:
	case AXVM_GET_DEBUGREGS:
	case AXVM_SET_DEBUGREGS:
	case AXVM_GET_FPU:
	case AXVM_SET_FPU:
	case AXVM_GET_XSAVE:
	case AXVM_SET_XSAVE:
	case AXVM_GET_XCRS:
	case AXVM_SET_XCRS:
		return axvm_vcpu_arch_ioctl(vcpu, cmd, (void __user *)arg, _IOC_SIZE(cmd));
	case AXVM_GET_TSC_KHZ:
	case AXVM_SET_TSC_KHZ: {
		/* The frequency goes by value both ways; the core sees a u32. */
		u32 khz = arg;

		if (cmd == AXVM_SET_TSC_KHZ && arg > U32_MAX)
			return -EINVAL;
		err = axvm_core_vcpu_arch_ioctl(vcpu->core, cmd, &khz, sizeof(khz));
		return err ? err : cmd == AXVM_GET_TSC_KHZ ? khz : 0;
	}
#endif
	case AXVM_ARM_VCPU_INIT:
		return axvm_vcpu_arch_ioctl(vcpu, cmd, (void __user *)arg, _IOC_SIZE(cmd));
	case AXVM_GET_ONE_REG:
	case AXVM_SET_ONE_REG:
		return axvm_vcpu_one_reg_ioctl(vcpu, cmd, (void __user *)arg);
	case AXVM_GET_REG_LIST:
		return axvm_vcpu_reg_list_ioctl(vcpu, (void __user *)arg);
	case AXVM_SET_DEVICE_ATTR:
	case AXVM_GET_DEVICE_ATTR:
	case AXVM_HAS_DEVICE_ATTR:
		return axvm_vcpu_attr_ioctl(vcpu, cmd, (void __user *)arg);
	case AXVM_NMI:
	case AXVM_SMI:
		return axvm_core_vcpu_arch_ioctl(vcpu->core, cmd, NULL, 0);
	case AXVM_QUEUE_INTERRUPT:
		return axvm_vcpu_queue_interrupt(vcpu, (void __user *)arg);
	case AXVM_GET_STATS_FD:
		return axvm_vcpu_stats_fd(vcpu);
	case AXVM_RUN: {
		struct axvm_exit_record record = {};

		if (arg) {
			pr_warn_ratelimited("RUN takes no argument\n");
			return -EINVAL;
		}
		err = axvm_vcpu_run(vcpu, &record);
		/* As kvm_main.c does: the exit's events, once the core is done. */
		if (!err && record.kind != AXVM_RECORD_NONE)
			axvm_trace_userspace_exit(vcpu->id, &record);
		return err;
	}
	default:
		pr_info_ratelimited("unknown ioctl 0x%x on a vCPU fd\n", cmd);
		return -ENOTTY;
	}
}

static vm_fault_t axvm_run_page_fault(struct vm_fault *vmf)
{
	struct axvm_vcpu *vcpu = vmf->vma->vm_file->private_data;

	if (vmf->pgoff >= AXVM_RUN_PAGES)
		return VM_FAULT_SIGBUS;
	vmf->page = vcpu->run_pages[vmf->pgoff];
	get_page(vmf->page);
	return 0;
}

static const struct vm_operations_struct axvm_run_page_ops = {
	.fault = axvm_run_page_fault,
};

static int axvm_vcpu_mmap(struct file *file, struct vm_area_struct *vma)
{
	/* As KVM: any part of the run page and the port I/O data page. */
	if (vma->vm_pgoff >= AXVM_RUN_PAGES || vma_pages(vma) > AXVM_RUN_PAGES - vma->vm_pgoff) {
		pr_warn_ratelimited("vCPU mmap: pages %lu+%lu, only the run and I/O data pages exist\n",
				    vma->vm_pgoff, vma_pages(vma));
		return -EINVAL;
	}
	vma->vm_ops = &axvm_run_page_ops;
	return 0;
}

static int axvm_vcpu_release(struct inode *inode, struct file *file)
{
	struct axvm_vcpu *vcpu = file->private_data;
	struct axvm_vm *vm = vcpu->vm;

	/* A vCPU the core never accepted was never listed: free it here. */
	if (!vcpu->core)
		axvm_vcpu_free(vcpu);
	axvm_vm_put(vm);
	return 0;
}

static const struct file_operations axvm_vcpu_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = axvm_vcpu_ioctl,
	.compat_ioctl = axvm_vcpu_ioctl,
	.mmap = axvm_vcpu_mmap,
	.release = axvm_vcpu_release,
	.llseek = noop_llseek,
};

int axvm_vcpu_create(struct axvm_vm *vm, u32 id)
{
	struct axvm_vcpu *vcpu;
	struct file *file;
	int fd, err;

	vcpu = kzalloc(sizeof(*vcpu), AXVM_GFP);
	if (!vcpu)
		return -ENOMEM;
	/* The run page and the I/O data page, contiguous for the core. */
	err = axvm_vcpu_alloc_run(vcpu);
	if (err) {
		kfree(vcpu);
		return err;
	}
	vcpu->vm = vm;
	vcpu->id = id;
	spin_lock_init(&vcpu->sigset_lock);

	/*
	 * Reserve the fd and the file first and let the core create the vCPU
	 * last, so that no step after the core's can fail: the core has no
	 * way to take a vCPU back.
	 */
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		axvm_vcpu_free(vcpu);
		return fd;
	}
	axvm_vm_get(vm);
	file = anon_inode_getfile("axvm-vcpu", &axvm_vcpu_fops, vcpu, O_RDWR);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		axvm_vm_put(vm);
		axvm_vcpu_free(vcpu);
		return PTR_ERR(file);
	}

	err = mutex_lock_killable(&vm->lock);
	if (!err) {
		err = axvm_core_vcpu_create(vm->core, id, vcpu->run, &vcpu->core);
		if (!err) {
			list_add_tail(&vcpu->link, &vm->vcpus);
			axvm_vcpu_debugfs_create(vcpu);
		}
		mutex_unlock(&vm->lock);
	}
	if (err) {
		pr_warn_ratelimited("CREATE_VCPU %u: %d\n", id, err);
		fput(file); /* release() frees the vCPU and drops the VM reference */
		put_unused_fd(fd);
		return err;
	}
	fd_install(fd, file);
	return fd;
}
