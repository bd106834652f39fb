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

#define GPR(n) ((n) * 8)
#define RCX 1
#define RDX 2
#define RBX 3
#define RBP 5
#define RSI 6
#define RDI 7

	.text
SYM_FUNC_START(axvm_svm_vmrun)
	push %rbp
	mov %rsp, %rbp
	push %r15
	push %r14
	push %r13
	push %r12
	push %rbx
	/* Needed after the exit, when every other register is the guest's. */
	push %rdx		/* 16(%rsp): host_save_pa */
	push %rsi		/*  8(%rsp): gprs */
	push %rdi		/*  0(%rsp): vmcb_pa */

	mov %rdx, %rax
1:	vmsave %rax
	mov %rdi, %rax
2:	vmload %rax

	/* Guest registers; RAX stays the VMCB address VMRUN needs. */
	mov GPR(RCX)(%rsi), %rcx
	mov GPR(RDX)(%rsi), %rdx
	mov GPR(RBX)(%rsi), %rbx
	mov GPR(RBP)(%rsi), %rbp
	mov GPR(RDI)(%rsi), %rdi
	mov GPR(8)(%rsi), %r8
	mov GPR(9)(%rsi), %r9
	mov GPR(10)(%rsi), %r10
	mov GPR(11)(%rsi), %r11
	mov GPR(12)(%rsi), %r12
	mov GPR(13)(%rsi), %r13
	mov GPR(14)(%rsi), %r14
	mov GPR(15)(%rsi), %r15
	mov GPR(RSI)(%rsi), %rsi

	/* Clobbers EFLAGS.ZF */
	VM_CLEAR_CPU_BUFFERS

3:	vmrun %rax
	/* #VMEXIT: RAX (the VMCB address) and RSP are the host's again. */
	mov 8(%rsp), %rax
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
	/* No guest value may linger in a register the host could use speculatively. */
	xor %ecx, %ecx
	xor %edx, %edx
	xor %esi, %esi
	xor %edi, %edi
	xor %r8d, %r8d
	xor %r9d, %r9d
	xor %r10d, %r10d
	xor %r11d, %r11d
	add $24, %rsp
	pop %rbx
	pop %r12
	pop %r13
	pop %r14
	pop %r15
	pop %rbp
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
