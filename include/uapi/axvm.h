/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * axvm userspace ABI, shared by the module and by userspace.
 *
 * The classic VMM flow uses KVM's ioctl numbers and struct layouts exactly
 * (<linux/kvm.h>), so a program written for /dev/kvm runs when pointed at
 * /dev/axvm. Names carry an AXVM_ prefix so this header can be included next
 * to <linux/kvm.h>; tests/vmm/abi/identity.cpp checks every number and offset against
 * it. Rules for every struct here: fixed-width types, explicit padding, unknown
 * flags rejected with -EINVAL so the ABI can grow.
 */
#ifndef AXVM_UAPI_AXVM_H
#define AXVM_UAPI_AXVM_H

#ifdef AXVM_CORE_CXX
/* axvm's freestanding C++ core sees no kernel header, only these. */
typedef unsigned char __u8;
typedef unsigned short __u16;
typedef short __s16;
typedef int __s32;
typedef long long __s64;
typedef unsigned int __u32;
typedef unsigned long long __u64;
/* asm-generic/ioctl.h encoding, as on x86 and arm64. */
#define _IOC(dir, type, nr, size) (((dir) << 30) | ((size) << 16) | ((type) << 8) | (nr))
#define _IO(type, nr) _IOC(0U, (type), (nr), 0U)
#define _IOW(type, nr, T) _IOC(1U, (type), (nr), sizeof(T))
#define _IOR(type, nr, T) _IOC(2U, (type), (nr), sizeof(T))
#define _IOWR(type, nr, T) _IOC(3U, (type), (nr), sizeof(T))
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
#define AXVM_GET_SUPPORTED_CPUID   _IOWR(AXVMIO, 0x05, struct axvm_cpuid2)

/* VM fd */
#define AXVM_CREATE_VCPU           _IO(AXVMIO, 0x41) /* arg: vCPU id */
#define AXVM_SET_USER_MEMORY_REGION _IOW(AXVMIO, 0x46, struct axvm_userspace_memory_region)
#define AXVM_SET_TSS_ADDR          _IO(AXVMIO, 0x47) /* accepted and ignored: SVM needs no TSS */
/* x86, arg by value: the shadow-page budget, 64 at least; advisory (nested
 * paging has no shadow pages), GET answers it, or KVM's default from the
 * slots' size. */
#define AXVM_SET_NR_MMU_PAGES      _IO(AXVMIO, 0x44)
#define AXVM_GET_NR_MMU_PAGES      _IO(AXVMIO, 0x45)
#define AXVM_ENABLE_CAP            _IOW(AXVMIO, 0xa3, struct axvm_enable_cap) /* axvm's own caps; x86: KVM_CAP_MAX_VCPU_ID */
#define AXVM_ARM_PREFERRED_TARGET  _IOR(AXVMIO, 0xaf, struct axvm_vcpu_init) /* arm64 */
#define AXVM_IRQ_LINE              _IOW(AXVMIO, 0x61, struct axvm_irq_level) /* x86: a GSI; arm64: a vCPU's IRQ/FIQ line */

/* vCPU fd */
#define AXVM_RUN                   _IO(AXVMIO, 0x80)
#define AXVM_GET_REGS              _IOR(AXVMIO, 0x81, struct axvm_regs)
#define AXVM_SET_REGS              _IOW(AXVMIO, 0x82, struct axvm_regs)
#define AXVM_GET_SREGS             _IOR(AXVMIO, 0x83, struct axvm_sregs)
#define AXVM_SET_SREGS             _IOW(AXVMIO, 0x84, struct axvm_sregs)
#define AXVM_SET_CPUID2            _IOW(AXVMIO, 0x90, struct axvm_cpuid2)
#define AXVM_GET_CPUID2            _IOWR(AXVMIO, 0x91, struct axvm_cpuid2)
#define AXVM_INTERRUPT             _IOW(AXVMIO, 0x86, struct axvm_interrupt)
#define AXVM_NMI                   _IO(AXVMIO, 0x9a)
#define AXVM_SMI                   _IO(AXVMIO, 0xb7) /* AXVM_CAP_X86_SMM */
#define AXVM_GET_VCPU_EVENTS       _IOR(AXVMIO, 0x9f, struct axvm_vcpu_events)
#define AXVM_SET_VCPU_EVENTS       _IOW(AXVMIO, 0xa0, struct axvm_vcpu_events)
#define AXVM_GET_STATS_FD          _IO(AXVMIO, 0xce) /* VM and vCPU fds: a read-only stats fd */
#define AXVM_GET_ONE_REG           _IOW(AXVMIO, 0xab, struct axvm_one_reg) /* arm64 */
#define AXVM_SET_ONE_REG           _IOW(AXVMIO, 0xac, struct axvm_one_reg) /* arm64 */
#define AXVM_ARM_VCPU_INIT         _IOW(AXVMIO, 0xae, struct axvm_vcpu_init) /* arm64 */
#define AXVM_GET_REG_LIST          _IOWR(AXVMIO, 0xb0, struct axvm_reg_list) /* arm64 */
/* vCPU attributes (x86: the TSC offset; arm64: steal time); the value, a
 * __u64, lives at @addr; @flags must be 0. */
#define AXVM_SET_DEVICE_ATTR       _IOW(AXVMIO, 0xe1, struct axvm_device_attr)
#define AXVM_GET_DEVICE_ATTR       _IOW(AXVMIO, 0xe2, struct axvm_device_attr)
#define AXVM_HAS_DEVICE_ATTR       _IOW(AXVMIO, 0xe3, struct axvm_device_attr)

