// SPDX-License-Identifier: GPL-2.0
// One arm64 vCPU on a VHE host: an EL1 guest whose EL1 system registers,
// general-purpose and FP/SIMD registers are switched on every entry, and
// the translation of its exits into ExitReasons.
#pragma once

#include <axvm/arch_vcpu.hpp>
#include <axvm/steal_clock.hpp>
#include <axvm/vm.hpp>

#include "context.h"
#include "esr.hpp"
#include "sysreg.hpp"

struct axvm_attr_value;
struct axvm_mp_state;
struct axvm_reg_value;
struct axvm_vcpu_init;

namespace axvm::arm64 {

// What switch.S reads and writes; the offsets are context.h's.
struct alignas(16) Context {
	u64 x[31];
	u64 pc, pstate;
	u64 host_sp;
	u64 host_x18_x30[13];
	u64 host_vbar;
	u64 esr, far, hpfar;
	u64 sp_el0, host_sp_el0; // the host's is `current`: switched in switch.S only
	u64 pad;
	alignas(16) u64 v[32][2]; // q0-q31
	u64 fpsr, fpcr;
};
static_assert(__builtin_offsetof(Context, pc) == CTX_PC && __builtin_offsetof(Context, pstate) == CTX_PSTATE);
static_assert(__builtin_offsetof(Context, host_sp) == CTX_HOST_SP);
static_assert(__builtin_offsetof(Context, host_x18_x30) == CTX_HOST_X18);
static_assert(__builtin_offsetof(Context, host_vbar) == CTX_HOST_VBAR);
static_assert(__builtin_offsetof(Context, esr) == CTX_ESR && __builtin_offsetof(Context, far) == CTX_FAR);
static_assert(__builtin_offsetof(Context, hpfar) == CTX_HPFAR);
static_assert(__builtin_offsetof(Context, sp_el0) == CTX_SP_EL0);
static_assert(__builtin_offsetof(Context, host_sp_el0) == CTX_HOST_SP_EL0);
static_assert(__builtin_offsetof(Context, v) == CTX_FP && __builtin_offsetof(Context, fpsr) == CTX_FPSR);
static_assert(__builtin_offsetof(Context, fpcr) == CTX_FPCR && sizeof(Context) == CTX_SIZE);

// The guest's EL1 (and shared EL0) system registers, switched on every
// entry and exit (vcpu.cpp), as X(field, register). The virtual timer's
// compare value goes before its control, so it never fires on a stale one.
#define AXVM_GUEST_SYSREGS(X)                                                                     \
	X(sctlr, SYS_SCTLR_EL12) X(cpacr, SYS_CPACR_EL12) X(ttbr0, SYS_TTBR0_EL12)                  \
	X(ttbr1, SYS_TTBR1_EL12) X(tcr, SYS_TCR_EL12) X(esr, SYS_ESR_EL12) X(afsr0, SYS_AFSR0_EL12) \
	X(afsr1, SYS_AFSR1_EL12) X(far, SYS_FAR_EL12) X(mair, SYS_MAIR_EL12)                       \
	X(amair, SYS_AMAIR_EL12) X(vbar, SYS_VBAR_EL12) X(contextidr, SYS_CONTEXTIDR_EL12)         \
	X(cntkctl, SYS_CNTKCTL_EL12) X(elr, SYS_ELR_EL12) X(spsr, SYS_SPSR_EL12)                   \
	X(sp_el1, SYS_SP_EL1) X(par, SYS_PAR_EL1) X(tpidr_el1, SYS_TPIDR_EL1)                      \
	X(csselr, SYS_CSSELR_EL1) X(tpidr_el0, SYS_TPIDR_EL0) X(tpidrro_el0, SYS_TPIDRRO_EL0)      \
	X(cntv_cval, SYS_CNTV_CVAL_EL02) X(cntv_ctl, SYS_CNTV_CTL_EL02)

// The guest's EL1 state while it is not running.
struct El1State {
#define AXVM_FIELD(field, reg) u64 field;
	AXVM_GUEST_SYSREGS(AXVM_FIELD)
#undef AXVM_FIELD
	// An AArch32 EL1's banked SPSRs (KVM's abt, und, irq, fiq) and its
	// DACR, IFSR and FPEXC: switched for a VM made AArch32 (vcpu.cpp),
	// kept for ONE_REG otherwise. DBGVCR32_EL2: ONE_REG and trapped
	// accesses only, as the other debug registers.
	u64 spsr32[4];
	u64 dacr32, ifsr32, fpexc32, dbgvcr32;
	u64 actlr; // what a guest read of ACTLR_EL1 (trapped, TACR) returns
	u64 disr;  // DISR_EL1: VDISR_EL2 while the guest runs (with RAS)
	// The debug registers as the guest reads and writes them (trapped,
	// MDCR_EL2.TDA/TDOSA); never loaded into the hardware (regs.cpp).
	u64 dbgbvr[16], dbgbcr[16], dbgwvr[16], dbgwcr[16];
	u64 mdccint, mdscr, oslsr;
};

class Arm64Vcpu final : public ArchVcpu {
public:
	static Result<Arm64Vcpu *> create(Vm &vm, u32 id);

	Status setup() override;
	Status bind(unsigned int cpu) override;
	Status unbind() override;
	Result<ExitReason> run() override;
	void complete_userspace_exit(u64 value, bool failed) override;
	Status arch_ioctl(unsigned int cmd, void *arg, usize size) override;
	Status check_runnable() const override;
	Status set_irq_line(u32 line, bool level) override;
	// A vCPU powered off (PSCI CPU_OFF, KVM_MP_STATE_STOPPED, or
	// KVM_ARM_VCPU_POWER_OFF) sleeps in KVM_RUN until CPU_ON; one
	// SUSPENDED until an interrupt line is up.
	bool halts_in_kernel() const override { return true; }
	bool can_block() const override { return sleeping_; }
	bool has_wake_event() override;

private:
	Arm64Vcpu(Vm &vm, u32 id) : vm_(vm), id_(id) {}

