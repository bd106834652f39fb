// SPDX-License-Identifier: GPL-2.0
// SVM enable/disable on each host CPU (AMD APM vol. 2, 15.4 "Enabling SVM"),
// and the resources shared by every SVM vCPU.
#include "svm_cpu.hpp"

#include "../msrs.hpp"

#include "../x86.hpp"
#include "vmcb.hpp"

namespace axvm::svm {

namespace {

constexpr unsigned kMaxCpus = 8192;
// Physical addresses of each CPU's host save area (VM_HSAVE_PA) and host
// VMSAVE page; only the CPU itself writes its slot (hotplug callbacks).
struct PerCpu {
	void *hsave;
	void *host_save;
	u64 host_save_pa;
	bool enabled;
	u32 next_asid;       // handed out downwards; see asid_for()
	u64 asid_generation; // bumped when the range wraps (all ASIDs flushed)
};
PerCpu *per_cpu;
unsigned nr_cpus;

Features feats;

constexpr u32 kMaxAsids = 1u << 15;
u32 asid_low, asid_high; // the range axvm uses, [asid_low, asid_high]

void *iopm, *msrpm, *msrpm_all;
u64 iopm_phys, msrpm_phys, msrpm_all_phys;
constexpr unsigned kIopmOrder = 2;  // 12 KiB map in 16 KiB
constexpr unsigned kMsrpmOrder = 1; // 8 KiB

// MSRPM: two bits (read, write) per MSR in three 2 KiB ranges (APM 15.11).
void msrpm_pass_through(u32 msr)
{
	u32 base;
	if (msr < 0x2000)
		base = 0;
	else if (msr - 0xc0000000u < 0x2000)
		base = 0x800, msr -= 0xc0000000u;
	else
		base = 0x1000, msr -= 0xc0010000u;
	u8 *byte = static_cast<u8 *>(msrpm) + base + msr / 4;
	*byte &= static_cast<u8>(~(3u << (2 * (msr % 4))));
}

Status alloc_permission_maps()
{
	iopm = axvm_alloc_pages(kIopmOrder, 1, &iopm_phys);
	msrpm = axvm_alloc_pages(kMsrpmOrder, 1, &msrpm_phys);
	msrpm_all = axvm_alloc_pages(kMsrpmOrder, 1, &msrpm_all_phys);
	if (!iopm || !msrpm || !msrpm_all)
		return fail(err::ENOMEM);
	// VMSAVE/VMLOAD switch these per guest, so the guest may use them
	// directly, as under kvm_amd; a VM whose MSR filter covers one of them
	// uses the other map, where every MSR exits.
	for (u32 msr : x86::kPassThroughMsrs)
		msrpm_pass_through(msr);
	return Status();
}

} // namespace

bool probe()
{
	if (x86::cpuid(0x80000000).eax < 0x8000000a)
		return false;
	if (!(x86::cpuid(0x80000001).ecx & (1u << 2)))
		return false;
	if (x86::rdmsr(x86::kMsrVmCr) & x86::kVmCrSvmDis) {
		axvm_log(AXVM_LOG_WARN, "SVM is disabled by firmware (VM_CR.SVMDIS); enable it in the BIOS");
		return false;
	}
	const x86::CpuidResult svm = x86::cpuid(0x8000000a);
	if (!(svm.edx & (1u << 0))) {
		axvm_log(AXVM_LOG_WARN, "SVM without nested paging (CPUID Fn8000_000A EDX[0]) is not supported");
		return false;
	}
	feats.nasid = svm.ebx;
	feats.nrips = svm.edx & (1u << 3);
	feats.flush_by_asid = svm.edx & (1u << 6);
	feats.decode_assists = svm.edx & (1u << 7);
	if (feats.nasid < 2) {
		axvm_log(AXVM_LOG_WARN, "SVM reports %u ASIDs; at least 2 are needed", feats.nasid);
		return false;
	}
	asid_high = (feats.nasid < kMaxAsids ? feats.nasid : kMaxAsids) - 1;
	asid_low = asid_high > 4096 ? asid_high - 4095 : 1;

	nr_cpus = axvm_nr_cpu_ids() < kMaxCpus ? axvm_nr_cpu_ids() : kMaxCpus;
	per_cpu = static_cast<PerCpu *>(axvm_kzalloc(sizeof(PerCpu) * nr_cpus));
	if (!per_cpu || !alloc_permission_maps().ok()) {
		axvm_log(AXVM_LOG_ERR, "out of memory setting up SVM");
		release();
		return false;
	}
	return true;
}

void release()
{
	if (iopm)
		axvm_free_pages(iopm, kIopmOrder);
	if (msrpm)
		axvm_free_pages(msrpm, kMsrpmOrder);
	if (msrpm_all)
		axvm_free_pages(msrpm_all, kMsrpmOrder);
	axvm_kfree(per_cpu);
	iopm = msrpm = msrpm_all = nullptr;
	per_cpu = nullptr;
}

const Features &features() { return feats; }

Status enable_cpu(unsigned int cpu)
{
	if (cpu >= nr_cpus)
		return fail(err::EINVAL);
	PerCpu &c = per_cpu[cpu];
	u64 hsave_pa = 0;
	if (!c.hsave)
		c.hsave = axvm_alloc_page(&hsave_pa);
	else
		hsave_pa = axvm_virt_to_phys(c.hsave);
	if (!c.host_save)
		c.host_save = axvm_alloc_page(&c.host_save_pa);
	if (!c.hsave || !c.host_save)
		return fail(err::ENOMEM);

	axvm_preempt_disable();
	const u64 efer = x86::rdmsr(x86::kMsrEfer);
	if (efer & x86::kEferSvme) {
		axvm_preempt_enable();
		axvm_log(AXVM_LOG_WARN, "CPU %u: SVM is already in use by another hypervisor", cpu);
		return fail(err::EBUSY);
	}
	x86::wrmsr(x86::kMsrEfer, efer | x86::kEferSvme);
	x86::wrmsr(x86::kMsrVmHsavePa, hsave_pa);
	c.enabled = true;
	c.next_asid = 0; // the first grant starts a new generation, flushing all
	axvm_preempt_enable();
	return Status();
}

void disable_cpu(unsigned int cpu)
{
	if (cpu >= nr_cpus)
		return;
	PerCpu &c = per_cpu[cpu];
	axvm_preempt_disable();
	// Never clear what another hypervisor set (see recipes: kvm_amd).
	if (c.enabled) {
		x86::wrmsr(x86::kMsrVmHsavePa, 0);
		x86::wrmsr(x86::kMsrEfer, x86::rdmsr(x86::kMsrEfer) & ~x86::kEferSvme);
		c.enabled = false;
	}
	axvm_preempt_enable();
	if (c.hsave)
		axvm_free_page(c.hsave);
	if (c.host_save)
		axvm_free_page(c.host_save);
	const u64 generation = c.asid_generation; // never reused: vCPUs compare it
	c = PerCpu{};
	c.asid_generation = generation;
}

u64 host_save_pa(unsigned int cpu)
{
	return cpu < nr_cpus && per_cpu[cpu].enabled ? per_cpu[cpu].host_save_pa : 0;
}

AsidGrant asid_for(unsigned int cpu, u32 asid, u64 generation)
{
	PerCpu &c = per_cpu[cpu];
	if (asid && generation == c.asid_generation)
		return AsidGrant{asid, generation, kTlbFlushNothing};
	// A fresh ASID on this CPU. Flush it: kvm_amd may have used the same
	// number here. When the range wraps, every ASID is flushed, so numbers
	// handed out again in the new generation start clean (KVM's scheme).
	u8 flush = features().flush_by_asid ? kTlbFlushAsid : kTlbFlushAll;
	if (c.next_asid < asid_low || c.next_asid > asid_high) {
		c.next_asid = asid_high;
		c.asid_generation++;
		flush = kTlbFlushAll;
	}
	return AsidGrant{c.next_asid--, c.asid_generation, flush};
}

u64 iopm_pa() { return iopm_phys; }
u64 msrpm_pa(bool all) { return all ? msrpm_all_phys : msrpm_phys; }

} // namespace axvm::svm
