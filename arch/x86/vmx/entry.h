/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One guest entry on VMX, shared by the C++ backend (vmx_vcpu.cpp) and its
 * C half (entry.c, vmenter.S). Plain C with the boundary's types.
 */
#ifndef AXVM_VMX_ENTRY_H
#define AXVM_VMX_ENTRY_H

#include <axvm/boundary.h>

#include "vmcs.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Guest GPRs in x86 encoding order (rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi,
 * r8..r15). RSP lives in the VMCS; the stub skips its slot. */
struct axvm_vmx_gprs {
	axvm_u64 r[16];
};

/* The MSRs the VM-entry and VM-exit MSR areas switch (vmx_vcpu.cpp): the
 * guest's are loaded on entry and stored on exit, the host's loaded on exit. */
enum { AXVM_VMX_MSR_STAR, AXVM_VMX_MSR_LSTAR, AXVM_VMX_MSR_CSTAR, AXVM_VMX_MSR_SFMASK,
       AXVM_VMX_MSR_KERNEL_GS_BASE, AXVM_VMX_NR_MSRS };

struct axvm_vmx_entry {
	struct axvm_vmx_gprs *gprs;
	axvm_u64 vm_serial;	   /* the VM's Vm::serial(): a new one here means IBPB */
	axvm_u64 *cr2;		   /* the guest's CR2: VMX does not switch it */
	int launched;		   /* VMRESUME rather than VMLAUNCH */
	const axvm_u32 *kick;	   /* set: an interrupt was queued since the vCPU decided */
	const axvm_u64 *stage2_generation; /* Stage2::generation() */
	axvm_u64 *seen_generation;	   /* the vCPU's copy at its last entry */
	axvm_u64 eptp;
	axvm_u16 vpid;
	axvm_u8 flush_vpid;	   /* guest paging changed outside the guest */
	axvm_u8 flush_ept;	   /* the vCPU came to this CPU: what it left here is stale */
	axvm_u64 *host_cr3, *host_cr4; /* what the VMCS holds, to write only changes */
	struct axvm_vmx_msr_entry *host_msrs; /* the VM-exit MSR-load area */
	axvm_u32 preemption_timer; /* 0: the CPU has none */
	axvm_u64 guest_xcr0, host_xcr0;	   /* guest_xcr0 0: no switch (X86Vcpu::entry_xcr0) */
	axvm_u64 *xcr0_seen;		   /* out: the guest's XCR0 at the exit */
	axvm_u32 vcpu_id;
};

#define AXVM_VMX_EXIT_MCE_DURING_ENTRY 41 /* basic exit reason (SDM appendix C) */
#define AXVM_VMX_KICKED 1  /* gave up before entering: *kick was set */
#define AXVM_VMX_VMFAIL 2  /* VMLAUNCH/VMRESUME failed: VMCS_INSTRUCTION_ERROR says why */
/* 0 after a VM exit (the reason is in the VMCS); -EIO if VMX was off. */
int axvm_vmx_enter(struct axvm_vmx_entry *entry);

/* Right after VMPTRLD on this CPU: the host state that is the same for
 * every entry here (selectors, GDT/IDT/TSS, SYSENTER, GS base, EFER, PAT,
 * the host half of the MSR areas). Preemption off. */
void axvm_vmx_set_host_state(struct axvm_vmx_msr_entry *host_msrs);

/* vmenter.S: VMLAUNCH or VMRESUME with the guest's GPRs. 0 after a VM exit,
 * 1 on VMfail, 2 if the instruction faulted (VMX off). */
int axvm_vmx_vmenter(struct axvm_vmx_gprs *gprs, int launched);

#ifdef __cplusplus
}
#endif

#endif /* AXVM_VMX_ENTRY_H */
