// SPDX-License-Identifier: GPL-2.0
// arm64: what the CPU offers, and the backend that drives it. A kernel that
// runs at EL2 with HCR_EL2.E2H set (VHE) lets a module own the world switch
// as KVM's VHE code does; anything else (nVHE, protected KVM, a kernel at
// EL1 under another hypervisor) leaves EL2 out of reach and the module
// refuses to load.
#include <axvm/arch.hpp>

#include "backend.hpp"
#include "stage2_tables.hpp"
#include "sysreg.hpp"
#include "vcpu.hpp"
#include "vm.hpp"

#include <uapi/axvm.h>

namespace axvm::arch {

namespace {

constexpr u64 kHcrE2h = 1ull << 34;

Backend in_use = Backend::None;
u64 vtcr_value;
u32 ipa_bits_value;
arm64::HostFeatures features_value;

// Per CPU: the vCPU (serial) that last entered there and the stage-2
// generation it entered with. Written only by that CPU, DAIF masked.
struct PerCpu {
	u64 last_serial;
	u64 last_generation;
};
PerCpu *per_cpu;
unsigned nr_cpus;
u64 serial_counter;

// PARange (ID_AA64MMFR0_EL1[3:0]) in bits.
u32 parange_bits(u64 parange)
{
	static const u8 bits[] = {32, 36, 40, 42, 44, 48, 52};
	return parange < array_size(bits) ? bits[parange] : 48;
}

} // namespace

Backend detect()
{
	if (arm64::current_el() != 2) {
		axvm_log(AXVM_LOG_ERR, "the kernel runs at EL1 (nVHE KVM or a hypervisor below it): "
				       "axvm needs a kernel at EL2 with VHE");
		return Backend::None;
	}
	if (!(AXVM_SYSREG_READ(SYS_HCR_EL2) & kHcrE2h)) {
		axvm_log(AXVM_LOG_ERR, "HCR_EL2.E2H is clear: axvm needs a VHE host");
		return Backend::None;
	}
	const u64 parange = AXVM_SYSREG_READ(SYS_ID_AA64MMFR0_EL1) & 0xf;
	if (parange < 2) {
		axvm_log(AXVM_LOG_ERR, "the CPU's physical address range is %u bits; axvm needs 40",
			 parange_bits(parange));
		return Backend::Arm64Vhe;
	}
	nr_cpus = axvm_nr_cpu_ids();
	per_cpu = static_cast<PerCpu *>(axvm_kzalloc(sizeof(PerCpu) * nr_cpus));
	if (!per_cpu)
		return Backend::Arm64Vhe;
	// ID_AA64PFR0_EL1.RAS (31:28), ID_AA64MMFR0_EL1.FGT (59:56),
	// ID_AA64MMFR1_EL1.HCX (43:40): the same on every CPU of a system.
	features_value.ras = (AXVM_SYSREG_READ(SYS_ID_AA64PFR0_EL1) >> 28) & 0xf;
	features_value.fgt = (AXVM_SYSREG_READ(SYS_ID_AA64MMFR0_EL1) >> 56) & 0xf;
	features_value.hcx = (AXVM_SYSREG_READ(SYS_ID_AA64MMFR1_EL1) >> 40) & 0xf;
	// ID_AA64PFR0_EL1.EL0 (3:0) and .EL1 (7:4): 2 where AArch32 runs there.
	features_value.aarch32_el0 = (AXVM_SYSREG_READ(SYS_ID_AA64PFR0_EL1) & 0xf) == 2;
	features_value.aarch32_el1 = ((AXVM_SYSREG_READ(SYS_ID_AA64PFR0_EL1) >> 4) & 0xf) == 2;
	// Stage 2 walks from level 0 with a 4 KiB granule (the core's 4-level
	// tables), over at most 48 bits; VTCR_EL2.PS caps the output at the same.
	ipa_bits_value = parange_bits(parange) < 48 ? parange_bits(parange) : 48;
	const u64 ps = parange < 5 ? parange : 5;
	constexpr u64 kRes1 = 1ull << 31;
	constexpr u64 kSl0Level0 = 2ull << 6, kIrgnWb = 1ull << 8, kOrgnWb = 1ull << 10, kShInner = 3ull << 12;
	vtcr_value = kRes1 | ps << 16 | kShInner | kOrgnWb | kIrgnWb | kSl0Level0 | (64 - ipa_bits_value);
	in_use = Backend::Arm64Vhe;
	return Backend::Arm64Vhe;
}

Backend backend() { return in_use; }

bool load_without_backend() { return false; }

u32 ipa_bits() { return ipa_bits_value; }

bool el1_aarch32() { return in_use == Backend::Arm64Vhe && features_value.aarch32_el1; }

bool smm() { return false; }

void release()
{
	axvm_kfree(per_cpu);
	per_cpu = nullptr;
	in_use = Backend::None;
}

u32 supported_cpuid(axvm_cpuid_entry2 *, u32) { return 0; }

u32 msr_index_list(u32 *, u32) { return 0; }

u32 feature_msr_index_list(u32 *, u32) { return 0; }

bool feature_msr(u32, u64 *) { return false; }

Result<ArchVm *> create_arch_vm(Vm &vm)
{
	auto *arch = new arm64::Arm64Vm(vm);
	if (!arch || !arch->init()) {
		delete arch;
		return fail(err::ENOMEM);
	}
	return static_cast<ArchVm *>(arch);
}

Result<Stage2 *> create_stage2()
{
	if (in_use == Backend::None)
		return static_cast<Stage2 *>(nullptr);
	auto *s2 = new arm64::Stage2Tables(1ull << ipa_bits_value);
	if (!s2)
		return fail(err::ENOMEM);
	Status s = s2->init();
	if (!s.ok()) {
		delete s2;
		return Error{s.error()};
	}
	return static_cast<Stage2 *>(s2);
}


// The kernel already runs at EL2: nothing to switch on per CPU.
Status cpu_enable(unsigned int) { return Status(); }

void cpu_disable(unsigned int cpu)
{
	if (per_cpu && cpu < nr_cpus)
		per_cpu[cpu] = PerCpu{}; // a CPU coming back starts with a flush
}

Result<ArchVcpu *> create_vcpu(Vm &vm, u32 id)
{
	if (in_use == Backend::None)
		return fail(err::ENODEV);
	Result<arm64::Arm64Vcpu *> v = arm64::Arm64Vcpu::create(vm, id);
	if (!v.ok())
		return Error{v.error()};
	return static_cast<ArchVcpu *>(v.value());
}

} // namespace axvm::arch

