// SPDX-License-Identifier: GPL-2.0
// The core's half of include/axvm/boundary.h: flat C entry points over Vm and
// KernelVcpu for the C glue. The opaque C handles are the C++ objects.
#include <axvm/arch.hpp>
#include <axvm/steal_clock.hpp>
#include <axvm/vm.hpp>
#include <uapi/axvm.h>

using namespace axvm;

#ifdef __aarch64__
constexpr bool kArm64 = true;
#else
constexpr bool kArm64 = false;
#endif

static Vm *to_vm(axvm_core_vm *vm) { return reinterpret_cast<Vm *>(vm); }
static KernelVcpu *to_vcpu(axvm_core_vcpu *v) { return reinterpret_cast<KernelVcpu *>(v); }

extern "C" int axvm_core_init(void)
{
	const arch::Backend hw = arch::detect();
	if (arch::backend() == arch::Backend::None && !arch::load_without_backend()) {
		arch::release(); // detect() said why, in one line
		return -err::ENODEV;
	}
	axvm_log(AXVM_LOG_INFO, "hardware virtualization: %s; backend in use: %s", arch::backend_name(hw),
		 arch::backend_name(arch::backend()));
	return 0;
}

extern "C" void axvm_core_exit(void) { arch::release(); }

extern "C" int axvm_core_has_backend(void) { return arch::backend() != arch::Backend::None; }

extern "C" int axvm_core_cpu_enable(unsigned int cpu) { return arch::cpu_enable(cpu).error(); }

extern "C" void axvm_core_cpu_disable(unsigned int cpu) { arch::cpu_disable(cpu); }

extern "C" int axvm_core_supported_cpuid(axvm_cpuid2 *cpuid, axvm_u32 max)
{
	if (kArm64)
		return -err::ENOTTY; // an x86 ioctl, as under KVM
	if (arch::backend() == arch::Backend::None)
		return -err::ENODEV;
	const u32 n = arch::supported_cpuid(cpuid->entries, max);
	cpuid->nent = n;
	return n > max ? -err::E2BIG : 0;
}

extern "C" int axvm_core_msr_index_list(axvm_u32 *indices, axvm_u32 max, int features)
{
	if (kArm64)
		return -err::ENOTTY;
	return static_cast<int>(features ? arch::feature_msr_index_list(indices, max)
					 : arch::msr_index_list(indices, max));
}

extern "C" int axvm_core_feature_msrs(axvm_msrs *msrs)
{
	if (kArm64)
		return -err::ENOTTY;
	u32 done = 0;
	while (done < msrs->nmsrs && arch::feature_msr(msrs->entries[done].index, &msrs->entries[done].data))
		done++;
	msrs->nmsrs = done;
	return 0;
}

extern "C" long axvm_core_vm_arch_ioctl(axvm_core_vm *vm, unsigned int cmd, void *arg, axvm_usize size)
{
	Result<long> r = to_vm(vm)->arch()->ioctl(cmd, arg, size);
	return r.ok() ? r.value() : r.error();
}

extern "C" void axvm_core_vm_set_glue(axvm_core_vm *vm, void *glue) { to_vm(vm)->arch()->set_glue(glue); }

extern "C" int axvm_core_irqfd_allowed(axvm_core_vm *vm, int resample)
{
	return to_vm(vm)->arch()->irqfd_allowed(resample != 0).error();
}

extern "C" void axvm_core_irqfd_inject(axvm_core_vm *vm, axvm_u32 gsi, int resample)
{
	to_vm(vm)->arch()->irqfd_inject(gsi, resample != 0);
}

extern "C" int axvm_core_irqfd_resample(axvm_core_vm *vm, axvm_u32 gsi, int on)
{
	return to_vm(vm)->arch()->irqfd_resample(gsi, on != 0).error();
}

extern "C" int axvm_core_ioeventfd(axvm_core_vm *vm, const axvm_ioeventfd *args, void *eventfd)
{
	IoEvents &events = to_vm(vm)->io_events();
	const bool deassign = args->flags & AXVM_IOEVENTFD_FLAG_DEASSIGN;
	return (deassign ? events.deassign(*args, eventfd) : events.assign(*args, eventfd)).error();
}

extern "C" long axvm_core_dirty_log_pages(axvm_core_vm *vm, axvm_u32 slot)
{
	const MemorySlot *s = to_vm(vm)->slot(slot);
	if (!s)
		return -err::EINVAL;
	if (!s->used() || !(s->flags & AXVM_MEM_LOG_DIRTY_PAGES))
		return -err::ENOENT;
	return static_cast<long>(s->size / kPageSize);
}

