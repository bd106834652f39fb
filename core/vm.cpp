// SPDX-License-Identifier: GPL-2.0
#include <axvm/arch.hpp>
#include <axvm/raii.hpp>
#include <axvm/vm.hpp>
#include <uapi/axvm.h>

namespace axvm {

u64 Vm::next_serial_ = 0;

Vm::~Vm()
{
	for (KernelVcpu *v : vcpus_)
		delete v;
	delete arch_;
	for (Stage2 *s : stage2_)
		delete s;
}

Status Vm::init()
{
	for (MemoryMap &m : memory_)
		TRY(m.init());
	arch_ = TRY(arch::create_arch_vm(*this));
	for (u32 as = 0; as < kAddressSpaces; as++) {
		stage2_[as] = TRY(arch::create_stage2());
		memory_[as].attach(stage2_[as]);
	}
	return Status();
}

Status Vm::set_memory_region(const axvm_userspace_memory_region &region)
{
	const u32 as = region.slot >> 16;
	if (as >= kAddressSpaces)
		return fail(err::EINVAL);
	axvm_userspace_memory_region r = region;
	r.slot &= 0xffff;
	return memory_[as].set_region(r);
}

const MemorySlot *Vm::slot(u32 number) const
{
	const u32 as = number >> 16, id = number & 0xffff;
	if (as >= kAddressSpaces || id >= MemoryMap::kMaxSlots)
		return nullptr;
	return &memory_[as].slot(id);
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
