// SPDX-License-Identifier: GPL-2.0
// KVM's paravirtual interface as axvm has it (KVM's x86.c): the hypercalls
// the kernel answers, the PV CPUID enforcement (KVM_CAP_ENFORCE_PV_FEATURE_
// CPUID) and steal time (MSR_KVM_STEAL_TIME).
#include "x86_vcpu.hpp"

#include "cpuid.hpp"
#include "msrs.hpp"

namespace axvm::x86 {

namespace {

// KVM's hypercall numbers (include/uapi/linux/kvm_para.h) that axvm answers
// in the kernel and KVM's error values for the guest (negated in RAX).
constexpr u64 kHcKickCpu = 5, kHcSendIpi = 10, kHcSchedYield = 11;
constexpr u64 kKvmEperm = 1, kKvmEnosys = 1000;
// struct kvm_steal_time (arch/x86/include/uapi/asm/kvm_para.h): 64 bytes,
// 64-byte aligned, so within one page. MSR_KVM_STEAL_TIME's bit 0 enables
// it, bits 5:1 are reserved.
constexpr u64 kStealOffset = 0, kVersionOffset = 8, kPreemptedOffset = 16;
constexpr u64 kMsrEnabled = 1, kStealReserved = 0x3e;

} // namespace

u8 X86Vcpu::cpl() const
{
	// Real mode is CPL 0, virtual-8086 mode CPL 3; otherwise SS's DPL
	// is the CPL (SDM vol. 3A, 5.5).
	if (cpu_mode() == CpuMode::Real)
		return rflags() & kRflagsVm ? 3 : 0;
	return attrib_dpl(segment(kSs).attrib);
}

bool X86Vcpu::pv_feature(u32 bit) const
{
	// KVM_CAP_ENFORCE_PV_FEATURE_CPUID: only what the guest's CPUID
	// offers (KVM's guest_pv_has(); its base is 0x40000000 here, where
	// axvm's KVM leaves are).
	return !pv_enforce_ || (cpuid_.lookup(0x40000001, 0).eax & (1u << bit));
}

bool X86Vcpu::kernel_hypercall(u64 next_rip)
{
	// KVM's kvm_emulate_hypercall(): outside 64-bit mode the number, the
	// arguments and the result are 32 bits.
	const bool wide = cpu_mode() == CpuMode::Long64;
	const u64 nr = wide ? gpr(kRax) : static_cast<u32>(gpr(kRax));
	u32 feature = 0;
	switch (nr) {
	case kHcKickCpu:
		feature = kFeaturePvUnhalt;
		break;
	case kHcSendIpi:
		feature = kFeaturePvSendIpi;
		break;
	case kHcSchedYield:
		feature = kFeaturePvSchedYield;
		break;
	default:
		return false; // userspace's (KVM_EXIT_HYPERCALL)
	}
	u64 ret;
	if (cpl() != 0)
		ret = -kKvmEperm;
	else if (!pv_feature(feature))
		ret = -kKvmEnosys;
	else if (nr == kHcSchedYield)
		ret = 0; // a hint: the RUN loop yields whenever the host needs the CPU
	else
		return false; // KICK_CPU and SEND_IPI are not in the kernel: userspace's
	set_gpr(kRax, wide ? ret : static_cast<u32>(ret));
	stats.hypercalls++;
	advance_rip(next_rip);
	return true;
}

Status X86Vcpu::set_steal_time_msr(u64 value)
{
	// KVM's kvm_set_msr_common(), for the guest and userspace alike: only
	// with the feature, a scheduler that counts run delays, no reserved bit.
	if (!pv_feature(kFeatureStealTime) || !StealClock::supported() || (value & kStealReserved))
		return fail(err::EINVAL);
	msrs_.kvm_steal_time = value;
	if (value & kMsrEnabled) {
		steal_clock_.start();
		steal_update_ = true;
	}
	return Status();
}

// Before an entry, at the first of each RUN (KVM updates at every vcpu_load)
// and whenever the thread waited since: KVM's record_steal_time(). The
// version is odd while the steal field changes; the guest reads it around.
void X86Vcpu::record_steal_time()
{
	const u64 msr = msrs_.kvm_steal_time;
	if (!(msr & kMsrEnabled))
		return;
	const u64 waited = steal_clock_.take();
	if (!waited && !steal_update_)
		return;
	steal_update_ = false;
	const u64 gpa = msr & ~(kMsrEnabled | kStealReserved);
	// One copy of what the guest may change under us: steal and version.
	struct {
		u64 steal;
		u32 version;
	} st;
	static_assert(sizeof(st) == 16);
	if (!vm_.memory().read(gpa + kStealOffset, &st, sizeof(st)).ok())
		return; // not in guest RAM: KVM does nothing either
	u32 version = st.version + (st.version & 1) + 1; // odd: being written
	const u8 not_preempted = 0;
	u64 steal = st.steal + waited;
	if (!vm_.memory().write(gpa + kVersionOffset, &version, sizeof(version)).ok())
		return;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	(void)vm_.memory().write(gpa + kPreemptedOffset, &not_preempted, 1);
	(void)vm_.memory().write(gpa + kStealOffset, &steal, sizeof(steal));
	__atomic_thread_fence(__ATOMIC_RELEASE);
	version++;
	(void)vm_.memory().write(gpa + kVersionOffset, &version, sizeof(version));
}

} // namespace axvm::x86