extern "C" long axvm_core_check_extension(long cap)
{
	const bool hw = arch::backend() != arch::Backend::None;
	switch (cap) {
	case AXVM_CAP_USER_MEMORY:
	case AXVM_CAP_IMMEDIATE_EXIT:
	case AXVM_CAP_BINARY_STATS_FD:
	case AXVM_CAP_DESTROY_MEMORY_REGION_WORKS:
	case AXVM_CAP_JOIN_MEMORY_REGIONS_WORKS:
		return 1;
	case AXVM_CAP_SET_TSS_ADDR:
		return !kArm64;
	case AXVM_CAP_MMU_SHADOW_CACHE_CONTROL:
		return !kArm64 && hw;
	case AXVM_CAP_USER_NMI:
	case AXVM_CAP_VCPU_EVENTS:
	case AXVM_CAP_QUEUE_INTERRUPT:
	case AXVM_CAP_HALT_IN_KERNEL:
	case AXVM_CAP_EXT_CPUID:
	case AXVM_CAP_SET_IDENTITY_MAP_ADDR:
	case AXVM_CAP_DEBUGREGS:
	case AXVM_CAP_GET_TSC_KHZ:
	case AXVM_CAP_MSR_PLATFORM_INFO:
	case AXVM_CAP_X86_MSR_FILTER:
	case AXVM_CAP_IRQCHIP:
	case AXVM_CAP_HLT:
	case AXVM_CAP_IOAPIC_POLARITY_IGNORED:
	case AXVM_CAP_PIT:
	case AXVM_CAP_REINJECT_CONTROL:
	case AXVM_CAP_IRQ_INJECT_STATUS:
	case AXVM_CAP_PIT2:
	case AXVM_CAP_SET_BOOT_CPU_ID:
	case AXVM_CAP_PIT_STATE2:
	case AXVM_CAP_TSC_DEADLINE_TIMER:
	case AXVM_CAP_SIGNAL_MSI:
	case AXVM_CAP_SPLIT_IRQCHIP:
	case AXVM_CAP_IRQFD:
	case AXVM_CAP_IRQFD_RESAMPLE:
		return !kArm64 && hw;
	case AXVM_CAP_IOEVENTFD:
	case AXVM_CAP_IOEVENTFD_NO_LENGTH:
	case AXVM_CAP_IOEVENTFD_ANY_LENGTH:
		return hw;
	case AXVM_CAP_X2APIC_API:
		return !kArm64 && hw ? AXVM_X2APIC_API_USE_32BIT_IDS | AXVM_X2APIC_API_DISABLE_BROADCAST_QUIRK : 0;
	case AXVM_CAP_X86_USER_SPACE_MSR:
		return !kArm64 && hw ? AXVM_MSR_EXIT_REASON_INVAL | AXVM_MSR_EXIT_REASON_UNKNOWN |
					       AXVM_MSR_EXIT_REASON_FILTER
				     : 0;
	case AXVM_CAP_GET_MSR_FEATURES:
	case AXVM_CAP_DISABLE_QUIRKS:
	case AXVM_CAP_ENFORCE_PV_FEATURE_CPUID:
		return !kArm64 && hw;
	case AXVM_CAP_DISABLE_QUIRKS2:
		return !kArm64 && hw ? AXVM_X86_QUIRKS_SUPPORTED : 0;
	case AXVM_CAP_SYNC_REGS:
		return !kArm64 && hw ? AXVM_SYNC_X86_VALID_FIELDS : 0;
	case AXVM_CAP_MCE:
		return !kArm64 && hw ? 32 : 0; // banks (x86::kMaxMceBanks)
	case AXVM_CAP_IRQ_ROUTING:
		// KVM's answer; KVM_SET_GSI_ROUTING needs an in-kernel
		// irqchip, as under KVM.
		return !kArm64 && hw ? AXVM_MAX_IRQ_ROUTES : 0;
	case AXVM_CAP_READONLY_MEM:
	case AXVM_CAP_MP_STATE: // arm64: RUNNABLE and STOPPED (PSCI's power state)
		return hw;
	case AXVM_CAP_ONE_REG:
	case AXVM_CAP_ARM_PSCI:
	case AXVM_CAP_ARM_PSCI_0_2:
	case AXVM_CAP_ARM_NISV_TO_USER:
	case AXVM_CAP_ARM_SYSTEM_SUSPEND:
		return kArm64 && hw;
	case AXVM_CAP_VCPU_ATTRIBUTES: // x86: the TSC offset; arm64: steal time
		return hw;
	case AXVM_CAP_STEAL_TIME:
		// PV time counts the vCPU thread's run-queue waits (the scheduler's
		// sched_info), as KVM's kvm_arm_pvtime_supported().
		return kArm64 && hw && StealClock::supported();
	case AXVM_CAP_ARM_EL1_32BIT:
		return kArm64 && hw && arch::el1_aarch32();
	case AXVM_CAP_ARM_VM_IPA_SIZE:
		return kArm64 && hw ? arch::ipa_bits() : 0;
	case AXVM_CAP_NR_VCPUS:
	case AXVM_CAP_MAX_VCPUS:
	case AXVM_CAP_MAX_VCPU_ID:
		return Vm::kMaxVcpus;
	case AXVM_CAP_NR_MEMSLOTS:
		return MemoryMap::kMaxSlots;
	case AXVM_CAP_MULTI_ADDRESS_SPACE:
		return Vm::kAddressSpaces;
	case AXVM_CAP_X86_SMM:
		return arch::smm();
	default:
		return 0;
	}
}

