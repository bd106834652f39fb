// SPDX-License-Identifier: GPL-2.0
// A guest run entirely inside the kernel through the core API: Vm, KernelVcpu,
// the backend this CPU has (SVM and VMRUN, or VMX and VMLAUNCH/VMRESUME),
// with no file descriptor and no userspace memory (the guest's page is a
// kernel page mapped straight into stage 2). Between its exits the test
// thread moves from CPU to CPU, so the vCPU leaves one CPU (VMCLEAR on VMX)
// and is loaded on the next with its state intact. Skipped, not passed,
// where the CPU has no usable SVM or VMX.
#include "check.hpp"

#include <axvm/arch.hpp>
#include <axvm/vm.hpp>
#include <uapi/axvm.h>

#include "../arch/x86/host.h"
#include "../arch/x86/vmx/vmx_cpu.hpp"

using namespace axvm;

namespace {

// Hardware virtualization on @cpu, from @cpu: the test thread moves there.
Status enable_on(struct kunit *t, unsigned int cpu)
{
	CHECK_EQ(t, axvm_kunit_move_to_cpu(static_cast<int>(cpu)), 0);
	return arch::cpu_enable(cpu);
}

} // namespace

extern "C" void axvm_test_x86_guest_in_kernel(struct kunit *t)
{
	arch::detect();
	if (arch::backend() == arch::Backend::None) {
		arch::release();
		axvm_kunit_skip(t, "no usable AMD SVM or Intel VMX on this CPU");
		return;
	}
	// The second CPU the thread visits: CPU 1 where it is online.
	const unsigned int other = axvm_cpu_online(1) ? 1 : 0;
	Status on = enable_on(t, 0);
	CHECK(t, on.ok());
	Status on_other = other ? enable_on(t, other) : Status();
	CHECK(t, on_other.ok());
	CHECK_EQ(t, axvm_kunit_move_to_cpu(0), 0);
	Vm *vm = new Vm();
	axvm_run *run = static_cast<axvm_run *>(axvm_kzalloc(AXVM_RUN_PAGES * kPageSize));
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
		Result<KernelVcpu *> loop = vm->create_vcpu(0, *run);
		CHECK(t, loop.ok());
		if (loop.ok()) {
			KernelVcpu &l = *loop.value();
			axvm_sregs sregs;
			CHECK_EQ(t, l.arch_ioctl(AXVM_GET_SREGS, &sregs, sizeof(sregs)).error(), 0);
			sregs.cs.base = 0;
			sregs.cs.selector = 0;
			CHECK_EQ(t, l.arch_ioctl(AXVM_SET_SREGS, &sregs, sizeof(sregs)).error(), 0);
			axvm_regs regs = {};
			regs.rip = 0x1000;
			regs.rflags = 2;
			CHECK_EQ(t, l.arch_ioctl(AXVM_SET_REGS, &regs, sizeof(regs)).error(), 0);

			u8 *data = reinterpret_cast<u8 *>(run) + AXVM_RUN_IO_DATA_OFFSET;
			CHECK_EQ(t, l.run().error(), 0);
			CHECK(t, run->exit_reason == AXVM_EXIT_IO && run->io.port == 0xe9 && data[0] == 'K');
			CHECK(t, l.vcpu().bound_cpu() == 0);
			CHECK_EQ(t, axvm_kunit_move_to_cpu(static_cast<int>(other)), 0);
			CHECK_EQ(t, l.run().error(), 0);
			CHECK(t, run->exit_reason == AXVM_EXIT_IO && run->io.direction == AXVM_EXIT_IO_IN);
			CHECK(t, l.vcpu().bound_cpu() == static_cast<int>(other));
			data[0] = 0x77;
			CHECK_EQ(t, axvm_kunit_move_to_cpu(0), 0);
			if (arch::backend() == arch::Backend::Vmx && other) {
				// What CPU hotplug does to a VMCS, which Bochs cannot
				// show through real hotplug: VMX off and on again on
				// the CPU the vCPU is loaded on (disable_cpu clears
				// it), and the vCPU, still bound there, runs on
				// there, its IN completed.
				CHECK_EQ(t, axvm_kunit_move_to_cpu(static_cast<int>(other)), 0);
				arch::cpu_disable(other);
				on_other = arch::cpu_enable(other);
				CHECK(t, on_other.ok());
			}
			CHECK_EQ(t, l.run().error(), 0);
			CHECK(t, run->exit_reason == AXVM_EXIT_IO && data[0] == 0x77);
			CHECK(t, l.vcpu().state() == VcpuState::Ready);
			axvm_regs after;
			CHECK_EQ(t, l.arch_ioctl(AXVM_GET_REGS, &after, sizeof(after)).error(), 0);
			// The last OUT is still userspace's: RIP moves past it on the
			// next RUN, as under KVM.
			CHECK(t, after.rip == 0x1006 && (after.rax & 0xff) == 0x77);
		}
	}
	delete vm;
	if (code)
		axvm_free_page(code);
	axvm_kfree(run);
	if (on_other.ok() && other) {
		CHECK_EQ(t, axvm_kunit_move_to_cpu(static_cast<int>(other)), 0);
		arch::cpu_disable(other);
	}
	if (on.ok()) {
		CHECK_EQ(t, axvm_kunit_move_to_cpu(0), 0);
		arch::cpu_disable(0);
	}
	arch::release();
	axvm_kunit_move_to_cpu(-1);
}

