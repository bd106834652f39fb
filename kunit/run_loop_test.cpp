// SPDX-License-Identifier: GPL-2.0
// KVM_RUN's loop over a scripted backend: in-kernel exits re-enter, read
// exits complete on the next RUN, immediate_exit, failures and migration.
#include "check.hpp"
#include "fake_arch.hpp"

#include <axvm/kernel_vcpu.hpp>
#include <uapi/axvm.h>

using namespace axvm;
using axvm::test::FakeVcpu;

namespace {

struct Fixture {
	bool halt_in_kernel = false;
	FakeVcpu f;
	axvm_run *run = static_cast<axvm_run *>(axvm_kzalloc(AXVM_RUN_PAGES * kPageSize));
	KernelVcpu *loop = nullptr;

	Fixture()
	{
		if (f.ok() && run && f.vcpu->setup().ok())
			loop = new KernelVcpu(f.give_away(), *run, halt_in_kernel);
		if (loop && !loop->init()) {
			delete loop;
			loop = nullptr;
		}
	}
	~Fixture()
	{
		delete loop;
		axvm_kfree(run);
	}
	u8 *io_data() { return reinterpret_cast<u8 *>(run) + run->io.data_offset; }
};

} // namespace

extern "C" void axvm_test_run_loop_exits(struct kunit *t)
{
	Fixture x;
	CHECK(t, x.loop);
	if (!x.loop)
		return;
	test::FakeArch &a = *x.f.arch;
	a.script[0] = ExitReason::external_interrupt(0x20);
	a.script[1] = ExitReason::nothing();
	a.script[2] = ExitReason::io_write(0x3f8, Width::Byte, 'h');
	a.script[3] = ExitReason::io_read(0x3f8, Width::Byte);
	a.script[4] = ExitReason::halt();
	a.script_len = 5;

	// Interrupt and Nothing are handled in the kernel: one RUN, three entries.
	CHECK_EQ(t, x.loop->run().error(), 0);
	CHECK_EQ(t, a.run_calls, 3);
	CHECK_EQ(t, a.bind_calls, 1); // bound on the first RUN
	CHECK_EQ(t, x.run->exit_reason, static_cast<u32>(AXVM_EXIT_IO));
	CHECK_EQ(t, x.io_data()[0], 'h');
	CHECK_EQ(t, x.f.vcpu->state(), VcpuState::Ready);

	// The port write completes on the next RUN (RIP moves on then, as in
	// KVM), with no value.
	CHECK_EQ(t, x.loop->run().error(), 0);
	CHECK_EQ(t, x.run->io.direction, AXVM_EXIT_IO_IN);
	CHECK_EQ(t, a.nr_return_values, 1);
	CHECK_EQ(t, a.return_values[0], 0ull);
	x.io_data()[0] = 0x5a; // userspace answers the read

	CHECK_EQ(t, x.loop->run().error(), 0);
	CHECK_EQ(t, a.nr_return_values, 2);
	CHECK_EQ(t, a.return_values[1], 0x5aull);
	CHECK_EQ(t, x.run->exit_reason, static_cast<u32>(AXVM_EXIT_HLT));
	CHECK_EQ(t, a.bind_calls, 1); // same CPU (or re-bound once if the thread moved)
	CHECK(t, !a.current_was_wrong);
}

extern "C" void axvm_test_run_loop_immediate_exit(struct kunit *t)
{
	Fixture x;
	CHECK(t, x.loop);
	if (!x.loop)
		return;
	test::FakeArch &a = *x.f.arch;
	a.script[0] = ExitReason::mmio_read(0x1000, Width::Dword, 0, Width::Qword, false);
	a.script_len = 1;
	CHECK_EQ(t, x.loop->run().error(), 0);
	CHECK_EQ(t, x.run->exit_reason, static_cast<u32>(AXVM_EXIT_MMIO));
	x.run->mmio.data[0] = 0x78;
	x.run->immediate_exit = 1;
	// The pending read completes, but the guest is not entered, and the
	// run page keeps that exit (as KVM leaves it).
	CHECK_EQ(t, x.loop->run().error(), -err::EINTR);
	CHECK_EQ(t, x.run->exit_reason, static_cast<u32>(AXVM_EXIT_MMIO));
	CHECK_EQ(t, a.run_calls, 1);
	CHECK_EQ(t, a.nr_return_values, 1);
	CHECK_EQ(t, a.return_values[0], 0x78ull);
	x.run->immediate_exit = 0;
	CHECK_EQ(t, x.loop->run().error(), 0);
	CHECK_EQ(t, a.nr_return_values, 1); // completed once only
	CHECK_EQ(t, x.f.vcpu->state(), VcpuState::Ready);
}

extern "C" void axvm_test_run_loop_failure(struct kunit *t)
{
	Fixture x;
	CHECK(t, x.loop);
	if (!x.loop)
		return;
	x.f.arch->fail_run = true;
	CHECK_EQ(t, x.loop->run().error(), -err::EIO);
	CHECK_EQ(t, x.f.vcpu->state(), VcpuState::Invalid);
	CHECK_EQ(t, x.loop->run().error(), -err::EIO); // refused before any entry
	CHECK_EQ(t, x.f.arch->run_calls, 1);

	Vcpu *bare = new Vcpu(9, nullptr);
	axvm_run *run = static_cast<axvm_run *>(axvm_kzalloc(AXVM_RUN_PAGES * kPageSize));
	KernelVcpu *loop = bare && run ? new KernelVcpu(bare, *run) : nullptr;
	CHECK(t, loop);
	if (loop)
		CHECK_EQ(t, loop->run().error(), -err::ENODEV); // no backend: a clear errno, no fake exit
	delete loop; // and the Vcpu with it
	axvm_kfree(run);
}

extern "C" void axvm_test_run_loop_migration(struct kunit *t)
{
	if (axvm_nr_cpu_ids() < 2 || !axvm_cpu_online(0) || !axvm_cpu_online(1)) {
		axvm_kunit_skip(t, "needs CPUs 0 and 1 online");
		return;
	}
	Fixture x;
	CHECK(t, x.loop);
	if (!x.loop)
		return;
	test::FakeArch &a = *x.f.arch;
	CHECK_EQ(t, axvm_kunit_move_to_cpu(0), 0);
	CHECK_EQ(t, x.loop->run().error(), 0);
	CHECK_EQ(t, a.bind_calls, 1);
	CHECK_EQ(t, a.bound_cpu, 0u);
	CHECK_EQ(t, x.f.vcpu->bound_cpu(), 0);

	// The thread moves: the next RUN unbinds from CPU 0 and binds on CPU 1.
	CHECK_EQ(t, axvm_kunit_move_to_cpu(1), 0);
	CHECK_EQ(t, x.loop->run().error(), 0);
	CHECK_EQ(t, a.unbind_calls, 1);
	CHECK_EQ(t, a.bind_calls, 2);
	CHECK_EQ(t, a.bound_cpu, 1u);
	CHECK_EQ(t, x.f.vcpu->bound_cpu(), 1);

	// Staying put costs no re-bind.
	CHECK_EQ(t, x.loop->run().error(), 0);
	CHECK_EQ(t, a.bind_calls, 2);
	CHECK_EQ(t, axvm_kunit_move_to_cpu(-1), 0);
	CHECK(t, !a.current_was_wrong);
}
