/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An arm64 guest that walks through every exit the arm64 backend reports,
 * for tests/vmm/arm64_exits.c. Loaded and entered at 0x10000, EL1, MMU off.
 * Each step writes a tag byte to the UART (0x09000000) before it starts,
 * so the VMM can check each exit against the step that caused it.
 */
#include "arm64.h"

#define PSCI_VERSION 0x84000000
#define PSCI_CPU_ON 0xc4000003
#define PSCI_AFFINITY_INFO 0xc4000004
#define PSCI_FEATURES 0x8400000a
#define PSCI_SYSTEM_SUSPEND 0xc400000e
#define PSCI_FEATURES_RESERVED 0x8400001f
#define PSCI_SYSTEM_RESET 0x84000009
#define SMCCC_VERSION 0x80000000
#define TRNG_RND64 0xc4000053
#define PV_TIME_FEATURES 0xc5000020
#define PV_TIME_ST 0xc5000021
#define CPU1_ENTRY 0x30200		/* arm64_exits puts a CPU_OFF there for vCPU 1 */

	.text
	.global _start
_start:
	ldr	x19, =UART
	adr	x0, vectors
	msr	vbar_el1, x0
	isb

	tag	'W'			/* WFI: a halt exit */
	wfi

	tag	'R'			/* a trapped MRS and MSR axvm does not emulate */
	mov	x21, #0			/* (PMCR_EL0): UNDEF at EL1, as KVM answers */
	mrs	x5, pmcr_el0		/* them, counted by the vector below */
	mov	x6, #0x77
	msr	pmcr_el0, x6
	cmp	x21, #2
	b.ne	fail

	tag	'E'			/* RAS error records (HCR_EL2.TERR): read as */
	mov	x7, #100		/* zero and writes ignored, in the kernel. */
	mov	x21, #0			/* A CPU without them (QEMU's TCG) UNDEFs */
2:	mov	x5, #1			/* both itself: x23 counts those for the VMM */
	mov	x23, x21
	msr	s3_0_c5_c3_1, x5	/* ERRSELR_EL1 */
	mrs	x5, s3_0_c5_c3_1
	sub	x24, x21, x23
	cbz	x24, 3f			/* trapped: the read must be zero */
	cmp	x24, #2			/* else both UNDEF, x5 untouched */
	b.ne	fail
	cmp	x5, #1
	b.ne	fail
	b	4f
