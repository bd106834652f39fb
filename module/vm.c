// SPDX-License-Identifier: GPL-2.0
/*
 * The VM object behind a VM fd, its vCPU fds and its statistics fds: one
 * reference each, so they may close in any order; the last one frees the
 * VM, its vCPUs and (through the core) its memory. The fd code (vm_fd.c,
 * vcpu_fd.c) and the statistics (stats.c, debugfs.c) build on this file,
 * which calls none of them but debugfs.c and eventfd.c.
 */
#define pr_fmt(fmt) "axvm: " fmt

#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "glue.h"

static void axvm_vm_release_ref(struct kref *ref)
{
	struct axvm_vm *vm = container_of(ref, struct axvm_vm, ref);
	struct axvm_vcpu *vcpu, *next;

	axvm_vm_debugfs_remove(vm); /* its files read the counters freed next */
	axvm_vm_irqfds_release(vm); /* they inject into the core's irqchip */
	axvm_core_vm_destroy(vm->core);
	list_for_each_entry_safe(vcpu, next, &vm->vcpus, link)
		axvm_vcpu_free(vcpu);
	mmdrop(vm->mm);
	kfree(vm);
	axvm_virt_put();
}

void axvm_vm_put(struct axvm_vm *vm)
{
	kref_put(&vm->ref, axvm_vm_release_ref);
}

/*
 * The run page and the I/O data page after it, physically contiguous (one
 * allocation, split so that each page is mapped and freed on its own): the
 * core sees one linear area through the direct map. Not vmap(): a vmap's
 * area, and KASAN's shadow of it, are freed lazily, so VM cycles looked like
 * a leak of kernel memory.
 */
int axvm_vcpu_alloc_run(struct axvm_vcpu *vcpu)
{
	const unsigned int order = get_order(AXVM_RUN_PAGES * PAGE_SIZE);
	struct page *pages = alloc_pages(AXVM_GFP | __GFP_ZERO, order);
	int i;

	BUILD_BUG_ON(AXVM_RUN_PAGES != 1 << get_order(AXVM_RUN_PAGES * PAGE_SIZE));
	if (!pages)
		return -ENOMEM;
	split_page(pages, order);
	for (i = 0; i < AXVM_RUN_PAGES; i++)
		vcpu->run_pages[i] = pages + i;
	vcpu->run = page_address(pages);
	return 0;
}

void axvm_vcpu_free(struct axvm_vcpu *vcpu)
{
	int i;

	for (i = 0; i < AXVM_RUN_PAGES; i++)
		__free_page(vcpu->run_pages[i]);
	kfree(vcpu);
}

int axvm_vm_check_owner(struct axvm_vm *vm)
{
	if (likely(current->mm == vm->mm))
		return 0;
	/* Its memory is pinned from, and charged to, the creator's mm. */
	pr_warn_ratelimited("a VM is usable only from the process that created it\n");
	return -EIO;
}
