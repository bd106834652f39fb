// SPDX-License-Identifier: GPL-2.0
// VMX capabilities (Intel SDM vol. 3C, appendix A), VMXON per CPU, the
// VMCSs loaded on each CPU (24.11.1: a VMCS is cleared on the CPU that has
// it before it moves, and before VMXOFF), and the VPIDs.
#include "vmx_cpu.hpp"

#include "../msrs.hpp"

#include "../x86.hpp"
#include "vmx_insn.h"
#include "vmxon.h"

namespace axvm::vmx {

namespace {

constexpr u32 kMsrFeatureControl = 0x3a;
constexpr u32 kMsrVmxBasic = 0x480, kMsrVmxMisc = 0x485;
constexpr u32 kMsrVmxPinbased = 0x481, kMsrVmxProcbased = 0x482, kMsrVmxExit = 0x483, kMsrVmxEntry = 0x484;
constexpr u32 kMsrVmxCr0Fixed0 = 0x486, kMsrVmxCr0Fixed1 = 0x487, kMsrVmxCr4Fixed0 = 0x488, kMsrVmxCr4Fixed1 = 0x489;
constexpr u32 kMsrVmxProcbased2 = 0x48b, kMsrVmxEptVpidCap = 0x48c;
constexpr u32 kMsrVmxTruePinbased = 0x48d, kMsrVmxTrueProcbased = 0x48e, kMsrVmxTrueExit = 0x48f,
	      kMsrVmxTrueEntry = 0x490;

constexpr u64 kFeatureControlLocked = 1ull << 0, kFeatureControlVmxOutsideSmx = 1ull << 2;
constexpr u64 kInveptAll = 2, kInvvpidAll = 2;

constexpr unsigned kMaxCpus = 8192;
struct PerCpu {
	void *vmxon_region;
	u64 vmxon_pa;
	bool on;
	LoadedVmcs *loaded; // VMCSs VMPTRLD-ed here and not cleared since
	LoadedVmcs *current; // the one VMPTRLD made current last
	bool in_run;         // a vCPU's run() is on this CPU (run_begins)
	bool off_pending;    // disable_cpu came during it: run_ends does it
};
PerCpu *per_cpu;
unsigned nr_cpus;
Features feats;
u64 *vpids; // bitmap, 65536 bits: VPID n taken
void *msr_bitmap, *msr_bitmap_all;
u64 msr_bitmap_phys, msr_bitmap_all_phys;

// Bitmap bit set: RDMSR/WRMSR exits. Read bits for MSRs 0-0x1fff at 0,
// for 0xc0000000-0xc0001fff at 1 KiB; the write bits 2 KiB further.
void msr_pass_through(u32 msr)
{
	const u32 offset = msr >= 0xc0000000u ? 0x400 : 0;
	const u32 index = msr & 0x1fff;
	u8 *map = static_cast<u8 *>(msr_bitmap);
	map[offset + index / 8] &= static_cast<u8>(~(1u << (index % 8)));
	map[0x800 + offset + index / 8] &= static_cast<u8>(~(1u << (index % 8)));
}

// Interrupts off around the per-CPU lists: clear() reaches them by IPI.
u64 irq_save()
{
	u64 flags;
	asm volatile("pushf; pop %0; cli" : "=rm"(flags) : : "memory");
	return flags;
}
void irq_restore(u64 flags)
{
	if (flags & (1u << 9))
		asm volatile("sti" : : : "memory");
}

// A control: the bits axvm wants, plus those the CPU requires (allowed-0,
// low half of the capability MSR), minus those it cannot set (allowed-1).
u32 adjust(u32 msr, u32 want) { const u64 cap = x86::rdmsr(msr); return (want | static_cast<u32>(cap)) & (cap >> 32); }

struct Requirement {
	bool present;
	const char *what;
};

void unlink(PerCpu &c, LoadedVmcs &v)
{
	if (c.current == &v)
		c.current = nullptr; // VMCLEAR of the current VMCS leaves none

	if (v.prev)
		v.prev->next = v.next;
	else
		c.loaded = v.next;
	if (v.next)
		v.next->prev = v.prev;
	v.prev = v.next = nullptr;
	v.cpu = -1;
	v.launched = false;
}

void clear_here(void *arg)
{
	LoadedVmcs &v = *static_cast<LoadedVmcs *>(arg);
	const u64 flags = irq_save();
	if (v.cpu == static_cast<int>(axvm_this_cpu())) {
		axvm_vmclear(v.pa);
		unlink(per_cpu[v.cpu], v);
	}
	irq_restore(flags);
}

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
	const bool t = feats.true_controls;
	const u64 ept = x86::rdmsr(kMsrVmxEptVpidCap);

