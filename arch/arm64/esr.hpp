// SPDX-License-Identifier: GPL-2.0
// What a synchronous exit from an arm64 guest means (ESR_EL2, Arm ARM
// D17.2.37), and the PSCI 0.2 calls the backend answers. Pure functions over
// the syndrome and the guest's registers: tested in kunit/arm64_test.cpp.
#pragma once

#include <axvm/exit_reason.hpp>

namespace axvm::arm64 {

// Exception classes (ESR_EL2.EC) the backend tells apart.
enum : u32 {
	kEcUnknown = 0x00,
	kEcWfx = 0x01,
	kEcCp15_32 = 0x03, // AArch32 MRC/MCR p15
	kEcCp15_64 = 0x04, // MRRC/MCRR p15
	kEcCp14_32 = 0x05, // MRC/MCR p14
	kEcCp14Ls = 0x06,  // LDC/STC p14
	kEcCp10Id = 0x08,  // VMRS of an ID register (HCR_EL2.TID3)
	kEcCp14_64 = 0x0c, // MRRC/MCRR p14
	kEcHvc32 = 0x12,
	kEcSmc32 = 0x13,
	kEcHvc64 = 0x16,
	kEcSmc64 = 0x17,
	kEcSysReg = 0x18,
	kEcInstAbortLow = 0x20,
	kEcDataAbortLow = 0x24,
};

constexpr u32 esr_ec(u64 esr) { return static_cast<u32>(esr >> 26) & 0x3f; }
constexpr u64 esr_iss(u64 esr) { return esr & 0x1ffffff; }

// The faulting IPA of a stage-2 abort: the page from HPFAR_EL2.FIPA, the
// offset from FAR_EL2.
constexpr u64 fault_ipa(u64 hpfar, u64 far) { return (((hpfar >> 4) & ((1ull << 44) - 1)) << 12) | (far & 0xfff); }

// The system-register encoding of a trapped MRS/MSR (ESR ISS for EC 0x18),
// in KVM's KVM_REG_ARM64_SYSREG layout: op0:op1:CRn:CRm:op2.
constexpr u64 sysreg_encoding(u64 iss)
{
	const u64 op0 = (iss >> 20) & 3, op2 = (iss >> 17) & 7, op1 = (iss >> 14) & 7;
	const u64 crn = (iss >> 10) & 0xf, crm = (iss >> 1) & 0xf;
	return op0 << 14 | op1 << 11 | crn << 7 | crm << 3 | op2;
}

// The register number that means "zero register" in MRS/MSR and loads/stores.
constexpr u8 kXzr = 31;

struct Trap {
	u64 esr;
	u64 far;
	u64 hpfar;
	u64 pstate; // where the guest was: AArch32 or AArch64
};

// AArch32 (Arm ARM G1): PSTATE.nRW (SPSR_EL2 bit 4) says the guest was in
// AArch32 state, at EL0 or, in a VM made with KVM_ARM_VCPU_EL1_32BIT, at EL1.
constexpr u64 kPstateAarch32 = 1ull << 4, kPstateThumb = 1ull << 5, kPstateAarch32E = 1ull << 9;
constexpr bool aarch32(u64 pstate) { return pstate & kPstateAarch32; }
// Reset: Supervisor mode, A, I and F masked (KVM's VCPU_RESET_PSTATE_SVC).
constexpr u64 kPstateSvcMasked = 0x1d3;
constexpr u32 kModeUsr = 0x10, kModeFiq = 0x11, kModeIrq = 0x12, kModeSvc = 0x13, kModeAbt = 0x17,
	      kModeUnd = 0x1b, kModeSys = 0x1f;

// A trapped AArch32 instruction that fails its condition (ESR_EL2.CV/COND,
// or the IT block's in Thumb) must not take effect: false then, and the
// caller skips it. Only the classes a conditional instruction traps with
// (KVM's list, and WFI/WFE, which would otherwise wait when they should not).
bool aarch32_condition_passed(u64 esr, u64 pstate);

// The PC and PSTATE once the trapped instruction is complete: past it (4
// bytes; in Thumb 2 when ESR_EL2.IL says 16 bits) and, in an IT block,
// the IT state advanced (ITAdvance, Arm ARM G1.9.3).
struct PcState {
	u64 pc;
	u64 pstate;
};
PcState after_instruction(u64 esr, u64 pc, u64 pstate);

// An Undefined Instruction exception at an AArch32 EL1 (Arm ARM G1.12):
// Undefined mode, the old CPSR in SPSR_und, the return address in LR_und,
// at the vector (VBAR or the high vectors) + 4.
struct Aarch32Entry {
	u64 pstate, pc, lr, spsr;
};
Aarch32Entry aarch32_undef(u64 pstate, u64 pc, u64 sctlr, u64 vbar);

// The x registers an AArch32 state reaches (x0-x14 in User and System
// mode, all 31 in the others: KVM's rule), which hold 32-bit values.
constexpr unsigned aarch32_registers(u64 pstate)
{
	const u32 mode = pstate & 0x1f;
	return mode == kModeUsr || mode == kModeSys ? 15 : 31;
}

// An AArch32 coprocessor access the guest trapped with (MRC/MCR p15 and
// p14, VMRS of MVFR0-2), reported as a system-register access: op1, CRn,
// CRm and op2 in their places of the AArch64 encoding, op0 3 for p15 (and
// VMRS, as the AArch64 names of the MVFRs), 2 for p14 (the layouts the
// architecture gives their AArch64 twins), and this bit.
constexpr u64 kAarch32Access = 1ull << 16;

// What to do with a synchronous exit.
struct Decoded {
	enum class Action : u8 {
		Exit,         // report `exit` (Nothing: just re-enter)
		InjectUndef,  // the guest executed something it may not: UNDEF at its EL1
		InjectSerror, // a synchronous external abort (HCR_EL2.TEA): a virtual SError
	};
	Action action;
	ExitReason exit;
	bool advance_pc;  // the instruction is complete: skip it (4 bytes)
};

// @x: the guest's x0-x30 at the exit.
Decoded decode_sync(const Trap &trap, const u64 (&x)[31]);

// PSCI (DEN0022D): an HVC or SMC whose x0 is a PSCI function.
constexpr u32 kPsciVersion = 0x84000000;
constexpr u32 kPsciCpuSuspend = 0x84000001, kPsciCpuSuspend64 = 0xc4000001;
constexpr u32 kPsciCpuOff = 0x84000002;
constexpr u32 kPsciCpuOn = 0x84000003, kPsciCpuOn64 = 0xc4000003;
constexpr u32 kPsciAffinityInfo = 0x84000004, kPsciAffinityInfo64 = 0xc4000004;
constexpr u32 kPsciMigrateInfoType = 0x84000006;
constexpr u32 kPsciSystemOff = 0x84000008;
constexpr u32 kPsciSystemReset = 0x84000009;
constexpr u32 kPsciFeatures = 0x8400000a;                                      // 1.0
constexpr u32 kPsciSystemSuspend = 0x8400000e, kPsciSystemSuspend64 = 0xc400000e; // 1.0
constexpr u32 kPsciSystemReset2 = 0x84000012, kPsciSystemReset2_64 = 0xc4000012;  // 1.1
// Return values (DEN0022D 5.2.2) and AFFINITY_INFO's states.
constexpr u64 kPsciSuccess = 0;
constexpr u64 kPsciNotSupported = static_cast<u64>(-1);
constexpr u64 kPsciInvalidParams = static_cast<u64>(-2);
constexpr u64 kPsciAlreadyOn = static_cast<u64>(-4);
constexpr u64 kPsciInternalFailure = static_cast<u64>(-6);
constexpr u64 kPsciAffinityOn = 0, kPsciAffinityOff = 1;
constexpr u64 kPsciTosNotPresent = 2; // MIGRATE_INFO_TYPE: no trusted OS to migrate
// The affinity fields of MPIDR_EL1 (Aff3, Aff2, Aff1, Aff0).
constexpr u64 kMpidrHwidMask = 0xff00ffffffull;

// PSCI versions (DEN0022D 5.1.1: major in bits 31:16, minor in 15:0).
constexpr u32 kPsci02 = 2, kPsci10 = 0x10000, kPsci11 = 0x10001;

// What the VM offers: its PSCI version (0.2, 1.0 or 1.1) and whether
// SYSTEM_SUSPEND goes to userspace (KVM_CAP_ARM_SYSTEM_SUSPEND).
struct PsciConfig {
	u32 version;
	bool system_suspend;
	bool aarch32; // the caller is in AArch32: SMC64 functions are NOT_SUPPORTED (KVM)
};

// What a call asks of the hypervisor; the backend does what involves other
// vCPUs (psci.cpp).
enum class PsciOp : u8 {
	NotPsci,       // an ordinary hypercall for userspace
	Answer,        // just `value` in x0
	CpuSuspend,    // a standby that may return at once: a WFI, as KVM has it
	CpuOff,        // this vCPU powers off
	CpuOn,         // arg: the target's MPIDR, the entry point, the context id
	AffinityInfo,  // arg: the target affinity, the lowest affinity level
	SystemOff,     // KVM_SYSTEM_EVENT_SHUTDOWN
	SystemReset,   // KVM_SYSTEM_EVENT_RESET; arg[0] the flags (PSCI_RESET2)
	SystemSuspend, // KVM_SYSTEM_EVENT_SUSPEND, the registers left as the call made them
};
struct PsciCall {
	PsciOp op;
	u64 value;    // Answer: the guest's x0
	u64 arg[3];
	bool smc32;   // an SMC32 function: its arguments are 32 bits wide
};

// Classifies the call in x0..x3 as KVM 6.1's psci.c would for @config.
PsciCall psci_call(const u64 (&x)[31], const PsciConfig &config);

// The other SMCCC (DEN0028) services axvm answers in the kernel, KVM 6.1's
// (hypercalls.c, trng.c, pvtime.c): every other HVC or SMC goes to userspace.
constexpr u32 kSmcccVersion = 0x80000000, kSmcccArchFeatures = 0x80000001;
constexpr u32 kTrngVersion = 0x84000050, kTrngFeatures = 0x84000051, kTrngGetUuid = 0x84000052,
	      kTrngRnd32 = 0x84000053, kTrngRnd64 = 0xc4000053;
constexpr u32 kPvTimeFeatures = 0xc5000020, kPvTimeSt = 0xc5000021;
constexpr u32 kVendorHypFeatures = 0x86000000, kVendorHypPtp = 0x86000001, kVendorHypCallUid = 0x8600ff01;
constexpr u64 kSmcccVersion11 = 0x10001, kTrngVersion10 = 0x10000;
// The bits of the service bitmaps (KVM_REG_ARM_STD_BMAP_BIT_TRNG_V1_0, ...).
constexpr u64 kStdTrng = 1, kStdHypPvTime = 1, kVendorFuncFeatures = 1, kVendorPtp = 2;
// KVM_PTP's argument: which counter.
constexpr u64 kPtpVirtualCounter = 0, kPtpPhysicalCounter = 1;

// The guest's view of the ID registers (op0 3, op1 0, CRn 0, CRm 1-7; read
// with HCR_EL2.TID3 set): the host's value with what axvm does not give a
// guest taken out: SVE, SME, MTE, pointer authentication, the PMU, SPE,
// trace, AMU, MPAM, the GIC system registers, EL2 and VHE; PARange is the
// VM's IPA size. @ipa_bits: 40, 42, 44 or 48.
constexpr bool is_id_register(u64 encoding)
{
	const u64 crm = (encoding >> 3) & 0xf;
	return (encoding >> 7) == (3u << 7) && crm >= 1 && crm <= 7; // op0 3, op1 0, CRn 0
}
u64 guest_id_register(u64 encoding, u64 host_value, u32 ipa_bits);

// The RAS error-record registers (ERRIDR_EL1, ERRSELR_EL1, ERX*_EL1: op0 3,
// op1 0, CRn 5, CRm 3-5), trapped by HCR_EL2.TERR: read as zero, writes
// ignored, as KVM answers them (no error records for a guest).
constexpr bool is_error_record_register(u64 encoding)
{
	const u64 crm = (encoding >> 3) & 0xf;
	return (encoding >> 7) == (3u << 7 | 5) && crm >= 3 && crm <= 5;
}

// The vector offset from VBAR_EL1 at which a synchronous exception taken
// to EL1 from @pstate enters (Arm ARM D1.10.2).
u64 sync_vector_offset(u64 pstate);

} // namespace axvm::arm64
