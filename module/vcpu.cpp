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
			bound_cpu_ = static_cast<int>(cpu);
		return s;
	});
}

Status Vcpu::unbind()
{
	return manipulate_arch_vcpu(VcpuState::Ready, VcpuState::Free, [this](ArchVcpu &arch) {
		Status s = arch.unbind();
		bound_cpu_ = kNotBound;
		return s;
	});
}

Result<ExitReason> Vcpu::run()
{
	Status s = transition_state(VcpuState::Ready, VcpuState::Running);
	if (!s.ok())
		return Error{s.error()};
	return manipulate_arch_vcpu(VcpuState::Running, VcpuState::Ready,
				    [](ArchVcpu &arch) { return arch.run(); });
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