/*
 * axvm's own ioctls: their own type byte, so that no future KVM number can
 * ever mean something else on /dev/axvm.
 */
#define AXVM_OWN_IO 0xA7

/* vCPU fd, from any thread, also while another thread is inside RUN:
 * queue an interrupt (or an NMI) and get the vCPU out of the guest so that
 * it is delivered at the next entry, without an exit to userspace. */
#define AXVM_QUEUE_INTERRUPT       _IOW(AXVM_OWN_IO, 0x01, struct axvm_queue_interrupt)

/* Capabilities (KVM_CAP_* numbers) that CHECK_EXTENSION answers non-zero. */
#define AXVM_CAP_MMU_SHADOW_CACHE_CONTROL 2 /* x86: SET/GET_NR_MMU_PAGES */
#define AXVM_CAP_USER_MEMORY   3
#define AXVM_CAP_SET_TSS_ADDR  4
#define AXVM_CAP_EXT_CPUID     7
#define AXVM_CAP_NR_VCPUS      9
#define AXVM_CAP_NR_MEMSLOTS   10
#define AXVM_CAP_MAX_VCPUS     66
#define AXVM_CAP_MAX_VCPU_ID   128
#define AXVM_CAP_USER_NMI      22
#define AXVM_CAP_VCPU_EVENTS   41
#define AXVM_CAP_IMMEDIATE_EXIT 136
#define AXVM_CAP_BINARY_STATS_FD 203
/* arm64 */
#define AXVM_CAP_ONE_REG       70
#define AXVM_CAP_READONLY_MEM  81
#define AXVM_CAP_ARM_PSCI      87
#define AXVM_CAP_ARM_PSCI_0_2  102
#define AXVM_CAP_ARM_EL1_32BIT 93 /* AArch32 guests (KVM_ARM_VCPU_EL1_32BIT): where the CPU's EL1 has AArch32 */
#define AXVM_CAP_ARM_VM_IPA_SIZE 165 /* the IPA bits a VM gets */
#define AXVM_CAP_ARM_NISV_TO_USER 177 /* always on: ENABLE_CAP accepts it */
#define AXVM_CAP_STEAL_TIME    187 /* arm64: PV steal time (KVM_ARM_VCPU_PVTIME_CTRL) */
#define AXVM_CAP_VCPU_ATTRIBUTES 127 /* KVM_HAS/SET/GET_DEVICE_ATTR on a vCPU fd */
#define AXVM_CAP_ARM_SYSTEM_SUSPEND 216 /* VM: PSCI SYSTEM_SUSPEND exits (KVM_SYSTEM_EVENT_SUSPEND) */

/* x86 in-kernel interrupt controllers and timers (see the section below). */
#define AXVM_CAP_IRQCHIP          0
#define AXVM_CAP_HLT              1 /* no ioctl: HLT waits in the kernel with the local APIC there */
#define AXVM_CAP_PIT              11
#define AXVM_CAP_MP_STATE         14
#define AXVM_CAP_REINJECT_CONTROL 24
#define AXVM_CAP_IRQ_ROUTING      25 /* answer: the most routes, 4096 */
#define AXVM_CAP_IRQ_INJECT_STATUS 26
#define AXVM_CAP_IRQFD            32
#define AXVM_CAP_PIT2             33
#define AXVM_CAP_SET_BOOT_CPU_ID  34
#define AXVM_CAP_PIT_STATE2       35
#define AXVM_CAP_IOEVENTFD        36
#define AXVM_CAP_TSC_DEADLINE_TIMER 72
#define AXVM_CAP_SIGNAL_MSI       77
#define AXVM_CAP_IRQFD_RESAMPLE   82
#define AXVM_CAP_IOAPIC_POLARITY_IGNORED 97 /* no ioctl: a line's level is 1 = asserted */
#define AXVM_CAP_IOEVENTFD_NO_LENGTH 100
#define AXVM_CAP_SPLIT_IRQCHIP    121
#define AXVM_CAP_IOEVENTFD_ANY_LENGTH 122
#define AXVM_CAP_X2APIC_API       129 /* answer: the flags below, 3 */

/* axvm's own capabilities, far above KVM's numbers. */
#define AXVM_CAP_QUEUE_INTERRUPT 0x10001 /* AXVM_QUEUE_INTERRUPT */
/* VM: with AXVM_ENABLE_CAP (args[0] = 1), a guest HLT with interrupts
 * enabled blocks in the kernel until an interrupt is queued, instead of
 * exiting with KVM_EXIT_HLT. Off by default: the KVM flow is unchanged. */
#define AXVM_CAP_HALT_IN_KERNEL  0x10002

/* arm64 vCPU setup (KVM_ARM_VCPU_INIT, KVM_ARM_PREFERRED_TARGET). */
#define AXVM_ARM_TARGET_GENERIC_V8 5
/* features[0] bits, the only features axvm offers: */
#define AXVM_ARM_VCPU_POWER_OFF 0 /* the vCPU starts powered off (MP state STOPPED) */
#define AXVM_ARM_VCPU_EL1_32BIT 1 /* EL1 (and EL0) AArch32: every vCPU of the VM alike */
#define AXVM_ARM_VCPU_PSCI_0_2 2  /* PSCI 0.2 and later (axvm answers PSCI 0.2 either way) */

