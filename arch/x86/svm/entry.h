/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One guest entry on SVM, shared by the C++ backend (svm_vcpu.cpp) and its
 * C half (entry.c, vmrun.S). Plain C with the boundary's types, so both
 * languages read it the same way.
 */
#ifndef AXVM_SVM_ENTRY_H
#define AXVM_SVM_ENTRY_H

#include <axvm/boundary.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Guest GPRs in x86 encoding order (rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi,
 * r8..r15). RAX and RSP live in the VMCB; the stub skips their slots. */
struct axvm_svm_gprs {
	axvm_u64 r[16];
};

struct axvm_svm_entry {
	axvm_u64 vmcb_pa;
	axvm_u64 host_save_pa;	   /* this CPU's page for VMSAVE of host state */
	struct axvm_svm_gprs *gprs;
	axvm_u64 vm_serial;	   /* the VM's Vm::serial(): a new one here means IBPB */
	axvm_u8 *tlb_control;	   /* the VMCB's TLB_CONTROL byte */
	axvm_u8 tlb_flush;	   /* the value that flushes this guest's ASID */
	const axvm_u64 *stage2_generation; /* Stage2::generation() */
	axvm_u64 *seen_generation;	   /* the vCPU's copy at its last entry */
	const axvm_u32 *kick;		   /* set: an interrupt was queued since the vCPU decided */
	const void *vmcb;		   /* for the axvm_entry/axvm_exit tracepoints */
	axvm_u64 guest_xcr0, host_xcr0;	   /* guest_xcr0 0: no switch (X86Vcpu::entry_xcr0) */
	axvm_u64 *xcr0_seen;		   /* out: the guest's XCR0 at the exit */
	axvm_u64 guest_tsc_aux;		   /* what RDPID reads in the guest */
	axvm_u32 vcpu_id;
};

/* Where the tracepoints find the guest's RIP and the exit in the VMCB
 * (APM appendix B; vmcb.hpp checks them against its layout). */
#define AXVM_VMCB_EXIT_CODE  0x070
#define AXVM_VMCB_EXIT_INFO1 0x078
#define AXVM_VMCB_EXIT_INFO2 0x080
#define AXVM_VMCB_RIP        0x578
#define AXVM_SVM_EXIT_MC     0x052 /* the #MC exception intercept */

/* Enters the guest once: 0 after a #VMEXIT (the exit code is in the VMCB),
 * AXVM_SVM_KICKED if it gave up before VMRUN because *kick was set,
 * -EIO if SVM was switched off under us or an SVM instruction faulted. */
#define AXVM_SVM_KICKED 1
int axvm_svm_enter(struct axvm_svm_entry *entry);

/* vmrun.S: VMSAVE host, VMLOAD guest, VMRUN, VMSAVE guest, VMLOAD host.
 * 0, or 1 if one of them faulted. GIF must be clear. */
int axvm_svm_vmrun(axvm_u64 vmcb_pa, struct axvm_svm_gprs *gprs, axvm_u64 host_save_pa);

#ifdef __cplusplus
}
#endif

#endif /* AXVM_SVM_ENTRY_H */
