/* SPDX-License-Identifier: GPL-2.0 */
/*
 * int axvm_svm_vmrun(u64 vmcb_pa, struct axvm_svm_gprs *gprs, u64 host_save_pa)
 *
 * VMRUN itself switches only RAX, RSP, RIP, RFLAGS, the control registers and
 * the segment state in the VMCB (APM 15.5). VMSAVE/VMLOAD move the rest of
 * the "hidden" state (FS, GS, TR, LDTR, KernelGsBase, STAR/LSTAR/CSTAR/SFMASK,
 * SYSENTER): the host's goes to a per-CPU page, the guest's comes from its
 * VMCB. Between the two VMLOADs GS base is the guest's, so nothing here may
 * touch per-CPU data; the return-stack and RET mitigations the kernel's KVM
 * applies on exit therefore come after the host VMLOAD.
 */
#include <linux/linkage.h>
#include <linux/version.h>
#include <asm/asm.h>
#include <asm/nospec-branch.h>

#include "../guest_gprs.h"

	.text
SYM_FUNC_START(axvm_svm_vmrun)
	AXVM_PUSH_HOST_GPRS
	/* Needed after the exit, when every other register is the guest's. */
	push %rdx		/* 16(%rsp): host_save_pa */
	push %rsi		/*  8(%rsp): gprs */
	push %rdi		/*  0(%rsp): vmcb_pa */

	mov %rdx, %rax
1:	vmsave %rax
	mov %rdi, %rax
2:	vmload %rax

	/* Guest registers; RAX stays the VMCB address VMRUN needs. */
	AXVM_LOAD_GUEST_GPRS %rsi
	mov AXVM_GPR(6)(%rsi), %rsi

	/* Clobbers EFLAGS.ZF */
	VM_CLEAR_CPU_BUFFERS

3:	vmrun %rax
	/* #VMEXIT: RAX (the VMCB address) and RSP are the host's again. */
	mov 8(%rsp), %rax
	AXVM_SAVE_GUEST_GPRS

	mov 0(%rsp), %rax
4:	vmsave %rax
	mov 16(%rsp), %rax
5:	vmload %rax

	/* Per-CPU data is reachable again: now the exit mitigations. */
#if defined(CONFIG_RETPOLINE) || defined(CONFIG_MITIGATION_RETPOLINE)
	FILL_RETURN_BUFFER %rax, RSB_CLEAR_LOOPS, X86_FEATURE_RETPOLINE
#endif
#ifdef UNTRAIN_RET_VM
	UNTRAIN_RET_VM
#else
	UNTRAIN_RET
	ALTERNATIVE "", "call entry_ibpb", X86_FEATURE_IBPB_ON_VMEXIT
#endif

	xor %eax, %eax
.Lout:
	AXVM_CLEAR_GUEST_GPRS
	add $24, %rsp
	AXVM_POP_HOST_GPRS
	RET

	/* An SVM instruction faulted: SVM was switched off under us. */
.Lfault_guest_loaded:
	mov 16(%rsp), %rax
6:	vmload %rax
.Lfault:
	mov $1, %eax
	jmp .Lout

	_ASM_EXTABLE(1b, .Lfault)
	_ASM_EXTABLE(2b, .Lfault)
	_ASM_EXTABLE(3b, .Lfault_guest_loaded)
	_ASM_EXTABLE(4b, .Lfault_guest_loaded)
	_ASM_EXTABLE(5b, .Lfault)
	_ASM_EXTABLE(6b, .Lfault)
SYM_FUNC_END(axvm_svm_vmrun)
