// SPDX-License-Identifier: GPL-2.0
// KVM_RUN: complete the previous read exit, enter the guest as often as the
// kernel can handle the exits alone, and describe the first exit userspace
// must see in its run page.
#pragma once

#include "vcpu.hpp"

struct axvm_run;

namespace axvm {

// Writes @exit into @run; false for exits that never reach userspace.
bool exit_to_run(const ExitReason &exit, axvm_run &run);

// Reads the value userspace left in @run for the read exit @exit.
u64 read_return_value(const ExitReason &exit, const axvm_run &run);

// What the glue traces of @exit (AXVM_RECORD_NONE: nothing).
axvm_exit_record exit_record(const ExitReason &exit);

class RunLoop {
public:
	// @halt_in_kernel: the VM's AXVM_CAP_HALT_IN_KERNEL setting.
	RunLoop(Vcpu &vcpu, axvm_run &run, const bool &halt_in_kernel = kNoHaltInKernel)
		: vcpu_(vcpu), run_(run), halt_in_kernel_(halt_in_kernel)
	{
	}
	~RunLoop();
	// The wait queue for Blocked; false if it could not be allocated.
	bool init();

	Vcpu &vcpu() { return vcpu_; }

	// 0 with run.exit_reason set (and *@record, if given, describing the
	// exit for the tracepoints), or a negative errno (-EINTR with
	// AXVM_EXIT_INTR for a signal or immediate_exit). Caller holds the claim.
	int run(axvm_exit_record *record = nullptr);

	// The backend's register ioctls; the caller holds the claim.
	int arch_ioctl(unsigned int cmd, void *arg, usize size);

	// From any thread: queue an interrupt and get the vCPU to take it,
	// waking it if Blocked, forcing it out of the guest if Running.
	int queue_interrupt(u32 vector, bool nmi);
	// From any thread: a level-triggered interrupt line of the vCPU (arm64
	// IRQ/FIQ); a running vCPU is forced out to see the change.
	int set_irq_line(u32 line, bool level);

private:
	// Ready on the CPU we are on: re-binds a vCPU whose thread migrated.
	Status bind_here();

	// Blocked: sleep until the backend has an event; then Blocked -> Ready.
	int wait_for_event();
	// After the backend changed what the vCPU must see: wake it if
	// Blocked, force it out of the guest if Running.
	void kick();
	int exit_to_user(int ret);
	static void count(axvm_vcpu_stats &stats, const ExitReason &exit);

	static const bool kNoHaltInKernel; // false; one object (a reference binds to it)
	Vcpu &vcpu_;
	axvm_run &run_;
	const bool &halt_in_kernel_;
	axvm_waitq *waitq_ = nullptr;
	ExitReason pending_ = ExitReason::nothing(); // read awaiting its value
	bool has_pending_ = false;
};

} // namespace axvm
