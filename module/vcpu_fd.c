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
#include <linux/slab.h>

#include <uapi/axvm.h>
#include "glue.h"

static long axvm_vcpu_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct axvm_vcpu *vcpu = file->private_data;

	switch (cmd) {
	case AXVM_RUN:
		if (arg) {
			pr_warn_ratelimited("RUN takes no argument\n");
			return -EINVAL;
		}
		return axvm_core_vcpu_run(vcpu->core);
	default:
		pr_info_ratelimited("unknown ioctl 0x%x on a vCPU fd\n", cmd);
		return -ENOTTY;
	}
}

static vm_fault_t axvm_run_page_fault(struct vm_fault *vmf)
{
	struct axvm_vcpu *vcpu = vmf->vma->vm_file->private_data;

	if (vmf->pgoff != 0)
		return VM_FAULT_SIGBUS;
	get_page(vcpu->run_page);
	vmf->page = vcpu->run_page;
	return 0;
}

static const struct vm_operations_struct axvm_run_page_ops = {
	.fault = axvm_run_page_fault,
};

static int axvm_vcpu_mmap(struct file *file, struct vm_area_struct *vma)
{
	if (vma->vm_pgoff != 0 || vma_pages(vma) != 1) {
		pr_warn_ratelimited("vCPU mmap: only the one run page at offset 0 exists\n");
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

void axvm_vcpu_free(struct axvm_vcpu *vcpu)
{
	__free_page(vcpu->run_page);
	kfree(vcpu);
}

int axvm_vcpu_create(struct axvm_vm *vm, u32 id)
{
	struct axvm_vcpu *vcpu;
	struct file *file;
	int fd, err;

	vcpu = kzalloc(sizeof(*vcpu), GFP_KERNEL_ACCOUNT);
	if (!vcpu)
		return -ENOMEM;
	vcpu->run_page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!vcpu->run_page) {
		kfree(vcpu);
		return -ENOMEM;
	}
	vcpu->vm = vm;

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
	kref_get(&vm->ref);
	file = anon_inode_getfile("axvm-vcpu", &axvm_vcpu_fops, vcpu, O_RDWR);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		axvm_vm_put(vm);
		axvm_vcpu_free(vcpu);
		return PTR_ERR(file);
	}

	mutex_lock(&vm->lock);
	err = axvm_core_vcpu_create(vm->core, id, page_address(vcpu->run_page), &vcpu->core);
	if (!err)
		list_add_tail(&vcpu->link, &vm->vcpus);
	mutex_unlock(&vm->lock);
	if (err) {
		pr_warn_ratelimited("CREATE_VCPU %u: %d\n", id, err);
		fput(file); /* release() frees the vCPU and drops the VM reference */
		put_unused_fd(fd);
		return err;
	}
	fd_install(fd, file);
	return fd;
}
