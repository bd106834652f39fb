// SPDX-License-Identifier: GPL-2.0
/*
 * The C half of a VMX guest entry: what needs kernel headers (interrupt
 * state, the FPU, MSRs, segments, descriptor tables) around the stub in
 * vmenter.S, after the kernel's own KVM (arch/x86/kvm/vmx/vmx.c). Host
 * interrupts stay disabled from the last check to the exit; an interrupt
 * that arrives in the guest is an external-interrupt exit (not acknowledged)
 * and is taken by the host at local_irq_enable().
 */
#include <linux/compiler.h>
#include <linux/irqflags.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <asm/apic.h>
#include <asm/cpu_entry_area.h>
#include <asm/cpufeature.h>
#include <asm/debugreg.h>
#include <asm/desc.h>
#include <asm/fsgsbase.h>
#include <asm/msr.h>
#include <asm/msr-index.h>
#include <asm/nmi.h>
#include <asm/segment.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>

#include "../entry_common.h"
#include "entry.h"
#include "vmx_insn.h"

/* vmenter.S: where a VM exit lands (HOST_RIP). */
extern const char axvm_vmx_vmexit[];

/* VM exits restore no LDT: a VMM thread with one (modify_ldt) gets it back. */
static inline u16 axvm_sldt(void)
{
	u16 sel;

	asm volatile("sldt %0" : "=g"(sel));
	return sel;
}

void axvm_vmx_set_host_state(struct axvm_vmx_msr_entry *host_msrs)
{
	static const u32 msrs[AXVM_VMX_NR_MSRS] = {MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK,
						   MSR_KERNEL_GS_BASE};
	int cpu = smp_processor_id();
	struct desc_ptr idt;
	u64 v;
	int i;

	axvm_vmwrite(VMCS_HOST_RIP, (unsigned long)axvm_vmx_vmexit);
	axvm_vmwrite(VMCS_HOST_CR0, read_cr0() & ~X86_CR0_TS);
	axvm_vmwrite(VMCS_HOST_CS_SELECTOR, __KERNEL_CS);
	axvm_vmwrite(VMCS_HOST_SS_SELECTOR, __KERNEL_DS);
	axvm_vmwrite(VMCS_HOST_DS_SELECTOR, 0);
	axvm_vmwrite(VMCS_HOST_ES_SELECTOR, 0);
	axvm_vmwrite(VMCS_HOST_TR_SELECTOR, GDT_ENTRY_TSS * 8);
	axvm_vmwrite(VMCS_HOST_TR_BASE, (unsigned long)&get_cpu_entry_area(cpu)->tss.x86_tss);
	axvm_vmwrite(VMCS_HOST_GDTR_BASE, (unsigned long)get_current_gdt_ro());
	store_idt(&idt);
	axvm_vmwrite(VMCS_HOST_IDTR_BASE, idt.address);
	rdmsrl(MSR_IA32_SYSENTER_CS, v);
	axvm_vmwrite(VMCS_HOST_SYSENTER_CS, v);
	rdmsrl(MSR_IA32_SYSENTER_ESP, v);
	axvm_vmwrite(VMCS_HOST_SYSENTER_ESP, v);
	rdmsrl(MSR_IA32_SYSENTER_EIP, v);
	axvm_vmwrite(VMCS_HOST_SYSENTER_EIP, v);
	rdmsrl(MSR_GS_BASE, v); /* this CPU's per-CPU base while in the kernel */
	axvm_vmwrite(VMCS_HOST_GS_BASE, v);
	rdmsrl(MSR_EFER, v);
	axvm_vmwrite(VMCS_HOST_EFER, v);
	rdmsrl(MSR_IA32_CR_PAT, v);
	axvm_vmwrite(VMCS_HOST_PAT, v);
	for (i = 0; i < AXVM_VMX_NR_MSRS; i++) {
		host_msrs[i].index = msrs[i];
		host_msrs[i].reserved = 0;
		rdmsrl(msrs[i], host_msrs[i].value);
	}
}

