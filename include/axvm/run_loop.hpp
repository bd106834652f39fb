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

class RunLoop {
public:
	RunLoop(Vcpu &vcpu, axvm_run &run) : vcpu_(vcpu), run_(run) {}

	Vcpu &vcpu() { return vcpu_; }

	// 0 with run.exit_reason set, or a negative errno (-EINTR with
	// AXVM_EXIT_INTR for a signal or immediate_exit). Caller holds the claim.
	int run();

	// The backend's register ioctls; the caller holds the claim.
	int arch_ioctl(unsigned int cmd, void *arg, usize size);

private:
	// Ready on the CPU we are on: re-binds a vCPU whose thread migrated.
	Status bind_here();

	Vcpu &vcpu_;
	axvm_run &run_;
	ExitReason pending_ = ExitReason::nothing(); // read awaiting its value
	bool has_pending_ = false;
};

} // namespace axvm
