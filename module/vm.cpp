// SPDX-License-Identifier: GPL-2.0
#include <axvm/arch.hpp>
#include <axvm/vm.hpp>

namespace axvm {

u64 Vm::next_serial_ = 0;

Vm::~Vm()
{
	for (RunLoop *loop : vcpus_) {
		if (!loop)
			continue;
		Vcpu *vcpu = &loop->vcpu();
		delete loop;
		delete vcpu;
	}
	delete stage2_;
}

Status Vm::init()
{
	Status s = memory_.init();
	if (!s.ok())
		return s;
	Result<Stage2 *> stage2 = arch::create_stage2();
	if (!stage2.ok())
		return Error{stage2.error()};
	stage2_ = stage2.value();
	memory_.attach(stage2_);
	return Status();
}

Result<RunLoop *> Vm::create_vcpu(u32 id, axvm_run &run)
{
	if (id >= kMaxVcpus)
		return fail(err::EINVAL);
	if (vcpus_[id])
		return fail(err::EEXIST);

	ArchVcpu *arch = nullptr;
	if (arch::runs_vcpus()) {
		Result<ArchVcpu *> a = arch::create_vcpu(*this, id);
		if (!a.ok())
			return Error{a.error()};
		arch = a.value();
		arch->vcpu_id = id;
	}
	// new may return null: the core is built with -fcheck-new.

	Vcpu *vcpu = new Vcpu(id, arch);
	if (!vcpu) {
		delete arch;
		return fail(err::ENOMEM);
	}
	RunLoop *loop = new RunLoop(*vcpu, run, halt_in_kernel_);
	if (!loop || !loop->init()) {
		delete loop;
		delete vcpu;
		return fail(err::ENOMEM);
	}
	if (arch) {
		Status s = vcpu->setup();
		if (!s.ok()) {
			delete loop;
			delete vcpu;
			return Error{s.error()};
		}
	}
	vcpus_[id] = loop;
	nr_vcpus_++;
	return loop;
}

} // namespace axvm