int axvm_vmx_enter(struct axvm_vmx_entry *e)
{
	u16 fs_sel, gs_sel, ds_sel, es_sel, ldt_sel;
	unsigned long cr3, cr4, host_debugctl;
	int ret;

	local_irq_disable();
	/* An interrupt queued after the vCPU decided what to inject: go back
	 * and decide again. A later one finds interrupts off here, so its
	 * kick IPI makes the guest exit at once. */
	if (READ_ONCE(*e->kick)) {
		local_irq_enable();
		return AXVM_VMX_KICKED;
	}
	axvm_x86_before_entry(e->vm_serial);
	/* A stage-2 change since this vCPU last entered: flush what the CPU
	 * derived from the old EPT (see Stage2::invalidate). */
	if (*e->stage2_generation != *e->seen_generation || e->flush_ept) {
		*e->seen_generation = *e->stage2_generation;
		axvm_invept(1, e->eptp);
	}
	if (e->flush_vpid && e->vpid) /* VPID 0: every entry and exit flushes */
		axvm_invvpid(1, e->vpid);

	/* Host state that changes between entries: the address space and CR4
	 * (PCID, the kernel's CR4 shadow), the thread's FS base and selectors,
	 * its user GS base (restored by the VM-exit MSR area). */
	cr3 = __read_cr3();
	if (cr3 != *e->host_cr3) {
		axvm_vmwrite(VMCS_HOST_CR3, cr3);
		*e->host_cr3 = cr3;
	}
	cr4 = cr4_read_shadow();
	if (cr4 != *e->host_cr4) {
		axvm_vmwrite(VMCS_HOST_CR4, cr4);
		*e->host_cr4 = cr4;
	}
	savesegment(fs, fs_sel);
	savesegment(gs, gs_sel);
	savesegment(ds, ds_sel);
	savesegment(es, es_sel);
	ldt_sel = axvm_sldt();
	/* A selector with RPL or TI set cannot be a host selector: load 0 and
	 * put it back after the exit, as KVM does. */
	axvm_vmwrite(VMCS_HOST_FS_SELECTOR, (fs_sel & 7) ? 0 : fs_sel);
	axvm_vmwrite(VMCS_HOST_GS_SELECTOR, (gs_sel & 7) ? 0 : gs_sel);
	axvm_vmwrite(VMCS_HOST_FS_BASE, x86_fsbase_read_cpu());
	rdmsrl(MSR_KERNEL_GS_BASE, e->host_msrs[AXVM_VMX_MSR_KERNEL_GS_BASE].value);
	if (e->preemption_timer)
		axvm_vmwrite(VMCS_PREEMPTION_TIMER, e->preemption_timer);

	if (axvm_trace_entry_enabled())
		axvm_trace_entry(e->vcpu_id, axvm_vmread(VMCS_GUEST_RIP));
	/* L1TF: nothing the host touched may be left in L1D for the guest. */
	if (boot_cpu_has_bug(X86_BUG_L1TF) && boot_cpu_has(X86_FEATURE_FLUSH_L1D))
		wrmsrl(MSR_IA32_FLUSH_CMD, L1D_FLUSH);
	if (native_read_cr2() != *e->cr2)
		native_write_cr2(*e->cr2);
	/* Every VM exit clears IA32_DEBUGCTL (SDM 28.3.3): bus-lock detection,
	 * LBR and BTF would be lost for the host without this copy. */
	host_debugctl = get_debugctlmsr();
	axvm_x86_load_guest_xcr0(e->guest_xcr0, e->host_xcr0);

	ret = axvm_vmx_vmenter(e->gprs, e->launched);

	axvm_x86_load_host_xcr0(e->guest_xcr0, e->host_xcr0, e->xcr0_seen);
	if (host_debugctl)
		update_debugctlmsr(host_debugctl);
	*e->cr2 = native_read_cr2();
	/* What the exit set to fixed values: the GDT limit (0xffff), the TSS
	 * limit (0x67: the I/O bitmap), LDT and data segments. */
	load_fixmap_gdt(raw_smp_processor_id());
	invalidate_tss_limit();
	if (ldt_sel)
		asm volatile("lldt %0" : : "rm"(ldt_sel));
	if (ds_sel)
		loadsegment(ds, ds_sel);
	if (es_sel)
		loadsegment(es, es_sel);
	if (fs_sel & 7)
		loadsegment(fs, fs_sel);
	if (gs_sel & 7)
		load_gs_index(gs_sel);
	axvm_x86_after_exit();
	if (ret == 0) {
		u32 reason = (u32)axvm_vmread(VMCS_EXIT_REASON);
		u32 info = (u32)axvm_vmread(VMCS_EXIT_INTR_INFO);

		/* An NMI for the host arrived in the guest and made it exit:
		 * raise it again here, where the host's handler takes it. */
		if ((reason & 0xffff) == 0 && (info & 0x80000700u) == 0x80000200u)
			apic->send_IPI_mask(cpumask_of(raw_smp_processor_id()), NMI_VECTOR);
		/* A machine check in the guest, or one that made the entry fail,
		 * is the host's (KVM's kvm_machine_check): its handler, now. */
		if ((reason & 0xffff) == AXVM_VMX_EXIT_MCE_DURING_ENTRY ||
		    ((reason & 0xffff) == 0 && (info & 0x800007ffu) == (0x80000300u | 18)))
			axvm_x86_machine_check();
		if (axvm_trace_exit_enabled())
			axvm_trace_exit(e->vcpu_id, axvm_vmread(VMCS_GUEST_RIP), AXVM_TRACE_VMX_EXIT + (reason & 0xffff),
					axvm_vmread(VMCS_EXIT_QUALIFICATION), axvm_vmread(VMCS_GUEST_PHYSICAL_ADDRESS));
	}
	local_irq_enable();
	if (ret == 2)
		return -EIO;
	return ret ? AXVM_VMX_VMFAIL : 0;
}
