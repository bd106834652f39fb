/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * axvm userspace ABI, shared by the module and by userspace.
 *
 * The classic VMM flow uses KVM's ioctl numbers and struct layouts exactly
 * (<linux/kvm.h>), so a program written for /dev/kvm runs when pointed at
 * /dev/axvm. Names carry an AXVM_ prefix so this header can be included next
 * to <linux/kvm.h>; tests/abi_test.cpp checks every number and offset against
 * it. Rules for every struct here: fixed-width types, explicit padding, unknown
 * flags rejected with -EINVAL so the ABI can grow.
 */
#ifndef AXVM_UAPI_AXVM_H
#define AXVM_UAPI_AXVM_H

#ifdef AXVM_CORE_CXX
/* axvm's freestanding C++ core sees no kernel header, only these. */
typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
#else
#include <linux/ioctl.h>
#include <linux/types.h>
#endif

#define AXVM_API_VERSION 12

/* KVM's ioctl type; only the KVM-compatible calls use it. */
#define AXVMIO 0xAE

/* /dev/axvm */
#define AXVM_GET_API_VERSION       _IO(AXVMIO, 0x00)
#define AXVM_CREATE_VM             _IO(AXVMIO, 0x01) /* arg: machine type, must be 0 */
#define AXVM_CHECK_EXTENSION       _IO(AXVMIO, 0x03) /* arg: AXVM_CAP_*; also on a VM fd */
#define AXVM_GET_VCPU_MMAP_SIZE    _IO(AXVMIO, 0x04)

/* VM fd */
#define AXVM_CREATE_VCPU           _IO(AXVMIO, 0x41) /* arg: vCPU id */
#define AXVM_SET_USER_MEMORY_REGION _IOW(AXVMIO, 0x46, struct axvm_userspace_memory_region)

/* vCPU fd */
#define AXVM_RUN                   _IO(AXVMIO, 0x80)

/* Capabilities (KVM_CAP_* numbers) that CHECK_EXTENSION answers non-zero. */
#define AXVM_CAP_USER_MEMORY   3
#define AXVM_CAP_NR_VCPUS      9
#define AXVM_CAP_NR_MEMSLOTS   10
#define AXVM_CAP_MAX_VCPUS     66
#define AXVM_CAP_MAX_VCPU_ID   128

/* Guest memory (KVM_SET_USER_MEMORY_REGION). memory_size 0 deletes the slot. */
#define AXVM_MEM_READONLY (1u << 1)

struct axvm_userspace_memory_region {
	__u32 slot;  /* bits 0-15: slot id; bits 16-31: address space, must be 0 */
	__u32 flags; /* AXVM_MEM_* */
	__u64 guest_phys_addr;
	__u64 memory_size; /* bytes */
	__u64 userspace_addr;
};

/* Run page exit reasons (KVM_EXIT_* numbers). */
#define AXVM_EXIT_UNKNOWN          0
#define AXVM_EXIT_IO               2
#define AXVM_EXIT_HYPERCALL        3
#define AXVM_EXIT_HLT              5
#define AXVM_EXIT_MMIO             6
#define AXVM_EXIT_IRQ_WINDOW_OPEN  7
#define AXVM_EXIT_SHUTDOWN         8
#define AXVM_EXIT_FAIL_ENTRY       9
#define AXVM_EXIT_INTR             10
#define AXVM_EXIT_INTERNAL_ERROR   17
#define AXVM_EXIT_SYSTEM_EVENT     24
#define AXVM_EXIT_X86_RDMSR        29 /* a trapped system-register read (MSR on x86) */
#define AXVM_EXIT_X86_WRMSR        30 /* ... and write */
#define AXVM_EXIT_MEMORY_FAULT     39 /* a nested page fault axvm cannot resolve */

/* axvm's own exits, for events KVM handles in the kernel or lacks; far above KVM's numbers. */
#define AXVM_EXIT_CPU_UP           0x10001
#define AXVM_EXIT_CPU_DOWN         0x10002
#define AXVM_EXIT_SEND_IPI         0x10003

#define AXVM_SYSTEM_EVENT_SHUTDOWN 1

/* memory_fault.flags: the access that faulted. */
#define AXVM_MEMORY_FAULT_READ  (1u << 0)
#define AXVM_MEMORY_FAULT_WRITE (1u << 1)
#define AXVM_MEMORY_FAULT_EXEC  (1u << 2)

/* Port I/O data lives in the run page itself, right after struct axvm_run. */
#define AXVM_RUN_IO_DATA_OFFSET 2560

#define AXVM_EXIT_IO_IN  0
#define AXVM_EXIT_IO_OUT 1

/*
 * The run page, mmap-ed from the vCPU fd at offset 0 (struct kvm_run).
 * Only the members axvm fills are named; the rest is padding of KVM's size.
 */
struct axvm_run {
	/* in */
	__u8 request_interrupt_window;
	__u8 immediate_exit;
	__u8 padding1[6];

	/* out */
	__u32 exit_reason;
	__u8 ready_for_interrupt_injection;
	__u8 if_flag;
	__u16 flags;

	/* in (before RUN), out (after RUN) */
	__u64 cr8;
	__u64 apic_base;

	union {
		struct {
			__u64 hardware_exit_reason;
		} hw;
		struct {
			__u64 hardware_entry_failure_reason;
			__u32 cpu;
		} fail_entry;
		struct {
			__u8 direction;
			__u8 size; /* bytes */
			__u16 port;
			__u32 count;
			__u64 data_offset; /* from the start of this struct */
		} io;
		struct {
			__u64 phys_addr;
			__u8 data[8];
			__u32 len;
			__u8 is_write;
		} mmio;
		struct {
			__u64 nr;
			__u64 args[6];
			__u64 ret;
			__u32 longmode;
			__u32 pad;
		} hypercall;
		struct {
			__u32 suberror;
			__u32 ndata;
			__u64 data[16];
		} internal;
		struct {
			__u32 type;
			__u32 ndata;
			__u64 data[16];
		} system_event;
		struct {
			__u8 error; /* userspace sets 1 to fail the access */
			__u8 pad[7];
			__u32 reason;
			__u32 index;
			__u64 data;
		} msr;
		struct {
			__u64 flags;
			__u64 gpa;
			__u64 size;
		} memory_fault;
		/* axvm only */
		struct {
			__u64 target_cpu;
			__u64 entry_point;
			__u64 arg;
		} cpu_up;
		struct {
			__u64 state;
		} cpu_down;
		struct {
			__u64 target_cpu;
			__u64 target_cpu_aux;
			__u8 to_all;
			__u8 to_self;
			__u8 pad[6];
			__u64 vector;
		} send_ipi;
		char padding[256];
	};

	__u64 kvm_valid_regs;
	__u64 kvm_dirty_regs;
	union {
		char padding[2048];
	} s;
};

#endif /* AXVM_UAPI_AXVM_H */
