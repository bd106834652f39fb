// SPDX-License-Identifier: GPL-2.0
// What VMX needs per host CPU and once per host (Intel SDM vol. 3C, ch. 24
// and appendix A): the capabilities, checked at load, and VMXON on every
// online CPU while VMs exist.
#pragma once

#include <axvm/result.hpp>

namespace axvm::vmx {

struct Features {
	u32 vmcs_revision;   // IA32_VMX_BASIC[30:0]
	bool true_controls;  // IA32_VMX_BASIC[55]: the TRUE_* control MSRs exist
	bool unrestricted_guest;
	bool preemption_timer;
};

// At module load: is VMX present and enabled by firmware, with EPT (4-level,
// write-back), VPID and the controls axvm needs? Logs what is missing.
bool probe();
// At module unload, after the last VM: frees what probe() allocated.
void release();
const Features &features();

// CPU hotplug: VMXON on @cpu, the CPU we run on; -EBUSY if another
// hypervisor holds VMX there. disable_cpu does VMXOFF.
Status enable_cpu(unsigned int cpu);
void disable_cpu(unsigned int cpu);

} // namespace axvm::vmx
