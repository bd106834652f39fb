// SPDX-License-Identifier: GPL-2.0
// The seed's vCPU operations; each states the edge it takes (vcpu.hpp).
#include <axvm/vcpu.hpp>

namespace axvm {

const char *state_name(VcpuState state)
{
	switch (state) {
	case VcpuState::Invalid: return "Invalid";
	case VcpuState::Created: return "Created";
	case VcpuState::Free: return "Free";
	case VcpuState::Ready: return "Ready";
	case VcpuState::Running: return "Running";
	case VcpuState::Blocked: return "Blocked";
	}
	return "?";
}

void Vcpu::report_bad_state(VcpuState wanted) const
{
	axvm_log(AXVM_LOG_WARN, "vcpu %u: operation needs state %s but it is %s; now Invalid", id_,
		 state_name(wanted), state_name(state()));
}

void Vcpu::report_nested() const
{
	axvm_log(AXVM_LOG_ERR, "vcpu %u: another vCPU is already current on this CPU", id_);
}

Status Vcpu::setup()
{
	return manipulate_arch_vcpu(VcpuState::Created, VcpuState::Free,
				    [](ArchVcpu &arch) { return arch.setup(); });
}

Status Vcpu::bind()
{
	return manipulate_arch_vcpu(VcpuState::Free, VcpuState::Ready, [this](ArchVcpu &arch) {
		const unsigned int cpu = axvm_this_cpu();
		Status s = arch.bind(cpu);
		if (s.ok())
			__atomic_store_n(&bound_cpu_, static_cast<int>(cpu), __ATOMIC_SEQ_CST);
		return s;
	});
}

Status Vcpu::unbind()
{
	return manipulate_arch_vcpu(VcpuState::Ready, VcpuState::Free, [this](ArchVcpu &arch) {
		Status s = arch.unbind();
		__atomic_store_n(&bound_cpu_, kNotBound, __ATOMIC_SEQ_CST);
		return s;
	});
}

Result<ExitReason> Vcpu::run(bool block_on_halt)
{
	Status s = transition_state(VcpuState::Ready, VcpuState::Running);
	if (!s.ok())
		return Error{s.error()};
	Result<ExitReason> exit = manipulate_arch_vcpu(VcpuState::Running, VcpuState::Running,
						       [](ArchVcpu &arch) { return arch.run(); });
	if (!exit.ok())
		return exit;
	// A halt the guest can be woken from (interrupts enabled) waits in
	// the kernel: Running -> Blocked; every other exit: Running -> Ready.
	const bool blocks = block_on_halt && exit.value().kind() == ExitKind::Halt && arch_->can_block();
	s = blocks ? block() : transition_state(VcpuState::Running, VcpuState::Ready);
	if (!s.ok())
		return Error{s.error()};
	return exit;
}

Status Vcpu::block()
{
	return transition_state(VcpuState::Running, VcpuState::Blocked);
}

Status Vcpu::wake()
{
	return transition_state(VcpuState::Blocked, VcpuState::Ready);
}

} // namespace axvm
