/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VMXON and VMXOFF on the CPU we run on, in C (vmxon.c): CR4.VMXE belongs
 * to the kernel's CR4 shadow, and VMXON must not fault the host when
 * another hypervisor got there first.
 */
#ifndef AXVM_VMX_VMXON_H
#define AXVM_VMX_VMXON_H

#include <axvm/boundary.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 0; -EBUSY if CR4.VMXE is already set (someone else holds VMX) or VMXON
 * fails; -EIO if VMXON faults. Preemption must be off. */
int axvm_vmxon(axvm_u64 vmxon_region_pa);
/* VMXOFF and CR4.VMXE cleared; only after a successful axvm_vmxon(). */
void axvm_vmxoff(void);

#ifdef __cplusplus
}
#endif

#endif