	const u32 want_pin = pin::kExtIntExiting | pin::kNmiExiting | pin::kVirtualNmis | pin::kPreemptionTimer;
	feats.pin = adjust(t ? kMsrVmxTruePinbased : kMsrVmxPinbased, want_pin);
	// Everything that reaches host state or hardware exits: HLT, I/O and
	// MSRs (all ports, every MSR but those the VMCS switches), the debug
	// registers, CR8 (else it is the host's TPR), MWAIT/MONITOR, RDPMC,
	// WBINVD. CR3 accesses do not: EPT. The guest's TSC is offset.
	const u32 want_proc = proc::kHlt | proc::kMwait | proc::kRdpmc | proc::kMovDr | proc::kUncondIo |
			      proc::kCr8Load | proc::kCr8Store | proc::kTscOffset |
			      proc::kMsrBitmaps | proc::kMonitor | proc::kSecondary;
	feats.proc = adjust(t ? kMsrVmxTrueProcbased : kMsrVmxProcbased, want_proc) & ~(proc::kCr3Load | proc::kCr3Store);
	feats.proc2 = feats.proc & proc::kSecondary
			      ? adjust(kMsrVmxProcbased2, proc2::kEpt | proc2::kVpid | proc2::kWbinvd | proc2::kUnrestricted)
			      : 0;
	feats.exit = adjust(t ? kMsrVmxTrueExit : kMsrVmxExit,
			    exit_ctl::kHostLongMode | exit_ctl::kSavePat | exit_ctl::kLoadPat | exit_ctl::kSaveEfer |
				    exit_ctl::kLoadEfer);
	feats.entry = adjust(t ? kMsrVmxTrueEntry : kMsrVmxEntry,
			     entry_ctl::kLoadDebug | entry_ctl::kLoadPat | entry_ctl::kLoadEfer) &
		      ~entry_ctl::kLongModeGuest;
	feats.unrestricted_guest = feats.proc2 & proc2::kUnrestricted;
	feats.preemption_timer = feats.pin & pin::kPreemptionTimer;
	feats.timer_shift = x86::rdmsr(kMsrVmxMisc) & 0x1f;
	feats.cr0_fixed0 = x86::rdmsr(kMsrVmxCr0Fixed0), feats.cr0_fixed1 = x86::rdmsr(kMsrVmxCr0Fixed1);
	feats.cr4_fixed0 = x86::rdmsr(kMsrVmxCr4Fixed0), feats.cr4_fixed1 = x86::rdmsr(kMsrVmxCr4Fixed1);

