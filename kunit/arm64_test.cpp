// SPDX-License-Identifier: GPL-2.0
// The arm64 backend's pure parts, on every architecture: the ESR_EL2
// decoder, PSCI 0.2, the guest's ID registers and the stage-2 descriptors
// in the core's page table.
#include "check.hpp"

#include "../arch/arm64/esr.hpp"
#include "../arch/arm64/stage2_format.hpp"
#include <uapi/axvm.h>
#include <axvm/page_table.hpp>

using namespace axvm;
using namespace axvm::arm64;

namespace {

constexpr u64 ec(u32 e) { return static_cast<u64>(e) << 26 | 1ull << 25; }

// A data abort from the guest: ISV, SAS, SSE, SRT, SF, WnR as given.
constexpr u64 dabt(u32 sas, bool sse, u32 srt, bool sf, bool write)
{
	return ec(kEcDataAbortLow) | 1ull << 24 | static_cast<u64>(sas) << 22 | (sse ? 1ull << 21 : 0) |
	       static_cast<u64>(srt) << 16 | (sf ? 1ull << 15 : 0) | (write ? 1ull << 6 : 0) | 0x07;
}

// HPFAR_EL2 holds IPA[51:12] at bits [47:4].
constexpr u64 hpfar(u64 ipa) { return (ipa >> 12) << 4; }

} // namespace

extern "C" void axvm_test_arm64_esr_decoder(struct kunit *t)
{
	u64 x[31] = {};
	for (int i = 0; i < 31; i++)
		x[i] = 0x1111111111111111ull * static_cast<u64>(i % 15 + 1);

	Decoded d = decode_sync(Trap{ec(kEcWfx), 0, 0}, x);
	CHECK(t, d.action == Decoded::Action::Exit && d.exit.kind() == ExitKind::Halt && d.advance_pc);
	d = decode_sync(Trap{ec(kEcWfx) | 1, 0, 0}, x); // WFE
	CHECK(t, d.exit.kind() == ExitKind::Halt && d.advance_pc);

	// HVC: x0 is the number, x1-x6 the arguments; ELR is already past it.
	d = decode_sync(Trap{ec(kEcHvc64), 0, 0}, x);
	CHECK(t, d.exit.as_hypercall() && d.exit.as_hypercall()->nr == x[0] &&
			 d.exit.as_hypercall()->args[0] == x[1] && d.exit.as_hypercall()->args[5] == x[6]);
	CHECK(t, !d.advance_pc);
	d = decode_sync(Trap{ec(kEcSmc64), 0, 0}, x); // a trapped SMC returns to itself
	CHECK(t, d.exit.as_hypercall() && d.advance_pc);

	// MRS x3, PMCR_EL0 (op0 3, op2 0, op1 3, CRn 9, CRm 12, read).
	const u64 pmcr_iss = 3ull << 20 | 0ull << 17 | 3ull << 14 | 9ull << 10 | 3ull << 5 | 12ull << 1 | 1;
	d = decode_sync(Trap{ec(kEcSysReg) | pmcr_iss, 0, 0}, x);
	CHECK(t, d.exit.as_sys_reg_read() && d.exit.as_sys_reg_read()->addr == 0xdce0 &&
			 d.exit.as_sys_reg_read()->reg == 3 && d.advance_pc);
	d = decode_sync(Trap{ec(kEcSysReg) | (pmcr_iss & ~1ull), 0, 0}, x); // MSR PMCR_EL0, x3
	CHECK(t, d.exit.as_sys_reg_write() && d.exit.as_sys_reg_write()->value == x[3]);
	d = decode_sync(Trap{ec(kEcSysReg) | (pmcr_iss & ~(1ull | 0x1full << 5)) | 31ull << 5, 0, 0}, x);
	CHECK(t, d.exit.as_sys_reg_write() && d.exit.as_sys_reg_write()->value == 0); // MSR ..., xzr

	// LDRSB x7, [x4] at IPA 0x0a000010: byte, sign-extended to 64 bits.
	d = decode_sync(Trap{dabt(0, true, 7, true, false), 0xffff000000000010ull, hpfar(0x0a000000)}, x);
	const MmioReadExit *r = d.exit.as_mmio_read();
	CHECK(t, r && r->addr == 0x0a000010 && r->width == Width::Byte && r->reg == 7 &&
			 r->reg_width == Width::Qword && r->sign_extend && d.advance_pc);
	// LDR w5: 32-bit, zero-extended.
	d = decode_sync(Trap{dabt(2, false, 5, false, false), 0, hpfar(0x0a000000)}, x);
	r = d.exit.as_mmio_read();
	CHECK(t, r && r->width == Width::Dword && r->reg_width == Width::Dword && !r->sign_extend);
	// STRH w9: the low 16 bits of x9; STR xzr: zero.
	d = decode_sync(Trap{dabt(1, false, 9, false, true), 0x123, hpfar(0x09000000)}, x);
	const MmioWriteExit *w = d.exit.as_mmio_write();
	CHECK(t, w && w->addr == 0x09000123 && w->width == Width::Word && w->data == (x[9] & 0xffff));
	d = decode_sync(Trap{dabt(3, false, 31, true, true), 0, hpfar(0x09000000)}, x);
	CHECK(t, d.exit.as_mmio_write() && d.exit.as_mmio_write()->data == 0 &&
			 d.exit.as_mmio_write()->width == Width::Qword);

	// No valid syndrome (LDP): the syndrome and the IPA go to userspace,
	// the instruction is not skipped. Same for a fault on the guest's own
	// page-table walk (S1PTW), even with ISV.
	const u64 nisv = ec(kEcDataAbortLow) | 0x07;
	d = decode_sync(Trap{nisv, 0x8, hpfar(0x0a000000)}, x);
	const NestedPageFaultExit *f = d.exit.as_nested_page_fault();
	CHECK(t, f && f->addr == 0x0a000008 && f->access == kAccessRead && f->syndrome == esr_iss(nisv) &&
			 !d.advance_pc);
	d = decode_sync(Trap{dabt(3, false, 1, true, false) | 1ull << 7, 0, hpfar(0x5000)}, x);
	CHECK(t, d.exit.as_nested_page_fault());
	// Cache maintenance on a device address: skipped, nothing to emulate.
	d = decode_sync(Trap{dabt(3, false, 1, true, true) | 1ull << 8, 0, hpfar(0x5000)}, x);
	CHECK(t, d.exit.kind() == ExitKind::Nothing && d.advance_pc);
	// An instruction fetch outside memory.
	d = decode_sync(Trap{ec(kEcInstAbortLow) | 0x07, 0x44, hpfar(0x40000000)}, x);
	CHECK(t, d.exit.as_nested_page_fault() && d.exit.as_nested_page_fault()->access == kAccessExec &&
			 d.exit.as_nested_page_fault()->addr == 0x40000044);

	// Everything else is the guest's UNDEF: unknown, SVE (0x19), PAC (0x09),
	// MCRR to p15 (0x04), and an unallocated class.
	static const u32 others[] = {kEcUnknown, 0x19, 0x09, kEcCp15_64, 0x3f};
	for (u32 other : others)
		CHECK(t, decode_sync(Trap{ec(other), 0, 0}, x).action == Decoded::Action::InjectUndef);
}

