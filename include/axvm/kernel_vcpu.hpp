// SPDX-License-Identifier: GPL-2.0
// The kernel's vCPU: the state machine (Vcpu) with what a KVM vCPU fd needs
// around it: the run page, the read exit waiting for userspace's answer,
// the wait queue a Blocked vCPU sleeps on, and KVM_RUN itself (complete the
// previous exit, enter the guest as often as the kernel can handle the
// exits alone, describe the first exit userspace must see).
#pragma once

#include "exit_to_run.hpp"
#include "io_events.hpp"
#include "vcpu.hpp"

struct axvm_run;

namespace axvm {

class KernelVcpu {
public:
	// Owns @vcpu. @halt_in_kernel: the VM's AXVM_CAP_HALT_IN_KERNEL
	// setting; @io_events: its ioeventfds (none: every write exits).
	KernelVcpu(Vcpu *vcpu, axvm_run &run, const bool &halt_in_kernel = kNoHaltInKernel,
		   const IoEvents *io_events = nullptr)
		: vcpu_(*vcpu), run_(run), halt_in_kernel_(halt_in_kernel), io_events_(io_events)
	{
	}
	~KernelVcpu();
	KernelVcpu(const KernelVcpu &) = delete;
	KernelVcpu &operator=(const KernelVcpu &) = delete;
	// The wait queue for Blocked; false if it could not be allocated.
	bool init();

	Vcpu &vcpu() { return vcpu_; }

	// run.exit_reason set (and *@record, if given, describing the exit for
	// the tracepoints), or an error (-EINTR with AXVM_EXIT_INTR for a
	// signal or immediate_exit). The caller holds the claim.
	Status run(axvm_exit_record *record = nullptr);

	// The backend's register ioctls; the caller holds the claim.
	Status arch_ioctl(unsigned int cmd, void *arg, usize size);

	// From any thread: queue an interrupt and get the vCPU to take it,
	// waking it if Blocked, forcing it out of the guest if Running.
	Status queue_interrupt(u32 vector, bool nmi);
	// From any thread: a level-triggered interrupt line of the vCPU (arm64
	// IRQ/FIQ); a running vCPU is forced out to see the change.
	Status set_irq_line(u32 line, bool level);

	// After the backend changed what the vCPU must see: wake it if
	// Blocked, force it out of the guest if Running. Any context but NMI
	// (timer callbacks kick too).
	void kick();

private:
	// RUN once the vCPU can run: the run page taken in, the guest entered
	// until an exit for userspace.
	Status enter(axvm_exit_record *record);
	// Ready on the CPU we are on: re-binds a vCPU whose thread migrated.
	Status bind_here();

	// Blocked: sleep until the backend has an event; then Blocked -> Ready.
	Status wait_for_event();
	Status exit_to_user(Status result);
	// A write an ioeventfd takes: signalled, and the instruction done.
	bool to_ioeventfd(const ExitReason &exit);
	static void count(axvm_vcpu_stats &stats, const ExitReason &exit);

	static const bool kNoHaltInKernel; // false; one object (a reference binds to it)
	Vcpu &vcpu_;
	axvm_run &run_;
	const bool &halt_in_kernel_;
	const IoEvents *io_events_;
	axvm_waitq *waitq_ = nullptr;
	ExitReason pending_ = ExitReason::nothing(); // read awaiting its value
	bool has_pending_ = false;
};

} // namespace axvm