struct axvm_vcpu_init {
	__u32 target;
	__u32 features[7];
};

/* arm64 KVM_IRQ_LINE without an in-kernel interrupt controller: @irq is
 * type (bits 24-27, only CPU), vCPU (bits 16-23) and line (0 IRQ, 1 FIQ);
 * @level 1 asserts the line, 0 deasserts it. */
struct axvm_irq_level {
	union {
		__u32 irq;
		__s32 status; /* KVM_IRQ_LINE_STATUS: out */
	};
	__u32 level;
};
#define AXVM_ARM_IRQ_TYPE_SHIFT 24
#define AXVM_ARM_IRQ_TYPE_MASK  0xf
#define AXVM_ARM_IRQ_TYPE_CPU   0
#define AXVM_ARM_IRQ_VCPU_SHIFT 16
#define AXVM_ARM_IRQ_VCPU_MASK  0xff
#define AXVM_ARM_IRQ_NUM_MASK   0xffff
#define AXVM_ARM_IRQ_CPU_IRQ    0
#define AXVM_ARM_IRQ_CPU_FIQ    1

/* arm64 registers one at a time (KVM_GET/SET_ONE_REG): @addr points to the
 * value, as many bytes as the id's size field says. */
struct axvm_one_reg {
	__u64 id;
	__u64 addr;
};

#define AXVM_REG_ARM64          0x6000000000000000ULL
#define AXVM_REG_SIZE_SHIFT     52
#define AXVM_REG_SIZE_MASK      0x00f0000000000000ULL
#define AXVM_REG_SIZE_U32       0x0020000000000000ULL
#define AXVM_REG_SIZE_U64       0x0030000000000000ULL
#define AXVM_REG_SIZE_U128      0x0040000000000000ULL
#define AXVM_REG_ARM_CORE       (0x0010ULL << 16)
/* A core register: its offset in KVM's struct kvm_regs, in 32-bit words. */
#define AXVM_REG_ARM_CORE_REG(words, size) (AXVM_REG_ARM64 | (size) | AXVM_REG_ARM_CORE | (words))
#define AXVM_ARM64_X(n)     AXVM_REG_ARM_CORE_REG(2 * (n), AXVM_REG_SIZE_U64) /* x0-x30 */
#define AXVM_ARM64_SP       AXVM_REG_ARM_CORE_REG(62, AXVM_REG_SIZE_U64)      /* SP_EL0 */
#define AXVM_ARM64_PC       AXVM_REG_ARM_CORE_REG(64, AXVM_REG_SIZE_U64)
#define AXVM_ARM64_PSTATE   AXVM_REG_ARM_CORE_REG(66, AXVM_REG_SIZE_U64)
#define AXVM_ARM64_SP_EL1   AXVM_REG_ARM_CORE_REG(68, AXVM_REG_SIZE_U64)
#define AXVM_ARM64_ELR_EL1  AXVM_REG_ARM_CORE_REG(70, AXVM_REG_SIZE_U64)
#define AXVM_ARM64_SPSR_EL1 AXVM_REG_ARM_CORE_REG(72, AXVM_REG_SIZE_U64)
#define AXVM_ARM64_V(n)     AXVM_REG_ARM_CORE_REG(84 + 4 * (n), AXVM_REG_SIZE_U128) /* q0-q31 */
#define AXVM_ARM64_FPSR     AXVM_REG_ARM_CORE_REG(212, AXVM_REG_SIZE_U32)
#define AXVM_ARM64_FPCR     AXVM_REG_ARM_CORE_REG(213, AXVM_REG_SIZE_U32)
/* A system register: op0:op1:CRn:CRm:op2 in bits 15-0. */
#define AXVM_REG_ARM64_SYSREG   (0x0013ULL << 16)
/* KVM's firmware pseudo-registers: PSCI_VERSION (0), the SMCCC
 * ARCH_WORKAROUND_1/2/3 levels (1-3); and the hypercall service bitmaps
 * (STD, STD_HYP, VENDOR_HYP: 0-2). */
#define AXVM_REG_ARM_FW         (0x0014ULL << 16)
#define AXVM_REG_ARM_FW_FEAT_BMAP (0x0016ULL << 16)

/* KVM_SET/GET/HAS_DEVICE_ATTR on a vCPU. arm64's PV steal time: group
 * PVTIME_CTRL, attribute PVTIME_IPA: the guest-physical address (64-byte
 * aligned, in a memory slot) of the vCPU's stolen-time record. */
struct axvm_device_attr {
	__u32 flags; /* 0 */
	__u32 group;
	__u64 attr;
	__u64 addr; /* a __u64 in userspace */
};
#define AXVM_ARM_VCPU_PVTIME_CTRL 2
#define AXVM_ARM_VCPU_PVTIME_IPA  0

/* KVM_GET_REG_LIST: @n in is the room in @reg, out how many ids the vCPU
 * has (-E2BIG, nothing else written, when they do not fit). */
struct axvm_reg_list {
	__u64 n;
	__u64 reg[];
};
#define AXVM_MAX_REG_LIST 512 /* more than an arm64 vCPU of axvm has */

/* x86 registers (KVM_GET/SET_REGS, KVM_GET/SET_SREGS). */
struct axvm_regs {
	__u64 rax, rbx, rcx, rdx;
	__u64 rsi, rdi, rsp, rbp;
	__u64 r8, r9, r10, r11;
	__u64 r12, r13, r14, r15;
	__u64 rip, rflags;
};

