/* SPDX-License-Identifier: GPL-2.0 */
/*
 * int axvm_vmx_vmenter(struct axvm_vmx_gprs *gprs, int launched)
 *
 * VMLAUNCH (first entry on a clear VMCS) or VMRESUME with the guest's GPRs;
 * the VMCS switches RSP, RIP, RFLAGS and the rest. A VM exit lands at
 * axvm_vmx_vmexit (HOST_RIP) with RSP = HOST_RSP, written here right before
 * the entry. The mitigations around it are the kernel KVM's: CPU buffers
 * cleared before entry; after the exit, before any RET, the return stack
 * filled and, with legacy IBRS, SPEC_CTRL written again (a VM exit does not
 * restore its effect).
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/msr-index.h>
#include <asm/nospec-branch.h>
#include <asm/percpu.h>
#include <asm/unwind_hints.h>

#include "../guest_gprs.h"

#define VMCS_HOST_RSP 0x6c14

#ifdef X86_FEATURE_RSB_VMEXIT
#define AXVM_RSB_FEATURE X86_FEATURE_RSB_VMEXIT
#else
#define AXVM_RSB_FEATURE X86_FEATURE_RETPOLINE
#endif

	.text
SYM_FUNC_START(axvm_vmx_vmenter)
	AXVM_PUSH_HOST_GPRS
	push %rdi		/* 8(%rsp): gprs, needed after the exit */
	push %rsi		/* 0(%rsp): launched */

	mov $VMCS_HOST_RSP, %eax
	vmwrite %rsp, %rax

	mov %rdi, %rax
	AXVM_LOAD_GUEST_GPRS %rax

	/* Clobbers EFLAGS.ZF */
	VM_CLEAR_CPU_BUFFERS

	cmpl $0, (%rsp)
	mov AXVM_GPR(0)(%rax), %rax	/* mov keeps the flags of the cmp */
	je .Llaunch

	/* A successful entry comes back at axvm_vmx_vmexit, with this
	 * frame: objtool is told to resume there with the state saved here. */
	UNWIND_HINT_SAVE
.Lresume:
	vmresume
	jmp .Lvmfail
.Llaunch:
	vmlaunch
	jmp .Lvmfail

SYM_INNER_LABEL(axvm_vmx_vmexit, SYM_L_GLOBAL)
	UNWIND_HINT_RESTORE
	ENDBR
	push %rax		/* the guest's RAX; gprs is now at 16(%rsp) */
	mov 16(%rsp), %rax
	AXVM_SAVE_GUEST_GPRS
	pop AXVM_GPR(0)(%rax)
	xor %ebx, %ebx
	jmp .Lhost

.Lvmfail:			/* RSP is ours; every other register is the guest's */
	mov $1, %ebx
	jmp .Lhost
.Lfault:			/* VMLAUNCH/VMRESUME faulted: VMX is off */
	mov $2, %ebx

.Lhost:
	/* Before the first RET: no guest-trained return prediction (the
	 * one-entry PBRSB fill where eIBRS needs only that), and legacy
	 * IBRS in force again. */
#ifdef X86_FEATURE_RSB_VMEXIT_LITE
	FILL_RETURN_BUFFER %rax, RSB_CLEAR_LOOPS, AXVM_RSB_FEATURE, X86_FEATURE_RSB_VMEXIT_LITE
#else
	FILL_RETURN_BUFFER %rax, RSB_CLEAR_LOOPS, AXVM_RSB_FEATURE
#endif
	ALTERNATIVE "jmp 901f", "", X86_FEATURE_KERNEL_IBRS
	mov $MSR_IA32_SPEC_CTRL, %ecx
	mov PER_CPU_VAR(x86_spec_ctrl_current), %eax
	mov PER_CPU_VAR(x86_spec_ctrl_current + 4), %edx
	wrmsr
901:
#ifdef X86_FEATURE_CLEAR_BHB_LOOP_ON_VMEXIT
	/* Branch history the guest left must not steer the host (BHI). */
	CLEAR_BRANCH_HISTORY_VMEXIT
#endif
	mov %ebx, %eax
	AXVM_CLEAR_GUEST_GPRS
	add $16, %rsp
	AXVM_POP_HOST_GPRS
	RET

	_ASM_EXTABLE(.Lresume, .Lfault)
	_ASM_EXTABLE(.Llaunch, .Lfault)
SYM_FUNC_END(axvm_vmx_vmenter)
