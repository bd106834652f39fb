// SPDX-License-Identifier: GPL-2.0
// ESR_EL2 -> ExitReason, and PSCI 0.2 (see esr.hpp).
#include "esr.hpp"

#include <uapi/axvm.h>

namespace axvm::arm64 {

namespace {

// Data and instruction abort ISS fields (Arm ARM D17.2.37, ISS encoding for
// an exception from a Data Abort).
constexpr u64 kIssIsv = 1ull << 24;  // the fields below describe the access
constexpr u64 kIssSse = 1ull << 21;  // sign-extend the loaded value
constexpr u64 kIssSf = 1ull << 15;   // the register is 64-bit
constexpr u64 kIssCm = 1ull << 8;    // cache maintenance, not a load or store
constexpr u64 kIssS1ptw = 1ull << 7; // the fault was on the guest's own page-table walk
constexpr u64 kIssWnr = 1ull << 6;   // write

Width sas_width(u64 iss) { return static_cast<Width>(1u << ((iss >> 22) & 3)); }

Decoded exit(ExitReason e, bool advance_pc) { return Decoded{Decoded::Action::Exit, e, advance_pc}; }

// A synchronous external abort, on the access or on a table walk, parity
// and ECC errors included (Arm ARM D17.2.37, DFSC/IFSC): a memory error
// the guest's access met, routed to EL2 by HCR_EL2.TEA.
bool external_abort(u64 iss)
{
	const u64 fsc = iss & 0x3f;
	return fsc == 0x10 || fsc == 0x18 || (fsc >= 0x13 && fsc <= 0x17) || (fsc >= 0x1b && fsc <= 0x1f);
}

Decoded data_abort(const Trap &trap, const u64 (&x)[31])
{
	const u64 iss = esr_iss(trap.esr);
	const u64 ipa = fault_ipa(trap.hpfar, trap.far);
	if (external_abort(iss))
		return Decoded{Decoded::Action::InjectSerror, ExitReason::nothing(), false};
	// DC CIVAC and friends on a device address: nothing to do, as under KVM.
	if (iss & kIssCm)
		return exit(ExitReason::nothing(), true);
	// Without a valid syndrome (load pair, writeback, SIMD, a stage-1 walk
	// that hit no memory) the access cannot be emulated: userspace sees the
	// syndrome and the address (KVM_EXIT_ARM_NISV).
	if (!(iss & kIssIsv) || (iss & kIssS1ptw))
		return exit(ExitReason::nested_page_fault(ipa, (iss & kIssWnr) ? kAccessWrite : kAccessRead, iss),
			    false);
	const Width width = sas_width(iss);
	const u8 reg = static_cast<u8>((iss >> 16) & 0x1f);
	if (iss & kIssWnr) {
		const u64 data = reg == kXzr ? 0 : x[reg] & width_mask(width);
		return exit(ExitReason::mmio_write(ipa, width, data), true);
	}
	return exit(ExitReason::mmio_read(ipa, width, reg, (iss & kIssSf) ? Width::Qword : Width::Dword,
					  iss & kIssSse),
		    true);
}

// An MRC/MCR (p15: @op0 3, p14: @op0 2) as the system-register access
// esr.hpp's kAarch32Access describes; a write carries the 32-bit value.
Decoded coprocessor_access(u64 iss, u64 op0, const u64 (&x)[31])
{
	const u64 op2 = (iss >> 17) & 7, op1 = (iss >> 14) & 7, crn = (iss >> 10) & 0xf, crm = (iss >> 1) & 0xf;
	const u8 rt = static_cast<u8>((iss >> 5) & 0x1f);
	const u64 enc = kAarch32Access | op0 << 14 | op1 << 11 | crn << 7 | crm << 3 | op2;
	if (iss & 1) // direction: read (MRC)
		return exit(ExitReason::sys_reg_read(enc, rt), true);
	return exit(ExitReason::sys_reg_write(enc, x[rt] & 0xffffffffull), true);
}

// VMRS of MVFR0 (reg 7), MVFR1 (6) or MVFR2 (5), trapped by TID3: a read
// of the AArch64 register of the same name (op0 3, op1 0, CRn 0, CRm 3).
Decoded vmrs_id(u64 iss)
{
	const u64 reg = (iss >> 10) & 0xf;
	const u8 rt = static_cast<u8>((iss >> 5) & 0x1f);
	if (!(iss & 1) || reg < 5 || reg > 7)
		return Decoded{Decoded::Action::InjectUndef, ExitReason::nothing(), false};
	return exit(ExitReason::sys_reg_read(kAarch32Access | 3u << 14 | 3u << 3 | (7 - reg), rt), true);
}

} // namespace

Decoded decode_sync(const Trap &trap, const u64 (&x)[31])
{
	const u64 iss = esr_iss(trap.esr);
	switch (esr_ec(trap.esr)) {
	case kEcWfx: // WFI and WFE alike: the guest waits for an event
		return exit(ExitReason::halt(), true);
	case kEcHvc64: // ELR already points past the HVC
	case kEcSmc64:   // a trapped SMC (HCR_EL2.TSC) returns to itself
	case kEcHvc32:
	case kEcSmc32: {
		const u64 mask = aarch32(trap.pstate) ? 0xffffffffull : ~0ull;
		const u64 args[6] = {x[1] & mask, x[2] & mask, x[3] & mask, x[4] & mask, x[5] & mask, x[6] & mask};
		const u32 ec = esr_ec(trap.esr);
		return exit(ExitReason::hypercall(x[0] & mask, args), ec == kEcSmc64 || ec == kEcSmc32);
	}
	case kEcSysReg: {
		const u8 rt = static_cast<u8>((iss >> 5) & 0x1f);
		const u64 enc = sysreg_encoding(iss);
		if (iss & 1) // direction: read
			return exit(ExitReason::sys_reg_read(enc, rt), true);
		return exit(ExitReason::sys_reg_write(enc, rt == kXzr ? 0 : x[rt]), true);
	}
	case kEcCp15_32:
		return coprocessor_access(iss, 3, x);
	case kEcCp14_32:
		return coprocessor_access(iss, 2, x);
	case kEcCp10Id:
		return vmrs_id(iss);
	case kEcDataAbortLow:
		return data_abort(trap, x);
	case kEcInstAbortLow:
		if (external_abort(iss))
			return Decoded{Decoded::Action::InjectSerror, ExitReason::nothing(), false};
		return exit(ExitReason::nested_page_fault(fault_ipa(trap.hpfar, trap.far), kAccessExec, iss), false);
	default:
		// Everything else that reaches EL2 (SVE, pointer authentication,
		// MRRC/MCRR and LDC/STC of registers axvm does not keep, unknown
		// instructions) is an undefined instruction for the guest, never
		// something the host does on its behalf.
		return Decoded{Decoded::Action::InjectUndef, ExitReason::nothing(), false};
	}
}

namespace {

// Whether condition @cond (A32 encoding) holds for flags @nzcv (N in bit 3).
bool condition_holds(u32 cond, u64 nzcv)
{
	const bool n = nzcv & 8, z = nzcv & 4, c = nzcv & 2, v = nzcv & 1;
	bool holds;
	switch (cond >> 1) {
	case 0: holds = z; break;               // EQ, NE
	case 1: holds = c; break;               // CS, CC
	case 2: holds = n; break;               // MI, PL
	case 3: holds = v; break;               // VS, VC
	case 4: holds = c && !z; break;         // HI, LS
	case 5: holds = n == v; break;          // GE, LT
	case 6: holds = !z && n == v; break;    // GT, LE
	default: return cond == 0xe;            // AL; 0b1111 never (as KVM's cc_map)
	}
	return (cond & 1) ? !holds : holds;
}

// The IT state of a Thumb PSTATE: IT[1:0] in bits 26:25, IT[7:2] in 15:10.
u32 itstate(u64 pstate) { return static_cast<u32>(((pstate >> 8) & 0xfc) | ((pstate >> 25) & 3)); }

} // namespace

bool aarch32_condition_passed(u64 esr, u64 pstate)
{
	switch (esr_ec(esr)) {
	case kEcWfx:
	case kEcCp15_32:
	case kEcCp15_64:
	case kEcCp14_32:
	case kEcCp14Ls:
	case 0x07: // FP/SIMD access
	case kEcCp10Id:
	case kEcCp14_64:
	case 0x11: // SVC32
		break;
	default:
		return true;
	}
	if (!aarch32(pstate))
		return true;
	constexpr u64 kCv = 1ull << 24;
	u32 cond;
	if (esr & kCv) {
		cond = static_cast<u32>(esr >> 20) & 0xf;
	} else { // Thumb: the IT block's condition, if any
		const u32 it = itstate(pstate);
		if (!it)
			return true;
		cond = it >> 4;
	}
	return condition_holds(cond, pstate >> 28);
}

PcState after_instruction(u64 esr, u64 pc, u64 pstate)
{
	if (!aarch32(pstate))
		return PcState{pc + 4, pstate};
	constexpr u64 kIl = 1ull << 25;
	const bool thumb = pstate & kPstateThumb;
	const u64 next = (pc + (thumb && !(esr & kIl) ? 2 : 4)) & 0xffffffffull;
	u32 it = itstate(pstate);
	if (!thumb || !it)
		return PcState{next, pstate};
	it = (it & 7) == 0 ? 0 : (it & 0xe0) | ((it << 1) & 0x1f);
	pstate &= ~(0xfcull << 8 | 3ull << 25);
	return PcState{next, pstate | static_cast<u64>(it & 0xfc) << 8 | static_cast<u64>(it & 3) << 25};
}

Aarch32Entry aarch32_undef(u64 pstate, u64 pc, u64 sctlr, u64 vbar)
{
	// CPSR bits in SPSR_EL2's AArch32 layout: DIT is bit 24 there (21 in
	// an AArch32 SPSR), SS bit 21.
	constexpr u64 kNzcvq = 0x1full << 27, kGe = 0xfull << 16, kDit = 1ull << 24, kSs = 1ull << 21;
	constexpr u64 kPan = 1ull << 22, kSsbs = 1ull << 23, kA = 1ull << 8, kI = 1ull << 7, kF = 1ull << 6;
	constexpr u64 kSctlrV = 1ull << 13, kSctlrSpan = 1ull << 23, kSctlrEe = 1ull << 25, kSctlrTe = 1ull << 30,
		      kSctlrDssbs = 1ull << 31;
	// The new CPSR (Arm ARM G1.12.3): flags, GE, DIT, PAN, A and F kept;
	// IT and IL cleared; I set; E from SCTLR.EE, T from SCTLR.TE, SSBS
	// from SCTLR.DSSBS; PAN set unless SCTLR.SPAN.
	u64 cpsr = (pstate & (kNzcvq | kGe | kDit | kPan | kA | kF)) | kI | kModeUnd;
	if (sctlr & kSctlrDssbs)
		cpsr |= kSsbs;
	if (!(sctlr & kSctlrSpan))
		cpsr |= kPan;
	if (sctlr & kSctlrEe)
		cpsr |= kPstateAarch32E;
	if (sctlr & kSctlrTe)
		cpsr |= kPstateThumb;
	const u64 spsr = (pstate & ~(kDit | kSs)) | ((pstate & kDit) ? 1ull << 21 : 0);
	const u64 lr = (pc + ((pstate & kPstateThumb) ? 2 : 4)) & 0xffffffffull;
	const u64 vector = ((sctlr & kSctlrV) ? 0xffff0000ull : vbar) + 4;
	return Aarch32Entry{cpsr, vector & 0xffffffffull, lr, spsr};
}

namespace {

// PSCI_FEATURES (1.0) for @fn: 0 for a function this VM answers
// (SMCCC_VERSION included: smccc.cpp).
u64 psci_features(u32 fn, const PsciConfig &config)
{
	if (config.aarch32 && (fn & 0x40000000))
		return kPsciNotSupported; // an SMC64 function, from AArch32
	switch (fn) {
	case kPsciVersion:
	case kPsciCpuSuspend:
	case kPsciCpuSuspend64:
	case kPsciCpuOff:
	case kPsciCpuOn:
	case kPsciCpuOn64:
	case kPsciAffinityInfo:
	case kPsciAffinityInfo64:
	case kPsciMigrateInfoType:
	case kPsciSystemOff:
	case kPsciSystemReset:
	case kPsciFeatures:
	case kSmcccVersion:
		return kPsciSuccess;
	case kPsciSystemSuspend:
	case kPsciSystemSuspend64:
		return config.system_suspend ? kPsciSuccess : kPsciNotSupported;
	case kPsciSystemReset2:
	case kPsciSystemReset2_64:
		return config.version >= kPsci11 ? kPsciSuccess : kPsciNotSupported;
	default:
		return kPsciNotSupported;
	}
}

PsciCall psci(PsciOp op, u64 a0 = 0, u64 a1 = 0, u64 a2 = 0) { return PsciCall{op, 0, {a0, a1, a2}, false}; }
PsciCall answer(u64 value) { return PsciCall{PsciOp::Answer, value, {}, false}; }

} // namespace

PsciCall psci_call(const u64 (&x)[31], const PsciConfig &config)
{
	const u64 fn = x[0];
	// The PSCI ranges 0x84000000-0x8400001f and 0xc4000000-0xc400001f.
	if (fn > 0xffffffffull || (fn & ~0x4000001full) != 0x84000000)
		return PsciCall{PsciOp::NotPsci, 0, {}, false};
	const bool smc32 = !(fn & 0x40000000);
	if (config.aarch32 && !smc32) // KVM's kvm_psci_check_allowed_function
		return answer(kPsciNotSupported);
	const u64 mask = smc32 ? 0xffffffffull : ~0ull;
	const u64 a1 = x[1] & mask, a2 = x[2] & mask, a3 = x[3] & mask;
	const bool v1 = config.version >= kPsci10;
	PsciCall call = answer(kPsciNotSupported);
	switch (fn) {
	case kPsciVersion:
		call = answer(config.version);
		break;
	case kPsciCpuSuspend:
	case kPsciCpuSuspend64:
		call = psci(PsciOp::CpuSuspend);
		break;
	case kPsciCpuOff:
		call = psci(PsciOp::CpuOff);
		break;
	case kPsciCpuOn:
	case kPsciCpuOn64:
		call = psci(PsciOp::CpuOn, a1, a2, a3);
		break;
	case kPsciAffinityInfo:
	case kPsciAffinityInfo64:
		call = psci(PsciOp::AffinityInfo, a1, a2);
		break;
	case kPsciMigrateInfoType:
		call = answer(kPsciTosNotPresent);
		break;
	case kPsciSystemOff:
		call = psci(PsciOp::SystemOff);
		break;
	case kPsciSystemReset:
		call = psci(PsciOp::SystemReset);
		break;
	case kPsciFeatures:
		if (v1)
			call = answer(psci_features(static_cast<u32>(x[1]), config));
		break;
	case kPsciSystemSuspend:
	case kPsciSystemSuspend64:
		if (v1 && config.system_suspend)
			call = psci(PsciOp::SystemSuspend);
		break;
	case kPsciSystemReset2:
	case kPsciSystemReset2_64:
		if (config.version < kPsci11)
			break;
		// Architectural types: only SYSTEM_WARM_RESET (0); vendor types
		// from 0x80000000 (DEN0022D 5.12.1). KVM passes both on.
		if (static_cast<u32>(x[1]) == 0 || static_cast<u32>(x[1]) >= 0x80000000u)
			call = psci(PsciOp::SystemReset, AXVM_SYSTEM_EVENT_RESET_FLAG_PSCI_RESET2);
		else
			call = answer(kPsciInvalidParams);
		break;
	default:
		break;
	}
	call.smc32 = smc32;
	return call;
}

namespace {

constexpr u64 field(unsigned shift) { return 0xfull << shift; }

// op0:op1:CRn:CRm:op2 of the registers guest_id_register() changes.
constexpr u64 id(u64 crm, u64 op2) { return 3u << 14 | crm << 3 | op2; }

} // namespace

u64 guest_id_register(u64 encoding, u64 v, u32 ipa_bits)
{
	switch (encoding) {
	// The AArch32 ID registers: the same features taken out.
	case id(1, 0): // ID_PFR0_EL1: AMU
		return v & ~field(20);
	case id(1, 1): // ID_PFR1_EL1: GIC
		return v & ~field(28);
	case id(1, 2): // ID_DFR0_EL1: CopTrc, MMapTrc, PerfMon, TraceFilt
		return v & ~(field(4) | field(8) | field(24) | field(28));
	case id(3, 5): // ID_DFR1_EL1: MTPMU
		return v & ~field(0);
	case id(4, 0): // ID_AA64PFR0_EL1: EL2, GIC, SVE, SEL2, MPAM, AMU
		return v & ~(field(8) | field(24) | field(32) | field(36) | field(40) | field(44));
	case id(4, 1): // ID_AA64PFR1_EL1: MTE, MPAM_frac, SME, NMI, GCS
		return v & ~(field(8) | field(16) | field(24) | field(36) | field(44));
	case id(4, 4): // ID_AA64ZFR0_EL1 (SVE)
	case id(4, 5): // ID_AA64SMFR0_EL1 (SME)
		return 0;
	case id(5, 0): // ID_AA64DFR0_EL1: TraceVer, PMUVer, PMSVer, TraceFilt, TraceBuffer
		return v & ~(field(4) | field(8) | field(32) | field(40) | field(44));
	case id(6, 1): // ID_AA64ISAR1_EL1: APA, API, GPA, GPI
		return v & ~(field(4) | field(8) | field(24) | field(28));
	case id(6, 2): // ID_AA64ISAR2_EL1: GPA3, APA3, MOPS (HCRX_EL2.MSCEn is 0 for guests)
		return v & ~(field(8) | field(12) | field(16));
	case id(7, 0): { // ID_AA64MMFR0_EL1: PARange is the VM's IPA size
		const u64 parange = ipa_bits >= 48 ? 5 : ipa_bits >= 44 ? 4 : ipa_bits >= 42 ? 3 : 2;
		return (v & ~field(0)) | parange;
	}
	case id(7, 1): // ID_AA64MMFR1_EL1: VH
		return v & ~field(8);
	case id(7, 3): // ID_AA64MMFR3_EL1: TCR2, SCTLR2, S1PIE, S1POE and the rest:
		return 0; // registers axvm neither switches nor lets through (HFGxTR, HCRX)
	default:
		return v;
	}
}

u64 sync_vector_offset(u64 pstate)
{
	if (pstate & (1u << 4))
		return 0x600; // from AArch32 EL0
	if (((pstate >> 2) & 3) == 0)
		return 0x400; // from AArch64 EL0
	return (pstate & 1) ? 0x200 : 0x000; // EL1 on SP_EL1 / on SP_EL0
}

} // namespace axvm::arm64