// An AArch32 guest's exits: coprocessor accesses as tagged system-register
// accesses, 32-bit hypercalls, conditions, the PC past Thumb and ARM
// instructions with the IT state, the UNDEF its EL1 takes, and PSCI.
extern "C" void axvm_test_arm64_aarch32(struct kunit *t)
{
	u64 x[31] = {};
	for (int i = 0; i < 31; i++)
		x[i] = 0xa5a5a5a500000000ull | static_cast<u64>(i) * 0x01010101u;
	const u64 svc = kPstateSvcMasked, thumb = kPstateSvcMasked | kPstateThumb;
	const u64 cv_al = 1ull << 24 | 0xeull << 20; // the condition field valid: AL

	// MRC p15, 0, r2, c0, c1, 0 (ID_PFR0): a read of op0 3, CRm 1.
	u64 esr = ec(kEcCp15_32) | cv_al | 2ull << 5 | 1ull << 1 | 1;
	Decoded d = decode_sync(Trap{esr, 0, 0, svc}, x);
	const SysRegReadExit *rd = d.exit.as_sys_reg_read();
	CHECK(t, rd && rd->addr == (kAarch32Access | 3u << 14 | 1u << 3) && rd->reg == 2 && d.advance_pc);
	// MCR p14, 0, r3, c0, c2, 2 (DBGDSCRext): a write of op0 2, 32 bits of r3.
	esr = ec(kEcCp14_32) | cv_al | 2ull << 17 | 3ull << 5 | 2ull << 1;
	d = decode_sync(Trap{esr, 0, 0, svc}, x);
	const SysRegWriteExit *wr = d.exit.as_sys_reg_write();
	CHECK(t, wr && wr->addr == (kAarch32Access | 2u << 14 | 2u << 3 | 2) && wr->value == (x[3] & 0xffffffff));
	// MRC p15, 1, r0, c9, c0, 2 (an implementation-defined register): op1 and CRn in place.
	esr = ec(kEcCp15_32) | cv_al | 2ull << 17 | 1ull << 14 | 9ull << 10 | 1;
	rd = decode_sync(Trap{esr, 0, 0, svc}, x).exit.as_sys_reg_read();
	CHECK(t, rd && rd->addr == (kAarch32Access | 3u << 14 | 1u << 11 | 9u << 7 | 2));
	// VMRS r4, MVFR1: MVFR1_EL1's read. A VMSR to it, or FPSID: UNDEF.
	esr = ec(kEcCp10Id) | cv_al | 7ull << 14 | 6ull << 10 | 4ull << 5 | 1;
	rd = decode_sync(Trap{esr, 0, 0, svc}, x).exit.as_sys_reg_read();
	CHECK(t, rd && rd->addr == (kAarch32Access | 3u << 14 | 3u << 3 | 1) && rd->reg == 4);
	CHECK(t, decode_sync(Trap{esr & ~1ull, 0, 0, svc}, x).action == Decoded::Action::InjectUndef);
	CHECK(t, decode_sync(Trap{esr & ~(0xfull << 10), 0, 0, svc}, x).action == Decoded::Action::InjectUndef);
	// HVC: a 32-bit number and arguments, past it already; SMC32 returns to itself.
	d = decode_sync(Trap{ec(kEcHvc32), 0, 0, svc}, x);
	const HypercallExit *h = d.exit.as_hypercall();
	CHECK(t, h && h->nr == (x[0] & 0xffffffff) && h->args[0] == (x[1] & 0xffffffff) &&
			 h->args[5] == (x[6] & 0xffffffff) && !d.advance_pc);
	d = decode_sync(Trap{ec(kEcSmc32), 0, 0, svc}, x);
	CHECK(t, d.exit.as_hypercall() && d.advance_pc);
	// MCRR/MRRC p15 and p14, LDC/STC p14: nothing axvm keeps.
	static const u32 unkept[] = {kEcCp15_64, kEcCp14_64, kEcCp14Ls};
	for (u32 other : unkept)
		CHECK(t, decode_sync(Trap{ec(other) | cv_al, 0, 0, svc}, x).action == Decoded::Action::InjectUndef);

	// Conditions, from ESR's COND: EQ needs Z; GE N == V; HI C and not Z.
	constexpr u64 kN = 1ull << 31, kZ = 1ull << 30, kC = 1ull << 29, kV = 1ull << 28;
	const u64 eq = ec(kEcCp15_32) | 1ull << 24, ge = eq | 0xaull << 20, hi = eq | 0x8ull << 20;
	CHECK(t, !aarch32_condition_passed(eq, svc) && aarch32_condition_passed(eq, svc | kZ));
	CHECK(t, !aarch32_condition_passed(ge, svc | kN) && aarch32_condition_passed(ge, svc | kN | kV));
	CHECK(t, aarch32_condition_passed(hi, svc | kC) && !aarch32_condition_passed(hi, svc | kC | kZ));
	CHECK(t, !aarch32_condition_passed(ec(kEcWfx) | 1ull << 24, svc)); // WFIEQ, Z clear
	// Without CV, in Thumb: the IT block's (IT 0x08: EQ); outside one, always.
	const u64 it_eq = thumb | 2ull << 10;
	CHECK(t, !aarch32_condition_passed(ec(kEcCp15_32), it_eq));
	CHECK(t, aarch32_condition_passed(ec(kEcCp15_32), it_eq | kZ));
	CHECK(t, aarch32_condition_passed(ec(kEcCp15_32), thumb));
	// Never for a data abort or an HVC; never from AArch64.
	CHECK(t, aarch32_condition_passed(ec(kEcDataAbortLow), it_eq) && aarch32_condition_passed(eq, 0x3c5));

	// Past the instruction: ARM 4 bytes, Thumb 2 or 4 by IL, AArch64 4;
	// an AArch32 PC wraps at 32 bits.
	const u64 il = 1ull << 25, t16 = ec(kEcDataAbortLow) & ~il;
	PcState pc = after_instruction(ec(kEcCp15_32), 0x1000, svc);
	CHECK(t, pc.pc == 0x1004 && pc.pstate == svc);
	CHECK(t, after_instruction(t16, 0x1000, thumb).pc == 0x1002);
	CHECK(t, after_instruction(ec(kEcDataAbortLow), 0x1000, thumb).pc == 0x1004);
	CHECK(t, after_instruction(ec(kEcDataAbortLow), 0xfffffffe, svc).pc == 2);
	CHECK(t, after_instruction(ec(kEcSysReg), 0xffff000000001000ull, 0x3c5).pc == 0xffff000000001004ull);
	// ITE EQ (IT 0x0c): after the first instruction IT is 0x18 (NE), after the second none.
	pc = after_instruction(t16, 0x1000, thumb | 3ull << 10);
	CHECK(t, pc.pstate == (thumb | 6ull << 10));
	pc = after_instruction(t16, pc.pc, pc.pstate);
	CHECK(t, pc.pstate == thumb && pc.pc == 0x1004);
	// IT[1:0] live in bits 26:25: IT 0x13 advances to 0x06.
	pc = after_instruction(t16, 0, thumb | 4ull << 10 | 3ull << 25);
	CHECK(t, pc.pstate == (thumb | 1ull << 10 | 2ull << 25));

	// UNDEF at an AArch32 EL1: Undefined mode, I set, A and F and the flags
	// kept; LR past the instruction; VBAR + 4, or the high vectors.
	constexpr u64 kSctlrSpan = 1ull << 23;
	Aarch32Entry e = aarch32_undef(svc | kN | kC, 0x8000, kSctlrSpan, 0x10000);
	CHECK(t, e.pstate == (kN | kC | 0x100 | 0x80 | 0x40 | kModeUnd) && e.pc == 0x10004 && e.lr == 0x8004 &&
			 e.spsr == (svc | kN | kC));
	e = aarch32_undef(thumb, 0x8000, kSctlrSpan | 1ull << 30 | 1ull << 25 | 1ull << 13, 0x10000);
	CHECK(t, e.lr == 0x8002 && e.pc == 0xffff0004 && (e.pstate & kPstateThumb) && (e.pstate & kPstateAarch32E));
	CHECK(t, aarch32_undef(svc, 0, 0, 0).pstate & 1ull << 22); // SPAN clear: PAN set
	e = aarch32_undef(svc | 1ull << 24, 0, kSctlrSpan, 0); // DIT: bit 24 in PSTATE, 21 in an SPSR
	CHECK(t, (e.pstate & 1ull << 24) && e.spsr == (svc | 1ull << 21));
	CHECK(t, aarch32_registers(kModeUsr) == 15 && aarch32_registers(kModeSys) == 15 &&
			 aarch32_registers(kModeSvc) == 31 && aarch32_registers(kModeUnd) == 31);

	// PSCI from AArch32: SMC64 functions are NOT_SUPPORTED, in PSCI_FEATURES too.
	const PsciConfig a32{kPsci11, false, true};
	u64 y[31] = {};
	y[0] = kPsciCpuOn64;
	PsciCall p = psci_call(y, a32);
	CHECK(t, p.op == PsciOp::Answer && p.value == kPsciNotSupported);
	y[0] = kPsciCpuOn, y[1] = 1, y[2] = 0x8000;
	CHECK(t, psci_call(y, a32).op == PsciOp::CpuOn);
	y[0] = kPsciFeatures, y[1] = kPsciCpuOn64;
	CHECK(t, psci_call(y, a32).value == kPsciNotSupported);
	y[1] = kPsciCpuOn;
	CHECK(t, psci_call(y, a32).value == kPsciSuccess);

	// The AArch32 ID registers lose what the AArch64 ones lose: the PMU,
	// trace, the GIC system registers, the activity monitors.
	const u64 all = ~0ull, f = 0xf;
	CHECK(t, guest_id_register(3u << 14 | 1u << 3 | 2, all, 40) == ~(f << 4 | f << 8 | f << 24 | f << 28));
	CHECK(t, guest_id_register(3u << 14 | 1u << 3 | 1, all, 40) == ~(f << 28));
	CHECK(t, guest_id_register(3u << 14 | 1u << 3 | 0, all, 40) == ~(f << 20));
}

