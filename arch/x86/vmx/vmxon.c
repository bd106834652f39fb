// SPDX-License-Identifier: GPL-2.0
/*
 * VMXON/VMXOFF (Intel SDM vol. 3C, 24.7 and 24.11.5) with the kernel's own
 * CR4 helpers, as KVM's kvm_cpu_vmxon does: CR4.VMXE set first, VMXON with
 * an exception-table fixup, CR4.VMXE cleared again if it fails.
 */
#include <linux/preempt.h>
#include <asm/asm.h>
#include <asm/processor-flags.h>
#include <asm/tlbflush.h>

#include "vmxon.h"

int axvm_vmxon(axvm_u64 vmxon_region_pa)
{
	if (cr4_read_shadow() & X86_CR4_VMXE)
		return -AXVM_EBUSY;
	cr4_set_bits(X86_CR4_VMXE);
	asm goto("1: vmxon %[pa]\n\t"
		 _ASM_EXTABLE(1b, %l[fault])
		 "jbe %l[failed]"
		 : : [pa] "m"(vmxon_region_pa) : "cc", "memory" : fault, failed);
	return 0;
failed:
	cr4_clear_bits(X86_CR4_VMXE);
	return -AXVM_EBUSY;
fault:
	cr4_clear_bits(X86_CR4_VMXE);
	return -AXVM_EIO;
}

void axvm_vmxoff(void)
{
	asm volatile("vmxoff" ::: "cc", "memory");
	cr4_clear_bits(X86_CR4_VMXE);
}
