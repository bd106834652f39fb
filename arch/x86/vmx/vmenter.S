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

#define GPR(n) ((n) * 8)
#define RAX 0
#define RCX 1
#define RDX 2
#define RBX 3
#define RBP 5
#define RSI 6
#define RDI 7
#define VMCS_HOST_RSP 0x6c14

#ifdef X86_FEATURE_RSB_VMEXIT
#define AXVM_RSB_FEATURE X86_FEATURE_RSB_VMEXIT
#else
#define AXVM_RSB_FEATURE X86_FEATURE_RETPOLINE
#endif

	.text
SYM_FUNC_START(axvm_vmx_vmenter)
	push %rbp
	mov %rsp, %rbp
	push %r15
	push %r14
	push %r13
	push %r12
	push %rbx
	push %rdi		/* 8(%rsp): gprs, needed after the exit */
	push %rsi		/* 0(%rsp): launched */

	mov $VMCS_HOST_RSP, %eax
	vmwrite %rsp, %rax

	mov %rdi, %rax
	mov GPR(RCX)(%rax), %rcx
	mov GPR(RDX)(%rax), %rdx
	mov GPR(RBX)(%rax), %rbx
	mov GPR(RBP)(%rax), %rbp
	mov GPR(RSI)(%rax), %rsi
	mov GPR(RDI)(%rax), %rdi
	mov GPR(8)(%rax), %r8
	mov GPR(9)(%rax), %r9
	mov GPR(10)(%rax), %r10
	mov GPR(11)(%rax), %r11
	mov GPR(12)(%rax), %r12
	mov GPR(13)(%rax), %r13
	mov GPR(14)(%rax), %r14
	mov GPR(15)(%rax), %r15

	/* Clobbers EFLAGS.ZF */
	VM_CLEAR_CPU_BUFFERS

	cmpl $0, (%rsp)
	mov GPR(RAX)(%rax), %rax	/* mov keeps the flags of the cmp */
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
	mov %rcx, GPR(RCX)(%rax)
	mov %rdx, GPR(RDX)(%rax)
	mov %rbx, GPR(RBX)(%rax)
	mov %rbp, GPR(RBP)(%rax)
	mov %rsi, GPR(RSI)(%rax)
	mov %rdi, GPR(RDI)(%rax)
	mov %r8, GPR(8)(%rax)
	mov %r9, GPR(9)(%rax)
	mov %r10, GPR(10)(%rax)
	mov %r11, GPR(11)(%rax)
	mov %r12, GPR(12)(%rax)
	mov %r13, GPR(13)(%rax)
	mov %r14, GPR(14)(%rax)
	mov %r15, GPR(15)(%rax)
	pop GPR(RAX)(%rax)
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
	/* No guest value may linger in a register the host could use speculatively. */
	mov %ebx, %eax
	xor %ecx, %ecx
	xor %edx, %edx
	xor %esi, %esi
	xor %edi, %edi
	xor %r8d, %r8d
	xor %r9d, %r9d
	xor %r10d, %r10d
	xor %r11d, %r11d
	add $16, %rsp
	pop %rbx
	pop %r12
	pop %r13
	pop %r14
	pop %r15
	pop %rbp
	RET

	_ASM_EXTABLE(.Lresume, .Lfault)
	_ASM_EXTABLE(.Llaunch, .Lfault)
SYM_FUNC_END(axvm_vmx_vmenter)