3:	cbnz	x5, fail
4:	subs	x7, x7, #1
	b.ne	2b
	mov	x23, x21

	tag	'N'			/* a load pair from a device: no syndrome (NISV) */
	ldr	x4, =DEVICE
	ldp	x0, x1, [x4]

	tag	'V'			/* PSCI_VERSION, answered by the kernel: 1.1 */
	ldr	x0, =PSCI_VERSION
	hvc	#0
	ldr	x1, =0x10001
	cmp	x0, x1
	b.ne	fail
	ldr	x0, =PSCI_FEATURES_RESERVED	/* an unknown PSCI call: NOT_SUPPORTED */
	hvc	#0
	cmn	x0, #1
	b.ne	fail
	ldr	x0, =PSCI_FEATURES	/* SYSTEM_SUSPEND without KVM_CAP_ARM_SYSTEM_SUSPEND: */
	ldr	x1, =PSCI_SYSTEM_SUSPEND	/* not offered, and the call NOT_SUPPORTED */
	hvc	#0
	cmn	x0, #1
	b.ne	fail
	ldr	x0, =PSCI_SYSTEM_SUSPEND
	hvc	#0
	cmn	x0, #1
	b.ne	fail

	tag	'T'			/* SMCCC services in the kernel: SMCCC 1.1, the */
	ldr	x0, =SMCCC_VERSION	/* TRNG (192 random bits; 193 are too many), no */
	hvc	#0			/* PV time before the VMM gave its address */
	ldr	x1, =0x10001
	cmp	x0, x1
	b.ne	fail
	ldr	x0, =TRNG_RND64
	mov	x1, #192
	hvc	#0
	cbnz	x0, fail
	orr	x4, x1, x2
	orr	x4, x4, x3
	cbz	x4, fail
	ldr	x0, =TRNG_RND64
	mov	x1, #193
	hvc	#0
	cmn	x0, #2
	b.ne	fail
	ldr	x0, =PV_TIME_FEATURES
	ldr	x1, =PV_TIME_ST
	hvc	#0
	cmn	x0, #1
	b.ne	fail

	tag	'I'			/* ID registers, answered in the kernel: no SVE, */
	mrs	x5, id_aa64pfr0_el1	/* no EL2, no VHE, no pointer authentication, */
	tst	x5, #(0xf << 8)		/* and a 48-bit PARange (the VM's IPA size) */
	b.ne	fail
	ubfx	x6, x5, #32, #4
	cbnz	x6, fail
	mrs	x5, id_aa64mmfr1_el1
	tst	x5, #(0xf << 8)
	b.ne	fail
	mrs	x5, id_aa64isar1_el1
	tst	x5, #(0xff << 4)
	b.ne	fail
	mrs	x5, id_aa64mmfr0_el1
	and	x6, x5, #0xf
	cmp	x6, #5
	b.ne	fail
	mrs	x5, midr_el1		/* not trapped: the host's (VPIDR_EL2) */
	cbz	x5, fail

	tag	'U'			/* SVE, which our EL1 enables but EL2 keeps trapped: */
	mov	x0, #(3 << 16 | 3 << 20)	/* the hypervisor makes it an UNDEF here */
	msr	cpacr_el1, x0
	isb
	mov	x21, #0
	.inst	0x04bf5020		/* rdvl x0, #1 */
	cmp	x21, #1			/* the vector below counted it */
	b.ne	fail

	tag	'P'			/* FP/SIMD: the guest's d8 survives an exit (WFI) */
	ldr	x9, =0x1122334455667788
	fmov	d8, x9
	wfi
	fmov	x10, d8
	cmp	x10, x9
	b.ne	fail

	tag	'C'			/* PSCI CPU_ON of vCPU 1 (MPIDR 1, powered off) */
	ldr	x0, =PSCI_CPU_ON	/* at CPU1_ENTRY with context 0x99 */
	mov	x1, #1
	ldr	x2, =CPU1_ENTRY
	mov	x3, #0x99
	hvc	#0
	cbnz	x0, fail
	cbnz	x3, fail		/* x1-x3 zero after a call, as KVM leaves them */
5:	ldr	x0, =PSCI_AFFINITY_INFO	/* ON until vCPU 1 ran its CPU_OFF, then OFF */
	mov	x1, #1
	mov	x2, #0
	hvc	#0
	cbz	x0, 5b
	cmp	x0, #1
	b.ne	fail
	ldr	x0, =PSCI_CPU_ON	/* this vCPU (MPIDR 0): ALREADY_ON */
	mov	x1, #0
	hvc	#0
	cmn	x0, #4
	b.ne	fail
	ldr	x0, =PSCI_CPU_ON	/* no vCPU has MPIDR 7: INVALID_PARAMETERS */
	mov	x1, #7
	hvc	#0
	cmn	x0, #2
	b.ne	fail
	ldr	x0, =PSCI_AFFINITY_INFO	/* a level above 3: INVALID_PARAMETERS */
	mov	x1, #1
	mov	x2, #4
	hvc	#0
	cmn	x0, #2
	b.ne	fail

	tag	'S'			/* PSCI SYSTEM_RESET */
	ldr	x0, =PSCI_SYSTEM_RESET
	hvc	#0
	b	fail

fail:	tag	'F'			/* halts for good: each check after this one */
1:	wfi				/* sees tag F, instead of a guest spinning */
	b	1b			/* until the test's alarm */

/* EL1 vectors: a synchronous exception from EL1 on SP_EL1 (offset 0x200)
 * with ESR_EL1.EC 0 (unknown) skips the instruction and counts it in x21. */
	.align 11
vectors:
	.skip	0x200
	mrs	x22, esr_el1
	lsr	x22, x22, #26
	cbnz	x22, fail
	add	x21, x21, #1
	mrs	x22, elr_el1
	add	x22, x22, #4
	msr	elr_el1, x22
	eret
	.ltorg