namespace axvm::arm64 {

Arm64Vm::~Arm64Vm()
{
	if (psci_lock_)
		axvm_spinlock_destroy(psci_lock_);
}

bool Arm64Vm::init()
{
	psci_lock_ = axvm_spinlock_create();
	return psci_lock_ != nullptr;
}

// KVM_CAP_ARM_SYSTEM_SUSPEND takes no argument (KVM ignores args[0]) and
// stays on for the VM's life.
Status Arm64Vm::enable_cap(u32 cap, u64)
{
	if (cap != AXVM_CAP_ARM_SYSTEM_SUSPEND)
		return fail(err::EINVAL);
	__atomic_store_n(&system_suspend_, true, __ATOMIC_RELAXED);
	return Status();
}

const HostFeatures &host_features() { return arch::features_value; }

u64 vtcr() { return arch::vtcr_value; }
u32 ipa_bits() { return arch::ipa_bits(); }

u64 next_vcpu_serial() { return __atomic_add_fetch(&arch::serial_counter, 1, __ATOMIC_RELAXED); }

bool tlb_needs_flush(u64 vcpu_serial, u64 stage2_generation)
{
	const unsigned cpu = axvm_this_cpu();
	if (cpu >= arch::nr_cpus)
		return true;
	arch::PerCpu &here = arch::per_cpu[cpu];
	if (here.last_serial == vcpu_serial && here.last_generation == stage2_generation)
		return false;
	here.last_serial = vcpu_serial;
	here.last_generation = stage2_generation;
	return true;
}

} // namespace axvm::arm64
