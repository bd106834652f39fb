/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one extern "C" boundary between axvm's C glue and its C++ core.
 *
 * The C++ core includes no kernel header: everything it needs from the
 * kernel is declared in the first half of this file and implemented in C
 * (module/services.c, module/current_vcpu.c, module/guest_memory.c). The
 * second half is what the core offers the glue (module/core_api.cpp).
 * Plain C, fixed-width types only, so both languages read it the same way.
 */
#ifndef AXVM_BOUNDARY_H
#define AXVM_BOUNDARY_H

#ifdef __cplusplus
extern "C" {
#endif

typedef unsigned char axvm_u8;
typedef unsigned short axvm_u16;
typedef unsigned int axvm_u32;
typedef unsigned long long axvm_u64;
typedef unsigned long axvm_usize;

/* Linux errno values (asm-generic, as on x86-64 and arm64); services.c checks them. */
enum axvm_errno {
	AXVM_EPERM = 1,
	AXVM_ENOENT = 2,
	AXVM_EINTR = 4,
	AXVM_EIO = 5,
	AXVM_ENXIO = 6,
	AXVM_EAGAIN = 11,
	AXVM_E2BIG = 7,
	AXVM_ENOEXEC = 8,
	AXVM_ENOMEM = 12,
	AXVM_EFAULT = 14,
	AXVM_EBUSY = 16,
	AXVM_EEXIST = 17,
	AXVM_ENODEV = 19,
	AXVM_EINVAL = 22,
	AXVM_ENOSPC = 28,
	AXVM_ERANGE = 34,
	AXVM_ENOTTY = 25,
	AXVM_EOPNOTSUPP = 95,
};

/* ---- Kernel services, implemented in C ---------------------------------- */

/* Zeroed, accounted to the caller's memory cgroup; may sleep. NULL on failure. */
void *axvm_kzalloc(axvm_usize size);
void axvm_kfree(const void *ptr);

/* One rate-limited dmesg line, "axvm: " prefixed; no trailing newline needed. */
enum axvm_log_level { AXVM_LOG_ERR, AXVM_LOG_WARN, AXVM_LOG_INFO };
void axvm_log(enum axvm_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void axvm_preempt_disable(void);
void axvm_preempt_enable(void);
/* Only meaningful with preemption disabled. */
unsigned int axvm_this_cpu(void);
unsigned int axvm_nr_cpu_ids(void);
int axvm_cpu_online(unsigned int cpu);
/* Runs fn(arg) on @cpu with interrupts off and waits; 0 or -errno. */
int axvm_run_on_cpu(unsigned int cpu, void (*fn)(void *arg), void *arg);
/* Runs fn(arg) on every online CPU at once, interrupts off, and waits. */
void axvm_run_on_each_cpu(void (*fn)(void *arg), void *arg);

/* arm64: the FP/SIMD registers are free for a guest in between
 * (kernel_neon_begin/end); call with preemption off and interrupts on. */
void axvm_fpsimd_begin(void);
void axvm_fpsimd_end(void);

/* For loops that may run long: a pending signal ends them; they yield the CPU. */
int axvm_signal_pending(void);
void axvm_cond_resched(void);

/* Waits until every CPU has left the preemption-disabled sections it was in
 * (an RCU grace period): what vCPU exit handlers read before can be freed. */
void axvm_synchronize_rcu(void);

/* The per-CPU CURRENT_VCPU slot; callers hold preemption off. */
void *axvm_current_vcpu_get(void);
void axvm_current_vcpu_set(void *vcpu);
void axvm_current_vcpu_clear(void);

/* Whole pages for hardware structures (VMCB, page tables): zeroed, with
 * their physical address in *phys. NULL on failure. */
void *axvm_alloc_page(axvm_u64 *phys);
void axvm_free_page(void *page);
/* 2^order physically contiguous pages, zeroed or filled with 0xff bytes
 * (all-intercept bitmaps). */
void *axvm_alloc_pages(unsigned int order, int fill_ones, axvm_u64 *phys);
void axvm_free_pages(void *pages, unsigned int order);
/* The kernel's linear mapping of RAM: page tables and pinned guest pages. */
void *axvm_phys_to_virt(axvm_u64 phys);
axvm_u64 axvm_virt_to_phys(const void *virt);

/* A reader-writer spinlock (rwlock_t): readers may run with preemption off. */
struct axvm_rwlock;
struct axvm_rwlock *axvm_rwlock_create(void);
void axvm_rwlock_destroy(struct axvm_rwlock *lock);
void axvm_read_lock(struct axvm_rwlock *lock);
void axvm_read_unlock(struct axvm_rwlock *lock);
void axvm_write_lock(struct axvm_rwlock *lock);
void axvm_write_unlock(struct axvm_rwlock *lock);

/* A wait queue a vCPU thread sleeps on while its vCPU is Blocked. */
struct axvm_waitq;
struct axvm_waitq *axvm_waitq_create(void);
void axvm_waitq_destroy(struct axvm_waitq *wq);
/* Sleeps until cond(arg) is true (0) or a signal is pending (-EINTR). */
int axvm_waitq_wait(struct axvm_waitq *wq, int (*cond)(void *arg), void *arg);
void axvm_waitq_wake(struct axvm_waitq *wq);
/* Interrupts @cpu (if it is not this one) so that a guest running there
 * exits; returns at once. Any context but NMI. */
void axvm_kick_cpu(unsigned int cpu);

/* A spinlock for state several threads share that no hard interrupt
 * touches (the in-kernel interrupt controllers): process context. */
struct axvm_spinlock;
struct axvm_spinlock *axvm_spinlock_create(void);
void axvm_spinlock_destroy(struct axvm_spinlock *lock);
void axvm_spin_lock(struct axvm_spinlock *lock);
void axvm_spin_unlock(struct axvm_spinlock *lock);

/* The monotonic clock (ktime_get), in ns; never 0 once booted. */
axvm_u64 axvm_now_ns(void);

/* The calling task's time spent waiting on a run queue, in ns
 * (sched_info.run_delay): 0, or -ENODEV when the kernel does not count it. */
int axvm_task_run_delay(axvm_u64 *ns);
/* The realtime clock and the clocksource's count, read together
 * (ktime_get_snapshot): 0, or -ENODEV when that clocksource is not the
 * arm64 architected counter (KVM's PTP service needs exactly that pair). */
int axvm_clock_snapshot_arch_counter(axvm_u64 *real_ns, axvm_u64 *counter);
/* @len bytes from the kernel's random number generator (any context). */
void axvm_random_bytes(void *buf, axvm_usize len);

/* A one-shot timer on the monotonic clock. @fn runs in hard interrupt
 * context: it may only set flags, wake (axvm_waitq_wake), kick
 * (axvm_kick_cpu) and queue work (axvm_work_queue). start() re-arms at
 * the absolute time @expires_ns; cancel() and destroy() wait for a
 * running @fn. */
struct axvm_timer;
struct axvm_timer *axvm_timer_create(void (*fn)(void *arg), void *arg);
void axvm_timer_start(struct axvm_timer *timer, axvm_u64 expires_ns);
void axvm_timer_cancel(struct axvm_timer *timer);
void axvm_timer_destroy(struct axvm_timer *timer);

/* @fn(arg) soon in process context (the system workqueue); queueing one
 * already queued does nothing. destroy() waits for a running @fn. */
struct axvm_work;
struct axvm_work *axvm_work_create(void (*fn)(void *arg), void *arg);
void axvm_work_queue(struct axvm_work *work);
void axvm_work_destroy(struct axvm_work *work);

/* An eventfd the glue took a reference to (eventfd_ctx), opaque here:
 * signal adds 1 to its count (any context but NMI); put drops the
 * reference. */
void axvm_eventfd_signal(void *eventfd);
void axvm_eventfd_put(void *eventfd);
/* The in-kernel irqchip ended a level-triggered interrupt of @gsi that
 * resampling irqfds of the VM whose glue is @glue listen to (KVM's
 * resamplefd): the glue signals them. The irqchip lock is held. */
void axvm_irqfd_resampled(void *glue, axvm_u32 gsi);

/* Long-term pinned userspace pages backing one guest memory slot. */
struct axvm_pinned;
int axvm_pin_user_pages(axvm_u64 uaddr, axvm_u64 npages, int writable,
			struct axvm_pinned **out);
void axvm_unpin_user_pages(struct axvm_pinned *pinned);
/* Host physical address of page @index of the pinned range. */
axvm_u64 axvm_pinned_page_phys(const struct axvm_pinned *pinned, axvm_u64 index);

/* Trace events (module/trace.c; tracepoints, off by default and then a call
 * that returns at a static branch): each interrupt or NMI injected, and
 * each entry and exit (the backends' entry code asks whether the event is
 * on before it gathers what it traces). */
void axvm_trace_inject(axvm_u32 vcpu_id, axvm_u32 vector, int nmi);
int axvm_trace_entry_enabled(void);
void axvm_trace_entry(axvm_u32 vcpu_id, axvm_u64 rip);
int axvm_trace_exit_enabled(void);
/* @code: the SVM exit code, or AXVM_TRACE_VMX_EXIT + the VMX exit reason. */
void axvm_trace_exit(axvm_u32 vcpu_id, axvm_u64 rip, axvm_u64 code, axvm_u64 info1, axvm_u64 info2);
#define AXVM_TRACE_VMX_EXIT (1ull << 32)

/* ---- The core, implemented in C++ --------------------------------------- */

/*
 * A vCPU's statistics (KVM_GET_STATS_FD, debugfs): KVM's names where the
 * meaning is the same, then axvm's own count per core exit reason. Written
 * only by the thread running the vCPU; readers read them racily, as KVM's.
 */
#define AXVM_EXIT_KINDS 18 /* ExitKind, Hypercall .. Nothing */
struct axvm_vcpu_stats {
	axvm_u64 exits;             /* every exit from the guest */
	axvm_u64 io_exits;          /* port I/O, to userspace */
	axvm_u64 mmio_exits;        /* MMIO, to userspace */
	axvm_u64 halt_exits;        /* HLT */
	axvm_u64 signal_exits;      /* RUN ended by a pending signal */
	axvm_u64 irq_window_exits;  /* the interrupt window opened */
	axvm_u64 request_irq_exits; /* KVM_EXIT_IRQ_WINDOW_OPEN to userspace */
	axvm_u64 hypercalls;
	axvm_u64 irq_injections;
	axvm_u64 nmi_injections;
	axvm_u64 exit_reason[AXVM_EXIT_KINDS];
};

struct axvm_run;
struct axvm_userspace_memory_region;

/* KVM_GET/SET_ONE_REG as the glue hands them to the core: the register's
 * id and value (as many bytes of @value as the id's size says; the glue
 * copies them from or to the user's address). */
struct axvm_reg_value {
	axvm_u64 id;
	axvm_u64 value[2];
};
/* KVM_HAS/GET/SET_DEVICE_ATTR on a vCPU as the glue hands them to the core:
 * the attribute and its __u64 value (the glue copies it from or to the
 * user's address). */
struct axvm_attr_value {
	axvm_u32 group;
	axvm_u32 pad;
	axvm_u64 attr;
	axvm_u64 value;
};
struct axvm_cpuid2;
struct axvm_core_vm;
struct axvm_core_vcpu;

/* Called once from module init: detects the CPU's virtualization support.
 * Without a usable backend the device still works on x86 (RUN says -ENODEV);
 * on arm64 the module refuses to load with -ENODEV. */
int axvm_core_init(void);
/* At module unload, after the last VM is gone. */
void axvm_core_exit(void);
/* Whether a backend drives the hardware (per-CPU enable needed). */
int axvm_core_has_backend(void);
/* Per-CPU hardware enable/disable, run on @cpu by the CPU hotplug thread
 * while at least one VM exists (module/virt_enable.c). */
int axvm_core_cpu_enable(unsigned int cpu);
void axvm_core_cpu_disable(unsigned int cpu);
long axvm_core_check_extension(long cap);

/* KVM_CREATE_VM's machine type: 0, or on arm64 KVM_VM_TYPE_ARM_IPA_SIZE(n)
 * with 32 <= n <= the IPA size axvm offers (the VM still gets all of it).
 * 0 or -EINVAL. */
int axvm_core_vm_type_check(unsigned long type);
int axvm_core_vm_create(struct axvm_core_vm **out);
/* Frees the VM, its vCPUs and its memory slots; no vCPU may be inside RUN. */
void axvm_core_vm_destroy(struct axvm_core_vm *vm);
int axvm_core_set_memory_region(struct axvm_core_vm *vm,
				const struct axvm_userspace_memory_region *region);

/* @run is the vCPU's zeroed run page; it lives as long as the vCPU. */
int axvm_core_vcpu_create(struct axvm_core_vm *vm, axvm_u32 id,
			  struct axvm_run *run, struct axvm_core_vcpu **out);
/*
 * What a KVM_RUN handed userspace, from the core's own record of the exit,
 * for the glue's tracepoints: never read back from the run page, which
 * userspace can rewrite at any moment.
 */
enum axvm_exit_record_kind {
	AXVM_RECORD_NONE,
	AXVM_RECORD_PIO,       /* addr: port */
	AXVM_RECORD_MMIO,      /* addr: guest-physical address */
	AXVM_RECORD_HYPERCALL, /* addr: number, args: the first four arguments */
};
struct axvm_exit_record {
	axvm_u32 kind;
	axvm_u32 size;  /* PIO, MMIO: bytes */
	axvm_u32 write; /* PIO, MMIO: an OUT or a store, with @data */
	axvm_u32 pad;
	axvm_u64 addr;
	axvm_u64 data;
	axvm_u64 args[4];
};

/* KVM_RUN: enters the guest until an exit userspace must see; 0 (with
 * *@record filled) or -errno. */
int axvm_core_vcpu_run(struct axvm_core_vcpu *vcpu, struct axvm_exit_record *record);
/* Architecture ioctls on a vCPU fd (x86: GET/SET_REGS, GET/SET_SREGS,
 * SET_CPUID2, GET_CPUID2). @arg is a kernel copy of the ioctl's struct,
 * @size bytes; the glue copies it in before and out after. -ENOTTY for a
 * command the backend does not know, -EBUSY while another thread runs it. */
int axvm_core_vcpu_arch_ioctl(struct axvm_core_vcpu *vcpu, unsigned int cmd, void *arg,
			      axvm_usize size);
/* AXVM_QUEUE_INTERRUPT: from any thread, also during RUN. */
int axvm_core_vcpu_queue_interrupt(struct axvm_core_vcpu *vcpu, axvm_u32 vector, int nmi);
/* arm64 KVM_IRQ_LINE: set vCPU @vcpu_id's IRQ (0) or FIQ (1) line to @level
 * and get a running vCPU to see it; 0, -EINVAL or -ENODEV. The caller
 * holds the VM's lock (no vCPU is created meanwhile). */
int axvm_core_vm_irq_line(struct axvm_core_vm *vm, axvm_u32 vcpu_id, axvm_u32 line, int level);
/* The vCPU's statistics; NULL without a backend. */
struct axvm_vcpu_stats *axvm_core_vcpu_stats(struct axvm_core_vcpu *vcpu);
/* The VM's remote TLB flushes (stage-2 invalidations), a live counter. */
const axvm_u64 *axvm_core_vm_remote_tlb_flush(struct axvm_core_vm *vm);
/* AXVM_ENABLE_CAP on a VM fd; 0 or -EINVAL. */
int axvm_core_vm_enable_cap(struct axvm_core_vm *vm, axvm_u32 cap, axvm_u64 arg0);
/* KVM_GET_SUPPORTED_CPUID into @cpuid with room for @max entries: 0,
 * -E2BIG with cpuid->nent set to the count needed, or -ENODEV. */
int axvm_core_supported_cpuid(struct axvm_cpuid2 *cpuid, axvm_u32 max);
/* KVM_GET_MSR_INDEX_LIST, or with @features KVM_GET_MSR_FEATURE_INDEX_LIST:
 * writes up to @max indices, returns how many there are (-ENOTTY on arm64). */
int axvm_core_msr_index_list(axvm_u32 *indices, axvm_u32 max, int features);
/* KVM_GET_MSRS on /dev/axvm: the feature MSRs' values, entry by entry up to
 * the first index that is not one; msrs->nmsrs becomes how many were read.
 * 0, or -ENOTTY on arm64. */
struct axvm_msrs;
int axvm_core_feature_msrs(struct axvm_msrs *msrs);
/* An architecture ioctl on a VM fd, with a fixed-size argument the glue
 * copies in and out (x86: SET_IDENTITY_MAP_ADDR, X86_SET_MSR_FILTER with
 * its bitmaps already copied into the kernel); the VM's lock held. */
long axvm_core_vm_arch_ioctl(struct axvm_core_vm *vm, unsigned int cmd, void *arg, axvm_usize size);
/* The glue's VM, which the core hands back in axvm_irqfd_resampled(). */
void axvm_core_vm_set_glue(struct axvm_core_vm *vm, void *glue);
/* KVM_IRQFD (module/eventfd.c keeps the irqfds): whether one may be
 * assigned (0 or -EINVAL); it fired (process context); a resampling one on
 * @gsi comes (@on) or goes. */
int axvm_core_irqfd_allowed(struct axvm_core_vm *vm, int resample);
void axvm_core_irqfd_inject(struct axvm_core_vm *vm, axvm_u32 gsi, int resample);
int axvm_core_irqfd_resample(struct axvm_core_vm *vm, axvm_u32 gsi, int on);
/* KVM_IOEVENTFD, assign or deassign (args->flags): @eventfd is a reference
 * the core keeps on a successful assign and that a successful deassign
 * matches by identity (the core then puts the one it held). The VM's lock
 * is held. 0 or -errno. */
struct axvm_ioeventfd;
int axvm_core_ioeventfd(struct axvm_core_vm *vm, const struct axvm_ioeventfd *args, void *eventfd);
/* KVM_GET_DIRTY_LOG: the number of pages of memory slot @slot, whose
 * bitmap the glue fills; -EINVAL for no such slot id, -ENOENT for a slot
 * without dirty logging. The VM's lock held. */
long axvm_core_dirty_log_pages(struct axvm_core_vm *vm, axvm_u32 slot);

#ifdef __cplusplus
}
#endif

#endif /* AXVM_BOUNDARY_H */
