// SPDX-License-Identifier: GPL-2.0
// Which x86 virtualization extension the CPU offers (CPUID: AMD APM vol. 3
// Fn8000_0001_ECX[2] SVM; Intel SDM vol. 2A leaf 01H ECX[5] VMX), and the
// backend that drives it. Chosen once at module load.
#include <axvm/arch.hpp>

#include "svm/svm_cpu.hpp"
#include "svm/svm_vcpu.hpp"
#include "vmx/vmx_cpu.hpp"
#include "vmx/vmx_vcpu.hpp"
#include "x86.hpp"
#include "x86_vm.hpp"

namespace axvm::arch {

namespace {

Backend in_use = Backend::None;

// Nested page table entries: the x86-64 page-table format (APM 15.25.5),
// user bit set at every level because NPT treats guest accesses as user.
struct NptFormat {
	static constexpr u64 kPresent = 1, kWrite = 2, kUser = 4;
	static constexpr u64 kAddress = 0x000ffffffffff000ull;
	static u64 table(u64 pa) { return pa | kPresent | kWrite | kUser; }
	static u64 leaf(u64 pa, bool writable) { return pa | kPresent | kUser | (writable ? kWrite : 0); }
	static bool present(u64 entry) { return entry & kPresent; }
	static u64 address(u64 entry) { return entry & kAddress; }
};

// EPT entries (Intel SDM vol. 3C, 29.3.2): read, write, execute in bits
// 2:0; a leaf is write-back memory with the guest's PAT ignored (bit 6),
// as kvm_intel maps RAM when no device DMA is non-coherent.
struct EptFormat {
	static constexpr u64 kRead = 1, kWrite = 2, kExec = 4, kWriteBack = 6ull << 3, kIgnorePat = 1ull << 6;
	static constexpr u64 kAddress = 0x000ffffffffff000ull;
	static u64 table(u64 pa) { return pa | kRead | kWrite | kExec; }
	static u64 leaf(u64 pa, bool writable)
	{
		return pa | kRead | kExec | kWriteBack | kIgnorePat | (writable ? kWrite : 0);
	}
	static bool present(u64 entry) { return entry & (kRead | kWrite | kExec); }
	static u64 address(u64 entry) { return entry & kAddress; }
};

template <class Format> Result<Stage2 *> new_stage2()
{
	auto *table = new PageTableStage2<Format>();
	if (!table)
		return fail(err::ENOMEM);
	Status s = table->init();
	if (!s.ok()) {
		delete table;
		return Error{s.error()};
	}
	return static_cast<Stage2 *>(table);
}

} // namespace

Backend detect()
{
	if (x86::cpuid(0x80000000).eax >= 0x80000001 && (x86::cpuid(0x80000001).ecx & (1u << 2))) {
		if (svm::probe())
			in_use = Backend::Svm;
		return Backend::Svm;
	}
	if (x86::cpuid(1).ecx & (1u << 5)) {
		if (vmx::probe())
			in_use = Backend::Vmx;
		return Backend::Vmx;
	}
	return Backend::None;
}

void release()
{
	if (in_use == Backend::Svm)
		svm::release();
	if (in_use == Backend::Vmx)
		vmx::release();
	in_use = Backend::None;
}

Backend backend() { return in_use; }

bool load_without_backend() { return true; }

u32 ipa_bits() { return 0; }

bool el1_aarch32() { return false; }

bool smm() { return in_use == Backend::Svm || (in_use == Backend::Vmx && vmx::features().unrestricted_guest); }

Result<Stage2 *> create_stage2()
{
	if (in_use == Backend::Svm)
		return new_stage2<NptFormat>();
	if (in_use == Backend::Vmx)
		return new_stage2<EptFormat>();
	return static_cast<Stage2 *>(nullptr);
}

Status cpu_enable(unsigned int cpu)
{
	if (in_use == Backend::Svm)
		return svm::enable_cpu(cpu);
	return in_use == Backend::Vmx ? vmx::enable_cpu(cpu) : Status();
}

void cpu_disable(unsigned int cpu)
{
	if (in_use == Backend::Svm)
		svm::disable_cpu(cpu);
	if (in_use == Backend::Vmx)
		vmx::disable_cpu(cpu);
}


Result<ArchVcpu *> create_vcpu(Vm &vm, u32 id)
{
	if (in_use == Backend::Svm) {
		Result<svm::SvmVcpu *> v = svm::SvmVcpu::create(vm, id);
		if (!v.ok())
			return Error{v.error()};
		return static_cast<ArchVcpu *>(v.value());
	}
	if (in_use == Backend::Vmx) {
		Result<vmx::VmxVcpu *> v = vmx::VmxVcpu::create(vm, id);
		if (!v.ok())
			return Error{v.error()};
		return static_cast<ArchVcpu *>(v.value());
	}
	return fail(err::ENODEV);
}

u32 supported_cpuid(axvm_cpuid_entry2 *out, u32 max)
{
	return x86::supported_cpuid(out, max, in_use == Backend::Svm);
}

u32 msr_index_list(u32 *out, u32 max) { return x86::msr_index_list(out, max); }

u32 feature_msr_index_list(u32 *out, u32 max) { return x86::feature_msr_index_list(out, max); }

bool feature_msr(u32 index, u64 *value) { return x86::feature_msr(index, value); }

Result<ArchVm *> create_arch_vm(Vm &owner)
{
	x86::X86Vm *vm = new x86::X86Vm(owner);
	if (!vm)
		return fail(err::ENOMEM);
	Status s = vm->init();
	if (!s.ok()) {
		delete vm;
		return Error{s.error()};
	}
	return static_cast<ArchVm *>(vm);
}

} // namespace axvm::arch
