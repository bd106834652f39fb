// SPDX-License-Identifier: GPL-2.0
// A scripted ArchVcpu for testing the core without hardware: it counts calls,
// fails on request, replays a list of exits, and records whether the core
// had published the vCPU in CURRENT_VCPU when it was called.
#pragma once

#include <axvm/vcpu.hpp>

namespace axvm::test {

class FakeArch : public ArchVcpu {
public:
	Vcpu *owner = nullptr; // the Vcpu expected in CURRENT_VCPU during calls
	int setup_calls = 0, bind_calls = 0, unbind_calls = 0, run_calls = 0;
	unsigned int bound_cpu = ~0u;
	bool fail_setup = false, fail_bind = false, fail_unbind = false, fail_run = false;
	bool current_was_wrong = false;
	u64 return_values[8] = {};
	int nr_return_values = 0;

	enum : int { kMaxScript = 8 };
	ExitReason script[kMaxScript] = {ExitReason::halt(), ExitReason::halt(), ExitReason::halt(),
					 ExitReason::halt(), ExitReason::halt(), ExitReason::halt(),
					 ExitReason::halt(), ExitReason::halt()};
	int script_len = 0; // when exhausted, run() returns Halt

	Status setup() override
	{
		note_current();
		setup_calls++;
		return fail_setup ? Status(fail(err::EIO)) : Status();
	}
	Status bind(unsigned int cpu) override
	{
		note_current();
		bind_calls++;
		bound_cpu = cpu;
		return fail_bind ? Status(fail(err::EIO)) : Status();
	}
	Status unbind() override
	{
		note_current();
		unbind_calls++;
		return fail_unbind ? Status(fail(err::EIO)) : Status();
	}
	Result<ExitReason> run() override
	{
		note_current();
		const int i = run_calls++;
		if (fail_run)
			return fail(err::EIO);
		return i < script_len ? script[i] : ExitReason::halt();
	}
	void complete_userspace_exit(u64 value, bool) override
	{
		if (nr_return_values < 8)
			return_values[nr_return_values++] = value;
	}

	// Interrupts: whether a halt may block, whether a wake event waits.
	bool blockable = false, wake_event = false;
	int queued = 0;
	bool can_block() const override { return blockable; }
	bool has_wake_event() override { return wake_event; }
	Status queue_interrupt(u32, bool) override
	{
		queued++;
		wake_event = true;
		return Status();
	}

private:
	void note_current()
	{
		if (owner && Vcpu::current() != owner)
			current_was_wrong = true;
	}
};

// A Vcpu with a FakeArch, both freed together unless a KernelVcpu took
// the Vcpu over (give_away).
struct FakeVcpu {
	FakeArch *arch;
	Vcpu *vcpu;
	bool owned = true;

	explicit FakeVcpu(u32 id = 0) : arch(new FakeArch), vcpu(arch ? new Vcpu(id, arch) : nullptr)
	{
		if (arch && vcpu)
			arch->owner = vcpu;
	}
	~FakeVcpu()
	{
		if (!owned)
			return;
		if (vcpu)
			delete vcpu; // deletes arch
		else
			delete arch;
	}
	bool ok() const { return arch && vcpu; }
	// For a KernelVcpu that owns it from now on; arch and vcpu stay usable
	// for as long as that one lives.
	Vcpu *give_away()
	{
		owned = false;
		return vcpu;
	}
};

} // namespace axvm::test
