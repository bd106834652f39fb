/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The end of a 64-bit interrupt handler whose interrupt the guest waits for
 * with "sti; hlt". QEMU before 9.1 drops STI's shadow when it resumes its
 * guest after a host interrupt (see tests/vmm/kvm_irq.c), so the interrupt
 * can come between the STI and the HLT; returning to that HLT could then
 * wait forever, on KVM as on axvm. iretq_past_hlt LABEL returns past the
 * one-byte HLT at LABEL instead, and like IRETQ elsewhere.
 */
.macro iretq_past_hlt hlt
	push %rax
	lea \hlt(%rip), %rax
	cmp %rax, 8(%rsp)
	jne .Lreturn\@
	incq 8(%rsp)
.Lreturn\@:
	pop %rax
	iretq
.endm
