// SPDX-License-Identifier: GPL-2.0
#include <axvm/arch.hpp>
#include <axvm/raii.hpp>
#include <axvm/vm.hpp>

namespace axvm {

u64 Vm::next_serial_ = 0;

Vm::~Vm()
{
	for (KernelVcpu *v : vcpus_)
		delete v;
	delete arch_;
	delete stage2_;
}

Status Vm::init()
{
	Status s = memory_.init();
	if (!s.ok())
		return s;
	arch_ = TRY(arch::create_arch_vm(*this));
	Result<Stage2 *> stage2 = arch::create_stage2();
	if (!stage2.ok())
		return Error{stage2.error()};
	stage2_ = stage2.value();
	memory_.attach(stage2_);
	return Status();
}

Status Vm::limit_vcpu_ids(u64 n)
{
	if (n > kMaxVcpus || (max_vcpu_ids_ && max_vcpu_ids_ != n))
		return fail(err::EINVAL);
	max_vcpu_ids_ = static_cast<u32>(n);
	return Status();
}

Result<KernelVcpu *> Vm::create_vcpu(u32 id, axvm_run &run)
{
	if (id >= kMaxVcpus || (max_vcpu_ids_ && id >= max_vcpu_ids_))
		return fail(err::EINVAL);
	if (vcpus_[id])
		return fail(err::EEXIST);

	// new may return null: the core is built with -fcheck-new.
	Owned<ArchVcpu> arch;
	if (arch::backend() != arch::Backend::None) {
		arch = Owned<ArchVcpu>(TRY(arch::create_vcpu(*this, id)));
		arch->vcpu_id = id;
	}
	Vcpu *vcpu = new Vcpu(id, arch.get());
	if (!vcpu)
		return fail(err::ENOMEM);
	arch.release(); // the Vcpu's now
	Owned<KernelVcpu> v(new KernelVcpu(vcpu, run, halt_in_kernel_, &io_events_));
	if (!v) {
		delete vcpu;
		return fail(err::ENOMEM);
	}
	if (!v->init())
		return fail(err::ENOMEM);
	if (vcpu->arch())
		TRY(vcpu->setup());
	__atomic_store_n(&vcpus_[id], v.release(), __ATOMIC_RELEASE);
	nr_vcpus_++;
	arch_->note_vcpu_created();
	return vcpus_[id];
}

} // namespace axvm
