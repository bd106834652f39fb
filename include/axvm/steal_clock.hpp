// SPDX-License-Identifier: GPL-2.0
// PV steal time's clock, shared by x86 (MSR_KVM_STEAL_TIME) and arm64
// (PV_TIME_ST): the time the vCPU's thread waited on a run queue, the
// scheduler's sched_info.run_delay (axvm_task_run_delay), and how much of
// it the guest has not been told yet.
#pragma once

#include "types.hpp"

namespace axvm {

class StealClock {
public:
	// Whether the kernel counts run-queue waits (sched_info, as KVM's
	// sched_info_on()): else no steal time is offered.
	static bool supported()
	{
		u64 ns = 0;
		return !axvm_task_run_delay(&ns);
	}
	// The calling thread's run delay in ns (0 when not counted).
	static u64 now()
	{
		u64 ns = 0;
		return axvm_task_run_delay(&ns) ? 0 : ns;
	}
	// Counting starts: what came before is not the guest's.
	void start() { last_ = now(); }
	// The wait since the last look (0: none), counted as told.
	u64 take()
	{
		const u64 n = now(), d = n - last_;
		last_ = n;
		return d;
	}

private:
	u64 last_ = 0;
};

} // namespace axvm
