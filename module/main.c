// SPDX-License-Identifier: GPL-2.0
/*
 * axvm: module entry and the /dev/axvm misc device (the KVM "system" ioctls).
 */
#define pr_fmt(fmt) "axvm: " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>

#include <uapi/axvm.h>
#include "glue.h"

static long axvm_dev_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	switch (cmd) {
	case AXVM_GET_API_VERSION:
		if (arg)
			break;
		return AXVM_API_VERSION;
	case AXVM_CREATE_VM:
		if (arg) {
			pr_warn_ratelimited("CREATE_VM: machine type %lu not supported (only 0)\n", arg);
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

	axvm_core_init();
	err = misc_register(&axvm_dev);
	if (err)
		pr_err("cannot register /dev/axvm: %d\n", err);
	return err;
}

static void __exit axvm_exit(void)
{
	misc_deregister(&axvm_dev);
}

module_init(axvm_init);
module_exit(axvm_exit);
MODULE_DESCRIPTION("axvm: a hypervisor with a KVM-compatible /dev/axvm");
MODULE_LICENSE("GPL");
