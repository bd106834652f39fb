// SPDX-License-Identifier: GPL-2.0
// A guest run entirely inside the kernel through the core API: Vm, RunLoop,
// the SVM backend and VMRUN, with no file descriptor and no userspace
// memory (the guest's page is a kernel page mapped straight into the nested
// page table). Skipped, not passed, where the CPU has no usable SVM.
#include "check.hpp"

#include <axvm/arch.hpp>
#include <axvm/vm.hpp>
#include <uapi/axvm.h>

using namespace axvm;

extern "C" void axvm_test_svm_guest_in_kernel(struct kunit *t)
{
	if (arch::detect() != arch::Backend::Svm || arch::backend() != arch::Backend::Svm) {
		arch::release();
		axvm_kunit_skip(t, "no usable AMD SVM on this CPU");
		return;
	}
	// SVM on for this one CPU, and the test thread kept there.
	CHECK_EQ(t, axvm_kunit_move_to_cpu(0), 0);
	Status on = arch::cpu_enable(0);
	CHECK(t, on.ok());
	Vm *vm = new Vm();
	axvm_run *run = static_cast<axvm_run *>(axvm_kzalloc(kPageSize));
	u64 code_pa = 0;
	u8 *code = static_cast<u8 *>(axvm_alloc_page(&code_pa));
	if (on.ok() && vm && run && code && vm->init().ok()) {
		// mov al,'K'; out 0xe9,al; in al,0x61; out 0xe9,al. (No HLT: without
		// NRIP save, skipping it means reading the instruction through the
		// memory slots, which hold only userspace memory.)
		const u8 program[] = {0xb0, 'K', 0xe6, 0xe9, 0xe4, 0x61, 0xe6, 0xe9};
		for (usize i = 0; i < sizeof(program); i++)
			code[i] = program[i];
		CHECK(t, vm->stage2()->map(0x1000, code_pa, true).ok());
		Result<RunLoop *> loop = vm->create_vcpu(0, *run);
		CHECK(t, loop.ok());
		if (loop.ok()) {
			RunLoop &l = *loop.value();
			axvm_sregs sregs;
			CHECK_EQ(t, l.arch_ioctl(AXVM_GET_SREGS, &sregs, sizeof(sregs)), 0);
			sregs.cs.base = 0;
			sregs.cs.selector = 0;
			CHECK_EQ(t, l.arch_ioctl(AXVM_SET_SREGS, &sregs, sizeof(sregs)), 0);
			axvm_regs regs = {};
			regs.rip = 0x1000;
			regs.rflags = 2;
			CHECK_EQ(t, l.arch_ioctl(AXVM_SET_REGS, &regs, sizeof(regs)), 0);

			u8 *data = reinterpret_cast<u8 *>(run) + AXVM_RUN_IO_DATA_OFFSET;
			CHECK_EQ(t, l.run(), 0);
			CHECK(t, run->exit_reason == AXVM_EXIT_IO && run->io.port == 0xe9 && data[0] == 'K');
			CHECK_EQ(t, l.run(), 0);
			CHECK(t, run->exit_reason == AXVM_EXIT_IO && run->io.direction == AXVM_EXIT_IO_IN);
			data[0] = 0x77;
			CHECK_EQ(t, l.run(), 0);
			CHECK(t, run->exit_reason == AXVM_EXIT_IO && data[0] == 0x77);
			CHECK(t, l.vcpu().state() == VcpuState::Ready);
			axvm_regs after;
			CHECK_EQ(t, l.arch_ioctl(AXVM_GET_REGS, &after, sizeof(after)), 0);
			CHECK(t, after.rip == 0x1008 && (after.rax & 0xff) == 0x77);
		}
	}
	delete vm;
	if (code)
		axvm_free_page(code);
	axvm_kfree(run);
	if (on.ok())
		arch::cpu_disable(0);
	arch::release();
	axvm_kunit_move_to_cpu(-1);
}
