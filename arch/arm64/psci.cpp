// SPDX-License-Identifier: GPL-2.0
// PSCI in the kernel, as KVM 6.1's arch/arm64/kvm/psci.c has it: CPU_ON
// and AFFINITY_INFO reach the other vCPUs of the VM, CPU_OFF puts this one
// to sleep inside KVM_RUN until a CPU_ON, SYSTEM_OFF/RESET/RESET2 and
// SYSTEM_SUSPEND go to userspace as KVM_EXIT_SYSTEM_EVENT; and KVM's
// arm64 MP states (RUNNABLE, STOPPED, SUSPENDED) over the same power state.
//
// Locking: every change of a vCPU's power state by another vCPU (CPU_ON)
// and every look at the others' (CPU_ON, AFFINITY_INFO) happens under the
// VM's PSCI spinlock; a vCPU's own thread changes its own state under it
// too. A CPU_ON only records the entry point: the target's thread applies
// the reset (take_power_on) before it enters the guest or answers an ioctl,
// so no thread ever writes another vCPU's registers.
#include "vcpu.hpp"

#include "vm.hpp"

#include <axvm/raii.hpp>
#include <uapi/axvm.h>

namespace axvm::arm64 {

namespace {

constexpr u64 kSctlrEe = 1ull << 25; // EL1 data accesses big-endian

Arm64Vm &arm64_vm(Vm &vm) { return *static_cast<Arm64Vm *>(vm.arch()); }

// The VM's vCPUs are all Arm64Vcpus (the only arm64 backend); null for an
// id not in use.
Arm64Vcpu *arm64_vcpu(Vm &vm, u32 id, KernelVcpu **kernel = nullptr)
{
	KernelVcpu *k = vm.vcpu(id);
	if (kernel)
		*kernel = k;
	return k && k->vcpu().arch() ? static_cast<Arm64Vcpu *>(k->vcpu().arch()) : nullptr;
}

} // namespace

bool Arm64Vcpu::has_wake_event()
{
	const u32 p = power();
	return p != kPowerOff && (p != kPowerSuspended || __atomic_load_n(&irq_lines_, __ATOMIC_SEQ_CST));
}

void Arm64Vcpu::set_power(u32 state)
{
	SpinGuard g(arm64_vm(vm_).psci_lock());
	__atomic_store_n(&power_, state, __ATOMIC_RELEASE);
}

void Arm64Vcpu::take_power_on()
{
	if (power() != kPowerOnPending)
		return;
	SpinGuard g(arm64_vm(vm_).psci_lock());
	// What KVM's kvm_reset_vcpu does with a PSCI reset state: the vCPU as
	// after KVM_ARM_VCPU_INIT, then the caller's endianness, the entry
	// point and the context id (DEN0022D 5.6).
	reset();
	ctx_.pc = on_entry_;
	ctx_.x[0] = on_context_;
	if (el1_aarch32_) { // bit 0 of an AArch32 entry point asks for Thumb; CPSR.E the endianness
		ctx_.pstate |= (on_entry_ & 1 ? kPstateThumb : 0) | (on_big_endian_ ? kPstateAarch32E : 0);
		ctx_.pc &= ~1ull;
	} else if (on_big_endian_) {
		el1_.sctlr |= kSctlrEe;
	}
	__atomic_store_n(&power_, kPowerOn, __ATOMIC_RELEASE);
}

// KVM's kvm_psci_vcpu_on: the target by MPIDR, which must be off.
u64 Arm64Vcpu::cpu_on(u64 target, u64 entry, u64 context_id)
{
	if (target & ~kMpidrHwidMask)
		return kPsciInvalidParams;
	KernelVcpu *kernel = nullptr;
	{
		SpinGuard g(arm64_vm(vm_).psci_lock());
		Arm64Vcpu *t = nullptr;
		for (u32 i = 0; i < Vm::kMaxVcpus && !t; i++) {
			t = arm64_vcpu(vm_, i, &kernel);
			if (t && (t->mpidr() & kMpidrHwidMask) != target)
				t = nullptr;
		}
		if (!t)
			return kPsciInvalidParams;
		if (t->power() != kPowerOff)
			return kPsciAlreadyOn;
		t->on_entry_ = entry;
		t->on_context_ = context_id;
		t->on_big_endian_ = el1_aarch32_ ? (ctx_.pstate & kPstateAarch32E) : (el1_.sctlr & kSctlrEe);
		__atomic_store_n(&t->power_, kPowerOnPending, __ATOMIC_RELEASE);
	}
	kernel->kick(); // a target asleep in KVM_RUN wakes and enters at the entry point
	return kPsciSuccess;
}

// KVM's kvm_psci_vcpu_affinity_info: ON if any vCPU whose affinity matches
// @target at and above @level is not off.
u64 Arm64Vcpu::affinity_info(u64 target, u64 level) const
{
	if ((target & ~kMpidrHwidMask) || level > 3)
		return kPsciInvalidParams;
	const u64 mask = kMpidrHwidMask & ~((1ull << (level * 8)) - 1);
	target &= mask;
	bool matched = false;
	SpinGuard g(arm64_vm(vm_).psci_lock());
	for (u32 i = 0; i < Vm::kMaxVcpus; i++) {
		const Arm64Vcpu *v = arm64_vcpu(vm_, i);
		if (!v || (v->mpidr() & mask) != target)
			continue;
		matched = true;
		if (v->power() != kPowerOff)
			return kPsciAffinityOn;
	}
	return matched ? kPsciAffinityOff : kPsciInvalidParams;
}

// The guest's registers after the call, as KVM leaves them: an SMC32
// call's arguments narrowed to 32 bits; x0 the result and x1-x3 zero for
// a call answered here (smccc_set_retval); x0 INTERNAL_FAILURE for SYSTEM_OFF
// and the resets, should the VMM run the vCPU again (x1-x3 zero but after
// SYSTEM_RESET2, as KVM); for SYSTEM_SUSPEND the call itself, which the VMM reads.
ExitReason Arm64Vcpu::handle_psci(const PsciCall &call)
{
	if (call.smc32)
		for (int i = 1; i <= 3; i++)
			ctx_.x[i] &= 0xffffffffull;
	u64 x0 = kPsciSuccess;
	ExitReason exit = ExitReason::nothing();
	switch (call.op) {
	case PsciOp::NotPsci:
	case PsciOp::Answer:
		x0 = call.value;
		break;
	case PsciOp::CpuSuspend: // a standby: KVM_EXIT_HLT, as a WFI
		exit = ExitReason::halt();
		break;
	case PsciOp::CpuOff:
		set_power(kPowerOff);
		sleeping_ = true;
		exit = ExitReason::halt();
		break;
	case PsciOp::CpuOn:
		x0 = cpu_on(call.arg[0], call.arg[1], call.arg[2]);
		break;
	case PsciOp::AffinityInfo:
		x0 = affinity_info(call.arg[0], call.arg[1]);
		break;
	case PsciOp::SystemOff:
		ctx_.x[0] = kPsciInternalFailure;
		ctx_.x[1] = ctx_.x[2] = ctx_.x[3] = 0;
		return ExitReason::system_down(SystemDownKind::PowerOff);
	case PsciOp::SystemReset:
		ctx_.x[0] = kPsciInternalFailure;
		if (call.arg[0]) // SYSTEM_RESET2: x1-x3 stay the call's
			return ExitReason::system_down(SystemDownKind::Reset, call.arg[0]);
		ctx_.x[1] = ctx_.x[2] = ctx_.x[3] = 0;
		return ExitReason::system_down(SystemDownKind::Reset);
	case PsciOp::SystemSuspend:
		return ExitReason::system_down(SystemDownKind::Suspend);
	}
	ctx_.x[0] = x0;
	ctx_.x[1] = ctx_.x[2] = ctx_.x[3] = 0;
	return exit;
}

// KVM_GET/SET_MP_STATE on arm64 (arch_ioctl applied any CPU_ON first):
// STOPPED powers the vCPU off; SUSPENDED makes its RUN wait for an
// interrupt line and then exit with KVM_SYSTEM_EVENT_WAKEUP; RUNNABLE
// powers it on where it stopped, without a reset, as in KVM.
Status Arm64Vcpu::get_mp_state(axvm_mp_state &s)
{
	const u32 p = power();
	if (p == kPowerOff)
		s.mp_state = AXVM_MP_STATE_STOPPED;
	else if (p == kPowerSuspended)
		s.mp_state = AXVM_MP_STATE_SUSPENDED;
	else
		s.mp_state = AXVM_MP_STATE_RUNNABLE;
	return Status();
}

Status Arm64Vcpu::set_mp_state(const axvm_mp_state &s)
{
	if (s.mp_state == AXVM_MP_STATE_RUNNABLE)
		set_power(kPowerOn);
	else if (s.mp_state == AXVM_MP_STATE_STOPPED)
		set_power(kPowerOff);
	else if (s.mp_state == AXVM_MP_STATE_SUSPENDED)
		set_power(kPowerSuspended);
	else
		return fail(err::EINVAL);
	return Status();
}

} // namespace axvm::arm64
