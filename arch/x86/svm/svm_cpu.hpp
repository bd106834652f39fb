// SPDX-License-Identifier: GPL-2.0
// What SVM needs per host CPU and once per host: the CPU's features, EFER.SVME
// and the host save area on every online CPU while VMs exist, the ASIDs
// handed to vCPUs, and the all-intercept I/O and MSR permission maps.
#pragma once

#include <axvm/result.hpp>

namespace axvm::svm {

struct Features {
	u32 nasid;          // CPUID Fn8000_000A EBX: number of ASIDs
	bool nrips;         // next_rip saved on #VMEXIT
	bool flush_by_asid; // TLB_CONTROL 3
	bool decode_assists; // EXITINFO1 of IOIO names the OUTS segment, among others
};

// At module load: is SVM present, enabled by firmware, with nested paging?
// Logs why not and returns false otherwise.
bool probe();
// At module unload, after the last VM: frees what probe() allocated.
void release();
const Features &features();

// CPU hotplug: EFER.SVME and VM_HSAVE_PA on @cpu, the CPU we run on.
// -EBUSY if SVME is already set (another hypervisor owns SVM here).
Status enable_cpu(unsigned int cpu);
void disable_cpu(unsigned int cpu);

// Physical address of @cpu's page for the host's VMSAVE state; 0 if @cpu
// is not enabled.
u64 host_save_pa(unsigned int cpu);

// ASIDs are handed out per CPU, as kvm_amd does: a vCPU keeps its ASID
// while it stays on a CPU and the CPU's generation does not change; else
// it gets a fresh one, flushed on its first VMRUN. They come from the top
// of the range down, while kvm_amd counts up from 1 (see README).
struct AsidGrant {
	u32 asid;
	u64 generation;
	u8 tlb_control; // what the next VMRUN must flush
};
// On @cpu, preemption off: keep @asid of @generation, or a fresh one.
AsidGrant asid_for(unsigned int cpu, u32 asid, u64 generation);

// Physical addresses of the shared permission maps (APM 15.10, 15.11).
u64 iopm_pa();
// The MSR permission map: the usual one, or (@all) one where every MSR exits.
u64 msrpm_pa(bool all);

} // namespace axvm::svm