extern "C" void axvm_test_arm64_psci(struct kunit *t)
{
	const PsciConfig v11{kPsci11, false}, v10_suspend{kPsci10, true}, v02{kPsci02, true};
	u64 x[31] = {};
	x[0] = kPsciVersion;
	PsciCall p = psci_call(x, v11);
	CHECK(t, p.op == PsciOp::Answer && p.value == kPsci11);
	CHECK(t, psci_call(x, v02).value == kPsci02);

	// CPU_ON, SMC32 form: the arguments are 32 bits wide.
	x[0] = kPsciCpuOn, x[1] = 0xffffffff00000001ull, x[2] = 0x100020000ull, x[3] = 0x99;
	p = psci_call(x, v11);
	CHECK(t, p.op == PsciOp::CpuOn && p.smc32 && p.arg[0] == 1 && p.arg[1] == 0x20000 && p.arg[2] == 0x99);
	x[0] = kPsciCpuOn64;
	p = psci_call(x, v11);
	CHECK(t, p.op == PsciOp::CpuOn && !p.smc32 && p.arg[1] == 0x100020000ull);
	x[0] = kPsciAffinityInfo64, x[1] = 0x100, x[2] = 1;
	p = psci_call(x, v02);
	CHECK(t, p.op == PsciOp::AffinityInfo && p.arg[0] == 0x100 && p.arg[1] == 1);

	x[0] = kPsciCpuOff;
	CHECK(t, psci_call(x, v11).op == PsciOp::CpuOff);
	x[0] = kPsciSystemOff;
	CHECK(t, psci_call(x, v11).op == PsciOp::SystemOff);
	x[0] = kPsciSystemReset;
	p = psci_call(x, v11);
	CHECK(t, p.op == PsciOp::SystemReset && p.arg[0] == 0);
	x[0] = kPsciCpuSuspend64;
	CHECK(t, psci_call(x, v11).op == PsciOp::CpuSuspend);
	x[0] = kPsciMigrateInfoType;
	CHECK(t, psci_call(x, v11).value == kPsciTosNotPresent);

	// 1.0: PSCI_FEATURES; SYSTEM_SUSPEND only with the capability.
	x[0] = kPsciFeatures, x[1] = kPsciSystemSuspend64;
	CHECK(t, psci_call(x, v11).value == kPsciNotSupported && psci_call(x, v10_suspend).value == kPsciSuccess);
	CHECK(t, psci_call(x, v02).value == kPsciNotSupported); // no PSCI_FEATURES in 0.2
	x[1] = kPsciCpuOn64;
	CHECK(t, psci_call(x, v11).op == PsciOp::Answer && psci_call(x, v11).value == kPsciSuccess);
	x[1] = kSmcccVersion; // answered in the kernel (smccc.cpp)
	CHECK(t, psci_call(x, v11).value == kPsciSuccess);
	x[1] = kSmcccVersion + 2;
	CHECK(t, psci_call(x, v11).value == kPsciNotSupported);
	x[0] = kPsciSystemSuspend64;
	CHECK(t, psci_call(x, v10_suspend).op == PsciOp::SystemSuspend);
	CHECK(t, psci_call(x, v11).op == PsciOp::Answer && psci_call(x, v11).value == kPsciNotSupported);
	// 1.1: SYSTEM_RESET2, warm or vendor resets; only with 1.1.
	x[0] = kPsciSystemReset2, x[1] = 0xffffffff00000000ull;
	p = psci_call(x, v11);
	CHECK(t, p.op == PsciOp::SystemReset && p.arg[0] == AXVM_SYSTEM_EVENT_RESET_FLAG_PSCI_RESET2);
	x[1] = 0x80000001;
	CHECK(t, psci_call(x, v11).op == PsciOp::SystemReset);
	x[1] = 1;
	CHECK(t, psci_call(x, v11).value == kPsciInvalidParams);
	CHECK(t, psci_call(x, v10_suspend).value == kPsciNotSupported);

	// The rest of both PSCI ranges: NOT_SUPPORTED, answered here.
	static const u64 unsupported[] = {0x84000005, 0x8400001f, 0xc4000005, 0xc400001f};
	for (u64 fn : unsupported) {
		x[0] = fn;
		p = psci_call(x, v11);
		CHECK(t, p.op == PsciOp::Answer && p.value == kPsciNotSupported);
	}
	// Not PSCI: the hypercall goes to userspace.
	static const u64 not_psci[] = {0, 0x1234, 0x84000020, 0xc6000000, 0x184000000};
	for (u64 fn : not_psci) {
		x[0] = fn;
		CHECK(t, psci_call(x, v11).op == PsciOp::NotPsci);
	}
}

