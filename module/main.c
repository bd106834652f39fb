// SPDX-License-Identifier: GPL-2.0
/*
 * axvm: module entry and the /dev/axvm misc device (the KVM "system" ioctls).
 */
#define pr_fmt(fmt) "axvm: " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <uapi/axvm.h>
#include "glue.h"

/* KVM_GET_SUPPORTED_CPUID: -E2BIG with nent updated when the array is too small. */
static long axvm_dev_supported_cpuid(struct axvm_cpuid2 __user *argp)
{
	struct axvm_cpuid2 header, *buf;
	u32 max;
	long err;

	if (copy_from_user(&header, argp, sizeof(header)))
		return -EFAULT;
	max = min_t(u32, header.nent, AXVM_MAX_CPUID_ENTRIES);
	buf = kzalloc(struct_size(buf, entries, max), AXVM_GFP);
	if (!buf)
		return -ENOMEM;
	err = axvm_core_supported_cpuid(buf, max);
	if (err == -ENODEV)
		pr_warn_ratelimited("GET_SUPPORTED_CPUID: no virtualization backend\n");
	if ((!err || err == -E2BIG) &&
	    copy_to_user(argp, buf, err ? sizeof(header) : struct_size(buf, entries, buf->nent)))
		err = -EFAULT;
	kfree(buf);
	return err;
}

#ifdef CONFIG_X86
/*
 * KVM_GET_MSR_INDEX_LIST and KVM_GET_MSR_FEATURE_INDEX_LIST: nmsrs in is
 * the room, out the count; -E2BIG (with the count) when the room is short,
 * as KVM answers the nmsrs = 0 probe VMMs make first.
 */
static long axvm_dev_msr_list(struct axvm_msr_list __user *argp, bool features)
{
	struct axvm_msr_list header;
	u32 indices[64];
	int n;

	if (copy_from_user(&header, argp, sizeof(header)))
		return -EFAULT;
	n = axvm_core_msr_index_list(indices, ARRAY_SIZE(indices), features);
	if (n < 0)
		return n;
	if (WARN_ON_ONCE(n > ARRAY_SIZE(indices)))
		return -EIO;
	if (put_user(n, &argp->nmsrs))
		return -EFAULT;
	if (header.nmsrs < n)
		return -E2BIG;
	return copy_to_user(argp->indices, indices, n * sizeof(u32)) ? -EFAULT : 0;
}

/* KVM_GET_EMULATED_CPUID: what KVM emulates beyond the hardware; axvm
 * emulates no such instruction, so the list is empty (KVM's -E2BIG for no
 * room at all kept). */
static long axvm_dev_emulated_cpuid(struct axvm_cpuid2 __user *argp)
{
	struct axvm_cpuid2 header;

	if (copy_from_user(&header, argp, sizeof(header)))
		return -EFAULT;
	if (header.nent < 1)
		return -E2BIG;
	return put_user(0, &argp->nent) ? -EFAULT : 0;
}
#endif

static long axvm_dev_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	switch (cmd) {
	case AXVM_GET_SUPPORTED_CPUID:
		return axvm_dev_supported_cpuid((void __user *)arg);
#ifdef CONFIG_X86
	case AXVM_GET_MSR_INDEX_LIST:
	case AXVM_GET_MSR_FEATURE_INDEX_LIST:
		return axvm_dev_msr_list((void __user *)arg, cmd == AXVM_GET_MSR_FEATURE_INDEX_LIST);
	case AXVM_GET_MSRS: /* the feature MSRs' values */
		return axvm_msrs_ioctl(NULL, cmd, (void __user *)arg);
	case AXVM_GET_EMULATED_CPUID:
		return axvm_dev_emulated_cpuid((void __user *)arg);
	case AXVM_X86_GET_MCE_CAP_SUPPORTED: {
		/* MCG_CTL_P | MCG_SER_P, as KVM (x86::kMceCapSupported). */
		u64 cap = (1ull << 8) | (1ull << 24);

		return copy_to_user((void __user *)arg, &cap, sizeof(cap)) ? -EFAULT : 0;
	}
#endif
	case AXVM_GET_API_VERSION:
		if (arg)
			break;
		return AXVM_API_VERSION;
	case AXVM_CREATE_VM:
		if (axvm_core_vm_type_check(arg)) {
			pr_warn_ratelimited("CREATE_VM: machine type 0x%lx not supported\n", arg);
			return -EINVAL;
		}
		return axvm_vm_create();
	case AXVM_CHECK_EXTENSION:
		return axvm_core_check_extension(arg);
	case AXVM_GET_VCPU_MMAP_SIZE:
		if (arg)
			break;
		return AXVM_RUN_PAGES * PAGE_SIZE;
	default:
		pr_info_ratelimited("unknown ioctl 0x%x on /dev/axvm\n", cmd);
		return -ENOTTY;
	}
	pr_warn_ratelimited("ioctl 0x%x on /dev/axvm takes no argument\n", cmd);
	return -EINVAL;
}

static const struct file_operations axvm_dev_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = axvm_dev_ioctl,
	.compat_ioctl = axvm_dev_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice axvm_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "axvm",
	.fops = &axvm_dev_fops,
	.mode = 0600,
};

static int __init axvm_init(void)
{
	int err;

	axvm_services_init();
	err = axvm_eventfd_init();
	if (err)
		return err;
	err = axvm_core_init();
	if (err) {
		axvm_eventfd_exit();
		return err;
	}
	axvm_debugfs_init();
	axvm_virt_init();
	err = misc_register(&axvm_dev);
	if (err) {
		pr_err("cannot register /dev/axvm: %d\n", err);
		axvm_virt_exit();
		axvm_debugfs_exit();
		axvm_core_exit();
		axvm_eventfd_exit();
	}
	return err;
}

static void __exit axvm_exit(void)
{
	misc_deregister(&axvm_dev);
	axvm_virt_exit();
	axvm_debugfs_exit();
	axvm_core_exit();
	axvm_eventfd_exit();
	axvm_services_exit();
}

module_init(axvm_init);
module_exit(axvm_exit);
MODULE_DESCRIPTION("axvm: a hypervisor with a KVM-compatible /dev/axvm");
MODULE_LICENSE("GPL");
MODULE_VERSION(AXVM_VERSION);
