// SPDX-License-Identifier: GPL-2.0
// arm64: what the CPU offers. A kernel running at EL2 with HCR_EL2.E2H set
// (VHE) is where an axvm backend can run EL1 guests; that backend does not
// exist yet, so the module loads, creates VMs and vCPUs, and RUN says
// -ENODEV, as on an x86 host without SVM.
#include <axvm/arch.hpp>

namespace axvm::arch {

namespace {

constexpr u64 kHcrE2h = 1ull << 34;

u64 current_el()
{
	u64 el;
	asm volatile("mrs %0, CurrentEL" : "=r"(el));
	return (el >> 2) & 3;
}

} // namespace

Backend detect()
{
	if (current_el() != 2)
		return Backend::None; // at EL1: the hypervisor level belongs to someone else
	u64 hcr;
	asm volatile("mrs %0, hcr_el2" : "=r"(hcr));
	return (hcr & kHcrE2h) ? Backend::Arm64Vhe : Backend::None;
}

Backend backend() { return Backend::None; }

void release() {}

u32 supported_cpuid(axvm_cpuid_entry2 *, u32) { return 0; }

Result<Stage2 *> create_stage2() { return static_cast<Stage2 *>(nullptr); }

Status cpu_enable(unsigned int) { return Status(); }

void cpu_disable(unsigned int) {}

Result<ArchVcpu *> create_vcpu(Vm &, u32) { return fail(err::ENODEV); }

} // namespace axvm::arch