	const auto has = [](u32 have, u32 bits) { return (have & bits) == bits; };
	const Requirement needed[] = {
		{((basic >> 32) & 0x1fff) <= kPageSize, "a VMCS of at most 4 KiB"},
		{((basic >> 50) & 0xf) == 6, "write-back VMCS memory"},
		{((basic >> 54) & 1) != 0, "INS/OUTS instruction information"},
		{has(feats.pin, pin::kExtIntExiting | pin::kNmiExiting | pin::kVirtualNmis),
		 "external-interrupt and NMI exiting with virtual NMIs"},
		{has(feats.proc, proc::kHlt | proc::kMovDr | proc::kUncondIo | proc::kMsrBitmaps | proc::kCr8Load |
					 proc::kCr8Store | proc::kTscOffset),
		 "HLT, MOV-DR, CR8, I/O and MSR bitmap exiting, TSC offsetting"},
		{!(feats.proc & (proc::kCr3Load | proc::kCr3Store)) &&
			 has(adjust(t ? kMsrVmxTrueProcbased : kMsrVmxProcbased, proc::kIntWindow | proc::kNmiWindow),
			     proc::kIntWindow | proc::kNmiWindow),
		 "interrupt- and NMI-window exiting without CR3 exiting"},
		{has(feats.proc2, proc2::kEpt), "EPT"},
		{has(feats.proc2, proc2::kVpid), "VPID"},
		{has(feats.exit, exit_ctl::kHostLongMode | exit_ctl::kSavePat | exit_ctl::kLoadPat | exit_ctl::kSaveEfer |
					 exit_ctl::kLoadEfer),
		 "PAT and EFER switching on exit"},
		{has(feats.entry, entry_ctl::kLoadDebug | entry_ctl::kLoadPat | entry_ctl::kLoadEfer),
		 "debug, PAT and EFER loading on entry"},
		{(ept & (1ull << 6)) && (ept & (1ull << 14)), "4-level write-back EPT"},
		{(ept & (1ull << 20)) && (ept & (1ull << 25)) && (ept & (1ull << 26)),
		 "INVEPT (single-context and global)"},
		{(ept & (1ull << 32)) && (ept & (1ull << 41)) && (ept & (1ull << 42)),
		 "INVVPID (single-context and all-context)"},
	};
	for (const Requirement &r : needed) {
		if (!r.present) {
			axvm_log(AXVM_LOG_WARN, "VMX without %s is not supported", r.what);
			return false;
		}
	}
	if (!feats.unrestricted_guest)
		axvm_log(AXVM_LOG_INFO, "VMX without unrestricted guest: real-mode and unpaged guests are refused");
	nr_cpus = axvm_nr_cpu_ids() < kMaxCpus ? axvm_nr_cpu_ids() : kMaxCpus;
	per_cpu = static_cast<PerCpu *>(axvm_kzalloc(sizeof(PerCpu) * nr_cpus));
	vpids = static_cast<u64 *>(axvm_kzalloc(65536 / 8));
	if (!per_cpu || !vpids) {
		release();
		axvm_log(AXVM_LOG_ERR, "out of memory setting up VMX");
		return false;
	}
	vpids[0] = 1; // VPID 0 is the host's
	msr_bitmap = axvm_alloc_pages(0, 1, &msr_bitmap_phys);
	msr_bitmap_all = axvm_alloc_pages(0, 1, &msr_bitmap_all_phys);
	if (!msr_bitmap || !msr_bitmap_all) {
		release();
		axvm_log(AXVM_LOG_ERR, "out of memory setting up VMX");
		return false;
	}
	// What the VMCS switches (FS/GS base, SYSENTER) or the entry and exit
	// MSR areas do (KernelGSBase, STAR, LSTAR, CSTAR, SFMASK: vmx_vcpu.cpp)
	// is the guest's own, as under kvm_intel and axvm's SVM; a VM whose MSR
	// filter covers one of them uses the other bitmap, where every MSR exits.
	for (u32 msr : x86::kPassThroughMsrs)
		msr_pass_through(msr);
	return true;
}

void release()
{
	axvm_kfree(per_cpu);
	axvm_kfree(vpids);
	if (msr_bitmap)
		axvm_free_pages(msr_bitmap, 0);
	if (msr_bitmap_all)
		axvm_free_pages(msr_bitmap_all, 0);
	per_cpu = nullptr;
	vpids = nullptr;
	msr_bitmap = msr_bitmap_all = nullptr;
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
	if (c.on) {
		// Whatever a previous owner of VMX left tagged in the TLBs goes
		// (kvm_intel does the same when it takes VMX).
		axvm_invept(kInveptAll, 0);
		axvm_invvpid(kInvvpidAll, 0);
	}
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
	const u64 flags = irq_save();
	if (c.in_run) { // an interrupt in a vCPU's run() here: it finishes first
		c.off_pending = true;
		irq_restore(flags);
		axvm_preempt_enable();
		return;
	}
	while (c.loaded) {
		axvm_vmclear(c.loaded->pa);
		unlink(c, *c.loaded);
	}
	irq_restore(flags);
	if (c.on) // never VMXOFF what another hypervisor turned on
		axvm_vmxoff();
	c.on = false;
	axvm_preempt_enable();
	if (c.vmxon_region)
		axvm_free_page(c.vmxon_region);
	c = PerCpu{};
}

void run_begins(unsigned int cpu)
{
	if (cpu < nr_cpus)
		__atomic_store_n(&per_cpu[cpu].in_run, true, __ATOMIC_RELAXED); // this CPU alone reads it
}

bool run_ends(unsigned int cpu)
{
	if (cpu >= nr_cpus)
		return false;
	PerCpu &c = per_cpu[cpu];
	const u64 flags = irq_save();
	c.in_run = false;
	const bool off = c.off_pending;
	c.off_pending = false;
	irq_restore(flags);
	if (off)
		disable_cpu(cpu);
	return off;
}

u64 msr_bitmap_pa(bool all) { return all ? msr_bitmap_all_phys : msr_bitmap_phys; }

bool cpu_on(unsigned int cpu) { return cpu < nr_cpus && per_cpu[cpu].on; }

Status load(LoadedVmcs &v)
{
	const unsigned int cpu = axvm_this_cpu();
	if (!cpu_on(cpu)) {
		axvm_log(AXVM_LOG_ERR, "CPU %u has VMX off; cannot run a vCPU there", cpu);
		return fail(err::EIO);
	}
	const u64 flags = irq_save();
	const bool failed = axvm_vmptrld(v.pa);
	per_cpu[cpu].current = failed ? nullptr : &v;
	if (!failed && v.cpu != static_cast<int>(cpu)) {
		v.cpu = static_cast<int>(cpu);
		v.prev = nullptr;
		v.next = per_cpu[cpu].loaded;
		if (v.next)
			v.next->prev = &v;
		per_cpu[cpu].loaded = &v;
	}
	irq_restore(flags);
	if (failed) {
		axvm_log(AXVM_LOG_ERR, "VMPTRLD refused the VMCS on CPU %u", cpu);
		return fail(err::EIO);
	}
	return Status();
}

bool is_current(const LoadedVmcs &v)
{
	const unsigned int cpu = axvm_this_cpu();
	return cpu < nr_cpus && per_cpu[cpu].current == &v;
}

void clear(LoadedVmcs &v)
{
	const int cpu = __atomic_load_n(&v.cpu, __ATOMIC_ACQUIRE);
	// An offline CPU cleared its VMCSs on the way down (disable_cpu).
	if (cpu >= 0)
		axvm_run_on_cpu(static_cast<unsigned int>(cpu), clear_here, &v);
}

u16 alloc_vpid()
{
	for (u32 word = 65536 / 64; word-- > 0;) {
		u64 seen = __atomic_load_n(&vpids[word], __ATOMIC_RELAXED);
		while (~seen) {
			const u32 bit = 63 - static_cast<u32>(__builtin_clzll(~seen));
			const u64 before = __atomic_fetch_or(&vpids[word], 1ull << bit, __ATOMIC_ACQ_REL);
			if (!(before & (1ull << bit)))
				return static_cast<u16>(word * 64 + bit);
			seen = before | (1ull << bit);
		}
	}
	// One user can hold them all; the vCPU runs without a tag of its own
	// then (KVM's fallback), and every entry and exit flushes.
	axvm_log(AXVM_LOG_WARN, "all 65535 VPIDs are in use: a vCPU runs without one");
	return 0;
}

void free_vpid(u16 vpid)
{
	if (vpid)
		__atomic_fetch_and(&vpids[vpid / 64], ~(1ull << (vpid % 64)), __ATOMIC_RELEASE);
}

} // namespace axvm::vmx