struct axvm_segment {
	__u64 base;
	__u32 limit; /* bytes - 1, already scaled by g */
	__u16 selector;
	__u8 type;
	__u8 present, dpl, db, s, l, g, avl;
	__u8 unusable;
	__u8 padding;
};

struct axvm_dtable {
	__u64 base;
	__u16 limit;
	__u16 padding[3];
};

#define AXVM_NR_INTERRUPTS 256

struct axvm_sregs {
	struct axvm_segment cs, ds, es, fs, gs, ss;
	struct axvm_segment tr, ldt;
	struct axvm_dtable gdt, idt;
	__u64 cr0, cr2, cr3, cr4, cr8;
	__u64 efer;
	__u64 apic_base;
	__u64 interrupt_bitmap[(AXVM_NR_INTERRUPTS + 63) / 64]; /* must be 0: no pending injection */
};

/* CPUID (KVM_GET_SUPPORTED_CPUID, KVM_SET_CPUID2). */
#define AXVM_CPUID_FLAG_SIGNIFCANT_INDEX (1u << 0) /* KVM's spelling */
#define AXVM_MAX_CPUID_ENTRIES 80

struct axvm_cpuid_entry2 {
	__u32 function;
	__u32 index;
	__u32 flags;
	__u32 eax, ebx, ecx, edx;
	__u32 padding[3];
};

struct axvm_cpuid2 {
	__u32 nent;
	__u32 padding;
	struct axvm_cpuid_entry2 entries[];
};

/* Interrupts (KVM_INTERRUPT, KVM_GET/SET_VCPU_EVENTS). */
struct axvm_interrupt {
	__u32 irq; /* vector */
};

#define AXVM_VCPUEVENT_VALID_NMI_PENDING 0x00000001
#define AXVM_VCPUEVENT_VALID_SIPI_VECTOR 0x00000002
#define AXVM_VCPUEVENT_VALID_SHADOW      0x00000004
#define AXVM_VCPUEVENT_VALID_SMM         0x00000008

struct axvm_vcpu_events {
	struct {
		__u8 injected;
		__u8 nr;
		__u8 has_error_code;
		__u8 pending;
		__u32 error_code;
	} exception;
	struct {
		__u8 injected;
		__u8 nr;
		__u8 soft;
		__u8 shadow; /* in the one-instruction shadow of STI or MOV SS */
	} interrupt;
	struct {
		__u8 injected;
		__u8 pending;
		__u8 masked;
		__u8 pad;
	} nmi;
	__u32 sipi_vector;
	__u32 flags; /* AXVM_VCPUEVENT_VALID_*; payloads are not supported */
	struct {
		__u8 smm;
		__u8 pending;
		__u8 smm_inside_nmi;
		__u8 latched_init;
	} smi;
	struct {
		__u8 pending;
	} triple_fault;
	__u8 reserved[26];
	__u8 exception_has_payload;
	__u64 exception_payload;
};

#define AXVM_QUEUE_NMI (1u << 0)

struct axvm_queue_interrupt {
	__u32 vector; /* 32-255; ignored with AXVM_QUEUE_NMI */
	__u32 flags;  /* AXVM_QUEUE_*; others must be 0 */
};

struct axvm_enable_cap {
	__u32 cap;
	__u32 flags; /* must be 0 */
	__u64 args[4];
	__u8 pad[64];
};

/*
 * x86 vCPU state a full VMM (QEMU) saves and restores, and the VM and system
 * ioctls it needs besides (KVM's numbers and layouts).
 */
#define AXVM_GET_MSR_INDEX_LIST    _IOWR(AXVMIO, 0x02, struct axvm_msr_list) /* system */
#define AXVM_GET_MSR_FEATURE_INDEX_LIST _IOWR(AXVMIO, 0x0a, struct axvm_msr_list) /* system */
#define AXVM_GET_EMULATED_CPUID    _IOWR(AXVMIO, 0x09, struct axvm_cpuid2) /* system */
#define AXVM_X86_GET_MCE_CAP_SUPPORTED _IOR(AXVMIO, 0x9d, __u64) /* system */
#define AXVM_SET_IDENTITY_MAP_ADDR _IOW(AXVMIO, 0x48, __u64) /* VM: accepted before vCPUs exist */
#define AXVM_GET_DIRTY_LOG         _IOW(AXVMIO, 0x42, struct axvm_dirty_log) /* VM */
#define AXVM_X86_SET_MSR_FILTER    _IOW(AXVMIO, 0xc6, struct axvm_msr_filter) /* VM */
#define AXVM_GET_MSRS              _IOWR(AXVMIO, 0x88, struct axvm_msrs) /* vCPU; system: the feature MSRs */
#define AXVM_SET_MSRS              _IOW(AXVMIO, 0x89, struct axvm_msrs)
#define AXVM_SET_SIGNAL_MASK       _IOW(AXVMIO, 0x8b, struct axvm_signal_mask)
#define AXVM_GET_FPU               _IOR(AXVMIO, 0x8c, struct axvm_fpu)
#define AXVM_SET_FPU               _IOW(AXVMIO, 0x8d, struct axvm_fpu)
#define AXVM_X86_SETUP_MCE         _IOW(AXVMIO, 0x9c, __u64)
#define AXVM_GET_DEBUGREGS         _IOR(AXVMIO, 0xa1, struct axvm_debugregs)
#define AXVM_SET_DEBUGREGS         _IOW(AXVMIO, 0xa2, struct axvm_debugregs)
#define AXVM_SET_TSC_KHZ           _IO(AXVMIO, 0xa2)
#define AXVM_GET_TSC_KHZ           _IO(AXVMIO, 0xa3)
#define AXVM_GET_XSAVE             _IOR(AXVMIO, 0xa4, struct axvm_xsave)
#define AXVM_SET_XSAVE             _IOW(AXVMIO, 0xa5, struct axvm_xsave)
#define AXVM_GET_XCRS              _IOR(AXVMIO, 0xa6, struct axvm_xcrs)
#define AXVM_SET_XCRS              _IOW(AXVMIO, 0xa7, struct axvm_xcrs)