extern "C" int axvm_core_vm_type_check(unsigned long type)
{
	if (!kArm64)
		return type ? -err::EINVAL : 0;
	// KVM_VM_TYPE_ARM_IPA_SIZE: the IPA size in bits 7:0, 0 for KVM's
	// default of 40 (axvm never offers less), nothing in the other bits.
	const unsigned long bits = type & 0xff;
	if (type != bits || (bits && (bits < 32 || bits > arch::ipa_bits())))
		return -err::EINVAL;
	return 0;
}

extern "C" int axvm_core_vm_create(axvm_core_vm **out)
{
	Vm *vm = new Vm();
	if (!vm)
		return -err::ENOMEM;
	Status s = vm->init();
	if (!s.ok()) {
		delete vm;
		return s.error();
	}
	*out = reinterpret_cast<axvm_core_vm *>(vm);
	return 0;
}

extern "C" void axvm_core_vm_destroy(axvm_core_vm *vm) { delete to_vm(vm); }

extern "C" int axvm_core_set_memory_region(axvm_core_vm *vm, const axvm_userspace_memory_region *region)
{
	return to_vm(vm)->set_memory_region(*region).error();
}

extern "C" int axvm_core_vcpu_create(axvm_core_vm *vm, axvm_u32 id, axvm_run *run, axvm_core_vcpu **out)
{
	Result<KernelVcpu *> v = to_vm(vm)->create_vcpu(id, *run);
	if (!v.ok())
		return v.error();
	*out = reinterpret_cast<axvm_core_vcpu *>(v.value());
	return 0;
}

extern "C" axvm_vcpu_stats *axvm_core_vcpu_stats(axvm_core_vcpu *vcpu)
{
	ArchVcpu *arch = to_vcpu(vcpu)->vcpu().arch();
	return arch ? &arch->stats : nullptr;
}

extern "C" const axvm_u64 *axvm_core_vm_remote_tlb_flush(axvm_core_vm *vm)
{
	static const axvm_u64 none = 0;
	Stage2 *stage2 = to_vm(vm)->stage2();
	return stage2 ? stage2->generation_ptr() : &none;
}

extern "C" int axvm_core_vcpu_run(axvm_core_vcpu *vcpu, axvm_exit_record *record)
{
	KernelVcpu *v = to_vcpu(vcpu);
	VcpuClaim claim(v->vcpu());
	if (!claim)
		return -err::EBUSY; // another thread is inside RUN on this vCPU
	return v->run(record).error();
}

extern "C" int axvm_core_vcpu_arch_ioctl(axvm_core_vcpu *vcpu, unsigned int cmd, void *arg, axvm_usize size)
{
	KernelVcpu *v = to_vcpu(vcpu);
	VcpuClaim claim(v->vcpu());
	if (!claim)
		return -err::EBUSY; // RUN is in progress on another thread
	return v->arch_ioctl(cmd, arg, size).error();
}

extern "C" int axvm_core_vcpu_queue_interrupt(axvm_core_vcpu *vcpu, axvm_u32 vector, int nmi)
{
	return to_vcpu(vcpu)->queue_interrupt(vector, nmi).error();
}

extern "C" int axvm_core_vm_irq_line(axvm_core_vm *vm, axvm_u32 vcpu_id, axvm_u32 line, int level)
{
	KernelVcpu *v = to_vm(vm)->vcpu(vcpu_id);
	if (!v)
		return -err::EINVAL;
	return v->set_irq_line(line, level != 0).error();
}

extern "C" int axvm_core_vm_enable_cap(axvm_core_vm *vm, axvm_u32 cap, axvm_u64 arg0)
{
	// arm64: KVM_EXIT_ARM_NISV is always on; enabling it is accepted.
	if (kArm64 && cap == AXVM_CAP_ARM_NISV_TO_USER && arch::backend() != arch::Backend::None)
		return 0;
	// x86: KVM_CAP_MAX_VCPU_ID bounds the vCPU ids of this VM, as KVM's x86
	// takes it (KVM's arm64 does not).
	if (!kArm64 && cap == AXVM_CAP_MAX_VCPU_ID)
		return to_vm(vm)->limit_vcpu_ids(arg0).error();
	if (!kArm64 && cap == AXVM_CAP_HALT_IN_KERNEL) {
		if (arg0 > 1)
			return -err::EINVAL;
		to_vm(vm)->set_halt_in_kernel(arg0);
		return 0;
	}
	return to_vm(vm)->arch()->enable_cap(cap, arg0).error();
}
