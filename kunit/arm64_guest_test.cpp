// SPDX-License-Identifier: GPL-2.0
// An arm64 guest run entirely inside the kernel through the core API: Vm,
// KernelVcpu, the VHE backend and its world switch, with no file descriptor
// and no userspace memory (the guest's page is a kernel page mapped straight
// into the stage-2 tables). Skipped, not passed, where the kernel does not
// run at EL2 with VHE.
#include "check.hpp"

#include <axvm/arch.hpp>
#include <axvm/vm.hpp>
#include <uapi/axvm.h>

using namespace axvm;

namespace {

// mov w1, #'K'; mov x2, #0x09000000; strb w1, [x2]; ldr w4, [x2];
// ldr x0, =PSCI_SYSTEM_OFF; hvc #0
const u32 program[] = {0x52800961, 0xd2a12002, 0x39000041, 0xb9400044, 0x58000040, 0xd4000002, 0x84000008, 0};

u64 get(KernelVcpu &l, u64 id)
{
	axvm_reg_value r = {id, {}};
	return l.arch_ioctl(AXVM_GET_ONE_REG, &r, sizeof(r)).ok() ? r.value[0] : ~0ull;
}

} // namespace

extern "C" void axvm_test_arm64_guest_in_kernel(struct kunit *t)
{
	if (arch::detect() != arch::Backend::Arm64Vhe || arch::backend() != arch::Backend::Arm64Vhe) {
		arch::release();
		axvm_kunit_skip(t, "the kernel does not run at EL2 with VHE");
		return;
	}
	Vm *vm = new Vm();
	axvm_run *run = static_cast<axvm_run *>(axvm_kzalloc(AXVM_RUN_PAGES * kPageSize));
	u64 code_pa = 0;
	u32 *code = static_cast<u32 *>(axvm_alloc_page(&code_pa));
	if (vm && run && code && vm->init().ok()) {
		for (usize i = 0; i < array_size(program); i++)
			code[i] = program[i];
		CHECK(t, vm->stage2()->map(0x10000, code_pa, true).ok());
		vm->stage2()->invalidate(); // as after a slot change: the instruction caches
		Result<KernelVcpu *> loop = vm->create_vcpu(0, *run);
		CHECK(t, loop.ok());
		if (loop.ok()) {
			KernelVcpu &l = *loop.value();
			CHECK_EQ(t, l.run().error(), -err::ENOEXEC); // before KVM_ARM_VCPU_INIT
			axvm_vcpu_init init = {AXVM_ARM_TARGET_GENERIC_V8, {1u << AXVM_ARM_VCPU_PSCI_0_2}};
			CHECK_EQ(t, l.arch_ioctl(AXVM_ARM_VCPU_INIT, &init, sizeof(init)).error(), 0);
			axvm_reg_value pc = {AXVM_ARM64_PC, {0x10000, 0}};
			CHECK_EQ(t, l.arch_ioctl(AXVM_SET_ONE_REG, &pc, sizeof(pc)).error(), 0);

			CHECK_EQ(t, l.run().error(), 0);
			CHECK(t, run->exit_reason == AXVM_EXIT_MMIO && run->mmio.is_write && run->mmio.len == 1 &&
					 run->mmio.phys_addr == 0x09000000 && run->mmio.data[0] == 'K');
			CHECK_EQ(t, l.run().error(), 0);
			CHECK(t, run->exit_reason == AXVM_EXIT_MMIO && !run->mmio.is_write && run->mmio.len == 4);
			run->mmio.data[0] = 0x78, run->mmio.data[1] = 0x56, run->mmio.data[2] = 0x34, run->mmio.data[3] = 0x12;
			CHECK_EQ(t, l.run().error(), 0);
			CHECK(t, run->exit_reason == AXVM_EXIT_SYSTEM_EVENT &&
					 run->system_event.type == AXVM_SYSTEM_EVENT_SHUTDOWN);
			CHECK(t, l.vcpu().state() == VcpuState::Ready);
			CHECK_EQ(t, get(l, AXVM_ARM64_X(4)), 0x12345678ull);
			// SYSTEM_OFF leaves x0 INTERNAL_FAILURE (-6) and x1-x3 zero, as KVM.
			CHECK_EQ(t, get(l, AXVM_ARM64_X(0)), static_cast<u64>(-6));
			CHECK_EQ(t, get(l, AXVM_ARM64_X(1)), 0ull);
			CHECK_EQ(t, get(l, AXVM_ARM64_PC), 0x10018ull); // past the HVC
		}
	}
	delete vm;
	if (code)
		axvm_free_page(code);
	axvm_kfree(run);
	arch::release();
}
