// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel services for the C++ core (include/axvm/boundary.h): allocation,
 * logging, preemption and CPU queries. Each is a thin, obvious wrapper so
 * the core never needs a kernel header.
 */
#define pr_fmt(fmt) "axvm: " fmt

#include <linux/errno.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/preempt.h>
#include <linux/printk.h>
#include <linux/rcupdate.h>
#include <linux/ratelimit.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/wait.h>
#include <linux/smp.h>
#ifdef CONFIG_ARM64
#include <asm/neon.h>
#endif

#include <axvm/boundary.h>
#include "glue.h"

static_assert(AXVM_EPERM == EPERM && AXVM_EINTR == EINTR && AXVM_EIO == EIO);
static_assert(AXVM_EAGAIN == EAGAIN && AXVM_ENOMEM == ENOMEM && AXVM_EFAULT == EFAULT);
static_assert(AXVM_EBUSY == EBUSY && AXVM_EEXIST == EEXIST && AXVM_ENODEV == ENODEV);
static_assert(AXVM_EINVAL == EINVAL && AXVM_ENOSPC == ENOSPC && AXVM_ERANGE == ERANGE);
static_assert(AXVM_EOPNOTSUPP == EOPNOTSUPP && AXVM_E2BIG == E2BIG && AXVM_ENOTTY == ENOTTY);
static_assert(AXVM_ENOENT == ENOENT && AXVM_ENOEXEC == ENOEXEC);
static_assert(sizeof(axvm_u64) == sizeof(u64) && sizeof(axvm_usize) == sizeof(size_t));

void *axvm_kzalloc(axvm_usize size)
{
	return kzalloc(size, AXVM_GFP);
}

void axvm_kfree(const void *ptr)
{
	kfree(ptr);
}

void *axvm_alloc_page(axvm_u64 *phys)
{
	void *page = (void *)get_zeroed_page(AXVM_GFP);

	if (page)
		*phys = virt_to_phys(page);
	return page;
}

void axvm_free_page(void *page)
{
	free_page((unsigned long)page);
}

void *axvm_alloc_pages(unsigned int order, int fill_ones, axvm_u64 *phys)
{
	void *pages = (void *)__get_free_pages(AXVM_GFP, order);

	if (!pages)
		return NULL;
	memset(pages, fill_ones ? 0xff : 0, PAGE_SIZE << order);
	*phys = virt_to_phys(pages);
	return pages;
}

void axvm_free_pages(void *pages, unsigned int order)
{
	free_pages((unsigned long)pages, order);
}

void *axvm_phys_to_virt(axvm_u64 phys)
{
	return phys_to_virt(phys);
}

axvm_u64 axvm_virt_to_phys(const void *virt)
{
	return virt_to_phys((void *)virt);
}

void axvm_log(enum axvm_log_level level, const char *fmt, ...)
{
	/* One budget for the whole module: a guest or VMM cannot flood dmesg. */
	static DEFINE_RATELIMIT_STATE(budget, DEFAULT_RATELIMIT_INTERVAL, DEFAULT_RATELIMIT_BURST);
	struct va_format vaf;
	va_list args;

	if (!__ratelimit(&budget))
		return;
	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	switch (level) {
	case AXVM_LOG_ERR:
		pr_err("%pV\n", &vaf);
		break;
	case AXVM_LOG_WARN:
		pr_warn("%pV\n", &vaf);
		break;
	default:
		pr_info("%pV\n", &vaf);
		break;
	}
	va_end(args);
}

void axvm_preempt_disable(void)
{
	preempt_disable();
}

void axvm_preempt_enable(void)
{
	preempt_enable();
}

unsigned int axvm_this_cpu(void)
{
	return smp_processor_id();
}

unsigned int axvm_nr_cpu_ids(void)
{
	return nr_cpu_ids;
}

int axvm_cpu_online(unsigned int cpu)
{
	return cpu < nr_cpu_ids && cpu_online(cpu);
}

int axvm_run_on_cpu(unsigned int cpu, void (*fn)(void *arg), void *arg)
{
	return smp_call_function_single(cpu, fn, arg, 1);
}

void axvm_run_on_each_cpu(void (*fn)(void *arg), void *arg)
{
	on_each_cpu(fn, arg, 1);
}

int axvm_signal_pending(void)
{
	return signal_pending(current);
}

void axvm_cond_resched(void)
{
	cond_resched();
}

void axvm_synchronize_rcu(void)
{
	synchronize_rcu();
}

#ifdef CONFIG_ARM64
void axvm_fpsimd_begin(void)
{
	kernel_neon_begin();
}

void axvm_fpsimd_end(void)
{
	kernel_neon_end();
}
#endif

struct axvm_rwlock {
	rwlock_t lock;
};

struct axvm_rwlock *axvm_rwlock_create(void)
{
	struct axvm_rwlock *l = kzalloc(sizeof(*l), AXVM_GFP);

	if (l)
		rwlock_init(&l->lock);
	return l;
}

void axvm_rwlock_destroy(struct axvm_rwlock *lock)
{
	kfree(lock);
}

void axvm_read_lock(struct axvm_rwlock *lock)
{
	read_lock(&lock->lock);
}

void axvm_read_unlock(struct axvm_rwlock *lock)
{
	read_unlock(&lock->lock);
}

void axvm_write_lock(struct axvm_rwlock *lock)
{
	write_lock(&lock->lock);
}

void axvm_write_unlock(struct axvm_rwlock *lock)
{
	write_unlock(&lock->lock);
}

struct axvm_waitq {
	wait_queue_head_t head;
};

struct axvm_waitq *axvm_waitq_create(void)
{
	struct axvm_waitq *wq = kzalloc(sizeof(*wq), AXVM_GFP);

	if (wq)
		init_waitqueue_head(&wq->head);
	return wq;
}

void axvm_waitq_destroy(struct axvm_waitq *wq)
{
	kfree(wq);
}

int axvm_waitq_wait(struct axvm_waitq *wq, int (*cond)(void *arg), void *arg)
{
	return wait_event_interruptible(wq->head, cond(arg)) ? -EINTR : 0;
}

void axvm_waitq_wake(struct axvm_waitq *wq)
{
	wake_up_interruptible(&wq->head);
}

static void axvm_kick_noop(void *unused)
{
}

void axvm_kick_cpu(unsigned int cpu)
{
	/* The interrupt itself is the point: the guest on @cpu exits. */
	if (cpu != get_cpu() && cpu < nr_cpu_ids && cpu_online(cpu))
		smp_call_function_single(cpu, axvm_kick_noop, NULL, 0);
	put_cpu();
}
