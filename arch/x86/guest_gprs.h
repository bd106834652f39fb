/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest's general-purpose registers around an entry, for the entry
 * stubs (svm/vmrun.S, vmx/vmenter.S): loaded from and saved to 16 u64 in
 * encoding order (rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8..r15). RAX and
 * RSP are each backend's own business (the VMCB or VMCS holds RSP; RAX is
 * the VMCB address on SVM), as is the register that holds the array.
 */
#ifndef AXVM_X86_GUEST_GPRS_H
#define AXVM_X86_GUEST_GPRS_H

#define AXVM_GPR(n) ((n) * 8)

/* Every GPR but RAX, RSP and \base from the array at \base. */
.macro AXVM_LOAD_GUEST_GPRS base:req
	.ifnc \base, %rcx
	mov AXVM_GPR(1)(\base), %rcx
	.endif
	.ifnc \base, %rdx
	mov AXVM_GPR(2)(\base), %rdx
	.endif
	.ifnc \base, %rbx
	mov AXVM_GPR(3)(\base), %rbx
	.endif
	.ifnc \base, %rbp
	mov AXVM_GPR(5)(\base), %rbp
	.endif
	.ifnc \base, %rsi
	mov AXVM_GPR(6)(\base), %rsi
	.endif
	.ifnc \base, %rdi
	mov AXVM_GPR(7)(\base), %rdi
	.endif
	mov AXVM_GPR(8)(\base), %r8
	mov AXVM_GPR(9)(\base), %r9
	mov AXVM_GPR(10)(\base), %r10
	mov AXVM_GPR(11)(\base), %r11
	mov AXVM_GPR(12)(\base), %r12
	mov AXVM_GPR(13)(\base), %r13
	mov AXVM_GPR(14)(\base), %r14
	mov AXVM_GPR(15)(\base), %r15
.endm

/* Every GPR but RAX and RSP to the array at %rax. */
.macro AXVM_SAVE_GUEST_GPRS
	mov %rcx, AXVM_GPR(1)(%rax)
	mov %rdx, AXVM_GPR(2)(%rax)
	mov %rbx, AXVM_GPR(3)(%rax)
	mov %rbp, AXVM_GPR(5)(%rax)
	mov %rsi, AXVM_GPR(6)(%rax)
	mov %rdi, AXVM_GPR(7)(%rax)
	mov %r8, AXVM_GPR(8)(%rax)
	mov %r9, AXVM_GPR(9)(%rax)
	mov %r10, AXVM_GPR(10)(%rax)
	mov %r11, AXVM_GPR(11)(%rax)
	mov %r12, AXVM_GPR(12)(%rax)
	mov %r13, AXVM_GPR(13)(%rax)
	mov %r14, AXVM_GPR(14)(%rax)
	mov %r15, AXVM_GPR(15)(%rax)
.endm

/* No guest value may linger in a caller-saved register the host could use
 * speculatively (the callee-saved ones are popped over right after). */
.macro AXVM_CLEAR_GUEST_GPRS
	xor %ecx, %ecx
	xor %edx, %edx
	xor %esi, %esi
	xor %edi, %edi
	xor %r8d, %r8d
	xor %r9d, %r9d
	xor %r10d, %r10d
	xor %r11d, %r11d
.endm

/* The host's callee-saved registers around a stub (a frame for the
 * unwinder first), and back after the exit. */
.macro AXVM_PUSH_HOST_GPRS
	push %rbp
	mov %rsp, %rbp
	push %r15
	push %r14
	push %r13
	push %r12
	push %rbx
.endm

.macro AXVM_POP_HOST_GPRS
	pop %rbx
	pop %r12
	pop %r13
	pop %r14
	pop %r15
	pop %rbp
.endm

#endif /* AXVM_X86_GUEST_GPRS_H */
