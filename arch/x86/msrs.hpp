// SPDX-License-Identifier: GPL-2.0
// The MSRs an x86 vCPU has, as KVM gives them (arch/x86/kvm/x86.c
// kvm_{get,set}_msr_common, mtrr.c, the MCE banks): their numbers, the
// values axvm keeps for those the hardware does not switch, and the list
// KVM_GET_MSR_INDEX_LIST reports. The rules are X86Vcpu's (msrs.cpp).
#pragma once

#include <axvm/types.hpp>

namespace axvm::x86 {

namespace msr {
constexpr u32 kTscAdjust = 0x3b, kPowerCtl = 0x1fc;
constexpr u32 kP5McAddr = 0x0, kP5McType = 0x1, kTsc = 0x10, kKvmWallClock = 0x11, kKvmSystemTime = 0x12;
constexpr u32 kPlatformId = 0x17, kApicBase = 0x1b, kEblCrPoweron = 0x2a, kUcodeRev = 0x8b, kSmbase = 0x9e;
constexpr u32 kFsbFreq = 0xcd, kPlatformInfo = 0xce, kMtrrCap = 0xfe;
constexpr u32 kSysenterCs = 0x174, kSysenterEsp = 0x175, kSysenterEip = 0x176;
constexpr u32 kMcgCap = 0x179, kMcgStatus = 0x17a, kMcgCtl = 0x17b;
constexpr u32 kPerfStatus = 0x198, kPerfCtl = 0x199, kMiscEnable = 0x1a0;
constexpr u32 kMtrrVarFirst = 0x200, kMtrrVarLast = 0x20f;
constexpr u32 kMtrrFix64k = 0x250, kMtrrFix16k80 = 0x258, kMtrrFix16kA0 = 0x259;
constexpr u32 kMtrrFix4kFirst = 0x268, kMtrrFix4kLast = 0x26f;
constexpr u32 kPat = 0x277, kMtrrDefType = 0x2ff, kPerfCapabilities = 0x345;
constexpr u32 kMc0Ctl = 0x400;
constexpr u32 kEfer = 0xc0000080, kStar = 0xc0000081, kLstar = 0xc0000082, kCstar = 0xc0000083;
constexpr u32 kSfmask = 0xc0000084, kFsBase = 0xc0000100, kGsBase = 0xc0000101, kKernelGsBase = 0xc0000102;
constexpr u32 kTscAux = 0xc0000103;
constexpr u32 kK7EvntSel0 = 0xc0010000, kK7PerfCtr3 = 0xc0010007;
constexpr u32 kSyscfg = 0xc0010010, kHwcr = 0xc0010015, kTsegAddr = 0xc0010112, kTsegMask = 0xc0010113;
constexpr u32 kVmHsavePa = 0xc0010117, kNbCfg = 0xc001001f, kMmioConfBase = 0xc0010058;
constexpr u32 kIntPendingMsg = 0xc0010055, kBuCfg2 = 0xc001102a, kDcCfg = 0xc0011022;
constexpr u32 kKvmWallClockNew = 0x4b564d00, kKvmSystemTimeNew = 0x4b564d01, kKvmStealTime = 0x4b564d03;
} // namespace msr

// The MSRs a guest reads and writes without exits (both backends switch
// them: VMCB, VMCS and its MSR areas), unless an MSR filter of its VM says
// otherwise (X86Vm::filters_pass_through): FS/GS base, KernelGSBase, the
// syscall MSRs, SYSENTER.
constexpr u32 kPassThroughMsrs[] = {msr::kFsBase, msr::kGsBase, msr::kKernelGsBase, msr::kStar, msr::kLstar,
				    msr::kCstar, msr::kSfmask, msr::kSysenterCs, msr::kSysenterEsp, msr::kSysenterEip};

// KVM's defaults: 32 MCE banks until KVM_X86_SETUP_MCE says otherwise;
// MISC_ENABLE with the PMU's "unavailable" bits; what MTRRcap offers (WC,
// fixed ranges, 8 variable ones); MCG_CAP bits a VMM may ask for.
constexpr u32 kMaxMceBanks = 32;
constexpr u64 kMcgCtlP = 1ull << 8, kMcgSerP = 1ull << 24;
constexpr u64 kMceCapSupported = kMcgCtlP | kMcgSerP;
constexpr u64 kMiscEnableDefault = (1ull << 11) | (1ull << 12);
// IA32_MISC_ENABLE's ENABLE_MONITOR_FSM (SDM vol. 4, table 2-2): MONITOR/MWAIT.
constexpr u64 kMiscEnableMwait = 1ull << 18;
constexpr u64 kMtrrCapValue = 0x500 | 8;
constexpr u64 kUcodeRevDefault = 0x100000000ull;

// What axvm keeps per vCPU of the MSRs it emulates (the ones the backend
// switches live in its VMCB or VMCS).
struct MsrState {
	u64 misc_enable = kMiscEnableDefault;
	u64 mtrr_def_type = 0;
	u64 mtrr_fixed[11] = {}; // 64K, 16K x2, 4K x8
	u64 mtrr_var[16] = {};   // base, mask pairs
	u64 mcg_cap = kMaxMceBanks, mcg_status = 0, mcg_ctl = 0;
	u64 mce_banks[kMaxMceBanks * 4] = {}; // CTL, STATUS, ADDR, MISC
	u64 hwcr = 0;
	u64 tsc_aux = 0;
	u64 tsc_adjust = 0; // IA32_TSC_ADJUST: what the guest's TSC writes added
	u64 power_ctl = 0;  // MSR_IA32_POWER_CTL: kept, as KVM keeps it
	u64 hsave_pa = 0;
	u64 ucode_rev = kUcodeRevDefault;
	u64 platform_info = 0;
	u64 perf_capabilities = 0; // within what feature_msr() offers: none
	u64 kvm_wall_clock = 0, kvm_system_time = 0; // kept for userspace only
	u64 kvm_steal_time = 0; // MSR_KVM_STEAL_TIME: the record's GPA | KVM_MSR_ENABLED
};

// KVM_GET_MSR_INDEX_LIST: writes up to @max indices of the MSRs
// KVM_GET/SET_MSRS save and restore, returns how many there are.
u32 msr_index_list(u32 *out, u32 max);

// KVM_GET_MSR_FEATURE_INDEX_LIST, and KVM_GET_MSRS on the device: the
// feature MSRs of the vCPUs axvm makes (KVM's msr_based_features for what
// axvm has), with the host's values a VMM may hand its guests.
u32 feature_msr_index_list(u32 *out, u32 max);
bool feature_msr(u32 index, u64 *value);

} // namespace axvm::x86
