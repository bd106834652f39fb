/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The arm64 world switch (VHE): enter an EL1 guest from the host at EL2 and
 * come back on its next exception. The C++ side (vcpu.cpp) has masked DAIF,
 * loaded the guest's system registers and FP state; this file only swaps
 * the general-purpose registers, the stack and the vector base.
 *
 * While the guest runs, SP_EL2 points at the vCPU's context: an exception
 * from the guest lands in axvm_arm64_vectors with that SP, so the vector
 * finds where to save the guest's registers without a free register.
 */
#include <linux/linkage.h>
#include <asm/assembler.h>
#include "context.h"

	.text

/* u64 axvm_arm64_enter(struct axvm_arm64_context *ctx) */
SYM_FUNC_START(axvm_arm64_enter)
	stp	x18, x19, [x0, #CTX_HOST_X18]
	stp	x20, x21, [x0, #CTX_HOST_X18 + 16]
	stp	x22, x23, [x0, #CTX_HOST_X18 + 32]
	stp	x24, x25, [x0, #CTX_HOST_X18 + 48]
	stp	x26, x27, [x0, #CTX_HOST_X18 + 64]
	stp	x28, x29, [x0, #CTX_HOST_X18 + 80]
	str	x30, [x0, #CTX_HOST_X18 + 96]
	mov	x1, sp
	str	x1, [x0, #CTX_HOST_SP]

	mrs	x1, vbar_el1			/* VBAR_EL2 under E2H */
	str	x1, [x0, #CTX_HOST_VBAR]
	adr_l	x1, axvm_arm64_vectors
	msr	vbar_el1, x1
	ldr	x1, [x0, #CTX_PC]
	msr	elr_el2, x1
	ldr	x1, [x0, #CTX_PSTATE]
	msr	spsr_el2, x1
	mrs	x1, sp_el0			/* the host's `current`, read by C code: */
	str	x1, [x0, #CTX_HOST_SP_EL0]	/* switched only here, with no C */
	ldr	x1, [x0, #CTX_SP_EL0]		/* in between */
	msr	sp_el0, x1
	isb

	mov	sp, x0
	ldp	x2, x3, [x0, #CTX_X0 + 16]
	ldp	x4, x5, [x0, #CTX_X0 + 32]
	ldp	x6, x7, [x0, #CTX_X0 + 48]
	ldp	x8, x9, [x0, #CTX_X0 + 64]
	ldp	x10, x11, [x0, #CTX_X0 + 80]
	ldp	x12, x13, [x0, #CTX_X0 + 96]
	ldp	x14, x15, [x0, #CTX_X0 + 112]
	ldp	x16, x17, [x0, #CTX_X0 + 128]
	ldp	x18, x19, [x0, #CTX_X0 + 144]
	ldp	x20, x21, [x0, #CTX_X0 + 160]
	ldp	x22, x23, [x0, #CTX_X0 + 176]
	ldp	x24, x25, [x0, #CTX_X0 + 192]
	ldp	x26, x27, [x0, #CTX_X0 + 208]
	ldp	x28, x29, [x0, #CTX_X0 + 224]
	ldr	x30, [x0, #CTX_X0 + 240]
	ldp	x0, x1, [x0, #CTX_X0]
	eret
	sb				/* no speculation past the ERET */
SYM_FUNC_END(axvm_arm64_enter)

/* x0 = exit code, guest x0/x1 saved, SP = the context. */
SYM_CODE_START_LOCAL(axvm_arm64_guest_exit)
	stp	x2, x3, [sp, #CTX_X0 + 16]
	stp	x4, x5, [sp, #CTX_X0 + 32]
	stp	x6, x7, [sp, #CTX_X0 + 48]
	stp	x8, x9, [sp, #CTX_X0 + 64]
	stp	x10, x11, [sp, #CTX_X0 + 80]
	stp	x12, x13, [sp, #CTX_X0 + 96]
	stp	x14, x15, [sp, #CTX_X0 + 112]
	stp	x16, x17, [sp, #CTX_X0 + 128]
	stp	x18, x19, [sp, #CTX_X0 + 144]
	stp	x20, x21, [sp, #CTX_X0 + 160]
	stp	x22, x23, [sp, #CTX_X0 + 176]
	stp	x24, x25, [sp, #CTX_X0 + 192]
	stp	x26, x27, [sp, #CTX_X0 + 208]
	stp	x28, x29, [sp, #CTX_X0 + 224]
	str	x30, [sp, #CTX_X0 + 240]
	mov	x1, sp
	mrs	x2, elr_el2
	mrs	x3, spsr_el2
	stp	x2, x3, [x1, #CTX_PC]
	mrs	x2, esr_el2
	mrs	x3, far_el2
	stp	x2, x3, [x1, #CTX_ESR]
	mrs	x2, hpfar_el2
	str	x2, [x1, #CTX_HPFAR]
	mrs	x2, sp_el0
	str	x2, [x1, #CTX_SP_EL0]
	ldr	x2, [x1, #CTX_HOST_SP_EL0]
	msr	sp_el0, x2

	ldr	x2, [x1, #CTX_HOST_VBAR]
	msr	vbar_el1, x2
	isb
	ldr	x2, [x1, #CTX_HOST_SP]
	mov	sp, x2
	ldp	x18, x19, [x1, #CTX_HOST_X18]
	ldp	x20, x21, [x1, #CTX_HOST_X18 + 16]
	ldp	x22, x23, [x1, #CTX_HOST_X18 + 32]
	ldp	x24, x25, [x1, #CTX_HOST_X18 + 48]
	ldp	x26, x27, [x1, #CTX_HOST_X18 + 64]
	ldp	x28, x29, [x1, #CTX_HOST_X18 + 80]
	ldr	x30, [x1, #CTX_HOST_X18 + 96]
	ret
SYM_CODE_END(axvm_arm64_guest_exit)

/* An exception from the guest: save x0/x1, say which vector, leave. */
.macro guest_vector code
	.align 7
	stp	x0, x1, [sp, #CTX_X0]
	mov	x0, #\code
	b	axvm_arm64_guest_exit
.endm

/*
 * Exceptions at EL2 itself cannot happen while these vectors are installed
 * (DAIF is masked and the code between the vector switch and ERET does not
 * fault); if one did, the CPU stops here rather than run on a corrupt stack.
 */
.macro el2_vector
	.align 7
1:	wfe
	b	1b
.endm

	.align 11
SYM_CODE_START(axvm_arm64_vectors)
	el2_vector			/* current EL, SP_EL0: sync, IRQ, FIQ, SError */
	el2_vector
	el2_vector
	el2_vector
	el2_vector			/* current EL, SP_EL2 */
	el2_vector
	el2_vector
	el2_vector
	guest_vector AXVM_ARM64_EXIT_SYNC	/* lower EL, AArch64 */
	guest_vector AXVM_ARM64_EXIT_IRQ
	guest_vector AXVM_ARM64_EXIT_FIQ
	guest_vector AXVM_ARM64_EXIT_SERROR
	guest_vector AXVM_ARM64_EXIT_SYNC	/* lower EL, AArch32 */
	guest_vector AXVM_ARM64_EXIT_IRQ
	guest_vector AXVM_ARM64_EXIT_FIQ
	guest_vector AXVM_ARM64_EXIT_SERROR
SYM_CODE_END(axvm_arm64_vectors)

/*
 * The guest's FP/SIMD registers, switched around every entry: the host's
 * are safe in its task (kernel_neon_begin() saved them), so these only move
 * the guest's between the registers and its context.
 */
/* void axvm_arm64_fp_load(const struct axvm_arm64_context *ctx) */
SYM_FUNC_START(axvm_arm64_fp_load)
	add	x1, x0, #CTX_FP
	ldp	q0, q1, [x1, #0]
	ldp	q2, q3, [x1, #32]
	ldp	q4, q5, [x1, #64]
	ldp	q6, q7, [x1, #96]
	ldp	q8, q9, [x1, #128]
	ldp	q10, q11, [x1, #160]
	ldp	q12, q13, [x1, #192]
	ldp	q14, q15, [x1, #224]
	ldp	q16, q17, [x1, #256]
	ldp	q18, q19, [x1, #288]
	ldp	q20, q21, [x1, #320]
	ldp	q22, q23, [x1, #352]
	ldp	q24, q25, [x1, #384]
	ldp	q26, q27, [x1, #416]
	ldp	q28, q29, [x1, #448]
	ldp	q30, q31, [x1, #480]
	add	x1, x0, #CTX_FPSR
	ldp	x2, x3, [x1]
	msr	fpsr, x2
	msr	fpcr, x3
	ret
SYM_FUNC_END(axvm_arm64_fp_load)

/* void axvm_arm64_fp_save(struct axvm_arm64_context *ctx) */
SYM_FUNC_START(axvm_arm64_fp_save)
	add	x1, x0, #CTX_FP
	stp	q0, q1, [x1, #0]
	stp	q2, q3, [x1, #32]
	stp	q4, q5, [x1, #64]
	stp	q6, q7, [x1, #96]
	stp	q8, q9, [x1, #128]
	stp	q10, q11, [x1, #160]
	stp	q12, q13, [x1, #192]
	stp	q14, q15, [x1, #224]
	stp	q16, q17, [x1, #256]
	stp	q18, q19, [x1, #288]
	stp	q20, q21, [x1, #320]
	stp	q22, q23, [x1, #352]
	stp	q24, q25, [x1, #384]
	stp	q26, q27, [x1, #416]
	stp	q28, q29, [x1, #448]
	stp	q30, q31, [x1, #480]
	mrs	x2, fpsr
	mrs	x3, fpcr
	add	x1, x0, #CTX_FPSR
	stp	x2, x3, [x1]
	ret
SYM_FUNC_END(axvm_arm64_fp_save)
