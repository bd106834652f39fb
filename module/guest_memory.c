// SPDX-License-Identifier: GPL-2.0
/*
 * Guest memory slots are userspace memory pinned long term (FOLL_LONGTERM,
 * as VFIO and KVM's guest_memfd-less slots with pinning do), so the pages
 * cannot move or vanish under the nested page tables while a slot exists.
 * Like VFIO, pinned pages count against the owner's RLIMIT_MEMLOCK (unless
 * it has CAP_IPC_LOCK), so an unprivileged VMM cannot pin the host's RAM.
 *
 * A read-only slot is pinned for writing too where the mapping allows it:
 * a read pin of anonymous memory nobody touched yet takes the shared zero
 * page, and the VMM's later writes (QEMU registers its ROMs, then copies the
 * BIOS in at reset) go to a fresh copy the guest would never see. KVM
 * follows such changes with MMU notifiers; a pinned slot must hold the
 * pages the VMM will write. Only where the mapping refuses a write pin
 * (read-only or a shared read-only file) is the read pin kept.
 */
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/overflow.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include <axvm/boundary.h>
#include "glue.h"

struct axvm_pinned {
	struct mm_struct *mm; /* the owner, charged for the pages (mmgrab) */
	unsigned long npages;
	bool writable;
	struct page *pages[];
};

/* pin_user_pages_fast() takes an int count; pin in bounded chunks. */
#define AXVM_PIN_CHUNK 65536UL

/* Unpins what was pinned and returns the @charged pages to the owner's limit. */
static void axvm_unpin_user_pages_partial(struct axvm_pinned *p, unsigned long charged, bool dirty)
{
	/* The guest may have written any page: mark them dirty for the owner. */
	unpin_user_pages_dirty_lock(p->pages, p->npages, dirty && p->writable);
	account_locked_vm(p->mm, charged, false);
	mmdrop(p->mm);
	kvfree(p);
}

/* KVM's bound on a slot (KVM_MEM_MAX_NR_PAGES): 2^31 - 1 pages, 8 TiB. */
#define AXVM_MAX_SLOT_PAGES ((1UL << 31) - 1)

int axvm_pin_user_pages(axvm_u64 uaddr, axvm_u64 npages, int writable, struct axvm_pinned **out)
{
	unsigned int flags = FOLL_LONGTERM | FOLL_WRITE;
	struct axvm_pinned *p;
	unsigned long done = 0;

	if (!npages || npages > AXVM_MAX_SLOT_PAGES) {
		pr_warn_ratelimited("axvm: a slot of %llu pages: at most %lu\n", npages, AXVM_MAX_SLOT_PAGES);
		return -EINVAL;
	}
	/* The limit first: an unprivileged VMM must not make the kernel
	 * allocate (the page array is 8 bytes a page) what it may not pin. */
	if (account_locked_vm(current->mm, npages, true)) {
		pr_warn_ratelimited("axvm: pinning %llu pages exceeds RLIMIT_MEMLOCK\n", npages);
		return -ENOMEM;
	}
	/* The size is the user's choice: no allocation warning for a huge one. */
	p = kvzalloc(struct_size(p, pages, npages), AXVM_GFP | __GFP_NOWARN);
	if (!p) {
		account_locked_vm(current->mm, npages, false);
		return -ENOMEM;
	}
	p->writable = writable;
	p->mm = current->mm;
	mmgrab(p->mm);

	while (done < npages) {
		unsigned long n = min(npages - done, AXVM_PIN_CHUNK);
		int got = pin_user_pages_fast(uaddr + done * PAGE_SIZE, n, flags, p->pages + done);

		/* A read-only slot over memory that cannot be written: read pins. */
		if (got == -EFAULT && !writable)
			got = pin_user_pages_fast(uaddr + done * PAGE_SIZE, 1, FOLL_LONGTERM, p->pages + done);
		if (got <= 0) {
			p->npages = done;
			axvm_unpin_user_pages_partial(p, npages, false);
			return got ? got : -EFAULT;
		}
		done += got;
		if (fatal_signal_pending(current)) {
			p->npages = done;
			axvm_unpin_user_pages_partial(p, npages, false);
			return -EINTR;
		}
		cond_resched();
	}
	p->npages = npages;
	*out = p;
	return 0;
}

void axvm_unpin_user_pages(struct axvm_pinned *p)
{
	axvm_unpin_user_pages_partial(p, p->npages, true);
}

axvm_u64 axvm_pinned_page_phys(const struct axvm_pinned *p, axvm_u64 index)
{
	return page_to_phys(p->pages[index]);
}