#define AXVM_CAP_JOIN_MEMORY_REGIONS_WORKS 30
#define AXVM_CAP_DESTROY_MEMORY_REGION_WORKS 21
#define AXVM_CAP_MCE              31 /* answer: the most banks, 32 */
#define AXVM_CAP_SET_IDENTITY_MAP_ADDR 37
#define AXVM_CAP_DEBUGREGS        50
#define AXVM_CAP_XSAVE            55
#define AXVM_CAP_XCRS             56
#define AXVM_CAP_GET_TSC_KHZ      61
#define AXVM_CAP_MSR_PLATFORM_INFO 159
#define AXVM_CAP_X86_USER_SPACE_MSR 188
#define AXVM_CAP_X86_MSR_FILTER   189
#define AXVM_CAP_SYNC_REGS        74  /* answer: AXVM_SYNC_X86_VALID_FIELDS */
#define AXVM_CAP_GET_MSR_FEATURES 153 /* GET_MSR_FEATURE_INDEX_LIST, GET_MSRS on /dev/axvm */
#define AXVM_CAP_X86_SMM 117 /* System Management Mode: AXVM_SMI, smi in the vCPU events */
#define AXVM_CAP_MULTI_ADDRESS_SPACE 118 /* answer: address spaces (x86: 2, the second SMM's) */
#define AXVM_CAP_DISABLE_QUIRKS   116 /* VM: args[0] = the quirks to disable (every bit accepted, as KVM) */
#define AXVM_CAP_DISABLE_QUIRKS2  213 /* answer: AXVM_X86_QUIRKS_SUPPORTED; other bits -EINVAL */
#define AXVM_CAP_ENFORCE_PV_FEATURE_CPUID 190 /* vCPU: args[0] != 0 enforces CPUID 0x40000001 */

/* KVM_X86_QUIRK_* (KVM_CAP_DISABLE_QUIRKS2 args[0]). axvm can disable only
 * those in AXVM_X86_QUIRKS_SUPPORTED; the others are always on. */
#define AXVM_X86_QUIRK_LINT0_REENABLED        (1u << 0)
#define AXVM_X86_QUIRK_CD_NW_CLEARED          (1u << 1)
#define AXVM_X86_QUIRK_LAPIC_MMIO_HOLE        (1u << 2)
#define AXVM_X86_QUIRK_OUT_7E_INC_RIP         (1u << 3)
#define AXVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT   (1u << 4)
#define AXVM_X86_QUIRK_FIX_HYPERCALL_INSN     (1u << 5)
#define AXVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS  (1u << 6)
#define AXVM_X86_QUIRKS_SUPPORTED \
	(AXVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT | AXVM_X86_QUIRK_FIX_HYPERCALL_INSN | \
	 AXVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS)

/* vCPU device attributes (HAS/GET/SET_DEVICE_ATTR, struct axvm_device_attr
 * above) on x86: the TSC offset. */
#define AXVM_VCPU_TSC_CTRL   0 /* group */
#define AXVM_VCPU_TSC_OFFSET 0 /* attribute: the guest's TSC minus the host's */

struct axvm_msr_entry {
	__u32 index;
	__u32 reserved;
	__u64 data;
};

/* GET_MSRS and SET_MSRS return how many entries they processed. */
struct axvm_msrs {
	__u32 nmsrs;
	__u32 pad;
	struct axvm_msr_entry entries[];
};

struct axvm_msr_list {
	__u32 nmsrs; /* in: room; out: how many there are (E2BIG if more than room) */
	__u32 indices[];
};

#define AXVM_MAX_MSR_IO 256 /* KVM's MAX_IO_MSRS: one GET/SET_MSRS carries fewer entries */

struct axvm_signal_mask {
	__u32 len; /* 8: the kernel's sigset_t on x86-64 and arm64 */
	__u8 sigset[];
};

struct axvm_fpu {
	__u8 fpr[8][16];
	__u16 fcw;
	__u16 fsw;
	__u8 ftwx; /* in fxsave format */
	__u8 pad1;
	__u16 last_opcode;
	__u64 last_ip;
	__u64 last_dp;
	__u8 xmm[16][16];
	__u32 mxcsr;
	__u32 pad2;
};

struct axvm_debugregs {
	__u64 db[4];
	__u64 dr6;
	__u64 dr7;
	__u64 flags;
	__u64 reserved[9];
};

/* The standard (non-compacted) XSAVE layout, as XSAVE writes it. */
struct axvm_xsave {
	__u32 region[1024];
};

#define AXVM_MAX_XCRS 16
struct axvm_xcr {
	__u32 xcr;
	__u32 reserved;
	__u64 value;
};

