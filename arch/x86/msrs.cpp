// SPDX-License-Identifier: GPL-2.0
// X86Vcpu: the MSRs, read and written by the guest (RDMSR/WRMSR exits) and
// by userspace (KVM_GET/SET_MSRS, "host-initiated"), with KVM's rules
// (arch/x86/kvm/x86.c kvm_{get,set}_msr_common, mtrr.c, set_msr_mce). A
// refusal is an error here: #GP for the guest, the end of the batch for
// userspace. MSRs KVM does not know either are refused, never passed to the
// host's.
#include "x86_vcpu.hpp"

#include "emulate.hpp"
#include "msrs.hpp"
#include "x86_vm.hpp"

namespace axvm::x86 {

namespace {

// The MSRs userspace saves and restores (KVM_GET_MSR_INDEX_LIST), as KVM
// lists them (msrs_to_save and emulated_msrs) for what axvm has.
constexpr u32 kSaved[] = {
	msr::kSysenterCs, msr::kSysenterEsp, msr::kSysenterEip, msr::kStar,	     msr::kCstar,
	msr::kKernelGsBase, msr::kSfmask,    msr::kLstar,	msr::kTsc,	     msr::kTscAux,
	msr::kMiscEnable,  msr::kMcgStatus, msr::kMcgCtl,	msr::kPlatformInfo, msr::kUcodeRev,
	msr::kHwcr,	    msr::kVmHsavePa,	msr::kTscAdjust,	msr::kPowerCtl,      msr::kPerfCapabilities,
	msr::kKvmStealTime, msr::kSmbase,
};

// What the backend switches for the guest (switched_msr), FS/GS base aside
// (segment bases): kPassThroughMsrs.
bool is_switched(u32 index)
{
	for (u32 m : kPassThroughMsrs)
		if (m == index)
			return index != msr::kFsBase && index != msr::kGsBase;
	return false;
}

bool canonical(u64 value) { return static_cast<i64>(value << 16) >> 16 == static_cast<i64>(value); }

// Memory types MTRRs and PAT may hold: UC, WC, WT, WP, WB.
bool valid_mtrr_type(u64 t) { return t < 8 && ((1u << t) & 0x73); }

bool is_mtrr(u32 index)
{
	return (index >= msr::kMtrrVarFirst && index <= msr::kMtrrVarLast) || index == msr::kMtrrFix64k ||
	       index == msr::kMtrrFix16k80 || index == msr::kMtrrFix16kA0 ||
	       (index >= msr::kMtrrFix4kFirst && index <= msr::kMtrrFix4kLast) || index == msr::kMtrrDefType ||
	       index == msr::kMtrrCap;
}

// The legacy counters and their event selects (AMD K7, Intel P6): with no
// vPMU, KVM reads them as 0 and ignores writes.
bool no_pmu_counter(u32 index)
{
	return (index >= msr::kK7EvntSel0 && index <= msr::kK7PerfCtr3) || index == 0xc1 || index == 0xc2 ||
	       index == 0x186 || index == 0x187;
}

// The MSRs KVM answers with 0 and whose writes it ignores (or refuses
// unless 0): chipset and power-management registers guests probe.
bool reads_as_zero(u32 index)
{
	switch (index) {
	case msr::kPlatformId:
	case msr::kEblCrPoweron:
	case 0x1db: // last branch and last interrupt from/to
	case 0x1dc:
	case 0x1dd:
	case 0x1de:
	case msr::kSyscfg:
	case msr::kTsegAddr:
	case msr::kTsegMask:
	case msr::kIntPendingMsg:
	case msr::kNbCfg:
	case msr::kMmioConfBase:
	case msr::kBuCfg2:
	case msr::kPerfCtl:
	case msr::kDcCfg:
	case 0xc0011023: // TW_CFG
	case 0xc001102c: // F15H_EX_CFG
	case 0x606:	 // RAPL power unit and energy status: no host data
	case 0x639:
	case 0x641:
	case 0x611:
	case 0x619:
		return true;
	default:
		return no_pmu_counter(index);
	}
}

// Writes KVM ignores.
bool write_ignored(u32 index)
{
	switch (index) {
	case msr::kNbCfg:
	case 0x79: // UCODE_WRITE
	case 0xc0010020: // PATCH_LOADER
	case msr::kBuCfg2:
	case msr::kDcCfg:
	case 0xc0011023:
	case 0xc001102c:
		return true;
	default:
		return no_pmu_counter(index);
	}
}

template <usize N> u32 copy_index_list(const u32 (&list)[N], u32 *out, u32 max)
{
	for (u32 i = 0; i < N && i < max; i++)
		out[i] = list[i];
	return N;
}

// Of KVM's feature MSRs, those axvm's vCPUs have: IA32_UCODE_REV and
// IA32_PERF_CAPABILITIES (KVM also lists ARCH_CAPABILITIES, AMD's DE_CFG
// and the VMX capability MSRs, which an axvm vCPU has not).
constexpr u32 kFeatures[] = {msr::kUcodeRev, msr::kPerfCapabilities};

} // namespace

u32 msr_index_list(u32 *out, u32 max) { return copy_index_list(kSaved, out, max); }

u32 feature_msr_index_list(u32 *out, u32 max) { return copy_index_list(kFeatures, out, max); }

// The host's microcode revision, as KVM reads it, for a VMM that shows its
// guests the host's (a vCPU starts with KVM's default, kUcodeRevDefault);
// no performance-monitoring capabilities, axvm having no vPMU.
bool feature_msr(u32 index, u64 *value)
{
	switch (index) {
	case msr::kUcodeRev:
		*value = axvm_x86_host_ucode_rev();
		return true;
	case msr::kPerfCapabilities:
		*value = 0;
		return true;
	default:
		return false;
	}
}

u64 X86Vcpu::guest_tsc() const { return rdtsc() + tsc_offset(); }

bool X86Vcpu::mtrr_valid(u32 index, u64 value) const
{
	if (index == msr::kMtrrDefType)
		return !(value & ~0xcffull) && valid_mtrr_type(value & 0xff);
	if (index >= msr::kMtrrFix64k && index <= msr::kMtrrFix4kLast) {
		for (int i = 0; i < 8; i++)
			if (!valid_mtrr_type((value >> (8 * i)) & 0xff))
				return false;
		return true;
	}
	u64 reserved = ~0ull << guest_phys_bits();
	if (!(index & 1)) {
		if (!valid_mtrr_type(value & 0xff))
			return false;
		reserved |= 0xf00;
	} else {
		reserved |= 0x7ff;
	}
	return !(value & reserved);
}

u64 *X86Vcpu::mtrr_slot(u32 index)
{
	switch (index) {
	case msr::kMtrrDefType:
		return &msrs_.mtrr_def_type;
	case msr::kMtrrFix64k:
		return &msrs_.mtrr_fixed[0];
	case msr::kMtrrFix16k80:
	case msr::kMtrrFix16kA0:
		return &msrs_.mtrr_fixed[1 + index - msr::kMtrrFix16k80];
	default:
		if (index >= msr::kMtrrFix4kFirst && index <= msr::kMtrrFix4kLast)
			return &msrs_.mtrr_fixed[3 + index - msr::kMtrrFix4kFirst];
		return &msrs_.mtrr_var[index - msr::kMtrrVarFirst];
	}
}

// The legacy and the new numbers of each kvmclock MSR are one value.
u64 *X86Vcpu::kvmclock_slot(u32 index)
{
	return index == msr::kKvmWallClock || index == msr::kKvmWallClockNew ? &msrs_.kvm_wall_clock
									     : &msrs_.kvm_system_time;
}

Status X86Vcpu::mce_msr(u32 index, u64 *value, bool write, bool host)
{
	const u32 banks = msrs_.mcg_cap & 0xff;
	switch (index) {
	case msr::kP5McAddr:
	case msr::kP5McType:
		if (write)
			return fail(err::EINVAL);
		*value = 0;
		return Status();
	case msr::kMcgCap:
		if (write)
			return fail(err::EINVAL);
		*value = msrs_.mcg_cap;
		return Status();
	case msr::kMcgStatus:
		if (write)
			msrs_.mcg_status = *value;
		*value = msrs_.mcg_status;
		return Status();
	case msr::kMcgCtl:
		if (!(msrs_.mcg_cap & kMcgCtlP) && (!host || (write && *value)))
			return fail(err::EINVAL);
		if (write && *value != 0 && *value != ~0ull)
			return fail(err::EINVAL);
		if (write)
			msrs_.mcg_ctl = *value;
		*value = msrs_.mcg_ctl;
		return Status();
	default:
		break;
	}
	if (index < msr::kMc0Ctl || index >= msr::kMc0Ctl + 4 * banks)
		return fail(err::EINVAL);
	const u32 slot = index - msr::kMc0Ctl;
	if (write) {
		// MCi_CTL: 0 or all ones (bit 10 and bit 0 may be clear, for old
		// guests' workarounds); MCi_STATUS: only 0 from the guest unless
		// HWCR.McStatusWrEn.
		if (slot % 4 == 0 && *value != 0 && (*value | (1ull << 10) | 1) != ~0ull)
			return fail(err::EINVAL);
		if (slot % 4 == 1 && !host && *value != 0 && !(msrs_.hwcr & (1ull << 18)))
			return fail(err::EINVAL);
		msrs_.mce_banks[slot] = *value;
	}
	*value = msrs_.mce_banks[slot];
	return Status();
}

Status X86Vcpu::get_msr(u32 index, u64 &value, bool host)
{
	if (is_lapic_msr(index))
		return lapic_msr(index, value, false, host, nullptr);
	if (is_switched(index)) {
		value = switched_msr(index);
		return Status();
	}
	if (reads_as_zero(index)) {
		value = 0;
		return Status();
	}
	if (is_mtrr(index)) {
		value = index == msr::kMtrrCap ? kMtrrCapValue : *mtrr_slot(index);
		return Status();
	}
	switch (index) {
	case msr::kTsc:
		value = guest_tsc();
		return Status();
	case msr::kTscAdjust:
		value = msrs_.tsc_adjust;
		return Status();
	case msr::kFsBase:
	case msr::kGsBase:
		value = segment(index == msr::kFsBase ? kFs : kGs).base;
		return Status();
	case msr::kEfer:
		value = efer();
		return Status();
	case msr::kPat:
		value = pat();
		return Status();
	case msr::kApicBase:
		value = apic_base_;
		return Status();
	case msr::kMiscEnable:
		value = msrs_.misc_enable;
		return Status();
	case msr::kTscAux:
		if (!host && !has_rdtscp())
			return fail(err::EINVAL);
		value = msrs_.tsc_aux;
		return Status();
	case msr::kUcodeRev:
		value = msrs_.ucode_rev;
		return Status();
	case msr::kHwcr:
		value = msrs_.hwcr;
		return Status();
	case msr::kPowerCtl:
		value = msrs_.power_ctl;
		return Status();
	case msr::kVmHsavePa:
		value = msrs_.hsave_pa;
		return Status();
	case msr::kSmbase:
		// KVM: userspace's (for save and restore); the guest gets #GP.
		if (!host)
			return fail(err::EINVAL);
		value = smm_.smbase;
		return Status();
	case msr::kPlatformInfo:
		if (!host && !vm_arch().guest_can_read_platform_info())
			return fail(err::EINVAL);
		value = msrs_.platform_info;
		return Status();
	case msr::kPerfCapabilities:
		// KVM: the guest reads it only with PDCM in its CPUID.
		if (!host && !(cpuid_.lookup(1, 0).ecx & kCpuidPdcm))
			return fail(err::EINVAL);
		value = msrs_.perf_capabilities;
		return Status();
	case msr::kFsbFreq:
		value = 3;
		return Status();
	case msr::kPerfStatus:
		value = 1000ull | (4ull << 40); // KVM's: TSC step and multiplier
		return Status();
	case 0xc001001b: // K7 CLK_CTL: KVM's ramp-up count for old K7 guests
		value = 0x20000000;
		return Status();
	case msr::kKvmWallClock:
	case msr::kKvmWallClockNew:
	case msr::kKvmSystemTime:
	case msr::kKvmSystemTimeNew:
		// Kept for userspace (QEMU saves them whatever the CPUID); axvm
		// offers the guest no kvmclock.
		if (!host)
			return fail(err::EINVAL);
		value = *kvmclock_slot(index);
		return Status();
	case msr::kKvmStealTime:
		if (!pv_feature(kFeatureStealTime))
			return fail(err::EINVAL);
		value = msrs_.kvm_steal_time;
		return Status();
	default:
		if (index <= msr::kMcgCtl || (index >= msr::kMc0Ctl && index < msr::kMc0Ctl + 4 * kMaxMceBanks))
			return mce_msr(index, &value, false, host);
		return fail(err::EINVAL);
	}
}

Status X86Vcpu::set_msr(u32 index, u64 value, bool host)
{
	if (is_lapic_msr(index))
		return lapic_msr(index, value, true, host, nullptr);
	if (is_switched(index)) {
		// Addresses a SYSCALL or SWAPGS would load: canonical, or #GP.
		if (index != msr::kSysenterCs && index != msr::kStar && index != msr::kSfmask && !canonical(value))
			return fail(err::EINVAL);
		set_switched_msr(index, value);
		return Status();
	}
	if (write_ignored(index))
		return Status();
	if (is_mtrr(index)) {
		if (index == msr::kMtrrCap || !mtrr_valid(index, value))
			return fail(err::EINVAL);
		*mtrr_slot(index) = value;
		return Status();
	}
	switch (index) {
	case msr::kTsc: {
		// KVM: userspace's write synchronizes the TSC (the VM's offset);
		// the guest's moves its TSC and, by as much, IA32_TSC_ADJUST.
		if (host) {
			set_tsc_offset(vm_arch().tsc_offset_for_write(value));
			return Status();
		}
		const u64 offset = value - rdtsc();
		msrs_.tsc_adjust += offset - tsc_offset();
		set_tsc_offset(offset);
		return Status();
	}
	case msr::kTscAdjust:
		// KVM: only with TSC_ADJUST in the guest's CPUID (else the
		// write is dropped); the guest's write moves its TSC by the
		// difference, userspace's only sets the MSR.
		if (!(cpuid_.lookup(7, 0).ebx & kCpuidTscAdjust))
			return Status();
		if (!host)
			set_tsc_offset(tsc_offset() + (value - msrs_.tsc_adjust));
		msrs_.tsc_adjust = value;
		return Status();
	case msr::kFsBase:
	case msr::kGsBase:
		if (!canonical(value))
			return fail(err::EINVAL);
		set_segment_base(index == msr::kFsBase ? kFs : kGs, value);
		return Status();
	case msr::kEfer:
		if (host ? (value & ~kEferAllowed) != 0 : efer_write_faults(value, efer(), cr0()))
			return fail(err::EINVAL);
		set_efer(value);
		return Status();
	case msr::kPat:
		if (!pat_valid(value))
			return fail(err::EINVAL);
		set_pat(value);
		return Status();
	case msr::kApicBase:
		return set_apic_base(value, host);
	case msr::kMiscEnable: {
		const u64 old = msrs_.misc_enable;
		if (!host) {
			// The PMU's "unavailable" bits are read-only; EMON (bit 7)
			// ignores writes.
			if ((old ^ value) & kMiscEnableDefault)
				return fail(err::EINVAL);
			value = (value & ~(1ull << 7)) | (old & (1ull << 7));
		}
		// With KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT off, the MWAIT enable
		// bit is CPUID.01H:ECX.MONITOR (cpuid_runtime), which needs SSE3
		// (KVM's kvm_set_msr_common refuses host and guest alike).
		if (!vm_arch().quirk(AXVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT) && ((old ^ value) & kMiscEnableMwait) &&
		    !(cpuid_.lookup(1, 0).ecx & kCpuidSse3))
			return fail(err::EINVAL);
		msrs_.misc_enable = value;
		return Status();
	}
	case msr::kTscAux:
		if ((!host && !has_rdtscp()) || (value >> 32))
			return fail(err::EINVAL);
		msrs_.tsc_aux = value;
		return Status();
	case msr::kUcodeRev:
		if (host)
			msrs_.ucode_rev = value;
		return Status();
	case msr::kVmHsavePa:
		// Kept (KVM's SVM keeps it for nested SVM, which axvm does not
		// offer): a guest's must be a page address.
		if (!host && ((value & 0xfff) || (value >> guest_phys_bits())))
			return fail(err::EINVAL);
		msrs_.hsave_pa = value & ~0xfffull;
		return Status();
	case msr::kPowerCtl:
		// KVM keeps any value, for the guest and userspace alike (no
		// power management behind it).
		msrs_.power_ctl = value;
		return Status();
	case msr::kHwcr:
		// McStatusWrEn (bit 18); TscFreqSel (bit 24) from userspace; the
		// bits KVM ignores (3, 6, 8) dropped.
		value &= ~((1ull << 3) | (1ull << 6) | (1ull << 8));
		if (value & ~((1ull << 18) | (host ? 1ull << 24 : 0)))
			return fail(err::EINVAL);
		msrs_.hwcr = value;
		return Status();
	case msr::kSmbase:
		if (!host)
			return fail(err::EINVAL);
		smm_.smbase = value;
		return Status();
	case msr::kPlatformInfo:
		if (!host)
			return fail(err::EINVAL);
		msrs_.platform_info = value;
		return Status();
	case msr::kPerfCapabilities: {
		// KVM: userspace's only, within the feature MSR's value.
		u64 offered = 0;
		feature_msr(index, &offered);
		if (!host || (value & ~offered))
			return fail(err::EINVAL);
		msrs_.perf_capabilities = value;
		return Status();
	}
	case msr::kMmioConfBase:
		return value ? fail(err::EINVAL) : Status();
	case msr::kKvmWallClock:
	case msr::kKvmWallClockNew:
	case msr::kKvmSystemTime:
	case msr::kKvmSystemTimeNew:
		if (!host)
			return fail(err::EINVAL);
		*kvmclock_slot(index) = value;
		return Status();
	case msr::kKvmStealTime:
		return set_steal_time_msr(value);
	default:
		if (index <= msr::kMcgCtl || (index >= msr::kMc0Ctl && index < msr::kMc0Ctl + 4 * kMaxMceBanks))
			return mce_msr(index, &value, true, host);
		return fail(err::EINVAL);
	}
}

// KVM's kvm_set_apic_base() with the local APIC in userspace: reserved
// bits, the invalid x2APIC-without-enable mode, and (for the guest) the
// transitions a CPU refuses.
Status X86Vcpu::set_apic_base(u64 value, bool host)
{
	constexpr u64 kEnable = 1ull << 11, kX2apic = 1ull << 10;
	const u64 reserved = (~0ull << guest_phys_bits()) | 0x2ff | (has_x2apic() ? 0 : kX2apic);
	if ((value & reserved) || ((value & kX2apic) && !(value & kEnable)))
		return fail(err::EINVAL);
	if (!host) {
		const bool was_x2 = (apic_base_ & (kEnable | kX2apic)) == (kEnable | kX2apic);
		if (was_x2 && (value & (kEnable | kX2apic)) == kEnable)
			return fail(err::EINVAL); // x2APIC back to xAPIC
		if (!(apic_base_ & kEnable) && (value & kX2apic))
			return fail(err::EINVAL); // disabled straight to x2APIC
	}
	apic_base_ = value;
	return Status();
}

Status X86Vcpu::setup_mce(u64 mcg_cap)
{
	const u32 banks = mcg_cap & 0xff;
	if ((mcg_cap & ~(kMceCapSupported | 0xff | 0xff0000)) || !banks || banks > kMaxMceBanks) {
		axvm_log(AXVM_LOG_WARN, "X86_SETUP_MCE: MCG_CAP 0x%llx not supported", mcg_cap);
		return fail(err::EINVAL);
	}
	msrs_.mcg_cap = mcg_cap;
	if (mcg_cap & kMcgCtlP)
		msrs_.mcg_ctl = ~0ull;
	for (u32 i = 0; i < banks; i++)
		msrs_.mce_banks[4 * i] = ~0ull; // every error reported
	return Status();
}

// KVM_GET/SET_MSRS: entries in order until the first one refused; the
// count processed goes back in nmsrs (the glue returns it, as KVM does).
void X86Vcpu::msrs_ioctl(axvm_msrs &m, bool write)
{
	u32 done = 0;
	for (; done < m.nmsrs; done++) {
		axvm_msr_entry &e = m.entries[done];
		Status s = write ? set_msr(e.index, e.data, true) : get_msr(e.index, e.data, true);
		if (!s.ok())
			break;
	}
	m.nmsrs = done;
}

// RDMSR/WRMSR: the filter first (KVM's kvm_msr_allowed), then the MSR;
// what is refused becomes an exit to userspace where it asked for that
// kind (KVM_CAP_X86_USER_SPACE_MSR), a #GP otherwise.
ExitReason X86Vcpu::msr_access(bool write, u64 next_rip)
{
	const u32 index = static_cast<u32>(gpr(kRcx));
	u64 value = (gpr(kRdx) << 32) | static_cast<u32>(gpr(kRax));
	const X86Vm &vm = vm_arch();
	if (is_lapic_msr(index) && vm.msr_allowed(index, write)) {
		// The in-kernel local APIC: an EOI may have to reach userspace's
		// IOAPIC (split irqchip) through an exit.
		ExitReason exit = ExitReason::nothing();
		if (!lapic_msr(index, value, write, false, &exit).ok())
			return inject_exception(kVectorGp, true, 0);
		if (!write) {
			set_gpr(kRax, static_cast<u32>(value));
			set_gpr(kRdx, value >> 32);
		}
		advance_rip(next_rip);
		return exit;
	}
	if (index == kMsrX2apicIcr && write) {
		// axvm's own IPI exit (AXVM_EXIT_SEND_IPI) for a guest that uses
		// the x2APIC ICR without an in-kernel local APIC.
		advance_rip(next_rip);
		return x2apic_icr_write(value);
	}
	u32 reason = 0;
	if (!vm.msr_allowed(index, write)) {
		reason = AXVM_MSR_EXIT_REASON_FILTER;
	} else {
		Status s = write ? set_msr(index, value, false) : get_msr(index, value, false);
		if (s.ok()) {
			if (!write) {
				set_gpr(kRax, static_cast<u32>(value));
				set_gpr(kRdx, value >> 32);
			}
			advance_rip(next_rip);
			return ExitReason::nothing();
		}
		reason = known_msr(index) ? AXVM_MSR_EXIT_REASON_INVAL : AXVM_MSR_EXIT_REASON_UNKNOWN;
	}
	if (!(vm.user_space_msr() & reason))
		return inject_exception(kVectorGp, true, 0);
	set_pending(write ? Pending::MsrWrite : Pending::MsrRead, next_rip);
	return write ? ExitReason::sys_reg_write(index, value, reason) : ExitReason::sys_reg_read(index, 0, reason);
}

// Whether axvm knows @index at all (an access it refuses is then INVAL,
// not UNKNOWN, for KVM_CAP_X86_USER_SPACE_MSR).
bool X86Vcpu::known_msr(u32 index)
{
	u64 ignored;
	return get_msr(index, ignored, true).ok();
}

} // namespace axvm::x86
