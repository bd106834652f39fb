// SPDX-License-Identifier: GPL-2.0
// Which x86 virtualization extension the CPU offers, from CPUID alone.
// AMD64 APM vol. 3, "CPUID Fn8000_0001_ECX" bit 2 (SVM); Intel SDM vol. 2A,
// "CPUID leaf 01H ECX" bit 5 (VMX). Whether firmware disabled it (VM_CR.SVMDIS,
// IA32_FEATURE_CONTROL) is the backend's business when it enables the CPU.
#include <axvm/arch.hpp>

namespace axvm::arch {

namespace {

struct Cpuid {
	u32 eax, ebx, ecx, edx;
};

Cpuid cpuid(u32 leaf)
{
	Cpuid r;
	asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(0));
	return r;
}

constexpr u32 kSvmBit = 1u << 2;
constexpr u32 kVmxBit = 1u << 5;

} // namespace

const char *backend_name(Backend backend)
{
	switch (backend) {
	case Backend::None: return "none";
	case Backend::Svm: return "AMD SVM";
	case Backend::Vmx: return "Intel VMX";
	case Backend::Arm64Vhe: return "arm64 VHE";
	}
	return "?";
}

Backend detect()
{
	if (cpuid(0x80000000).eax >= 0x80000001 && (cpuid(0x80000001).ecx & kSvmBit))
		return Backend::Svm;
	if (cpuid(1).ecx & kVmxBit)
		return Backend::Vmx;
	return Backend::None;
}

// No backend drives the hardware yet: VMs and vCPUs can be created, RUN
// reports -ENODEV. The SVM and VMX backends replace these two.
Backend backend() { return Backend::None; }

Result<ArchVcpu *> create_vcpu(Vm &, u32) { return fail(err::ENODEV); }

} // namespace axvm::arch