struct axvm_xcrs {
	__u32 nr_xcrs;
	__u32 flags;
	struct axvm_xcr xcrs[AXVM_MAX_XCRS];
	__u64 padding[16];
};

struct axvm_dirty_log {
	__u32 slot;
	__u32 padding1;
	__u64 dirty_bitmap; /* a user pointer */
};

/* KVM_CAP_X86_USER_SPACE_MSR: which MSR accesses exit to userspace. */
#define AXVM_MSR_EXIT_REASON_INVAL  (1u << 0) /* an access the guest may not make (a #GP) */
#define AXVM_MSR_EXIT_REASON_UNKNOWN (1u << 1) /* an MSR axvm does not know */
#define AXVM_MSR_EXIT_REASON_FILTER (1u << 2) /* refused by the filter */

#define AXVM_MSR_FILTER_MAX_RANGES 16
#define AXVM_MSR_FILTER_MAX_BITMAP_SIZE 0x600
#define AXVM_MSR_FILTER_READ  (1u << 0)
#define AXVM_MSR_FILTER_WRITE (1u << 1)
#define AXVM_MSR_FILTER_DEFAULT_DENY (1u << 0)

struct axvm_msr_filter_range {
	__u32 flags; /* AXVM_MSR_FILTER_READ/WRITE */
	__u32 nmsrs; /* MSRs from base; one bitmap bit each, 1 = allowed */
	__u32 base;
	__u64 bitmap; /* a user pointer */
};

struct axvm_msr_filter {
	__u32 flags; /* AXVM_MSR_FILTER_DEFAULT_DENY */
	struct axvm_msr_filter_range ranges[AXVM_MSR_FILTER_MAX_RANGES];
};

/*
 * x86 in-kernel interrupt controllers and timers (KVM's layouts): a PIC pair
 * and a 24-pin IOAPIC (KVM_CREATE_IRQCHIP), a local APIC per vCPU, an i8254
 * PIT (KVM_CREATE_PIT2), GSI routing, MSIs, irqfds and ioeventfds.
 */
#define AXVM_CREATE_IRQCHIP        _IO(AXVMIO, 0x60)
#define AXVM_IRQ_LINE_STATUS       _IOWR(AXVMIO, 0x67, struct axvm_irq_level)
#define AXVM_GET_IRQCHIP           _IOWR(AXVMIO, 0x62, struct axvm_irqchip)
#define AXVM_SET_IRQCHIP           _IOR(AXVMIO, 0x63, struct axvm_irqchip) /* sic: KVM's direction */
#define AXVM_SET_GSI_ROUTING       _IOW(AXVMIO, 0x6a, struct axvm_irq_routing)
#define AXVM_REINJECT_CONTROL      _IO(AXVMIO, 0x71) /* sic: a pointer, no size */
#define AXVM_IRQFD                 _IOW(AXVMIO, 0x76, struct axvm_irqfd)
#define AXVM_CREATE_PIT2           _IOW(AXVMIO, 0x77, struct axvm_pit_config)
#define AXVM_SET_BOOT_CPU_ID       _IO(AXVMIO, 0x78)
#define AXVM_IOEVENTFD             _IOW(AXVMIO, 0x79, struct axvm_ioeventfd)
#define AXVM_GET_PIT2              _IOR(AXVMIO, 0x9f, struct axvm_pit_state2)
#define AXVM_SET_PIT2              _IOW(AXVMIO, 0xa0, struct axvm_pit_state2)
#define AXVM_SIGNAL_MSI            _IOW(AXVMIO, 0xa5, struct axvm_msi)
#define AXVM_GET_LAPIC             _IOR(AXVMIO, 0x8e, struct axvm_lapic_state)
#define AXVM_SET_LAPIC             _IOW(AXVMIO, 0x8f, struct axvm_lapic_state)
#define AXVM_TPR_ACCESS_REPORTING  _IOWR(AXVMIO, 0x92, struct axvm_tpr_access_ctl)
#define AXVM_SET_VAPIC_ADDR        _IOW(AXVMIO, 0x93, struct axvm_vapic_addr)
#define AXVM_GET_MP_STATE          _IOR(AXVMIO, 0x98, struct axvm_mp_state)
#define AXVM_SET_MP_STATE          _IOW(AXVMIO, 0x99, struct axvm_mp_state)

#define AXVM_IRQCHIP_PIC_MASTER 0
#define AXVM_IRQCHIP_PIC_SLAVE  1
#define AXVM_IRQCHIP_IOAPIC     2
#define AXVM_IOAPIC_NUM_PINS    24
#define AXVM_MAX_IRQ_ROUTES     4096

struct axvm_pic_state {
	__u8 last_irr; /* edge detection */
	__u8 irr;      /* interrupt request register */
	__u8 imr;      /* interrupt mask register */
	__u8 isr;      /* interrupt service register */
	__u8 priority_add; /* highest irq priority */
	__u8 irq_base;
	__u8 read_reg_select;
	__u8 poll;
	__u8 special_mask;
	__u8 init_state;
	__u8 auto_eoi;
	__u8 rotate_on_auto_eoi;
	__u8 special_fully_nested_mode;
	__u8 init4; /* true if 4 byte init */
	__u8 elcr;  /* PIIX edge/trigger selection */
	__u8 elcr_mask;
};

