// SPDX-License-Identifier: GPL-2.0
// VMX capabilities (Intel SDM vol. 3C, appendix A) and VMXON per CPU.
#include "vmx_cpu.hpp"

#include "../x86.hpp"
#include "vmxon.h"

namespace axvm::vmx {

namespace {

constexpr u32 kMsrFeatureControl = 0x3a;
constexpr u32 kMsrVmxBasic = 0x480;
constexpr u32 kMsrVmxPinbased = 0x481, kMsrVmxProcbased = 0x482, kMsrVmxProcbased2 = 0x48b;
constexpr u32 kMsrVmxEptVpidCap = 0x48c;
constexpr u32 kMsrVmxTruePinbased = 0x48d, kMsrVmxTrueProcbased = 0x48e;

constexpr u64 kFeatureControlLocked = 1ull << 0, kFeatureControlVmxOutsideSmx = 1ull << 2;

constexpr unsigned kMaxCpus = 8192;
struct PerCpu {
	void *vmxon_region;
	u64 vmxon_pa;
	bool on;
};
PerCpu *per_cpu;
unsigned nr_cpus;
Features feats;

// A control's allowed-1 settings: the high half of its capability MSR.
bool allowed(u32 msr, u32 bits) { return (x86::rdmsr(msr) >> 32 & bits) == bits; }

struct Requirement {
	bool present;
	const char *what;
};

} // namespace

bool probe()
{
	if (!(x86::cpuid(1).ecx & (1u << 5)))
		return false;
	const u64 fc = x86::rdmsr(kMsrFeatureControl);
	if (!(fc & kFeatureControlLocked) || !(fc & kFeatureControlVmxOutsideSmx)) {
		axvm_log(AXVM_LOG_WARN, "VMX is disabled by firmware (IA32_FEATURE_CONTROL 0x%llx); enable it in the BIOS",
			 fc);
		return false;
	}
	const u64 basic = x86::rdmsr(kMsrVmxBasic);
	feats.vmcs_revision = static_cast<u32>(basic & 0x7fffffff);
	feats.true_controls = basic & (1ull << 55);
	const u32 pin = feats.true_controls ? kMsrVmxTruePinbased : kMsrVmxPinbased;
	const u32 proc = feats.true_controls ? kMsrVmxTrueProcbased : kMsrVmxProcbased;
	const u64 ept = x86::rdmsr(kMsrVmxEptVpidCap);
	feats.preemption_timer = allowed(pin, 1u << 6);
	const bool secondary = allowed(proc, 1u << 31);
	feats.unrestricted_guest = secondary && allowed(kMsrVmxProcbased2, 1u << 7);
	const Requirement needed[] = {
		{((basic >> 32) & 0x1fff) <= kPageSize, "a VMCS of at most 4 KiB"},
		{((basic >> 50) & 0xf) == 6, "write-back VMCS memory"},
		{allowed(pin, 1u << 0 | 1u << 3), "external-interrupt and NMI exiting"},
		{allowed(proc, 1u << 7 | 1u << 24 | 1u << 25 | 1u << 28), "HLT, I/O bitmap and MSR bitmap exiting"},
		{secondary && allowed(kMsrVmxProcbased2, 1u << 1), "EPT"},
		{secondary && allowed(kMsrVmxProcbased2, 1u << 5), "VPID"},
		{(ept & (1ull << 6)) && (ept & (1ull << 14)), "4-level write-back EPT"},
		{(ept & (1ull << 20)) && (ept & (1ull << 32)), "INVEPT and INVVPID"},
	};
	for (const Requirement &r : needed) {
		if (!r.present) {
			axvm_log(AXVM_LOG_WARN, "VMX without %s is not supported", r.what);
			return false;
		}
	}
	nr_cpus = axvm_nr_cpu_ids() < kMaxCpus ? axvm_nr_cpu_ids() : kMaxCpus;
	per_cpu = static_cast<PerCpu *>(axvm_kzalloc(sizeof(PerCpu) * nr_cpus));
	if (!per_cpu) {
		axvm_log(AXVM_LOG_ERR, "out of memory setting up VMX");
		return false;
	}
	return true;
}

void release()
{
	axvm_kfree(per_cpu);
	per_cpu = nullptr;
}

const Features &features() { return feats; }

Status enable_cpu(unsigned int cpu)
{
	if (cpu >= nr_cpus)
		return fail(err::EINVAL);
	PerCpu &c = per_cpu[cpu];
	if (!c.vmxon_region)
		c.vmxon_region = axvm_alloc_page(&c.vmxon_pa);
	if (!c.vmxon_region)
		return fail(err::ENOMEM);
	*static_cast<u32 *>(c.vmxon_region) = feats.vmcs_revision;
	axvm_preempt_disable();
	const int err = axvm_vmxon(c.vmxon_pa);
	c.on = err == 0;
	axvm_preempt_enable();
	if (err) {
		axvm_log(AXVM_LOG_WARN, err == -err::EBUSY ? "CPU %u: VMX is already in use by another hypervisor"
							    : "CPU %u: VMXON faulted",
			 cpu);
		return Error{err};
	}
	return Status();
}

void disable_cpu(unsigned int cpu)
{
	if (cpu >= nr_cpus)
		return;
	PerCpu &c = per_cpu[cpu];
	axvm_preempt_disable();
	if (c.on) // never VMXOFF what another hypervisor turned on
		axvm_vmxoff();
	c.on = false;
	axvm_preempt_enable();
	if (c.vmxon_region)
		axvm_free_page(c.vmxon_region);
	c = PerCpu{};
}

} // namespace axvm::vmx
