/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What every x86 guest entry does around the backend's own (svm/entry.c,
 * vmx/entry.c), with interrupts off; after the kernel's KVM
 * (vcpu_enter_guest, svm_vcpu_load, vmx_vcpu_load_vmcs).
 */
#ifndef AXVM_X86_ENTRY_COMMON_H
#define AXVM_X86_ENTRY_COMMON_H

#include <linux/percpu.h>
#include <linux/sched.h>
#include <asm/debugreg.h>
#include <asm/fpu/api.h>
#include <asm/fpu/xcr.h>
#include <asm/nospec-branch.h>

/* The VM (its serial number, Vm::serial) whose vCPU last entered on a CPU. */
DECLARE_PER_CPU(u64, axvm_x86_last_vm);
DECLARE_PER_CPU(u64, axvm_x86_vm_switch_count);

/* A machine check the guest's exit reported: the host's handler takes it. */
void axvm_x86_machine_check(void);

static __always_inline void axvm_x86_before_entry(u64 vm_serial)
{
	/* The guest's FPU state went back to memory while the thread slept
	 * (axvm_x86_fpu_enter made it the thread's): into the registers. */
	if (!(current->flags & PF_KTHREAD) && test_thread_flag(TIF_NEED_FPU_LOAD))
		switch_fpu_return();
	/* Another VM's vCPU ran here last: nothing it taught the indirect
	 * branch predictor may steer this guest (or the reverse). */
	if (this_cpu_read(axvm_x86_last_vm) != vm_serial) {
		this_cpu_write(axvm_x86_last_vm, vm_serial);
		this_cpu_inc(axvm_x86_vm_switch_count);
		indirect_branch_prediction_barrier();
	}
}

/*
 * The guest's XCR0 around its entry (@xcr0 0: the guest has no CR4.OSXSAVE,
 * so it cannot touch XCR0); KVM's kvm_load_guest_xsave_state and
 * kvm_load_host_xsave_state. After the exit the value is read back rather
 * than assumed: an emulator that does not honour the XSETBV intercept
 * (QEMU's TCG) lets the guest change XCR0 itself, and the host must get
 * its own back whatever the guest did. *@seen: the guest's XCR0 at exit.
 */
static __always_inline void axvm_x86_load_guest_xcr0(u64 xcr0, u64 host_xcr0)
{
	if (xcr0 && xcr0 != host_xcr0)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, xcr0);
}

static __always_inline void axvm_x86_load_host_xcr0(u64 xcr0, u64 host_xcr0, u64 *seen)
{
	u64 now;

	if (!xcr0)
		return;
	now = xgetbv(XCR_XFEATURE_ENABLED_MASK);
	*seen = now;
	if (now != host_xcr0)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, host_xcr0);
}

static __always_inline void axvm_x86_after_exit(void)
{
	/* A VM exit leaves DR7 with breakpoints off (APM 15.5.1, SDM 28.5.1). */
	if (hw_breakpoint_active())
		hw_breakpoint_restore();
}

#endif /* AXVM_X86_ENTRY_COMMON_H */
