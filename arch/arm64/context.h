/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The layout of arm64::Context (vcpu.hpp), which switch.S reads
 * and writes by these offsets; vcpu.hpp checks each with a static_assert.
 */
#ifndef AXVM_ARM64_CONTEXT_H
#define AXVM_ARM64_CONTEXT_H

#define CTX_X0 0         /* guest x0-x30 */
#define CTX_PC 248       /* guest PC (ELR_EL2) */
#define CTX_PSTATE 256   /* guest PSTATE (SPSR_EL2) */
#define CTX_HOST_SP 264
#define CTX_HOST_X18 272 /* host x18-x30: callee-saved and the platform register */
#define CTX_HOST_VBAR 376
#define CTX_ESR 384      /* the exit's syndrome, fault address and IPA page */
#define CTX_FAR 392
#define CTX_HPFAR 400
#define CTX_SP_EL0 408   /* the guest's SP_EL0, and the host's (`current`) */
#define CTX_HOST_SP_EL0 416
#define CTX_FP 432       /* guest q0-q31, then FPSR, FPCR */
#define CTX_FPSR (CTX_FP + 512)
#define CTX_FPCR (CTX_FP + 520)
#define CTX_SIZE (CTX_FP + 528)

/* axvm_arm64_enter's return value: which vector the guest left through. */
#define AXVM_ARM64_EXIT_SYNC 0
#define AXVM_ARM64_EXIT_IRQ 1
#define AXVM_ARM64_EXIT_FIQ 2
#define AXVM_ARM64_EXIT_SERROR 3

#endif
