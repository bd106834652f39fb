// SPDX-License-Identifier: GPL-2.0
// The KVM arm64 register ABI: KVM_ARM_VCPU_INIT resets a vCPU to the state
// an EL1 kernel boots in, KVM_GET/SET_ONE_REG reach the core registers by
// their offset in KVM's struct kvm_regs and the system registers axvm
// keeps for a guest by their encoding (Documentation/virt/kvm/api.rst,
// "ARM64 registers").
#include "vcpu.hpp"

#include "backend.hpp"
#include "sysreg.hpp"
#include "vm.hpp"

#include <uapi/axvm.h>

namespace axvm::arm64 {

namespace {

constexpr u64 kPstateEl1hMasked = 0x3c5; // EL1h, D A I F set: what KVM resets to
// SCTLR_EL1's RES1 bits (ARMv8.0: 11, 20, 22, 23, 28, 29); MMU and caches off.
constexpr u64 kSctlrReset = 0x30d00800;

// The core-register word offsets of the ids in uapi/axvm.h.
enum : u64 {
	kCoreSp = 62, kCorePc = 64, kCorePstate = 66, kCoreSpEl1 = 68, kCoreElrEl1 = 70,
	kCoreSpsr = 72,  // 5 SPSRs of 2 words: EL1, then KVM's AArch32 abt, und, irq, fiq
	kCoreV = 84,     // 32 registers of 4 words
	kCoreFpsr = 212, kCoreFpcr = 213,
};

// KVM_REG_ARM64_SYSREG ids: op0:op1:CRn:CRm:op2 in the low 16 bits.
constexpr u64 kSysRegGroup = AXVM_REG_ARM64_SYSREG;
constexpr u64 sysreg(u64 op0, u64 op1, u64 crn, u64 crm, u64 op2)
{
	return op0 << 14 | op1 << 11 | crn << 7 | crm << 3 | op2;
}

// The system registers a vCPU has, KVM's set for a vCPU without PMU, SVE
// or pointer authentication (6.1's sys_regs.c): KVM_GET_REG_LIST lists
// exactly these, GET/SET_ONE_REG take exactly these, and the guest's
// trapped accesses reach the ones it may touch (guest_sys_reg_read/write).
// One table of named registers, plus two ranges: the debug breakpoint and
// watchpoint registers (all 16 of each, as KVM, whatever the CPU has) and
// the ID space of op0 3, op1 0, CRn 0, CRm 1-7.
enum class RegKind : u8 {
	None,
	State,        // el1_.*field: the guest's value, taken and given as is
	Oslsr,        // OSLSR_EL1: only OSLK changes (KVM's set_oslsr_el1)
	Debug,        // DBGBVR/DBGBCR/DBGWVR/DBGWCR<n>_EL1: debug_slot()
	Invariant,    // the host's, which the guest reads untrapped; a write must match
	Id,           // guest_id(); a write must match (KVM 6.1)
	Mpidr,        // MPIDR_EL1 (VMPIDR_EL2)
	VirtualCount, // KVM_REG_ARM_TIMER_CNT: CNTVCT, through the VM's CNTVOFF_EL2
};
struct SysReg {
	u64 encoding;
	RegKind kind;
	u64 El1State::*field;
};
constexpr SysReg st(u64 encoding, u64 El1State::*field) { return {encoding, RegKind::State, field}; }
constexpr SysReg of(u64 encoding, RegKind kind) { return {encoding, kind, nullptr}; }

constexpr u64 kMidr = sysreg(3, 0, 0, 0, 0), kMpidr = sysreg(3, 0, 0, 0, 5), kRevidr = sysreg(3, 0, 0, 0, 6);
constexpr u64 kClidr = sysreg(3, 1, 0, 0, 1), kAidr = sysreg(3, 1, 0, 0, 7), kCtr = sysreg(3, 3, 0, 0, 1);
constexpr u64 kActlr = sysreg(3, 0, 1, 0, 1);
constexpr u64 kMdccint = sysreg(2, 0, 0, 2, 0), kMdscr = sysreg(2, 0, 0, 2, 2);
constexpr u64 kOslar = sysreg(2, 0, 1, 0, 4), kOslsr = sysreg(2, 0, 1, 1, 4);
constexpr u64 kOsdlr = sysreg(2, 0, 1, 3, 4), kDbgprcr = sysreg(2, 0, 1, 4, 4);
constexpr u64 kOslsrOslk = 1ull << 1, kOslsrOslmImplemented = 1ull << 3;
// AArch32 names without an AArch64 twin at the same encoding (p15 as op0 3,
// p14 as op0 2: esr.hpp's kAarch32Access).
constexpr u64 kActlr2 = sysreg(3, 0, 1, 0, 3), kDbgdidr = sysreg(2, 0, 0, 0, 0), kDbgvcr = sysreg(2, 0, 0, 7, 0);

// By the encoding KVM names them with: the *_EL1 one, not the *_EL12 alias
// the switch uses. ELR, SPSR and SP_EL1 are core registers in KVM's ABI.
// The virtual timer by KVM's own ids (KVM_REG_ARM_TIMER_CTL, _CVAL and
// _CNT: as in KVM, CVAL is the encoding of CNTVCT_EL0 and CNT that of
// CNTV_CVAL_EL0).
constexpr SysReg kSysRegs[] = {
	st(sysreg(3, 0, 1, 0, 0), &El1State::sctlr),      st(kActlr, &El1State::actlr),
	st(sysreg(3, 0, 1, 0, 2), &El1State::cpacr),      st(sysreg(3, 0, 2, 0, 0), &El1State::ttbr0),
	st(sysreg(3, 0, 2, 0, 1), &El1State::ttbr1),      st(sysreg(3, 0, 2, 0, 2), &El1State::tcr),
	st(sysreg(3, 0, 5, 1, 0), &El1State::afsr0),      st(sysreg(3, 0, 5, 1, 1), &El1State::afsr1),
	st(sysreg(3, 0, 5, 2, 0), &El1State::esr),        st(sysreg(3, 0, 6, 0, 0), &El1State::far),
	st(sysreg(3, 0, 7, 4, 0), &El1State::par),        st(sysreg(3, 0, 10, 2, 0), &El1State::mair),
	st(sysreg(3, 0, 10, 3, 0), &El1State::amair),     st(sysreg(3, 0, 12, 0, 0), &El1State::vbar),
	st(sysreg(3, 0, 12, 1, 1), &El1State::disr),      st(sysreg(3, 0, 13, 0, 1), &El1State::contextidr),
	st(sysreg(3, 0, 13, 0, 4), &El1State::tpidr_el1), st(sysreg(3, 0, 14, 1, 0), &El1State::cntkctl),
	st(sysreg(3, 2, 0, 0, 0), &El1State::csselr),     st(sysreg(3, 3, 13, 0, 2), &El1State::tpidr_el0),
	st(sysreg(3, 3, 13, 0, 3), &El1State::tpidrro_el0),
	st(sysreg(3, 3, 14, 3, 1), &El1State::cntv_ctl),  st(sysreg(3, 3, 14, 0, 2), &El1State::cntv_cval),
	of(sysreg(3, 3, 14, 3, 2), RegKind::VirtualCount),
	st(sysreg(3, 4, 3, 0, 0), &El1State::dacr32),     st(sysreg(3, 4, 5, 0, 1), &El1State::ifsr32),
	st(sysreg(3, 4, 5, 3, 0), &El1State::fpexc32),    st(sysreg(2, 4, 0, 7, 0), &El1State::dbgvcr32),
	st(kMdccint, &El1State::mdccint),                 st(kMdscr, &El1State::mdscr),
	{kOslsr, RegKind::Oslsr, &El1State::oslsr},
	of(kMidr, RegKind::Invariant),                    of(kRevidr, RegKind::Invariant),
	of(kClidr, RegKind::Invariant),                   of(kAidr, RegKind::Invariant),
	of(kCtr, RegKind::Invariant),                     of(kMpidr, RegKind::Mpidr),
};

// DBGBVR<n>_EL1 (op2 4), DBGBCR (5), DBGWVR (6), DBGWCR (7): op0 2, op1 0,
// CRn 0, CRm n.
constexpr bool is_debug_point(u64 encoding) { return (encoding >> 7) == (2u << 7) && (encoding & 7) >= 4; }

SysReg find_sys_reg(u64 encoding)
{
	for (const SysReg &r : kSysRegs)
		if (r.encoding == encoding)
			return r;
	if (is_debug_point(encoding))
		return of(encoding, RegKind::Debug);
	if (is_id_register(encoding))
		return of(encoding, RegKind::Id);
	return of(encoding, RegKind::None);
}

// The registers the guest reads straight from the CPU (MIDR through
// VPIDR_EL2): what it sees is the host's.
u64 invariant_value(u64 encoding)
{
	switch (encoding) {
	case kMidr:
		return AXVM_SYSREG_READ(SYS_MIDR_EL1);
	case kRevidr:
		return AXVM_SYSREG_READ("s3_0_c0_c0_6");
	case kClidr:
		return AXVM_SYSREG_READ("s3_1_c0_c0_1");
	case kAidr:
		return AXVM_SYSREG_READ("s3_1_c0_c0_7");
	default:
		return AXVM_SYSREG_READ("s3_3_c0_c0_1"); // CTR_EL0
	}
}

u64 physical_count() { return AXVM_SYSREG_READ("s3_3_c14_c0_1"); } // CNTPCT_EL0

// The firmware pseudo-registers (KVM_REG_ARM_FW_REG, _FW_FEAT_BMAP_REG).
constexpr u64 kFw = AXVM_REG_ARM64 | AXVM_REG_SIZE_U64 | AXVM_REG_ARM_FW;
constexpr u64 kFwBmap = AXVM_REG_ARM64 | AXVM_REG_SIZE_U64 | AXVM_REG_ARM_FW_FEAT_BMAP;
constexpr u64 kFwPsciVersion = kFw | 0, kFwWorkaround1 = kFw | 1, kFwWorkaround2 = kFw | 2,
	      kFwWorkaround3 = kFw | 3;
constexpr u64 kFwLevelMask = 0xf, kFwWorkaround2Enabled = 1u << 4;
constexpr u64 kFwWorkaround2Unknown = 1;

// MPIDR_EL1 as KVM derives it from the vCPU id: Aff0 4 bits, then Aff1, Aff2.
u64 reset_mpidr(u32 id) { return (1ull << 31) | (id & 0xf) | ((id >> 4) & 0xff) << 8 | ((u64)(id >> 12) & 0xff) << 16; }

// A mode the vCPU can be in (KVM's set_core_reg): AArch64 EL0t, EL1t and
// EL1h, or the AArch32 modes but Hyp and Monitor, by the width of the
// VM's EL1; User also where an AArch64 EL1 has an AArch32 EL0.
bool valid_pstate(u64 pstate, bool el1_aarch32)
{
	if (pstate >> 32)
		return false;
	switch (pstate & 0x1f) {
	case kModeUsr:
		return el1_aarch32 || host_features().aarch32_el0;
	case kModeFiq:
	case kModeIrq:
	case kModeSvc:
	case kModeAbt:
	case kModeUnd:
	case kModeSys:
		return el1_aarch32;
	case 0x0: // EL0t
	case 0x4: // EL1t
	case 0x5: // EL1h
		return !el1_aarch32;
	default:
		return false;
	}
}

// The AArch32 DBGBXVR<n> (p14, op1 0, CRn 1, CRm n, op2 1): DBGBVR<n>'s upper half.
constexpr bool is_dbgbxvr(u64 encoding) { return (encoding & ~(0xfull << 3)) == sysreg(2, 0, 1, 0, 1); }

// The AArch32 debug registers KVM reads as zero and ignores writes to:
// DBGDTRRXext, DBGDSCRint, DBGDTRTXext, DBGWFAR, DBGOSECCR, DBGDRAR,
// DBGDSAR, DBGDEVID2/1/0, DBGCLAIMSET and DBGCLAIMCLR.
bool is_cp14_raz_wi(u64 encoding)
{
	static constexpr u64 kRazWi[] = {
		sysreg(2, 0, 0, 0, 2), sysreg(2, 0, 0, 1, 0), sysreg(2, 0, 0, 3, 2), sysreg(2, 0, 0, 6, 0),
		sysreg(2, 0, 0, 6, 2), sysreg(2, 0, 1, 0, 0), sysreg(2, 0, 2, 0, 0), sysreg(2, 0, 7, 0, 7),
		sysreg(2, 0, 7, 1, 7), sysreg(2, 0, 7, 2, 7), sysreg(2, 0, 7, 8, 6), sysreg(2, 0, 7, 9, 6),
	};
	for (u64 r : kRazWi)
		if (r == encoding)
			return true;
	return false;
}

// DBGDIDR as KVM builds it: the watchpoint, breakpoint and context
// comparator counts of ID_AA64DFR0_EL1, debug architecture v8, and EL3's
// security extensions where the CPU has EL3.
u64 dbgdidr()
{
	const u64 dfr = AXVM_SYSREG_READ("s3_0_c0_c5_0"), pfr = AXVM_SYSREG_READ(SYS_ID_AA64PFR0_EL1);
	const u64 el3 = ((pfr >> 12) & 0xf) != 0;
	return ((dfr >> 20) & 0xf) << 28 | ((dfr >> 12) & 0xf) << 24 | ((dfr >> 28) & 0xf) << 20 | 6u << 16 |
	       1u << 15 | el3 << 14 | el3 << 12;
}

// A 32-bit write to the low half of a 64-bit register.
constexpr u64 low_half(u64 old, u64 value) { return (old & ~0xffffffffull) | (value & 0xffffffffull); }

} // namespace

void Arm64Vcpu::reset()
{
	ctx_ = Context{};
	el1_ = El1State{};
	ctx_.pstate = el1_aarch32_ ? kPstateSvcMasked : kPstateEl1hMasked;
	el1_.sctlr = kSctlrReset;
	// KVM's reset values: the OS lock implemented and clear, FPEXC32's
	// 0x700, ACTLR the CPU's (ACTLR_EL1 is not redirected under VHE).
	el1_.oslsr = kOslsrOslmImplemented;
	el1_.fpexc32 = 0x700;
	el1_.actlr = AXVM_SYSREG_READ("s3_0_c1_c0_1");
	__atomic_store_n(&mpidr_, reset_mpidr(id_), __ATOMIC_RELAXED); // other vCPUs' PSCI reads it
	pending_ = false;
}

const u64 *Arm64Vcpu::debug_slot(u64 encoding) const
{
	if (!is_debug_point(encoding))
		return nullptr;
	const u64 n = (encoding >> 3) & 0xf;
	switch (encoding & 7) {
	case 4:
		return &el1_.dbgbvr[n];
	case 5:
		return &el1_.dbgbcr[n];
	case 6:
		return &el1_.dbgwvr[n];
	default:
		return &el1_.dbgwcr[n];
	}
}

u64 *Arm64Vcpu::debug_slot(u64 encoding)
{
	return const_cast<u64 *>(static_cast<const Arm64Vcpu *>(this)->debug_slot(encoding));
}

// Anything not in the table (and its two ranges): -ENOENT, as in KVM.
Status Arm64Vcpu::get_sys_reg(u64 encoding, u64 &value) const
{
	const SysReg r = find_sys_reg(encoding);
	switch (r.kind) {
	case RegKind::State:
	case RegKind::Oslsr:
		value = el1_.*r.field;
		break;
	case RegKind::Debug:
		value = *debug_slot(encoding);
		break;
	case RegKind::Invariant:
		value = invariant_value(encoding);
		break;
	case RegKind::Id:
		value = guest_id(encoding);
		break;
	case RegKind::Mpidr:
		value = mpidr_;
		break;
	case RegKind::VirtualCount:
		value = physical_count() - static_cast<const Arm64Vm *>(vm_.arch())->cntvoff();
		break;
	case RegKind::None:
		return fail(err::ENOENT);
	}
	return Status();
}

Status Arm64Vcpu::set_sys_reg(u64 encoding, u64 value)
{
	const SysReg r = find_sys_reg(encoding);
	switch (r.kind) {
	case RegKind::State:
		el1_.*r.field = value;
		return Status();
	case RegKind::Oslsr:
		if ((value ^ el1_.oslsr) & ~kOslsrOslk)
			return fail(err::EINVAL);
		el1_.oslsr = value;
		return Status();
	case RegKind::Debug:
		*debug_slot(encoding) = value;
		return Status();
	case RegKind::Mpidr:
		__atomic_store_n(&mpidr_, value, __ATOMIC_RELAXED); // PSCI reads it from other vCPUs
		return Status();
	case RegKind::VirtualCount:
		// The offset that makes the count read @value now (KVM 6.1's
		// update_vtimer_cntvoff), for every vCPU of the VM.
		static_cast<Arm64Vm *>(vm_.arch())->set_cntvoff(physical_count() - value);
		return Status();
	case RegKind::Invariant:
	case RegKind::Id: {
		u64 now = 0;
		TRY(get_sys_reg(encoding, now));
		if (value == now)
			return Status();
		axvm_log(AXVM_LOG_WARN, "SET_ONE_REG: identification register 0x%llx is 0x%llx, not 0x%llx", encoding,
			 now, value);
		return fail(err::EINVAL);
	}
	case RegKind::None:
		break;
	}
	return fail(err::ENOENT);
}

// What the firmware axvm plays offers (KVM's kvm_arm_get/set_fw_reg): the
// VM's PSCI version; no SMCCC_ARCH_WORKAROUND_1/2/3 (axvm does not
// implement those calls: NOT_AVAIL, 0, and SMCCC_ARCH_FEATURES says so);
// the services of smccc.cpp the bitmaps govern (TRNG; PV time where the
// kernel counts run-queue waits; KVM's vendor calls and PTP). A write may
// choose what KVM allows below that: a lower level, fewer services.
Status Arm64Vcpu::get_fw_reg(u64 id, u64 &value) const
{
	if (id == kFwPsciVersion)
		value = static_cast<const Arm64Vm *>(vm_.arch())->psci_version();
	else if (id == kFwWorkaround1 || id == kFwWorkaround2 || id == kFwWorkaround3)
		value = 0;
	else if (id >= kFwBmap && id <= (kFwBmap | 2))
		value = static_cast<const Arm64Vm *>(vm_.arch())->services(static_cast<u32>(id - kFwBmap));
	else
		return fail(err::ENOENT);
	return Status();
}

Status Arm64Vcpu::set_fw_reg(u64 id, u64 value)
{
	if (id == kFwPsciVersion) {
		if (value != kPsci02 && value != kPsci10 && value != kPsci11)
			return fail(err::EINVAL);
		static_cast<Arm64Vm *>(vm_.arch())->set_psci_version(static_cast<u32>(value));
		return Status();
	}
	if (id == kFwWorkaround1 || id == kFwWorkaround3)
		return value == 0 ? Status() : fail(err::EINVAL);
	if (id == kFwWorkaround2) {
		// UNKNOWN counts as NOT_AVAIL; AVAIL, NOT_REQUIRED and the
		// enable bit claim more than axvm has.
		return value == 0 || value == kFwWorkaround2Unknown ? Status() : fail(err::EINVAL);
	}
	if (id >= kFwBmap && id <= (kFwBmap | 2))
		return static_cast<Arm64Vm *>(vm_.arch())->set_services(static_cast<u32>(id - kFwBmap), value);
	return fail(err::ENOENT);
}

void Arm64Vcpu::reg_list(u64 *ids, u64 room, u64 &n) const
{
	n = 0;
	const auto add = [&](u64 id) {
		if (n < room)
			ids[n] = id;
		n++;
	};
	for (u64 x = 0; x < 31; x++)
		add(AXVM_ARM64_X(x));
	add(AXVM_ARM64_SP);
	add(AXVM_ARM64_PC);
	add(AXVM_ARM64_PSTATE);
	add(AXVM_ARM64_SP_EL1);
	add(AXVM_ARM64_ELR_EL1);
	for (u64 i = 0; i < 5; i++)
		add(AXVM_REG_ARM_CORE_REG(kCoreSpsr + 2 * i, AXVM_REG_SIZE_U64));
	for (u64 v = 0; v < 32; v++)
		add(AXVM_ARM64_V(v));
	add(AXVM_ARM64_FPSR);
	add(AXVM_ARM64_FPCR);
	for (u64 i = 0; i < 4; i++)
		add(kFw | i);
	for (u64 i = 0; i < 3; i++)
		add(kFwBmap | i);
	constexpr u64 kSys = AXVM_REG_ARM64 | AXVM_REG_SIZE_U64 | kSysRegGroup;
	for (const SysReg &r : kSysRegs)
		add(kSys | r.encoding);
	for (u64 crm = 0; crm < 16; crm++)
		for (u64 op2 = 4; op2 < 8; op2++)
			add(kSys | sysreg(2, 0, 0, crm, op2));
	for (u64 crm = 1; crm < 8; crm++)
		for (u64 op2 = 0; op2 < 8; op2++)
			add(kSys | sysreg(3, 0, 0, crm, op2));
}

// The guest's trapped accesses (HCR_EL2.TID3, TACR, TERR; MDCR_EL2.TDA,
// TDOSA) to registers axvm keeps, as KVM answers them: the ID registers
// and the error records read-only (error records: none, RAZ/WI), ACTLR
// read from the vCPU's copy with writes ignored (the CPU's is the host's),
// the debug registers kept per vCPU, the OS lock through OSLAR into
// OSLSR.OSLK, OSDLR and DBGPRCR RAZ/WI. The debug registers are never
// loaded into the CPU (MDSCR_EL1 is 0 while the guest runs): a guest's
// breakpoints, watchpoints and single-step do not fire.
bool Arm64Vcpu::guest_sys_reg_read(u64 encoding, u64 &value) const
{
	if (encoding & kAarch32Access)
		return guest_cp_read(encoding & ~kAarch32Access, value);
	if (is_id_register(encoding)) {
		value = guest_id(encoding);
		return true;
	}
	if (const u64 *slot = debug_slot(encoding)) {
		value = *slot;
		return true;
	}
	switch (encoding) {
	case kMdccint:
	case kMdscr:
	case kOslsr:
	case kActlr:
		value = el1_.*find_sys_reg(encoding).field;
		return true;
	case kOsdlr:
	case kDbgprcr:
		value = 0;
		return true;
	default:
		value = 0;
		return is_error_record_register(encoding);
	}
}

bool Arm64Vcpu::guest_sys_reg_write(u64 encoding, u64 value)
{
	if (encoding & kAarch32Access)
		return guest_cp_write(encoding & ~kAarch32Access, value);
	if (u64 *slot = debug_slot(encoding)) {
		*slot = value;
		return true;
	}
	switch (encoding) {
	case kMdccint:
	case kMdscr:
		el1_.*find_sys_reg(encoding).field = value;
		return true;
	case kOslar:
		el1_.oslsr = (el1_.oslsr & ~kOslsrOslk) | (value & 1 ? kOslsrOslk : 0);
		return true;
	case kActlr:
	case kOsdlr:
	case kDbgprcr:
		return true;
	default:
		return is_error_record_register(encoding);
	}
}

// AArch32 (KVM's cp15 and cp14 tables for what axvm keeps): the ID
// registers (those of CRm 4-7 are AArch64's, RAZ from AArch32; writes
// UNDEF), ACTLR and ACTLR2 as the halves of ACTLR_EL1, the error records,
// and the debug registers: the AArch64 ones as their low halves, DBGBXVR
// as DBGBVR's high half, DBGDIDR built, DBGVCR kept, the rest RAZ/WI.
bool Arm64Vcpu::guest_cp_read(u64 encoding, u64 &value) const
{
	value = 0;
	if (is_id_register(encoding)) {
		if (((encoding >> 3) & 0xf) <= 3)
			value = guest_id(encoding) & 0xffffffffull;
		return true;
	}
	if (encoding == kActlr || encoding == kActlr2) {
		value = encoding == kActlr ? el1_.actlr & 0xffffffffull : el1_.actlr >> 32;
		return true;
	}
	if (encoding == kDbgdidr) {
		value = dbgdidr();
		return true;
	}
	if (is_dbgbxvr(encoding)) {
		value = el1_.dbgbvr[(encoding >> 3) & 0xf] >> 32;
		return true;
	}
	if (encoding == kDbgvcr) {
		value = el1_.dbgvcr32 & 0xffffffffull;
		return true;
	}
	if (is_error_record_register(encoding) || is_cp14_raz_wi(encoding))
		return true;
	if ((encoding >> 14) != 2 || encoding == kOslar) // p14 with an AArch64 twin only
		return false;
	if (!guest_sys_reg_read(encoding, value))
		return false;
	value &= 0xffffffffull;
	return true;
}

bool Arm64Vcpu::guest_cp_write(u64 encoding, u64 value)
{
	if (is_id_register(encoding))
		return false;
	if (encoding == kActlr || encoding == kActlr2 || encoding == kDbgdidr || is_error_record_register(encoding) ||
	    is_cp14_raz_wi(encoding))
		return true;
	if (is_dbgbxvr(encoding)) {
		u64 &bvr = el1_.dbgbvr[(encoding >> 3) & 0xf];
		bvr = (bvr & 0xffffffffull) | (value & 0xffffffffull) << 32;
		return true;
	}
	if (encoding == kDbgvcr) {
		el1_.dbgvcr32 = low_half(el1_.dbgvcr32, value);
		return true;
	}
	if ((encoding >> 14) != 2 || encoding == kOslsr) // p14 with an AArch64 twin only; OSLSR is read-only
		return false;
	u64 old = 0;
	if (encoding != kOslar && !guest_sys_reg_read(encoding, old))
		return false;
	return guest_sys_reg_write(encoding, low_half(old, value));
}

Status Arm64Vcpu::init(const axvm_vcpu_init &init)
{
	if (init.target != AXVM_ARM_TARGET_GENERIC_V8) {
		axvm_log(AXVM_LOG_WARN, "ARM_VCPU_INIT: target %u; axvm offers %u (ARM_PREFERRED_TARGET)", init.target,
			 AXVM_ARM_TARGET_GENERIC_V8);
		return fail(err::EINVAL);
	}
	for (usize i = 0; i < array_size(init.features); i++) {
		const u32 allowed =
			i == 0 ? 1u << AXVM_ARM_VCPU_PSCI_0_2 | 1u << AXVM_ARM_VCPU_POWER_OFF | 1u << AXVM_ARM_VCPU_EL1_32BIT
			       : 0;
		if (init.features[i] & ~allowed) {
			axvm_log(AXVM_LOG_WARN,
				 "ARM_VCPU_INIT: features[%zu] 0x%x: only PSCI 0.2, POWER_OFF and EL1_32BIT are offered", i,
				 init.features[i]);
			return fail(err::EINVAL);
		}
	}
	// The first INIT fixes the VM's width; KVM refuses mixed ones.
	const bool el1_aarch32 = init.features[0] & 1u << AXVM_ARM_VCPU_EL1_32BIT;
	if (el1_aarch32 && !host_features().aarch32_el1) {
		axvm_log(AXVM_LOG_WARN, "ARM_VCPU_INIT: EL1_32BIT: this CPU's EL1 has no AArch32");
		return fail(err::EINVAL);
	}
	if (!static_cast<Arm64Vm *>(vm_.arch())->claim_width(el1_aarch32)) {
		axvm_log(AXVM_LOG_WARN, "ARM_VCPU_INIT: vcpu %u is %s, the VM's vCPUs are not: all alike", id_,
			 el1_aarch32 ? "AArch32" : "AArch64");
		return fail(err::EINVAL);
	}
	el1_aarch32_ = el1_aarch32;
	reset();
	// Powered off until a CPU_ON with KVM_ARM_VCPU_POWER_OFF, else on; a
	// CPU_ON not yet applied is dropped (the VMM's reset wins).
	set_power(init.features[0] & 1u << AXVM_ARM_VCPU_POWER_OFF ? kPowerOff : kPowerOn);
	initialized_ = true;
	return Status();
}

Status Arm64Vcpu::get_one_reg(axvm_reg_value &r) const
{
	const u64 size = r.id & AXVM_REG_SIZE_MASK;
	const u64 group = r.id & ~(AXVM_REG_SIZE_MASK | 0xffff);
	if (group == (AXVM_REG_ARM64 | AXVM_REG_ARM_FW) || group == (AXVM_REG_ARM64 | AXVM_REG_ARM_FW_FEAT_BMAP)) {
		r.value[1] = 0;
		return get_fw_reg(r.id, r.value[0]);
	}
	if ((r.id & ~(AXVM_REG_SIZE_MASK | 0xffff)) == (AXVM_REG_ARM64 | kSysRegGroup)) {
		if (size != AXVM_REG_SIZE_U64)
			return fail(err::ENOENT);
		r.value[1] = 0;
		return get_sys_reg(r.id & 0xffff, r.value[0]);
	}
	if ((r.id & ~(AXVM_REG_SIZE_MASK | 0xffff)) != (AXVM_REG_ARM64 | AXVM_REG_ARM_CORE))
		return fail(err::ENOENT);
	const u64 word = r.id & 0xffff;
	r.value[0] = r.value[1] = 0;
	if (word >= kCoreV && word < kCoreV + 4 * 32) {
		if ((word - kCoreV) % 4 || size != AXVM_REG_SIZE_U128)
			return fail(err::EINVAL);
		r.value[0] = ctx_.v[(word - kCoreV) / 4][0];
		r.value[1] = ctx_.v[(word - kCoreV) / 4][1];
		return Status();
	}
	if (word == kCoreFpsr || word == kCoreFpcr) {
		if (size != AXVM_REG_SIZE_U32)
			return fail(err::EINVAL);
		r.value[0] = word == kCoreFpsr ? ctx_.fpsr : ctx_.fpcr;
		return Status();
	}
	if (word % 2 || size != AXVM_REG_SIZE_U64)
		return fail(word < kCoreFpcr ? err::EINVAL : err::ENOENT);
	if (word < kCoreSp)
		r.value[0] = ctx_.x[word / 2];
	else if (word == kCoreSp)
		r.value[0] = ctx_.sp_el0;
	else if (word == kCorePc)
		r.value[0] = ctx_.pc;
	else if (word == kCorePstate)
		r.value[0] = ctx_.pstate;
	else if (word == kCoreSpEl1)
		r.value[0] = el1_.sp_el1;
	else if (word == kCoreElrEl1)
		r.value[0] = el1_.elr;
	else if (word == kCoreSpsr)
		r.value[0] = el1_.spsr;
	else if (word > kCoreSpsr && word <= kCoreSpsr + 8)
		r.value[0] = el1_.spsr32[(word - kCoreSpsr) / 2 - 1];
	else
		return fail(err::ENOENT);
	return Status();
}

Status Arm64Vcpu::set_one_reg(const axvm_reg_value &r)
{
	// Validate through the getter: same ids, same sizes.
	axvm_reg_value probe = {r.id, {}};
	TRY(get_one_reg(probe));
	const u64 group = r.id & ~(AXVM_REG_SIZE_MASK | 0xffff);
	if (group == (AXVM_REG_ARM64 | kSysRegGroup))
		return set_sys_reg(r.id & 0xffff, r.value[0]);
	if (group == (AXVM_REG_ARM64 | AXVM_REG_ARM_FW) || group == (AXVM_REG_ARM64 | AXVM_REG_ARM_FW_FEAT_BMAP))
		return set_fw_reg(r.id, r.value[0]);
	const u64 word = r.id & 0xffff;
	const u64 v = r.value[0];
	if (word >= kCoreV && word < kCoreV + 4 * 32) {
		ctx_.v[(word - kCoreV) / 4][0] = r.value[0];
		ctx_.v[(word - kCoreV) / 4][1] = r.value[1];
	} else if (word == kCoreFpsr) {
		ctx_.fpsr = static_cast<u32>(v);
	} else if (word == kCoreFpcr) {
		ctx_.fpcr = static_cast<u32>(v);
	} else if (word < kCoreSp) {
		ctx_.x[word / 2] = v;
	} else if (word == kCoreSp) {
		ctx_.sp_el0 = v;
	} else if (word == kCorePc) {
		ctx_.pc = v;
	} else if (word == kCorePstate) {
		if (!valid_pstate(v, el1_aarch32_)) {
			axvm_log(AXVM_LOG_WARN, "SET_ONE_REG: pstate 0x%llx is no mode of this %s vCPU", v,
				 el1_aarch32_ ? "AArch32" : "AArch64");
			return fail(err::EINVAL);
		}
		ctx_.pstate = v;
	} else if (word == kCoreSpEl1) {
		el1_.sp_el1 = v;
	} else if (word == kCoreElrEl1) {
		el1_.elr = v;
	} else if (word == kCoreSpsr) {
		el1_.spsr = v;
	} else {
		el1_.spsr32[(word - kCoreSpsr) / 2 - 1] = v;
	}
	// In an AArch32 mode the registers it reaches hold 32 bits (KVM).
	if (aarch32(ctx_.pstate)) {
		for (unsigned i = 0; i < aarch32_registers(ctx_.pstate); i++)
			ctx_.x[i] &= 0xffffffffull;
		ctx_.pc &= 0xffffffffull;
	}
	return Status();
}

Status Arm64Vcpu::arch_ioctl(unsigned int cmd, void *arg, usize size)
{
	// As KVM: a CPU_ON's reset comes before anything userspace reads or
	// writes of this vCPU.
	take_power_on();
	switch (cmd) {
	case AXVM_GET_MP_STATE:
	case AXVM_SET_MP_STATE:
		if (size != sizeof(axvm_mp_state))
			return fail(err::EINVAL);
		return cmd == AXVM_GET_MP_STATE ? get_mp_state(*static_cast<axvm_mp_state *>(arg))
						: set_mp_state(*static_cast<const axvm_mp_state *>(arg));
	case AXVM_ARM_VCPU_INIT:
		if (size != sizeof(axvm_vcpu_init))
			return fail(err::EINVAL);
		return init(*static_cast<const axvm_vcpu_init *>(arg));
	case AXVM_GET_ONE_REG:
	case AXVM_SET_ONE_REG: {
		if (size != sizeof(axvm_reg_value))
			return fail(err::EINVAL);
		if (!initialized_) {
			axvm_log(AXVM_LOG_WARN, "ONE_REG: vcpu %u has not been through KVM_ARM_VCPU_INIT", id_);
			return fail(err::ENOEXEC);
		}
		auto &r = *static_cast<axvm_reg_value *>(arg);
		Status ret = cmd == AXVM_GET_ONE_REG ? get_one_reg(r) : set_one_reg(r);
		if (ret.error() == -err::ENOENT)
			axvm_log(AXVM_LOG_WARN, "ONE_REG: register 0x%llx is not one axvm knows", r.id);
		return ret;
	}
	case AXVM_SET_DEVICE_ATTR:
	case AXVM_GET_DEVICE_ATTR:
	case AXVM_HAS_DEVICE_ATTR:
		if (size != sizeof(axvm_attr_value))
			return fail(err::EINVAL);
		return device_attr(cmd, *static_cast<axvm_attr_value *>(arg));
	case AXVM_GET_REG_LIST: {
		if (size != sizeof(axvm_reg_list) + AXVM_MAX_REG_LIST * sizeof(u64))
			return fail(err::EINVAL);
		if (!initialized_) {
			axvm_log(AXVM_LOG_WARN, "GET_REG_LIST: vcpu %u has not been through KVM_ARM_VCPU_INIT", id_);
			return fail(err::ENOEXEC);
		}
		auto &list = *static_cast<axvm_reg_list *>(arg);
		u64 n = 0;
		reg_list(list.reg, AXVM_MAX_REG_LIST, n);
		if (n > AXVM_MAX_REG_LIST) // AXVM_MAX_REG_LIST is too small: a bug here
			return fail(err::ERANGE);
		list.n = n;
		return Status();
	}
	default:
		return fail(err::ENOTTY);
	}
}

} // namespace axvm::arm64