struct axvm_ioapic_state {
	__u64 base_address;
	__u32 ioregsel;
	__u32 id;
	__u32 irr;
	__u32 pad;
	__u64 redirtbl[AXVM_IOAPIC_NUM_PINS]; /* vector 7:0, delivery mode 10:8, dest mode 11, delivery
					       * status 12, polarity 13, remote IRR 14, trigger 15,
					       * mask 16, destination 63:56 */
};

struct axvm_irqchip {
	__u32 chip_id; /* AXVM_IRQCHIP_* */
	__u32 pad;
	union {
		char dummy[512];
		struct axvm_pic_state pic;
		struct axvm_ioapic_state ioapic;
	} chip;
};

/* The local APIC's register page as the guest sees it (each register in
 * the low 4 bytes of its 16-byte slot). */
struct axvm_lapic_state {
	char regs[0x400];
};

/* KVM's TPR patching for 32-bit Windows (QEMU's kvmvapic): axvm takes them
 * switched off only (no TPR access exits, no TPR shadow page). */
struct axvm_tpr_access_ctl {
	__u32 enabled;
	__u32 flags;
	__u32 reserved[8];
};

struct axvm_vapic_addr {
	__u64 vapic_addr;
};

#define AXVM_MP_STATE_RUNNABLE      0
#define AXVM_MP_STATE_UNINITIALIZED 1
#define AXVM_MP_STATE_INIT_RECEIVED 2
#define AXVM_MP_STATE_HALTED        3
#define AXVM_MP_STATE_SIPI_RECEIVED 4
#define AXVM_MP_STATE_STOPPED       5 /* arm64: powered off (PSCI CPU_OFF), until CPU_ON */
#define AXVM_MP_STATE_AP_RESET_HOLD 9 /* halted until an event, as HALTED */
#define AXVM_MP_STATE_SUSPENDED     10 /* arm64: waits for an interrupt, then KVM_SYSTEM_EVENT_WAKEUP */

struct axvm_mp_state {
	__u32 mp_state;
};

struct axvm_pit_channel_state {
	__u32 count; /* can be 65536 */
	__u16 latched_count;
	__u8 count_latched;
	__u8 status_latched;
	__u8 status;
	__u8 read_state;
	__u8 write_state;
	__u8 write_latch;
	__u8 rw_mode;
	__u8 mode;
	__u8 bcd;
	__u8 gate;
	__s64 count_load_time; /* the host's CLOCK_MONOTONIC, ns */
};

#define AXVM_PIT_SPEAKER_DUMMY       1 /* axvm_pit_config.flags: port 0x61 in the kernel */
#define AXVM_PIT_FLAGS_HPET_LEGACY   0x00000001
#define AXVM_PIT_FLAGS_SPEAKER_DATA_ON 0x00000002

struct axvm_pit_state2 {
	struct axvm_pit_channel_state channels[3];
	__u32 flags;
	__u32 reserved[9];
};

struct axvm_pit_config {
	__u32 flags;
	__u32 pad[15];
};

struct axvm_reinject_control {
	__u8 pit_reinject;
	__u8 reserved[31];
};

#define AXVM_IRQ_ROUTING_IRQCHIP 1
#define AXVM_IRQ_ROUTING_MSI     2
#define AXVM_MSI_VALID_DEVID     (1u << 0)

struct axvm_irq_routing_irqchip {
	__u32 irqchip;
	__u32 pin;
};

struct axvm_irq_routing_msi {
	__u32 address_lo;
	__u32 address_hi;
	__u32 data;
	__u32 pad; /* devid, with AXVM_MSI_VALID_DEVID */
};

struct axvm_irq_routing_entry {
	__u32 gsi;
	__u32 type;
	__u32 flags;
	__u32 pad;
	union {
		struct axvm_irq_routing_irqchip irqchip;
		struct axvm_irq_routing_msi msi;
		__u32 pad[8];
	} u;
};

struct axvm_irq_routing {
	__u32 nr;
	__u32 flags;
	struct axvm_irq_routing_entry entries[];
};

struct axvm_msi {
	__u32 address_lo;
	__u32 address_hi;
	__u32 data;
	__u32 flags;
	__u32 devid;
	__u8 pad[12];
};

#define AXVM_IRQFD_FLAG_DEASSIGN (1u << 0)
#define AXVM_IRQFD_FLAG_RESAMPLE (1u << 1)

struct axvm_irqfd {
	__u32 fd;
	__u32 gsi;
	__u32 flags;
	__u32 resamplefd;
	__u8 pad[16];
};

#define AXVM_IOEVENTFD_FLAG_DATAMATCH (1u << 0)
#define AXVM_IOEVENTFD_FLAG_PIO       (1u << 1)
#define AXVM_IOEVENTFD_FLAG_DEASSIGN  (1u << 2)

struct axvm_ioeventfd {
	__u64 datamatch;
	__u64 addr; /* legal pio/mmio address */
	__u32 len;  /* 0, 1, 2, 4 or 8 bytes */
	__s32 fd;
	__u32 flags;
	__u8 pad[36];
};

/* AXVM_ENABLE_CAP(AXVM_CAP_X2APIC_API) args[0] */
#define AXVM_X2APIC_API_USE_32BIT_IDS          (1u << 0)
#define AXVM_X2APIC_API_DISABLE_BROADCAST_QUIRK (1u << 1)

/* Guest memory (KVM_SET_USER_MEMORY_REGION). memory_size 0 deletes the slot. */
/* Dirty logging: accepted, and KVM_GET_DIRTY_LOG reports every page of such
 * a slot as dirty (axvm does not track writes yet; all-ones is always a
 * correct answer, as for a VMM that redraws or copies everything). */