extern "C" void axvm_test_arm64_vectors_and_stage2(struct kunit *t)
{
	// ID registers: the guest does not see what it is not given.
	constexpr u64 pfr0 = 3ull << 14 | 4 << 3 | 0, isar1 = 3ull << 14 | 6 << 3 | 1;
	constexpr u64 mmfr0 = 3ull << 14 | 7 << 3 | 0, midr = 3ull << 14 | 0;
	CHECK(t, is_id_register(pfr0) && is_id_register(mmfr0) && !is_id_register(midr));
	CHECK(t, !is_id_register(0xdce0)); // PMCR_EL0
	CHECK_EQ(t, guest_id_register(pfr0, ~0ull, 48), 0xffff0000f0fff0ffull);
	CHECK_EQ(t, guest_id_register(isar1, ~0ull, 48), 0xffffffff00fff00full);
	CHECK_EQ(t, guest_id_register(mmfr0, 0x1126, 48), 0x1125ull); // PARange 52 -> 48 bits
	CHECK_EQ(t, guest_id_register(mmfr0, 0x1125, 40), 0x1122ull);
	CHECK_EQ(t, guest_id_register(3ull << 14 | 4 << 3 | 4, ~0ull, 48), 0ull); // ID_AA64ZFR0: no SVE
	CHECK_EQ(t, guest_id_register(3ull << 14 | 6 << 3 | 0, 0x1234, 48), 0x1234ull); // ISAR0 as is
	// Registers whose state axvm does not switch are not advertised: TCR2,
	// S1PIE/S1POE (MMFR3), GCS (PFR1), MOPS (ISAR2).
	CHECK_EQ(t, guest_id_register(3ull << 14 | 7 << 3 | 3, ~0ull, 48), 0ull);
	CHECK_EQ(t, guest_id_register(3ull << 14 | 4 << 3 | 1, ~0ull, 48) & (0xfull << 44), 0ull);
	CHECK_EQ(t, guest_id_register(3ull << 14 | 6 << 3 | 2, ~0ull, 48) & (0xfull << 16), 0ull);
	// The RAS error records (TERR): ERRIDR_EL1 .. ERXMISC3_EL1, nothing else.
	CHECK(t, is_error_record_register(3ull << 14 | 5 << 7 | 3 << 3 | 0)); // ERRIDR_EL1
	CHECK(t, is_error_record_register(3ull << 14 | 5 << 7 | 5 << 3 | 3)); // ERXMISC3_EL1
	CHECK(t, !is_error_record_register(3ull << 14 | 5 << 7 | 2 << 3 | 0)); // ESR_EL1
	CHECK(t, !is_error_record_register(0xdce0));
	// A synchronous external abort (DFSC 0x10) is a virtual SError, not MMIO.
	const u64 sea = 0x24ull << 26 | 1ull << 25 | 1ull << 24 | 0x10;
	u64 regs[31] = {};
	CHECK(t, decode_sync(Trap{sea, 0x1000, 0x10}, regs).action == Decoded::Action::InjectSerror);

	CHECK_EQ(t, sync_vector_offset(0x3c5), 0x200ull); // EL1h
	CHECK_EQ(t, sync_vector_offset(0x3c4), 0x000ull); // EL1t
	CHECK_EQ(t, sync_vector_offset(0x000), 0x400ull); // EL0t
	CHECK_EQ(t, sync_vector_offset(0x010), 0x600ull); // AArch32 user
	CHECK_EQ(t, fault_ipa(hpfar(0xfedcba987000ull), 0xffff0000deadbabcull), 0xfedcba987abcull);
	CHECK_EQ(t, sysreg_encoding(3ull << 20 | 3ull << 14 | 9ull << 10 | 12ull << 1), 0xdce0ull);

	auto *pt = new PageTable<Stage2Format>;
	CHECK(t, pt && pt->init().ok());
	if (!pt)
		return;
	CHECK(t, pt->map(0x40000000, 0x87654000, true).ok());
	CHECK(t, pt->map(0x09000000, 0x12345000, false).ok());
	// Page descriptor: valid, page, Normal WB, S2AP, inner shareable, AF.
	CHECK_EQ(t, pt->lookup(0x40000000), 0x87654000ull | 0x7ff);
	CHECK_EQ(t, pt->lookup(0x09000000), 0x12345000ull | 0x77f); // S2AP read-only
	// Table descriptors carry only the next table's address and 0b11.
	const u64 *root = static_cast<const u64 *>(axvm_phys_to_virt(pt->root_phys()));
	CHECK_EQ(t, root[0] & 0xfff, 3ull);
	delete pt;
}
