// SPDX-License-Identifier: GPL-2.0
// What the x86 backends do alike when they finish an instruction for the
// guest: the checks a CPU makes on EFER, PAT and CR4 writes, index-register
// stepping for string I/O, the x2APIC ICR and the hypercall convention.
// Pure: no hardware access (Intel SDM vol. 3A/3C; AMD APM vol. 2).
#pragma once

#include <axvm/exit_reason.hpp>
#include <uapi/axvm.h>

#include "x86.hpp"

namespace axvm::x86 {

// CR4 bits a guest may always set, through SET_SREGS or MOV to CR4 (VME to
// OSXMMEXCPT): none that needs emulation axvm lacks (no LA57: stage 2 is
// 4-level here; no PKE: PKRU is not switched; no VMXE/SMXE; no UMIP).
// FSGSBASE, PCIDE, OSXSAVE, SMEP and SMAP come on top where the vCPU's
// CPUID and axvm's offer the feature (X86Vcpu::cr4_extra()), as in KVM.
constexpr u64 kCr4Allowed = 0x7ff;
constexpr u64 kCr4Pge = 1ull << 7, kCr4Pcide = 1ull << 17, kCr4Smep = 1ull << 20;
// CR4 bits whose change flushes the TLB (SDM vol. 3A, 4.10.4.1).
constexpr u64 kCr4FlushBits = kCr4Pse | kCr4Pae | kCr4Pge | kCr4Pcide | kCr4Smep;
constexpr u64 kEferAllowed = kEferSce | kEferLme | kEferLma | kEferNxe;
constexpr u32 kMsrX2apicIcr = 0x830;

// MOV to CR4 with @value: does the CPU raise #GP (reserved or unsupported
// bits, PAE off in long mode, PCIDE set outside long mode or with CR3[11:0])?
// @extra: bits allowed beyond kCr4Allowed for this guest.
bool cr4_write_faults(u64 value, u64 cr4, u64 cr3, u64 efer, u64 extra);
// WRMSR EFER with @value: #GP for reserved bits or LME changed under paging.
bool efer_write_faults(u64 value, u64 efer, u64 cr0);
// KVM_SET_SREGS: the checks of KVM's kvm_is_valid_sregs(), so that what
// KVM refuses is refused here too (logged, one line) and the hardware never
// sees an inconsistent state.
bool sregs_valid(const axvm_sregs &in, u64 cr4_extra, bool log = true);
// KVM_SET_VCPU_EVENTS: what axvm supports (no payloads or triple
// fault), at most one injected event, exceptions below 32; logged.
bool vcpu_events_valid(const axvm_vcpu_events &e);
// WRMSR PAT: #GP for a reserved memory type in any of the eight entries.
bool pat_valid(u64 value);

// An index register (RSI, RDI, RCX) moved by @delta under the address-size
// mask @mask: only that part changes (a 32-bit result zero-extends).
u64 step_index(u64 reg, i64 delta, u64 mask);

// WRMSR to the x2APIC ICR: the IPI it asks for (SDM vol. 3A, 11.12.9).
ExitReason x2apic_icr_write(u64 value);

// VMCALL/VMMCALL: nr in RAX, arguments in RBX, RCX, RDX, RSI, RDI, R8 (the
// kernel's KVM uses RBX..RSI), truncated to 32 bits outside 64-bit mode.
// @gprs in encoding order.
ExitReason hypercall(const u64 *gprs, bool long_mode);

} // namespace axvm::x86