namespace {

// A VM whose guest does OUT 0xe9 in a loop (one exit per RUN), its vCPU
// in real mode at 0x1000 of a kernel page mapped into stage 2.
struct LoopVm {
	Vm *vm = new Vm();
	axvm_run *run = static_cast<axvm_run *>(axvm_kzalloc(AXVM_RUN_PAGES * kPageSize));
	u64 code_pa = 0;
	u8 *code = static_cast<u8 *>(axvm_alloc_page(&code_pa));
	KernelVcpu *loop = nullptr;

	bool start()
	{
		if (!vm || !run || !code || !vm->init().ok())
			return false;
		const u8 program[] = {0xe6, 0xe9, 0xeb, 0xfc}; // out 0xe9,al; jmp $-2
		for (usize i = 0; i < sizeof(program); i++)
			code[i] = program[i];
		Result<KernelVcpu *> l = vm->create_vcpu(0, *run);
		if (!vm->stage2()->map(0x1000, code_pa, true).ok() || !l.ok())
			return false;
		loop = l.value();
		axvm_sregs sregs;
		axvm_regs regs = {};
		regs.rip = 0x1000;
		regs.rflags = 2;
		if (!loop->arch_ioctl(AXVM_GET_SREGS, &sregs, sizeof(sregs)).ok())
			return false;
		sregs.cs.base = 0;
		sregs.cs.selector = 0;
		return loop->arch_ioctl(AXVM_SET_SREGS, &sregs, sizeof(sregs)).ok() &&
		       loop->arch_ioctl(AXVM_SET_REGS, &regs, sizeof(regs)).ok();
	}
	bool run_once() { return loop->run().ok() && run->exit_reason == AXVM_EXIT_IO; }
	~LoopVm()
	{
		delete vm;
		if (code)
			axvm_free_page(code);
		axvm_kfree(run);
	}
};

} // namespace

// A CPU that goes from one VM's vCPU to another's issues an IBPB (counted
// by axvm_x86_vm_switches); the same VM again needs none. And a vCPU made
// when every VPID is taken runs with VPIDs off (VMX), as under KVM.
extern "C" void axvm_test_x86_vm_switch_and_vpids(struct kunit *t)
{
	static u16 taken[65536];
	u32 n = 0;
	arch::detect();
	if (arch::backend() == arch::Backend::None) {
		arch::release();
		axvm_kunit_skip(t, "no usable AMD SVM or Intel VMX on this CPU");
		return;
	}
	CHECK_EQ(t, axvm_kunit_move_to_cpu(0), 0);
	Status on = arch::cpu_enable(0);
	CHECK(t, on.ok());
	{
		LoopVm a, b;
		CHECK(t, on.ok() && a.start() && b.start());
		if (on.ok() && a.loop && b.loop) {
			CHECK(t, a.run_once());
			const u64 before = axvm_x86_vm_switches();
			CHECK(t, a.run_once());
			CHECK_EQ(t, axvm_x86_vm_switches(), before); // the same VM: no barrier
			CHECK(t, b.run_once());
			CHECK_EQ(t, axvm_x86_vm_switches(), before + 1);
			CHECK(t, a.run_once());
			CHECK_EQ(t, axvm_x86_vm_switches(), before + 2);
		}
		if (arch::backend() == arch::Backend::Vmx) {
			// All 65535 VPIDs taken, then 0 (one left to a and b each).
			for (u16 v; n < 65536 && (v = vmx::alloc_vpid()) != 0;)
				taken[n++] = v;
			CHECK_EQ(t, n, 65533u);
			CHECK_EQ(t, vmx::alloc_vpid(), 0u);
			LoopVm c; // its vCPU gets no VPID
			CHECK(t, c.start() && c.run_once() && c.run_once());
			for (u32 i = 0; i < n; i++)
				vmx::free_vpid(taken[i]);
		}
	}
	if (on.ok())
		arch::cpu_disable(0);
	arch::release();
	axvm_kunit_move_to_cpu(-1);
}
