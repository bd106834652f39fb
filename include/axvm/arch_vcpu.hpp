// SPDX-License-Identifier: GPL-2.0
// What a backend (SVM, VMX, arm64) provides for one vCPU. The core calls
// each method from exactly one state of the Vcpu state machine, with the
// vCPU published in CURRENT_VCPU and preemption off (see vcpu.hpp).
#pragma once

#include "boundary.h"
#include "exit_reason.hpp"
#include "result.hpp"

struct axvm_run;

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
	// On the next RUN: completes the last exit userspace handled that
	// needed it (ExitReason::completes_on_next_run), a read with @value.
	// @failed: userspace refused the access (an MSR exit's msr.error).
	virtual void complete_userspace_exit(u64 value, bool failed) = 0;
	// Before complete_userspace_exit() of a port IN of several elements
	// (x86's batched string IN): the @len bytes userspace left, read once.
	virtual void take_io_batch(const u8 * /*data*/, u32 /*len*/) {}
	// At the start of each RUN: what userspace may set in the run page for
	// the vCPU (x86: cr8, the TPR of a local APIC it emulates; the register
	// sets of kvm_dirty_regs), read once.
	virtual Status take_run_state(axvm_run & /*run*/) { return Status(); }
	// At the end of every RUN that got past check_runnable(), whatever its
	// result: the registers userspace asked to find in the run page (x86:
	// kvm_valid_regs, as it was when the RUN began).
	virtual void store_run_state(axvm_run & /*run*/) {}
	// Register and CPU-model ioctls of the architecture (x86: GET/SET_REGS,
	// GET/SET_SREGS, SET_CPUID2). @arg holds @size bytes copied from and
	// back to userspace. Called Free or Ready, never while Running.
	virtual Status arch_ioctl(unsigned int /*cmd*/, void * /*arg*/, usize /*size*/) { return fail(err::ENOTTY); }
	// KVM_RUN begins and ends on this thread (process context): state the
	// vCPU keeps loaded across its exits in between (x86: the FPU).
	virtual void run_begin() {}
	virtual void run_end() {}
	// Before RUN enters the state machine: the error RUN returns without
	// touching the vCPU (arm64: -ENOEXEC before KVM_ARM_VCPU_INIT).
	virtual Status check_runnable() const { return Status(); }

	// ---- Interrupts (the defaults: a backend without them) ----
	// Before each entry: userspace wants KVM_EXIT_IRQ_WINDOW_OPEN as soon
	// as the guest can take an interrupt.
	virtual void set_interrupt_window_request(bool /*wanted*/) {}
	// The guest can take an interrupt now and none is waiting for it.
	virtual bool ready_for_interrupt() const { return false; }
	// After each exit to userspace: the run page's if_flag,
	// ready_for_interrupt_injection, cr8 and apic_base.
	virtual void fill_run_state(axvm_run & /*run*/) {}
	// A halted guest can be woken by an interrupt (x86: RFLAGS.IF is set).
	virtual bool can_block() const { return false; }
	// Something is queued that a blocked vCPU must wake up for.
	virtual bool has_wake_event() { return false; }
	// A blocked vCPU was woken: an error ends RUN with it (x86: a vCPU
	// that waited UNINITIALIZED returns -EAGAIN, as under KVM).
	virtual Status after_wake() { return Status(); }
	// A halt always waits in the kernel (x86: an in-kernel local APIC).
	virtual bool halts_in_kernel() const { return false; }
	// KVM_EXIT_IRQ_WINDOW_OPEN is due: userspace asked for the window
	// (set_interrupt_window_request) and the guest can take an interrupt.
	virtual bool window_open_for_user() const { return false; }
	// From any thread: queue @vector (or an NMI) for the next entry and
	// make a racing entry give up (the caller then kicks the CPU).
	// -EINVAL for a bad vector, -ENOTTY without interrupt support.
	virtual Status queue_interrupt(u32 /*vector*/, bool /*nmi*/) { return fail(err::ENOTTY); }
	// From any thread: set a level-triggered interrupt line (arm64: 0 IRQ,
	// 1 FIQ) with a full barrier; the caller then kicks. -EINVAL for a bad
	// line, -ENOTTY without interrupt lines.
	virtual Status set_irq_line(u32 /*line*/, bool /*level*/) { return fail(err::ENOTTY); }

	// Set by Vm::create_vcpu: the vCPU's id (for trace events), and the
	// counters the core and the backend bump (KVM_GET_STATS_FD).
	u32 vcpu_id = 0;
	axvm_vcpu_stats stats{};
};

} // namespace axvm
