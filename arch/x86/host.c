// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel services of the x86 backends (arch/x86/host.h, entry_common.h):
 * the guest's FPU state through the kernel's guest FPU API, split-lock #AC,
 * host machine checks, and the branch-predictor barrier between VMs.
 */
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <asm/cpu.h>
#include <asm/cpufeature.h>
#include <asm/fpu/api.h>
#include <asm/fpu/xcr.h>
#include <asm/mce.h>
#include <asm/tsc.h>

#include "entry_common.h"
#include "host.h"

/* The guest FPU API (fpu_alloc_guest_fpstate, fpu_swap_kvm_fpstate) is
 * there only in kernels configured with KVM; the KVM modules need not be
 * loaded, nor even built in. */
#if !IS_ENABLED(CONFIG_KVM)
#error "axvm needs a kernel configured with CONFIG_KVM (=m is enough) for the kernel's guest FPU API"
#endif

DEFINE_PER_CPU(u64, axvm_x86_last_vm);
DEFINE_PER_CPU(u64, axvm_x86_vm_switch_count);

struct axvm_x86_fpu {
	struct fpu_guest guest;
};

struct axvm_x86_fpu *axvm_x86_fpu_create(void)
{
	struct axvm_x86_fpu *fpu = kzalloc(sizeof(*fpu), GFP_KERNEL_ACCOUNT);

	if (fpu && !fpu_alloc_guest_fpstate(&fpu->guest)) {
		kfree(fpu);
		return NULL;
	}
	return fpu;
}

void axvm_x86_fpu_destroy(struct axvm_x86_fpu *fpu)
{
	if (!fpu)
		return;
	fpu_free_guest_fpstate(&fpu->guest);
	kfree(fpu);
}

/*
 * A kernel thread's registers are not saved when it is switched out (the
 * kernel keeps no FPU state for it), so the guest's could not be either:
 * for such a caller nothing is switched (see host.h).
 */
void axvm_x86_fpu_enter(struct axvm_x86_fpu *fpu)
{
	if (!(current->flags & PF_KTHREAD))
		fpu_swap_kvm_fpstate(&fpu->guest, true);
}

void axvm_x86_fpu_leave(struct axvm_x86_fpu *fpu)
{
	if (!(current->flags & PF_KTHREAD))
		fpu_swap_kvm_fpstate(&fpu->guest, false);
}

void axvm_x86_fpu_get_xsave(struct axvm_x86_fpu *fpu, void *buf, axvm_u32 size, axvm_u64 xfeatures)
{
	/* PKRU 0: guests get no protection keys (CR4.PKE is refused). */
	fpu_copy_guest_fpstate_to_uabi(&fpu->guest, buf, size, xfeatures, 0);
}

int axvm_x86_fpu_set_xsave(struct axvm_x86_fpu *fpu, const void *buf, axvm_u64 xfeatures)
{
	u32 pkru = 0;

	return fpu_copy_uabi_to_guest_fpstate(&fpu->guest, buf, xfeatures, &pkru);
}

axvm_u64 axvm_x86_host_xcr0(void)
{
	/* The kernel sets the same XCR0 on every CPU at boot and never
	 * changes it. */
	return boot_cpu_has(X86_FEATURE_OSXSAVE) ? xgetbv(XCR_XFEATURE_ENABLED_MASK) : 0;
}

int axvm_x86_split_lock(axvm_u64 rip)
{
	if (!boot_cpu_has(X86_FEATURE_SPLIT_LOCK_DETECT))
		return 0;
	return handle_guest_split_lock(rip);
}

/* KVM's kvm_machine_check(): the handler as if the #MC had come in user mode. */
void axvm_x86_machine_check(void)
{
#ifdef CONFIG_X86_MCE
	struct pt_regs regs = {
		.cs = 3, /* fake user mode */
		.flags = X86_EFLAGS_IF,
	};

	do_machine_check(&regs);
#endif
}

axvm_u64 axvm_x86_host_ucode_rev(void)
{
	u64 rev = 0;

	if (rdmsrl_safe(MSR_IA32_UCODE_REV, &rev))
		rev = 0;
	return rev;
}

axvm_u32 axvm_x86_tsc_khz(void)
{
	return tsc_khz;
}

axvm_u64 axvm_x86_vm_switches(void)
{
	u64 sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += per_cpu(axvm_x86_vm_switch_count, cpu);
	return sum;
}
