// SPDX-License-Identifier: GPL-2.0
// What VMX needs per host CPU and once per host (Intel SDM vol. 3C, ch. 24
// and appendix A): the capabilities, checked at load, VMXON on every online
// CPU while VMs exist, the VMCSs loaded on each CPU, and the VPIDs.
#pragma once

#include <axvm/result.hpp>

namespace axvm::vmx {

// Execution, exit and entry controls axvm sets (SDM vol. 3C, 25.6-25.8).
namespace pin {
constexpr u32 kExtIntExiting = 1u << 0, kNmiExiting = 1u << 3, kVirtualNmis = 1u << 5, kPreemptionTimer = 1u << 6;
}
namespace proc {
constexpr u32 kTscOffset = 1u << 3;
constexpr u32 kIntWindow = 1u << 2, kHlt = 1u << 7, kInvlpg = 1u << 9, kMwait = 1u << 10, kRdpmc = 1u << 11;
constexpr u32 kCr3Load = 1u << 15, kCr3Store = 1u << 16, kCr8Load = 1u << 19, kCr8Store = 1u << 20;
constexpr u32 kNmiWindow = 1u << 22, kMovDr = 1u << 23;
constexpr u32 kUncondIo = 1u << 24, kMsrBitmaps = 1u << 28, kMonitor = 1u << 29, kSecondary = 1u << 31;
}
namespace proc2 {
constexpr u32 kEpt = 1u << 1, kVpid = 1u << 5, kWbinvd = 1u << 6, kUnrestricted = 1u << 7;
}
namespace exit_ctl {
constexpr u32 kSaveDebug = 1u << 2, kHostLongMode = 1u << 9, kSavePat = 1u << 18, kLoadPat = 1u << 19;
constexpr u32 kSaveEfer = 1u << 20, kLoadEfer = 1u << 21;
}
namespace entry_ctl {
constexpr u32 kLoadDebug = 1u << 2, kLongModeGuest = 1u << 9, kLoadPat = 1u << 14, kLoadEfer = 1u << 15;
}

struct Features {
	u32 vmcs_revision;   // IA32_VMX_BASIC[30:0]
	bool true_controls;  // IA32_VMX_BASIC[55]: the TRUE_* control MSRs exist
	bool unrestricted_guest;
	bool preemption_timer;
	u8 timer_shift;      // the preemption timer counts TSC >> this (IA32_VMX_MISC[4:0])
	// The controls axvm wants, adjusted to what the CPU requires and allows.
	u32 pin, proc, proc2, exit, entry;
	// CR0/CR4 bits VMX operation fixes to 1 (FIXED0) and allows (FIXED1).
	u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
};

// At module load: is VMX present and enabled by firmware, with EPT (4-level,
// write-back), VPID and the controls axvm needs? Logs what is missing.
bool probe();
// At module unload, after the last VM: frees what probe() allocated.
void release();
const Features &features();

// CPU hotplug: VMXON on @cpu, the CPU we run on; -EBUSY if another
// hypervisor holds VMX there. disable_cpu clears every VMCS still loaded
// there (their owners load them again wherever they run next), then VMXOFF.
Status enable_cpu(unsigned int cpu);
void disable_cpu(unsigned int cpu);
bool cpu_on(unsigned int cpu);

// A vCPU's run() on this CPU (preemption off) between these two: a
// disable_cpu() that interrupts it (the reboot notifier's IPI, taken with
// interrupts on after a VM exit) is left to run_ends(), since VMXOFF under
// it would make its next VMREAD fault. run_ends() says whether VMX went off.
void run_begins(unsigned int cpu);
bool run_ends(unsigned int cpu);

// A VMCS that may be current on some CPU. The owner (VmxVcpu) keeps it;
// this file keeps the per-CPU lists that VMXOFF must clear.
struct LoadedVmcs {
	u64 pa = 0;
	int cpu = -1;         // where it is loaded (VMPTRLD), or -1: clear
	bool launched = false; // VMLAUNCH done since it was last cleared
	LoadedVmcs *prev = nullptr, *next = nullptr;
};
// On the CPU we run on, preemption off: make @v current here (VMPTRLD).
// The caller made sure it is clear everywhere else (clear()).
Status load(LoadedVmcs &v);
// Whether @v is this CPU's current VMCS. Another vCPU's VMPTRLD here, or
// this CPU going offline (VMCLEAR), makes it stop being so: the owner
// loads it again before its next entry.
bool is_current(const LoadedVmcs &v);
// From any CPU, preemption off: VMCLEAR @v on the CPU it is loaded on.
void clear(LoadedVmcs &v);

// The MSR bitmap every vCPU shares (SDM vol. 3C, 25.6.9).
// The MSR bitmap: the usual one, or (@all) one where every MSR exits.
u64 msr_bitmap_pa(bool all);

// VPIDs 1..65535, one per vCPU, handed out from the top down (kvm_intel
// counts up from 1; VMX is never shared at the same time, and both flush
// what the other could have left, but distinct tags cost nothing). 0 when
// all are in use: the vCPU then runs with VPIDs off (VM entry and exit flush
// its translations), as kvm_intel does.
u16 alloc_vpid();
void free_vpid(u16 vpid);

} // namespace axvm::vmx
