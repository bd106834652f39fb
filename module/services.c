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
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/printk.h>
#include <linux/workqueue.h>
#include <linux/rcupdate.h>
#include <linux/ratelimit.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/stat.h>
#include <linux/clocksource_ids.h>
#include <linux/random.h>
#include <linux/timekeeping.h>
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
static_assert(AXVM_ENXIO == ENXIO);
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

/*
 * A kick is an interrupt on the vCPU's CPU: the guest there exits. Kicks
 * also come from timer callbacks (hard interrupt context), where
 * smp_call_function_single() may not be used: each CPU has one
 * asynchronous call, sent under its lock (the call's data must not be
 * queued twice); one already on its way is enough (-EBUSY).
 */
struct axvm_kick {
	raw_spinlock_t lock;
	call_single_data_t csd;
};

static void axvm_kick_noop(void *unused)
{
}

static DEFINE_PER_CPU(struct axvm_kick, axvm_kicks);

void axvm_kick_cpu(unsigned int cpu)
{
	struct axvm_kick *kick;
	unsigned long flags;

	if (cpu != get_cpu() && cpu < nr_cpu_ids && cpu_online(cpu)) {
		kick = per_cpu_ptr(&axvm_kicks, cpu);
		/* (Set up by axvm_services_init: not in the KUnit module, whose
		 * in-kernel guests need no kick.) */
		if (!READ_ONCE(kick->csd.func)) {
			put_cpu();
			return;
		}
		raw_spin_lock_irqsave(&kick->lock, flags);
		smp_call_function_single_async(cpu, &kick->csd);
		raw_spin_unlock_irqrestore(&kick->lock, flags);
	}
	put_cpu();
}

void axvm_services_init(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct axvm_kick *kick = per_cpu_ptr(&axvm_kicks, cpu);

		raw_spin_lock_init(&kick->lock);
		INIT_CSD(&kick->csd, axvm_kick_noop, NULL);
	}
}

/* No kick may still be queued once the module's code is gone: a call on
 * every CPU, waited for, runs after whatever each had queued. */
void axvm_services_exit(void)
{
	on_each_cpu(axvm_kick_noop, NULL, 1);
}

struct axvm_spinlock {
	spinlock_t lock;
};

struct axvm_spinlock *axvm_spinlock_create(void)
{
	struct axvm_spinlock *l = kzalloc(sizeof(*l), AXVM_GFP);

	if (l)
		spin_lock_init(&l->lock);
	return l;
}

void axvm_spinlock_destroy(struct axvm_spinlock *lock)
{
	kfree(lock);
}

void axvm_spin_lock(struct axvm_spinlock *lock)
{
	spin_lock(&lock->lock);
}

void axvm_spin_unlock(struct axvm_spinlock *lock)
{
	spin_unlock(&lock->lock);
}

axvm_u64 axvm_now_ns(void)
{
	return ktime_get_ns();
}

int axvm_task_run_delay(axvm_u64 *ns)
{
#ifdef CONFIG_SCHED_INFO
	if (sched_info_on()) {
		*ns = READ_ONCE(current->sched_info.run_delay);
		return 0;
	}
#endif
	return -ENODEV;
}

int axvm_clock_snapshot_arch_counter(axvm_u64 *real_ns, axvm_u64 *counter)
{
	struct system_time_snapshot snap;

	ktime_get_snapshot(&snap);
	if (snap.cs_id != CSID_ARM_ARCH_COUNTER)
		return -ENODEV;
	*real_ns = ktime_to_ns(snap.real);
	*counter = snap.cycles;
	return 0;
}

void axvm_random_bytes(void *buf, axvm_usize len)
{
	get_random_bytes(buf, len);
}

struct axvm_timer {
	struct hrtimer timer;
	void (*fn)(void *arg);
	void *arg;
};

static enum hrtimer_restart axvm_timer_fired(struct hrtimer *t)
{
	struct axvm_timer *timer = container_of(t, struct axvm_timer, timer);

	timer->fn(timer->arg);
	return HRTIMER_NORESTART;
}

struct axvm_timer *axvm_timer_create(void (*fn)(void *arg), void *arg)
{
	struct axvm_timer *t = kzalloc(sizeof(*t), AXVM_GFP);

	if (!t)
		return NULL;
	hrtimer_init(&t->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_HARD);
	t->timer.function = axvm_timer_fired;
	t->fn = fn;
	t->arg = arg;
	return t;
}

void axvm_timer_start(struct axvm_timer *t, axvm_u64 expires_ns)
{
	hrtimer_start(&t->timer, ns_to_ktime(min_t(u64, expires_ns, KTIME_MAX)), HRTIMER_MODE_ABS_HARD);
}

void axvm_timer_cancel(struct axvm_timer *t)
{
	hrtimer_cancel(&t->timer);
}

void axvm_timer_destroy(struct axvm_timer *t)
{
	if (!t)
		return;
	hrtimer_cancel(&t->timer);
	kfree(t);
}

struct axvm_work {
	struct work_struct work;
	void (*fn)(void *arg);
	void *arg;
};

static void axvm_work_run(struct work_struct *w)
{
	struct axvm_work *work = container_of(w, struct axvm_work, work);

	work->fn(work->arg);
}

struct axvm_work *axvm_work_create(void (*fn)(void *arg), void *arg)
{
	struct axvm_work *w = kzalloc(sizeof(*w), AXVM_GFP);

	if (!w)
		return NULL;
	INIT_WORK(&w->work, axvm_work_run);
	w->fn = fn;
	w->arg = arg;
	return w;
}

void axvm_work_queue(struct axvm_work *w)
{
	schedule_work(&w->work);
}

void axvm_work_destroy(struct axvm_work *w)
{
	if (!w)
		return;
	cancel_work_sync(&w->work);
	kfree(w);
}
