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
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <asm/cpufeature.h>
#include <asm/msr.h>
#include <asm/msr-index.h>

#include "../entry_common.h"
#include "entry.h"

static inline u64 vmcb_field(const struct axvm_svm_entry *e, unsigned int offset)
{
	return *(const u64 *)((const u8 *)e->vmcb + offset);
}

static inline void axvm_clgi(void)
{
	asm volatile("clgi" ::: "memory");
}

static inline void axvm_stgi(void)
{
	asm volatile("stgi" ::: "memory");
}

/*
 * The host's TSC_AUX (Linux keeps its CPU and node number there for
 * getcpu()), read on a CPU's first entry; bit 63 says it was read. A guest
 * must never see it: RDPID cannot be intercepted, and QEMU ignores the RDTSCP
 * intercept, so the guest's own value (its TSC_AUX MSR) is in the MSR while
 * it runs, as KVM does. The kernel's own entry code does not use RDPID for
 * that reason (paranoid_entry reads the CPU with LSL).
 */
#define AXVM_TSC_AUX_KNOWN (1ull << 63)
static DEFINE_PER_CPU(u64, axvm_host_tsc_aux);

static u64 axvm_host_tsc_aux_value(void)
{
	u64 aux = this_cpu_read(axvm_host_tsc_aux);

	if (!(aux & AXVM_TSC_AUX_KNOWN)) {
		aux = 0;
		if (boot_cpu_has(X86_FEATURE_RDTSCP) || boot_cpu_has(X86_FEATURE_RDPID))
			rdmsrl(MSR_TSC_AUX, aux);
		this_cpu_write(axvm_host_tsc_aux, aux | AXVM_TSC_AUX_KNOWN);
	}
	return aux & ~AXVM_TSC_AUX_KNOWN;
}

static inline bool axvm_has_tsc_aux(void)
{
	return boot_cpu_has(X86_FEATURE_RDTSCP) || boot_cpu_has(X86_FEATURE_RDPID);
}

int axvm_svm_enter(struct axvm_svm_entry *e)
{
	int faulted = 0;
	u64 efer, host_tsc_aux;

	local_irq_disable();
	/* Another hypervisor's emergency path may have switched SVM off:
	 * VMRUN would #UD. Checked with interrupts off, right before use. */
	rdmsrl(MSR_EFER, efer);
	if (!(efer & EFER_SVME)) {
		local_irq_enable();
		return -EIO;
	}
	/* An interrupt queued after the vCPU decided what to inject: go back
	 * and decide again. A later one finds GIF clear and IF set, so its
	 * kick IPI makes the guest exit at once. */
	if (READ_ONCE(*e->kick)) {
		local_irq_enable();
		return AXVM_SVM_KICKED;
	}
	/* A stage-2 change since this vCPU last entered: flush its ASID
	 * (see Stage2::invalidate for why this happens with interrupts off). */
	if (*e->stage2_generation != *e->seen_generation) {
		*e->seen_generation = *e->stage2_generation;
		if (!*e->tlb_control) /* a stronger flush may be set already */
			*e->tlb_control = e->tlb_flush;
	}
	axvm_x86_before_entry(e->vm_serial);
	if (axvm_trace_entry_enabled())
		axvm_trace_entry(e->vcpu_id, vmcb_field(e, AXVM_VMCB_RIP));
	/* RDPID cannot be intercepted: it reads the guest's TSC_AUX from the
	 * MSR itself, never the host's CPU number (RDTSCP is intercepted). */
	host_tsc_aux = axvm_host_tsc_aux_value();
	if (axvm_has_tsc_aux() && host_tsc_aux != e->guest_tsc_aux)
		wrmsrl(MSR_TSC_AUX, e->guest_tsc_aux);
	axvm_x86_load_guest_xcr0(e->guest_xcr0, e->host_xcr0);
	axvm_clgi();
	raw_local_irq_enable();

	faulted = axvm_svm_vmrun(e->vmcb_pa, e->gprs, e->host_save_pa);

	raw_local_irq_disable();
	axvm_stgi();
	/* A machine check in the guest is the host's (KVM's svm_handle_mce):
	 * its handler runs here, interrupts still off, as if from user mode. */
	if (!faulted && vmcb_field(e, AXVM_VMCB_EXIT_CODE) == AXVM_SVM_EXIT_MC)
		axvm_x86_machine_check();
	axvm_x86_load_host_xcr0(e->guest_xcr0, e->host_xcr0, e->xcr0_seen);
	if (axvm_has_tsc_aux() && host_tsc_aux != e->guest_tsc_aux)
		wrmsrl(MSR_TSC_AUX, host_tsc_aux);
	if (!faulted && axvm_trace_exit_enabled())
		axvm_trace_exit(e->vcpu_id, vmcb_field(e, AXVM_VMCB_RIP), vmcb_field(e, AXVM_VMCB_EXIT_CODE),
				vmcb_field(e, AXVM_VMCB_EXIT_INFO1), vmcb_field(e, AXVM_VMCB_EXIT_INFO2));
	axvm_x86_after_exit();
	local_irq_enable();
	return faulted ? -EIO : 0;
}
