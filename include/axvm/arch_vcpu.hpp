// SPDX-License-Identifier: GPL-2.0
// What a backend (SVM, VMX, arm64) provides for one vCPU. The core calls
// each method from exactly one state of the Vcpu state machine, with the
// vCPU published in CURRENT_VCPU and preemption off (see vcpu.hpp).
#pragma once

#include "exit_reason.hpp"
#include "result.hpp"

namespace axvm {

class ArchVcpu {
public:
	virtual ~ArchVcpu() = default;

	// Created -> Free: build the hardware control structure (VMCB/VMCS/EL2 context).
	virtual Status setup() = 0;
	// Free -> Ready: make the vCPU runnable on @cpu, the CPU we are on.
	virtual Status bind(unsigned int cpu) = 0;
	// Ready -> Free: leave the CPU it was bound to, flushing its TLB tag there.
	virtual Status unbind() = 0;
	// Running: enter the guest once and report why it came back.
	virtual Result<ExitReason> run() = 0;
	// Completes the last read exit (MMIO/IO/SysReg read, hypercall) with @value.
	virtual void set_return_value(u64 value) = 0;
	// Register and CPU-model ioctls of the architecture (x86: GET/SET_REGS,
	// GET/SET_SREGS, SET_CPUID2). @arg holds @size bytes copied from and
	// back to userspace. Called Free or Ready, never while Running.
	virtual int arch_ioctl(unsigned int /*cmd*/, void * /*arg*/, usize /*size*/) { return -err::ENOTTY; }
};

} // namespace axvm
