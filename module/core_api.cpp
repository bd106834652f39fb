// SPDX-License-Identifier: GPL-2.0
// The core's half of include/axvm/boundary.h: flat C entry points over Vm and
// RunLoop for the C glue. The opaque C handles are the C++ objects.
#include <axvm/arch.hpp>
#include <axvm/vm.hpp>
#include <uapi/axvm.h>

using namespace axvm;

static Vm *to_vm(axvm_core_vm *vm) { return reinterpret_cast<Vm *>(vm); }
static RunLoop *to_loop(axvm_core_vcpu *v) { return reinterpret_cast<RunLoop *>(v); }

extern "C" void axvm_core_init(void)
{
	const arch::Backend hw = arch::detect();
	axvm_log(AXVM_LOG_INFO, "hardware virtualization: %s; backend in use: %s", arch::backend_name(hw),
		 arch::backend_name(arch::backend()));
}

extern "C" long axvm_core_check_extension(long cap)
{
	switch (cap) {
	case AXVM_CAP_USER_MEMORY:
		return 1;
	case AXVM_CAP_NR_VCPUS:
	case AXVM_CAP_MAX_VCPUS:
	case AXVM_CAP_MAX_VCPU_ID:
		return Vm::kMaxVcpus;
	case AXVM_CAP_NR_MEMSLOTS:
		return MemoryMap::kMaxSlots;
	default:
		return 0;
	}
}

extern "C" int axvm_core_vm_create(axvm_core_vm **out)
{
	Vm *vm = new Vm();
	if (!vm)
		return -err::ENOMEM;
	*out = reinterpret_cast<axvm_core_vm *>(vm);
	return 0;
}

extern "C" void axvm_core_vm_destroy(axvm_core_vm *vm) { delete to_vm(vm); }

extern "C" int axvm_core_set_memory_region(axvm_core_vm *vm, const axvm_userspace_memory_region *region)
{
	return to_vm(vm)->memory().set_region(*region).error();
}

extern "C" int axvm_core_vcpu_create(axvm_core_vm *vm, axvm_u32 id, axvm_run *run, axvm_core_vcpu **out)
{
	Result<RunLoop *> loop = to_vm(vm)->create_vcpu(id, *run);
	if (!loop.ok())
		return loop.error();
	*out = reinterpret_cast<axvm_core_vcpu *>(loop.value());
	return 0;
}

extern "C" int axvm_core_vcpu_run(axvm_core_vcpu *vcpu)
{
	RunLoop *loop = to_loop(vcpu);
	VcpuClaim claim(loop->vcpu());
	if (!claim)
		return -err::EBUSY; // another thread is inside RUN on this vCPU
	return loop->run();
}