	// regs.cpp: KVM_ARM_VCPU_INIT and KVM_GET/SET_ONE_REG.
	Status init(const axvm_vcpu_init &init);
	void reset();
	Status get_one_reg(axvm_reg_value &r) const;
	Status set_one_reg(const axvm_reg_value &r);
	Status get_sys_reg(u64 encoding, u64 &value) const;
	Status set_sys_reg(u64 encoding, u64 value);
	Status get_fw_reg(u64 id, u64 &value) const;
	Status set_fw_reg(u64 id, u64 value);
	// KVM_GET_REG_LIST: every id get_one_reg() takes, at most @room of
	// them into @ids; @n the total.
	void reg_list(u64 *ids, u64 room, u64 &n) const;
	// A trapped guest MRS/MSR of a register regs.cpp keeps: false if it is
	// not one (the guest then gets UNDEF).
	bool guest_sys_reg_read(u64 encoding, u64 &value) const;
	bool guest_sys_reg_write(u64 encoding, u64 value);
	u64 *debug_slot(u64 encoding);
	const u64 *debug_slot(u64 encoding) const;

	// vcpu.cpp
	void enter_and_exit(); // one world switch, DAIF masked
	Result<ExitReason> handle_sync();
	Result<ExitReason> handle_hypercall(const Decoded &d);

	// psci.cpp: PSCI in the kernel and the power state (KVM's MP state).
	ExitReason handle_psci(const PsciCall &call);
	u64 cpu_on(u64 target, u64 entry, u64 context_id);
	u64 affinity_info(u64 target, u64 level) const;
	// Applies a CPU_ON another vCPU made for this one: a reset, then the
	// entry point and context id. Only on the thread that holds the vCPU.
	void take_power_on();
	void set_power(u32 state);
	Status get_mp_state(axvm_mp_state &s);
	Status set_mp_state(const axvm_mp_state &s);
	u64 mpidr() const { return __atomic_load_n(&mpidr_, __ATOMIC_RELAXED); }

	// smccc.cpp: the other SMCCC services in the kernel. handle_smccc():
	// false when x0 is none of them (the call is userspace's).
	bool handle_smccc();
	void pv_time(u64 fn, u64 a1, u64 (&r)[4]);
	void record_steal();
	void ptp(u64 a1, u64 (&r)[4]) const;
	Status device_attr(unsigned int cmd, axvm_attr_value &a);
	u32 power() const { return __atomic_load_n(&power_, __ATOMIC_ACQUIRE); }
	void inject_undef();
	ExitReason unknown_sys_reg(u64 encoding);
	// The trapped instruction is complete: PC (and IT state) past it.
	void skip_instruction();
	// AArch32 MRC/MCR and VMRS (esr.hpp's kAarch32Access), as KVM answers
	// those of the registers axvm keeps: false for any other (UNDEF).
	bool guest_cp_read(u64 encoding, u64 &value) const;
	bool guest_cp_write(u64 encoding, u64 value);
	// The guest's view of ID register @encoding (is_id_register()).
	static u64 guest_id(u64 encoding);
	// An AArch32 state's registers hold 32 bits.
	void set_x(u8 reg, u64 value)
	{
		if (reg != kXzr)
			ctx_.x[reg] = aarch32(ctx_.pstate) ? value & 0xffffffffull : value;
	}

	Vm &vm_;
	const u32 id_;
	u64 serial_ = 0; // unique over the module's life: who last ran on a CPU
	Context ctx_ = {};
	El1State el1_ = {};
	u64 mpidr_ = 0; // MPIDR_EL1 as the guest reads it (VMPIDR_EL2): from the id at reset
	bool initialized_ = false; // KVM_ARM_VCPU_INIT done
	bool el1_aarch32_ = false; // KVM_ARM_VCPU_EL1_32BIT: HCR_EL2.RW clear
	int cpu_ = -1;
	int pending_reg_ = -1; // the register a read exit completes (-1: x0 for a hypercall)
	bool pending_ = false;
	u64 last_exit_ = 0; // AXVM_ARM64_EXIT_*
	u32 irq_lines_ = 0; // bit 0 IRQ, bit 1 FIQ: KVM_IRQ_LINE, from any thread
	bool serror_pending_ = false; // a virtual SError for the guest (HCR_EL2.VSE)
	// Power (psci.cpp): kPowerOn, kPowerOff, kPowerOnPending (a CPU_ON
	// whose reset is not yet applied, with on_*_), or kPowerSuspended
	// (KVM_MP_STATE_SUSPENDED). Other vCPUs change it only from off to
	// on-pending, under the VM's PSCI lock.
	enum : u32 { kPowerOn, kPowerOff, kPowerOnPending, kPowerSuspended };
	u32 power_ = kPowerOn;
	u64 on_entry_ = 0, on_context_ = 0;
	bool on_big_endian_ = false;
	bool sleeping_ = false; // the last exit was a powered-off vCPU's: it blocks
	// PV steal time (smccc.cpp): the record's address (~0: none), whether
	// the guest started it (PV_TIME_ST), the thread's run-queue wait then.
	u64 steal_ipa_ = ~0ull;
	bool steal_active_ = false;
	StealClock steal_clock_;
};

} // namespace axvm::arm64
