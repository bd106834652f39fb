/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VMX instructions on the current VMCS (Intel SDM vol. 3C, 30.3), for
 * the C++ backend and its C half alike: no kernel header needed. A VMREAD
 * or VMWRITE of a field the CPU lacks fails with VMfailValid; callers only
 * use fields every CPU axvm accepts has (vmx_cpu.cpp checks the controls).
 */
#ifndef AXVM_VMX_INSN_H
#define AXVM_VMX_INSN_H

#include <axvm/boundary.h>

static inline axvm_u64 axvm_vmread(axvm_u64 field)
{
	axvm_u64 value;
	asm volatile("vmread %1, %0" : "=rm"(value) : "r"(field) : "cc");
	return value;
}

static inline void axvm_vmwrite(axvm_u64 field, axvm_u64 value)
{
	asm volatile("vmwrite %1, %0" : : "r"(field), "rm"(value) : "cc", "memory");
}

/* INVEPT/INVVPID descriptors (SDM vol. 3C, 30.3): types 1 single
 * context, 2 all contexts. */
static inline void axvm_invept(axvm_u64 type, axvm_u64 eptp)
{
	struct { axvm_u64 eptp, zero; } desc = {eptp, 0};
	asm volatile("invept %0, %1" : : "m"(desc), "r"(type) : "cc", "memory");
}

static inline void axvm_invvpid(axvm_u64 type, axvm_u16 vpid)
{
	struct { axvm_u64 vpid, address; } desc = {vpid, 0};
	asm volatile("invvpid %0, %1" : : "m"(desc), "r"(type) : "cc", "memory");
}

/* VMPTRLD/VMCLEAR: 0, or nonzero if the CPU refused (VMfail). */
static inline int axvm_vmptrld(axvm_u64 pa)
{
	axvm_u8 failed;
	asm volatile("vmptrld %1; setbe %0" : "=qm"(failed) : "m"(pa) : "cc", "memory");
	return failed;
}

static inline int axvm_vmclear(axvm_u64 pa)
{
	axvm_u8 failed;
	asm volatile("vmclear %1; setbe %0" : "=qm"(failed) : "m"(pa) : "cc", "memory");
	return failed;
}

#endif /* AXVM_VMX_INSN_H */
