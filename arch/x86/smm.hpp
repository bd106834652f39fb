// SPDX-License-Identifier: GPL-2.0
// System Management Mode as KVM emulates it: the state-save map an SMI
// writes at SMBASE + 0xfe00 and RSM reads back, in KVM's 64-bit (AMD64)
// layout for guests with long mode in CPUID and its 32-bit (P6) layout
// otherwise (KVM's arch/x86/kvm/smm.c). Pure functions over a CpuState, so
// that KUnit checks them byte for byte; X86Vcpu (smm.cpp) applies them.
#pragma once

#include <axvm/types.hpp>
#include <uapi/axvm.h>

namespace axvm::x86::smm {

constexpr u32 kDefaultSmbase = 0x30000; // at RESET (not INIT)
constexpr u32 kSaveOffset = 0xfe00;     // the map: SMBASE + 0xfe00 .. + 0xffff
constexpr u32 kSaveSize = 512;
constexpr u64 kEntryRip = 0x8000;       // the handler: SMBASE + 0x8000
constexpr u32 kRevision32 = 0x00020000, kRevision64 = 0x00020064;

// What SMM entry saves and RSM restores. The segments, descriptor tables
// and control registers travel in KVM_GET/SET_SREGS form (cr2, cr8 and the
// APIC base are not saved: they stay as they are).
struct CpuState {
	u64 gpr[16]; // encoding order: RAX, RCX, RDX, RBX, RSP, ...
	u64 rip, rflags, dr6, dr7;
	axvm_sregs sregs;
	u32 smbase;
	u8 int_shadow; // KVM_X86_SHADOW_INT_* (a KVM extension of the map)
};

// The map SMM entry writes for @c.
void save(const CpuState &c, bool long_mode, u8 (&map)[kSaveSize]);
// What RSM loads from @map into @c, which holds the state at the RSM for
// what the map does not have (cr2, cr8, the APIC base; EFER in the 32-bit
// layout). The caller checks the control registers as KVM_SET_SREGS
// would: where they are invalid KVM shuts the vCPU down.
void load(const u8 (&map)[kSaveSize], bool long_mode, CpuState &c);

// The registers at SMM entry (SDM vol. 3C, 32.5.1; KVM's enter_smm): the
// handler at SMBASE + 0x8000 in big real mode, paging and protection off.
void entry_sregs(axvm_sregs &s, u32 smbase, bool long_mode);

} // namespace axvm::x86::smm
