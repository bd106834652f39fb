/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel services only x86 backends need, implemented in C (arch/x86/host.c)
 * for the C++ of arch/x86 and the C of its entry code. Plain C with the
 * boundary's types.
 */
#ifndef AXVM_X86_HOST_H
#define AXVM_X86_HOST_H

#include <axvm/boundary.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The guest's FPU and extended register state, held by the kernel's guest
 * FPU API (fpu_alloc_guest_fpstate and friends, as KVM holds it): loaded
 * for the whole of a KVM_RUN (axvm_x86_fpu_enter/leave), so an exit costs
 * no save and restore, and saved by the scheduler when the thread sleeps.
 */
struct axvm_x86_fpu;
struct axvm_x86_fpu *axvm_x86_fpu_create(void);
void axvm_x86_fpu_destroy(struct axvm_x86_fpu *fpu);
/* Process context, preemptible: the guest's state replaces the thread's
 * until leave. An in-kernel caller (a kernel thread: KUnit) has no state of
 * its own to protect, and nothing is switched for it. */
void axvm_x86_fpu_enter(struct axvm_x86_fpu *fpu);
void axvm_x86_fpu_leave(struct axvm_x86_fpu *fpu);

/* KVM_GET_XSAVE: the guest's state in the standard XSAVE layout, @size
 * bytes, components limited to @xfeatures. KVM_SET_XSAVE: the kernel
 * validates the image (header, MXCSR; components within @xfeatures) and
 * takes it: 0 or -EINVAL. Not while the vCPU runs (the state is then in
 * the registers). */
void axvm_x86_fpu_get_xsave(struct axvm_x86_fpu *fpu, void *buf, axvm_u32 size, axvm_u64 xfeatures);
int axvm_x86_fpu_set_xsave(struct axvm_x86_fpu *fpu, const void *buf, axvm_u64 xfeatures);
/* The host's XCR0 (0 without XSAVE, as with noxsave). */
axvm_u64 axvm_x86_host_xcr0(void);

/* Split-lock detection raised #AC for a guest instruction at @rip that the
 * guest's own alignment checking did not: 1 if the kernel dealt with it
 * (detection off for this task; the instruction runs again), 0 if the #AC
 * goes to the guest (no detection) or a SIGBUS is on its way (fatal mode). */
int axvm_x86_split_lock(axvm_u64 rip);

/* The host's IA32_UCODE_REV, as this CPU reads it (0 where it cannot). */
axvm_u64 axvm_x86_host_ucode_rev(void);

/* The host's TSC frequency in kHz (the kernel's tsc_khz). */
axvm_u32 axvm_x86_tsc_khz(void);

/* How many times a CPU switched to another VM's vCPU (each an IBPB). */
axvm_u64 axvm_x86_vm_switches(void);

#ifdef __cplusplus
}
#endif

#endif /* AXVM_X86_HOST_H */
