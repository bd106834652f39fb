// SPDX-License-Identifier: GPL-2.0
// Arm64Vcpu: one world switch and its exits. The host is a VHE kernel at
// EL2; the guest runs at EL1 with HCR_EL2.TGE clear. Everything the host
// keeps in a register the guest can reach is saved before and restored
// after each entry, so between entries the CPU belongs to the host (and to
// KVM, which may run its own guests on it) exactly as it was.
#include "vcpu.hpp"

#include "backend.hpp"
#include "sysreg.hpp"
#include "vm.hpp"

extern "C" {
axvm_u64 axvm_arm64_enter(axvm::arm64::Context *ctx);
void axvm_arm64_fp_load(const axvm::arm64::Context *ctx);
void axvm_arm64_fp_save(axvm::arm64::Context *ctx);
}

namespace axvm::arm64 {

namespace {

// HCR_EL2 while the guest runs (Arm ARM D17.2.48): stage 2 on (VM); set/way
// cache maintenance upgraded to clean+invalidate (SWIO); physical IRQ, FIQ
// and SError taken to EL2 (IMO, FMO, AMO); the guest's TLB and barrier
// maintenance broadcast inner shareable, so a vCPU that moves between CPUs
// leaves no stale entries behind (FB, BSU); WFI/WFE (TWI, TWE), SMC (TSC),
// implementation-defined registers (TIDCP), ACTLR (TACR) and the ID registers
// (TID3: the guest sees them without what it is not given) trapped; EL1 is
// AArch64 (RW) but in a VM made AArch32; E2H stays set, TGE is clear.
// API/APK clear: pointer authentication instructions and key registers
// trap (the keys are the host's); ATA clear: no MTE tags.
constexpr u64 kHcrTid3 = 1ull << 18;
// The virtual FIQ and IRQ lines a VMM drives with KVM_IRQ_LINE.
constexpr u64 kHcrVf = 1ull << 6, kHcrVi = 1ull << 7;
constexpr u64 kHcrVm = 1ull << 0, kHcrSwio = 1ull << 1, kHcrFmo = 1ull << 3, kHcrImo = 1ull << 4,
	      kHcrAmo = 1ull << 5, kHcrFb = 1ull << 9, kHcrBsuIs = 1ull << 10, kHcrTwi = 1ull << 13,
	      kHcrTwe = 1ull << 14, kHcrTsc = 1ull << 19, kHcrTidcp = 1ull << 20, kHcrTacr = 1ull << 21,
	      kHcrRw = 1ull << 31, kHcrE2h = 1ull << 34;
constexpr u64 kHcrGuest = kHcrVm | kHcrSwio | kHcrFmo | kHcrImo | kHcrAmo | kHcrFb | kHcrBsuIs | kHcrTwi |
			  kHcrTwe | kHcrTsc | kHcrTidcp | kHcrTacr | kHcrRw | kHcrE2h | kHcrTid3;
// With RAS, as KVM sets them: the error-record registers trap (TERR; a
// guest has none), and synchronous external aborts come to EL2 (TEA), so
// that a memory error the guest met is the host's to see first.
constexpr u64 kHcrTerr = 1ull << 36, kHcrTea = 1ull << 37;
// A virtual SError pending for the guest; the CPU clears it when taken.
constexpr u64 kHcrVse = 1ull << 8;

// MDCR_EL2: the host's counter partition (HPMN) and EL2 counting (HPME)
// kept; the guest's accesses to the performance monitors (TPM, TPMCR),
// debug registers (TDA, TDOSA, TDRA), statistical profiling (TPMS, E2PB=0)
// and trace (TTRF) trap, since none of them is switched.
constexpr u64 kMdcrHostKeep = 0x1f | (1ull << 7);
constexpr u64 kMdcrGuestTraps = (1ull << 5) | (1ull << 6) | (1ull << 9) | (1ull << 10) | (1ull << 11) |
				(1ull << 14) | (1ull << 19);

// CPTR_EL2 in its E2H layout: FP/SIMD open (the registers are switched),
// SVE and SME trapped (not switched; the guest gets UNDEF), trace trapped.
// The activity monitors trap too (TAM): their counters are the host's.
constexpr u64 kCptrZen = 3ull << 16, kCptrFpen = 3ull << 20, kCptrSmen = 3ull << 24, kCptrTta = 1ull << 28,
	      kCptrTam = 1ull << 30;

// CNTHCTL_EL2 in its E2H layout: the guest reads the counter (EL1PCTEN)
// but its physical timer traps (EL1PTEN clear): the host's timer lives
// there. Its virtual timer is its own and switched below.
constexpr u64 kCnthctlEl1Pcten = 1ull << 10, kCnthctlEl1Pten = 1ull << 11;

// Registers the host owns and an entry changes: the EL2 controls, and the
// EL1/EL0 registers the host and a guest share under VHE (SP_EL0, the
// host's `current`, is switched in switch.S alone).
#define AXVM_HOST_SYSREGS(X)                                                                      \
	X(hcr, SYS_HCR_EL2) X(mdcr, SYS_MDCR_EL2) X(cptr, SYS_CPTR_EL2) X(hstr, SYS_HSTR_EL2)       \
	X(vttbr, SYS_VTTBR_EL2) X(vtcr, SYS_VTCR_EL2) X(cnthctl, SYS_CNTHCTL_EL2)                   \
	X(cntvoff, SYS_CNTVOFF_EL2) X(vpidr, SYS_VPIDR_EL2) X(vmpidr, SYS_VMPIDR_EL2)               \
	X(par, SYS_PAR_EL1) X(tpidr_el1, SYS_TPIDR_EL1) X(csselr, SYS_CSSELR_EL1)                   \
	X(mdscr, SYS_MDSCR_EL1) X(tpidr_el0, SYS_TPIDR_EL0) X(tpidrro_el0, SYS_TPIDRRO_EL0)

#define AXVM_FIELD(field, reg) u64 field;
#define AXVM_SAVE(field, reg) state.field = AXVM_SYSREG_READ(reg);
#define AXVM_LOAD(field, reg) AXVM_SYSREG_WRITE(reg, state.field);

struct HostState {
	AXVM_HOST_SYSREGS(AXVM_FIELD)
};

void save_host(HostState &state) { AXVM_HOST_SYSREGS(AXVM_SAVE) }

void restore_host(const HostState &state)
{
	AXVM_HOST_SYSREGS(AXVM_LOAD)
	asm volatile("isb" : : : "memory");
}

void load_guest(const El1State &state)
{
	AXVM_GUEST_SYSREGS(AXVM_LOAD)
	AXVM_SYSREG_WRITE(SYS_MDSCR_EL1, 0); // debug off: the debug registers are not the guest's
}

void save_guest(El1State &state)
{
	AXVM_GUEST_SYSREGS(AXVM_SAVE)
	// Its virtual timer must not fire into the host (nothing there would
	// clear a level-triggered PPI): off until the next entry.
	AXVM_SYSREG_WRITE(SYS_CNTV_CTL_EL02, 0);
}

// An AArch32 EL1's registers of its own. Nothing of the host's lives in
// them (a VHE host is AArch64 throughout), so they are loaded and saved,
// not switched, as KVM's __sysreg32_save/restore_state do.
#define AXVM_GUEST_SYSREGS32(X)                                                                   \
	X(spsr32[0], SYS_SPSR_ABT) X(spsr32[1], SYS_SPSR_UND) X(spsr32[2], SYS_SPSR_IRQ)            \
	X(spsr32[3], SYS_SPSR_FIQ) X(dacr32, SYS_DACR32_EL2) X(ifsr32, SYS_IFSR32_EL2)               \
	X(fpexc32, SYS_FPEXC32_EL2)

void load_guest32(const El1State &state) { AXVM_GUEST_SYSREGS32(AXVM_LOAD) }

void save_guest32(El1State &state) { AXVM_GUEST_SYSREGS32(AXVM_SAVE) }

#undef AXVM_FIELD
#undef AXVM_SAVE
#undef AXVM_LOAD

// HPFAR_EL2 is only guaranteed for stage-2 translation and access-flag
// faults; for a permission fault (a write to a read-only slot) the IPA comes
// from translating FAR through the guest's stage 1, as KVM does. Called
// right after the exit, the guest's EL1 translation regime still loaded.
u64 fault_page(u64 esr, u64 far, u64 hpfar)
{
	const u32 ec = esr_ec(esr);
	constexpr u64 kS1ptw = 1ull << 7, kFscTypeMask = 0x3c, kFscPermission = 0x0c;
	if ((ec != kEcDataAbortLow && ec != kEcInstAbortLow) || (esr & kS1ptw) ||
	    (esr & kFscTypeMask) != kFscPermission)
		return hpfar;
	const u64 guest_par = AXVM_SYSREG_READ(SYS_PAR_EL1);
	asm volatile("at s1e1r, %0\n\tisb" : : "r"(far) : "memory");
	const u64 par = AXVM_SYSREG_READ(SYS_PAR_EL1);
	AXVM_SYSREG_WRITE(SYS_PAR_EL1, guest_par);
	if (par & 1) // the guest's own tables changed under it: keep HPFAR
		return hpfar;
	return ((par & 0x0000fffffffff000ull) >> 12) << 4;
}

// The host's ID register op0 3, op1 0, CRn 0, CRm @crm, op2 @op2 (1 <= crm <= 7):
// unallocated encodings in this space read as zero.
u64 read_id_register(u64 crm, u64 op2)
{
#define AXVM_ID_CASE(c, o)                                                                         \
	case (c) << 3 | (o):                                                                       \
		return AXVM_SYSREG_READ("s3_0_c0_c" #c "_" #o);
#define AXVM_ID_ROW(c)                                                                             \
	AXVM_ID_CASE(c, 0) AXVM_ID_CASE(c, 1) AXVM_ID_CASE(c, 2) AXVM_ID_CASE(c, 3)                \
	AXVM_ID_CASE(c, 4) AXVM_ID_CASE(c, 5) AXVM_ID_CASE(c, 6) AXVM_ID_CASE(c, 7)
	switch (crm << 3 | op2) {
		AXVM_ID_ROW(1) AXVM_ID_ROW(2) AXVM_ID_ROW(3) AXVM_ID_ROW(4) AXVM_ID_ROW(5) AXVM_ID_ROW(6)
		AXVM_ID_ROW(7)
	}
#undef AXVM_ID_ROW
#undef AXVM_ID_CASE
	return 0;
}

u64 mask_daif()
{
	u64 daif;
	asm volatile("mrs %0, daif\n\tmsr daifset, #0xf" : "=r"(daif) : : "memory");
	return daif;
}

void restore_daif(u64 daif) { asm volatile("msr daif, %0" : : "r"(daif) : "memory"); }

} // namespace

Result<Arm64Vcpu *> Arm64Vcpu::create(Vm &vm, u32 id)
{
	Arm64Vcpu *v = new Arm64Vcpu(vm, id);
	if (!v)
		return fail(err::ENOMEM);
	v->serial_ = next_vcpu_serial();
	return v;
}

Status Arm64Vcpu::setup()
{
	reset();
	return Status();
}

// Nothing lives on a CPU between entries (every entry loads everything),
// so binding only records the CPU; the per-CPU owner record makes the
// next entry flush whatever another vCPU left in that CPU's TLB.
Status Arm64Vcpu::bind(unsigned int cpu)
{
	cpu_ = static_cast<int>(cpu);
	return Status();
}

Status Arm64Vcpu::unbind()
{
	cpu_ = -1;
	return Status();
}

Status Arm64Vcpu::check_runnable() const
{
	if (initialized_)
		return Status();
	axvm_log(AXVM_LOG_WARN, "RUN: vcpu %u has not been through KVM_ARM_VCPU_INIT", id_);
	return fail(err::ENOEXEC);
}

void Arm64Vcpu::enter_and_exit()
{
	HostState host;
	const Stage2 &s2 = *vm_.stage2();

	axvm_fpsimd_begin(); // the host task's FP/SIMD state goes to memory
	const u64 daif = mask_daif();
	save_host(host);
	load_guest(el1_);
	if (el1_aarch32_)
		load_guest32(el1_);
	// VMID 0 for every axvm VM: KVM's allocator never hands out VMID 0 (it
	// is the host's in nVHE), so no KVM guest ever shares axvm's TLB entries.
	AXVM_SYSREG_WRITE(SYS_VTTBR_EL2, s2.root_phys());
	AXVM_SYSREG_WRITE(SYS_VTCR_EL2, vtcr());
	const HostFeatures &f = host_features();
	const u32 lines = __atomic_load_n(&irq_lines_, __ATOMIC_SEQ_CST);
	// An AArch32 VM: RW clear, EL1 (and EL0) AArch32.
	const u64 hcr = el1_aarch32_ ? kHcrGuest & ~kHcrRw : kHcrGuest;
	AXVM_SYSREG_WRITE(SYS_HCR_EL2, hcr | (f.ras ? kHcrTerr | kHcrTea : 0) | (lines & 1 ? kHcrVi : 0) |
					       (lines & 2 ? kHcrVf : 0) | (serror_pending_ ? kHcrVse : 0));
	AXVM_SYSREG_WRITE(SYS_MDCR_EL2, (host.mdcr & kMdcrHostKeep) | kMdcrGuestTraps);
	AXVM_SYSREG_WRITE(SYS_CPTR_EL2, (host.cptr & ~(kCptrZen | kCptrSmen)) | kCptrFpen | kCptrTta | kCptrTam);
	// Fine-grained traps and HCRX_EL2 all 0 for the guest: every register
	// they govern with a negative-polarity bit (TCR2, PIR, PIRE0, POR_EL0/EL1,
	// the GCS registers) traps, and nothing of the host's (or of the VMM
	// thread's, such as POR_EL0) is reachable from the guest.
	const u64 host_hfgrtr = f.fgt ? AXVM_SYSREG_READ(SYS_HFGRTR_EL2) : 0;
	const u64 host_hfgwtr = f.fgt ? AXVM_SYSREG_READ(SYS_HFGWTR_EL2) : 0;
	const u64 host_hcrx = f.hcx ? AXVM_SYSREG_READ(SYS_HCRX_EL2) : 0;
	if (f.fgt) {
		AXVM_SYSREG_WRITE(SYS_HFGRTR_EL2, 0);
		AXVM_SYSREG_WRITE(SYS_HFGWTR_EL2, 0);
	}
	if (f.hcx)
		AXVM_SYSREG_WRITE(SYS_HCRX_EL2, 0);
	AXVM_SYSREG_WRITE(SYS_HSTR_EL2, 0);
	AXVM_SYSREG_WRITE(SYS_CNTHCTL_EL2, (host.cnthctl & ~kCnthctlEl1Pten) | kCnthctlEl1Pcten);
	AXVM_SYSREG_WRITE(SYS_CNTVOFF_EL2, static_cast<const Arm64Vm *>(vm_.arch())->cntvoff());
	// With RAS the guest's DISR_EL1 is VDISR_EL2 (HCR_EL2.AMO set): its own.
	const u64 host_vdisr = f.ras ? AXVM_SYSREG_READ(SYS_VDISR_EL2) : 0;
	if (f.ras)
		AXVM_SYSREG_WRITE(SYS_VDISR_EL2, el1_.disr);
	AXVM_SYSREG_WRITE(SYS_VPIDR_EL2, AXVM_SYSREG_READ(SYS_MIDR_EL1));
	AXVM_SYSREG_WRITE(SYS_VMPIDR_EL2, mpidr_);
	asm volatile("isb" : : : "memory");
	// With TGE clear and VTTBR_EL2 loaded, TLBI VMALLS12E1 hits axvm's VMID.
	if (tlb_needs_flush(serial_, s2.generation()))
		asm volatile("tlbi vmalls12e1\n\tdsb nsh\n\tisb" : : : "memory");
	axvm_arm64_fp_load(&ctx_);

	const u64 code = axvm_arm64_enter(&ctx_);
	if (code == AXVM_ARM64_EXIT_SYNC)
		ctx_.hpfar = fault_page(ctx_.esr, ctx_.far, ctx_.hpfar);

	axvm_arm64_fp_save(&ctx_);
	if (serror_pending_ && !(AXVM_SYSREG_READ(SYS_HCR_EL2) & kHcrVse))
		serror_pending_ = false; // the guest took it
	save_guest(el1_);
	if (el1_aarch32_)
		save_guest32(el1_);
	if (f.ras) {
		el1_.disr = AXVM_SYSREG_READ(SYS_VDISR_EL2);
		AXVM_SYSREG_WRITE(SYS_VDISR_EL2, host_vdisr);
	}
	if (f.fgt) {
		AXVM_SYSREG_WRITE(SYS_HFGRTR_EL2, host_hfgrtr);
		AXVM_SYSREG_WRITE(SYS_HFGWTR_EL2, host_hfgwtr);
	}
	if (f.hcx)
		AXVM_SYSREG_WRITE(SYS_HCRX_EL2, host_hcrx);
	restore_host(host);
	restore_daif(daif); // an interrupt that made the exit is taken here
	axvm_fpsimd_end();
	last_exit_ = code;
}

Result<ExitReason> Arm64Vcpu::run()
{
	// Powered off: no entry; the halt blocks (can_block) until CPU_ON. A
	// CPU_ON that lands after this look wakes the wait at once. SUSPENDED
	// (KVM's kvm_vcpu_suspend): the same wait for an interrupt line, then
	// a wake-up exit, again at every RUN until userspace makes it RUNNABLE.
	const u32 power_state = power();
	const bool line_up = __atomic_load_n(&irq_lines_, __ATOMIC_SEQ_CST) != 0;
	sleeping_ = power_state == kPowerOff || (power_state == kPowerSuspended && !line_up);
	if (sleeping_)
		return ExitReason::halt();
	if (power_state == kPowerSuspended)
		return ExitReason::system_down(SystemDownKind::Wakeup);
	take_power_on();
	static_cast<Arm64Vm *>(vm_.arch())->note_ran(); // the service bitmaps are fixed from now on
	record_steal();
	enter_and_exit();
	switch (last_exit_) {
	case AXVM_ARM64_EXIT_SYNC:
		return handle_sync();
	case AXVM_ARM64_EXIT_IRQ:
	case AXVM_ARM64_EXIT_FIQ:
		return ExitReason::external_interrupt(0);
	default:
		// An SError from the guest's own accesses: taken, nothing to emulate.
		return ExitReason::nothing();
	}
}

Result<ExitReason> Arm64Vcpu::handle_sync()
{
	if (aarch32(ctx_.pstate)) {
		// What the architecture leaves in the upper halves is not the
		// guest's: clear them, so nothing below reads them.
		for (unsigned i = 0; i < aarch32_registers(ctx_.pstate); i++)
			ctx_.x[i] &= 0xffffffffull;
		if (!aarch32_condition_passed(ctx_.esr, ctx_.pstate)) {
			skip_instruction(); // it would not have run: nothing to do
			return ExitReason::nothing();
		}
	}
	const Decoded d = decode_sync(Trap{ctx_.esr, ctx_.far, ctx_.hpfar, ctx_.pstate}, ctx_.x);
	if (d.action == Decoded::Action::InjectUndef) {
		inject_undef();
		return ExitReason::nothing();
	}
	if (d.action == Decoded::Action::InjectSerror) {
		// KVM's answer to an external abort it cannot attribute: the guest
		// gets a virtual SError (kvm_inject_vabt).
		serror_pending_ = true;
		return ExitReason::nothing();
	}
	// A system register is emulated here or refused with UNDEF at the
	// instruction itself; any other exit completes the instruction first.
	if (const SysRegReadExit *r = d.exit.as_sys_reg_read()) {
		u64 value = 0;
		if (!guest_sys_reg_read(r->addr, value))
			return unknown_sys_reg(r->addr);
		set_x(r->reg, value);
		skip_instruction();
		return ExitReason::nothing();
	}
	if (const SysRegWriteExit *w = d.exit.as_sys_reg_write()) {
		if (!guest_sys_reg_write(w->addr, w->value))
			return unknown_sys_reg(w->addr);
		skip_instruction();
		return ExitReason::nothing();
	}
	if (d.advance_pc)
		skip_instruction();
	switch (d.exit.kind()) {
	case ExitKind::Halt:
		// WFI completes at once while a line is asserted, masked or not.
		if (__atomic_load_n(&irq_lines_, __ATOMIC_SEQ_CST))
			return ExitReason::nothing();
		break;
	case ExitKind::Hypercall:
		return handle_hypercall(d);
	case ExitKind::MmioRead:
		pending_reg_ = d.exit.as_mmio_read()->reg;
		pending_ = true;
		break;
	default:
		break;
	}
	return d.exit;
}

void Arm64Vcpu::skip_instruction()
{
	const PcState next = after_instruction(ctx_.esr, ctx_.pc, ctx_.pstate);
	ctx_.pc = next.pc;
	ctx_.pstate = next.pstate;
}

// PSCI calls are the kernel's (psci.cpp), and so are the SMCCC services of
// smccc.cpp; any other HVC or SMC is userspace's (KVM_EXIT_HYPERCALL, x0 from hypercall.ret).
Result<ExitReason> Arm64Vcpu::handle_hypercall(const Decoded &d)
{
	const Arm64Vm &vm = *static_cast<const Arm64Vm *>(vm_.arch());
	const PsciCall psci =
		psci_call(ctx_.x, PsciConfig{vm.psci_version(), vm.system_suspend(), aarch32(ctx_.pstate)});
	if (psci.op == PsciOp::NotPsci) {
		if (handle_smccc())
			return ExitReason::nothing();
		pending_reg_ = 0;
		pending_ = true;
		return d.exit;
	}
	return handle_psci(psci);
}

u64 Arm64Vcpu::guest_id(u64 encoding)
{
	return guest_id_register(encoding, read_id_register((encoding >> 3) & 0xf, encoding & 7), ipa_bits());
}

Status Arm64Vcpu::set_irq_line(u32 line, bool level)
{
	if (line > 1)
		return fail(err::EINVAL);
	if (level)
		__atomic_or_fetch(&irq_lines_, 1u << line, __ATOMIC_SEQ_CST);
	else
		__atomic_and_fetch(&irq_lines_, ~(1u << line), __ATOMIC_SEQ_CST);
	return Status();
}

void Arm64Vcpu::complete_userspace_exit(u64 value, bool)
{
	if (!pending_)
		return;
	set_x(static_cast<u8>(pending_reg_), value);
	pending_ = false;
}

// A trapped system register axvm does not emulate: KVM's arm64 answer, an
// UNDEF at the guest's EL1 (and a line in dmesg), never an exit: userspace
// has no way to complete a system-register access on arm64. The PC is
// still at the instruction (ELR points at it).
ExitReason Arm64Vcpu::unknown_sys_reg(u64 encoding)
{
	if (encoding & kAarch32Access)
		axvm_log(AXVM_LOG_INFO, "vcpu %u: AArch32 p%u op1 %llu CRn %llu CRm %llu op2 %llu is not emulated: UNDEF",
			 id_, ((encoding >> 14) & 3) == 3 ? 15u : 14u, (encoding >> 11) & 7, (encoding >> 7) & 0xf,
			 (encoding >> 3) & 0xf, encoding & 7);
	else
		axvm_log(AXVM_LOG_INFO,
			 "vcpu %u: system register op0 %llu op1 %llu CRn %llu CRm %llu op2 %llu is not emulated: UNDEF",
			 id_, encoding >> 14, (encoding >> 11) & 7, (encoding >> 7) & 0xf, (encoding >> 3) & 0xf,
			 encoding & 7);
	inject_undef();
	return ExitReason::nothing();
}

// An undefined instruction, as the guest's EL1 would take it. AArch64
// (Arm ARM D1.10): ESR_EL1.EC 0 with IL as the trap had it, the return
// state in ELR/SPSR_EL1, EL1h with DAIF masked at VBAR_EL1 + the offset
// for where it came from. AArch32 EL1: esr.hpp's aarch32_undef().
void Arm64Vcpu::inject_undef()
{
	if (el1_aarch32_) { // to the AArch32 EL1's Undefined mode: LR_und is x22
		const Aarch32Entry e = aarch32_undef(ctx_.pstate, ctx_.pc, el1_.sctlr, el1_.vbar);
		ctx_.x[22] = e.lr;
		el1_.spsr32[1] = e.spsr;
		ctx_.pstate = e.pstate;
		ctx_.pc = e.pc;
		return;
	}
	constexpr u64 kIl = 1ull << 25;
	el1_.esr = aarch32(ctx_.pstate) ? ctx_.esr & kIl : kIl;
	el1_.elr = ctx_.pc;
	el1_.spsr = ctx_.pstate;
	const u64 offset = sync_vector_offset(ctx_.pstate);
	ctx_.pstate = 0x3c5; // EL1h, D A I F set
	ctx_.pc = el1_.vbar + offset;
}

} // namespace axvm::arm64
