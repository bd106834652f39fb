// SPDX-License-Identifier: GPL-2.0
// What the core asks of the architecture layer as a whole (arch/<arch>/).
#pragma once

#include "arch_vcpu.hpp"
#include "arch_vm.hpp"
#include "stage2.hpp"

struct axvm_cpuid_entry2;

namespace axvm {
class Vm;
}

namespace axvm::arch {

enum class Backend : u8 { None, Svm, Vmx, Arm64Vhe };

inline const char *backend_name(Backend backend)
{
	switch (backend) {
	case Backend::None: return "none";
	case Backend::Svm: return "AMD SVM";
	case Backend::Vmx: return "Intel VMX";
	case Backend::Arm64Vhe: return "arm64 VHE";
	}
	return "?";
}

// Probes the CPU we are on and sets up the backend that can drive it;
// called once at module load. Returns what the CPU offers.
Backend detect();

// The backend in use: what detect() found, if it can drive it (None before).
Backend backend();

// Whether the module loads on a host without a usable backend: on x86 it
// does (the ABI and tools work, RUN says -ENODEV); on arm64 the host check
// refuses a host it cannot drive at load time: -ENODEV and a line saying why.
bool load_without_backend();

// At module unload: frees what detect() set up.
void release();

// KVM_GET_SUPPORTED_CPUID (x86): what a guest may be shown; returns the
// entry count, writing at most @max.
u32 supported_cpuid(axvm_cpuid_entry2 *out, u32 max);

// KVM_GET_MSR_INDEX_LIST (x86): the MSRs userspace saves and restores;
// returns the count, writing at most @max.
u32 msr_index_list(u32 *out, u32 max);

// KVM_GET_MSR_FEATURE_INDEX_LIST (x86): the MSRs that say what the host
// offers guests (returns the count, writing at most @max), and KVM_GET_MSRS
// on the device: the value of one of them, false for any other index.
u32 feature_msr_index_list(u32 *out, u32 max);
bool feature_msr(u32 index, u64 *value);

// The architecture's part of a new VM (VM ioctls and state of its own).
Result<ArchVm *> create_arch_vm(Vm &vm);

// arm64: the guest-physical address bits every VM gets (0 elsewhere).
u32 ipa_bits();

// arm64: whether a guest's EL1 may run in AArch32 (false elsewhere).
bool el1_aarch32();

// x86: whether vCPUs can run System Management Mode, whose handler runs in
// big real mode: SVM, or VMX with unrestricted guest (KVM's answer for
// KVM_CAP_X86_SMM); false elsewhere.
bool smm();

// The backend's stage-2 translation for a new VM; null without a backend.
Result<Stage2 *> create_stage2();

// Per-CPU enable/disable of the hardware, on @cpu (CPU hotplug thread).
Status cpu_enable(unsigned int cpu);
void cpu_disable(unsigned int cpu);

// Creates the backend's half of vCPU @id of @vm; -ENODEV where the host has
// no backend axvm can drive.
Result<ArchVcpu *> create_vcpu(Vm &vm, u32 id);

} // namespace axvm::arch
