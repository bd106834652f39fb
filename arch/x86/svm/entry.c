// SPDX-License-Identifier: GPL-2.0
/*
 * The C half of an SVM guest entry: what needs kernel headers (interrupt
 * state, the FPU, MSRs, debug registers) around the stub in vmrun.S. The
 * order follows the kernel's own KVM (arch/x86/kvm/svm/svm.c): interrupts
 * off, GIF cleared, then IF set again so that a host interrupt arriving in
 * the guest becomes an INTR #VMEXIT rather than being taken in the guest's
 * context (APM 15.17); after the exit GIF is set with IF clear, and the
 * interrupt is taken by the host when local_irq_enable() runs.
 */
#include <linux/compiler.h>
#include <linux/irqflags.h>
#include <linux/preempt.h>
#include <asm/debugreg.h>
#include <asm/fpu/api.h>
#include <asm/msr.h>
#include <asm/msr-index.h>

#include "entry.h"

static inline void axvm_clgi(void)
{
	asm volatile("clgi" ::: "memory");
}

static inline void axvm_stgi(void)
{
	asm volatile("stgi" ::: "memory");
}

int axvm_svm_enter(struct axvm_svm_entry *e)
{
	int faulted = 0;
	u64 efer;

	/* The guest's x87/SSE state replaces the VMM thread's, which the
	 * kernel saves here and restores on the way back to userspace. */
	kernel_fpu_begin();
	asm volatile("fxrstor64 %0" : : "m"(*(const char (*)[512])e->fpu));

	local_irq_disable();
	/* Another hypervisor's emergency path may have switched SVM off:
	 * VMRUN would #UD. Checked with interrupts off, right before use. */
	rdmsrl(MSR_EFER, efer);
	if (!(efer & EFER_SVME)) {
		local_irq_enable();
		kernel_fpu_end();
		return -EIO;
	}
	/* An interrupt queued after the vCPU decided what to inject: go back
	 * and decide again. A later one finds GIF clear and IF set, so its
	 * kick IPI makes the guest exit at once. */
	if (READ_ONCE(*e->kick)) {
		local_irq_enable();
		kernel_fpu_end();
		return AXVM_SVM_KICKED;
	}
	/* A stage-2 change since this vCPU last entered: flush its ASID
	 * (see Stage2::invalidate for why this happens with interrupts off). */
	if (*e->stage2_generation != *e->seen_generation) {
		*e->seen_generation = *e->stage2_generation;
		if (!*e->tlb_control) /* a stronger flush may be set already */
			*e->tlb_control = e->tlb_flush;
	}
	axvm_clgi();
	raw_local_irq_enable();

	faulted = axvm_svm_vmrun(e->vmcb_pa, e->gprs, e->host_save_pa);

	raw_local_irq_disable();
	axvm_stgi();
	/* #VMEXIT leaves DR7 with breakpoints off (APM 15.5.1). */
	if (hw_breakpoint_active())
		hw_breakpoint_restore();
	local_irq_enable();

	asm volatile("fxsave64 %0" : "=m"(*(char (*)[512])e->fpu));
	kernel_fpu_end();
	return faulted ? -EIO : 0;
}