#define AXVM_MEM_LOG_DIRTY_PAGES (1u << 0)
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
#define AXVM_EXIT_IOAPIC_EOI       26 /* split irqchip: run->eoi.vector */
#define AXVM_EXIT_ARM_NISV         28 /* arm64: a data abort outside memory without a syndrome */
#define AXVM_EXIT_X86_RDMSR        29 /* a trapped system-register read (MSR on x86) */
#define AXVM_EXIT_X86_WRMSR        30 /* ... and write */

/* axvm's own exits, for events KVM handles in the kernel or lacks; far above KVM's numbers. */
#define AXVM_EXIT_CPU_UP           0x10001
#define AXVM_EXIT_CPU_DOWN         0x10002
#define AXVM_EXIT_SEND_IPI         0x10003

#define AXVM_SYSTEM_EVENT_SHUTDOWN 1
#define AXVM_SYSTEM_EVENT_RESET    2
#define AXVM_SYSTEM_EVENT_WAKEUP   4 /* arm64: a vCPU in MP state SUSPENDED has an interrupt */
#define AXVM_SYSTEM_EVENT_SUSPEND  5 /* arm64 PSCI SYSTEM_SUSPEND, x0-x2 the call */
#define AXVM_SYSTEM_EVENT_RESET_FLAG_PSCI_RESET2 (1ULL << 0) /* data[0] of a RESET */

/*
 * x86: an access outside guest memory that no MMIO exit can describe (an
 * instruction fetch, the guest's own page walk, an event delivery) is, as
 * under KVM, KVM_EXIT_INTERNAL_ERROR with suberror
 * AXVM_INTERNAL_ERROR_EMULATION; axvm gives internal.ndata 2: data[0] the
 * guest-physical address, data[1] the access (AXVM_MEMORY_FAULT_*).
 */
#define AXVM_INTERNAL_ERROR_EMULATION 1
#define AXVM_MEMORY_FAULT_READ  (1u << 0)
#define AXVM_MEMORY_FAULT_WRITE (1u << 1)
#define AXVM_MEMORY_FAULT_EXEC  (1u << 2)

/* The vCPU's mapping (KVM_GET_VCPU_MMAP_SIZE): the run page, then the page
 * that holds port I/O data (run->io.data_offset), as in KVM. A string IN
 * may carry several elements (run->io.count), as KVM batches them. */
#define AXVM_RUN_PAGES 2

/* axvm_run.flags (x86): the vCPU is in System Management Mode. */
#define AXVM_RUN_X86_SMM (1u << 0)
#define AXVM_RUN_IO_DATA_OFFSET 4096

#define AXVM_EXIT_IO_IN  0
#define AXVM_EXIT_IO_OUT 1

/* KVM_CAP_SYNC_REGS (x86): register sets in the run page (kvm_valid_regs,
 * kvm_dirty_regs). CHECK_EXTENSION answers the valid sets. */
#define AXVM_SYNC_X86_REGS   (1ull << 0)
#define AXVM_SYNC_X86_SREGS  (1ull << 1)
#define AXVM_SYNC_X86_EVENTS (1ull << 2)
#define AXVM_SYNC_X86_VALID_FIELDS (AXVM_SYNC_X86_REGS | AXVM_SYNC_X86_SREGS | AXVM_SYNC_X86_EVENTS)

struct axvm_sync_regs {
	struct axvm_regs regs;
	struct axvm_sregs sregs;
	struct axvm_vcpu_events events;
};

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
			__u64 esr_iss;
			__u64 fault_ipa;
		} arm_nisv;
		struct {
			__u8 vector;
		} eoi;
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

	/* x86 (AXVM_CAP_SYNC_REGS): the AXVM_SYNC_X86_* sets RUN stores into
	 * s.regs on its way out (valid) and takes from there on its way in
	 * (dirty, cleared as they are taken). */
	__u64 kvm_valid_regs;
	__u64 kvm_dirty_regs;
	union {
		struct axvm_sync_regs regs;
		char padding[2048];
	} s;
};

/*
 * The binary statistics behind AXVM_GET_STATS_FD, KVM's layout: at offset 0
 * the header, at id_offset the id string ("axvm-<pid>", "axvm-<pid>/vcpu-<n>"),
 * at desc_offset num_desc descriptors of sizeof(struct axvm_stats_desc) +
 * name_size bytes each, at data_offset the values (u64 each, at the
 * descriptor's offset). pread() any part; every read is a fresh snapshot.
 */
#define AXVM_STATS_TYPE_CUMULATIVE (0x0 << 0)
#define AXVM_STATS_TYPE_INSTANT    (0x1 << 0)
#define AXVM_STATS_TYPE_MASK       (0xf << 0)
#define AXVM_STATS_UNIT_NONE       (0x0 << 4)
#define AXVM_STATS_BASE_POW10      (0x0 << 8)
#define AXVM_STATS_NAME_SIZE 48

struct axvm_stats_header {
	__u32 flags;
	__u32 name_size;
	__u32 num_desc;
	__u32 id_offset;
	__u32 desc_offset;
	__u32 data_offset;
};

struct axvm_stats_desc {
	__u32 flags;
	__s16 exponent;
	__u16 size; /* values (u64) in this statistic */
	__u32 offset; /* bytes from data_offset */
	__u32 bucket_size;
	char name[];
};

#endif /* AXVM_UAPI_AXVM_H */
