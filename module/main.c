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

static long axvm_dev_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	switch (cmd) {
	case AXVM_GET_SUPPORTED_CPUID:
		return axvm_dev_supported_cpuid((void __user *)arg);
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
		return PAGE_SIZE;
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

	err = axvm_core_init();
	if (err)
		return err;
	axvm_debugfs_init();
	axvm_virt_init();
	err = misc_register(&axvm_dev);
	if (err) {
		pr_err("cannot register /dev/axvm: %d\n", err);
		axvm_virt_exit();
		axvm_debugfs_exit();
		axvm_core_exit();
	}
	return err;
}

static void __exit axvm_exit(void)
{
	misc_deregister(&axvm_dev);
	axvm_virt_exit();
	axvm_debugfs_exit();
	axvm_core_exit();
}

module_init(axvm_init);
module_exit(axvm_exit);
MODULE_DESCRIPTION("axvm: a hypervisor with a KVM-compatible /dev/axvm");
MODULE_LICENSE("GPL");
MODULE_VERSION(AXVM_VERSION);
