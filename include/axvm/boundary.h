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
	AXVM_EINTR = 4,
	AXVM_EIO = 5,
	AXVM_EAGAIN = 11,
	AXVM_ENOMEM = 12,
	AXVM_EFAULT = 14,
	AXVM_EBUSY = 16,
	AXVM_EEXIST = 17,
	AXVM_ENODEV = 19,
	AXVM_EINVAL = 22,
	AXVM_ENOSPC = 28,
	AXVM_ERANGE = 34,
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

/* For loops that may run long: a pending signal ends them; they yield the CPU. */
int axvm_signal_pending(void);
void axvm_cond_resched(void);

/* The per-CPU CURRENT_VCPU slot; callers hold preemption off. */
void *axvm_current_vcpu_get(void);
void axvm_current_vcpu_set(void *vcpu);
void axvm_current_vcpu_clear(void);

/* Long-term pinned userspace pages backing one guest memory slot. */
struct axvm_pinned;
int axvm_pin_user_pages(axvm_u64 uaddr, axvm_u64 npages, int writable,
			struct axvm_pinned **out);
void axvm_unpin_user_pages(struct axvm_pinned *pinned);
/* Host physical address of page @index of the pinned range. */
axvm_u64 axvm_pinned_page_phys(const struct axvm_pinned *pinned, axvm_u64 index);

/* ---- The core, implemented in C++ --------------------------------------- */

struct axvm_run;
struct axvm_userspace_memory_region;
struct axvm_core_vm;
struct axvm_core_vcpu;

/* Called once from module init: detects the CPU's virtualization support. */
void axvm_core_init(void);
long axvm_core_check_extension(long cap);

int axvm_core_vm_create(struct axvm_core_vm **out);
/* Frees the VM, its vCPUs and its memory slots; no vCPU may be inside RUN. */
void axvm_core_vm_destroy(struct axvm_core_vm *vm);
int axvm_core_set_memory_region(struct axvm_core_vm *vm,
				const struct axvm_userspace_memory_region *region);

/* @run is the vCPU's zeroed run page; it lives as long as the vCPU. */
int axvm_core_vcpu_create(struct axvm_core_vm *vm, axvm_u32 id,
			  struct axvm_run *run, struct axvm_core_vcpu **out);
/* KVM_RUN: enters the guest until an exit userspace must see; 0 or -errno. */
int axvm_core_vcpu_run(struct axvm_core_vcpu *vcpu);

#ifdef __cplusplus
}
#endif

#endif /* AXVM_BOUNDARY_H */
