// SPDX-License-Identifier: GPL-2.0
// The KVM arm64 register ABI: KVM_ARM_VCPU_INIT resets a vCPU to the state
// an EL1 kernel boots in, KVM_GET/SET_ONE_REG reach the core registers by
// their offset in KVM's struct kvm_regs and the system registers axvm
// keeps for a guest by their encoding (Documentation/virt/kvm/api.rst,
// "ARM64 registers").
#include "vcpu.hpp"

#include "backend.hpp"
#include "sysreg.hpp"

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
constexpr u64 kSysRegGroup = 0x0013ull << 16;
constexpr u64 sysreg(u64 op0, u64 op1, u64 crn, u64 crm, u64 op2)
{
	return op0 << 14 | op1 << 11 | crn << 7 | crm << 3 | op2;
}

// The EL1 (and EL0) registers El1State keeps, by the encoding KVM names
// them with: their *_EL1 one, not the *_EL12 alias the switch uses. ELR,
// SPSR and SP_EL1 are core registers in KVM's ABI. The virtual timer by
// KVM's own ids (KVM_REG_ARM_TIMER_CTL and _CVAL: the latter is, as in
// KVM, the encoding of CNTVCT_EL0).
struct El1Reg {
	u64 encoding;
	u64 El1State::*field;
};
constexpr El1Reg kEl1Regs[] = {
	{sysreg(3, 0, 1, 0, 0), &El1State::sctlr},      {sysreg(3, 0, 1, 0, 2), &El1State::cpacr},
	{sysreg(3, 0, 2, 0, 0), &El1State::ttbr0},      {sysreg(3, 0, 2, 0, 1), &El1State::ttbr1},
	{sysreg(3, 0, 2, 0, 2), &El1State::tcr},        {sysreg(3, 0, 5, 1, 0), &El1State::afsr0},
	{sysreg(3, 0, 5, 1, 1), &El1State::afsr1},      {sysreg(3, 0, 5, 2, 0), &El1State::esr},
	{sysreg(3, 0, 6, 0, 0), &El1State::far},        {sysreg(3, 0, 7, 4, 0), &El1State::par},
	{sysreg(3, 0, 10, 2, 0), &El1State::mair},      {sysreg(3, 0, 10, 3, 0), &El1State::amair},
	{sysreg(3, 0, 12, 0, 0), &El1State::vbar},      {sysreg(3, 0, 13, 0, 1), &El1State::contextidr},
	{sysreg(3, 0, 13, 0, 4), &El1State::tpidr_el1}, {sysreg(3, 0, 14, 1, 0), &El1State::cntkctl},
	{sysreg(3, 2, 0, 0, 0), &El1State::csselr},     {sysreg(3, 3, 13, 0, 2), &El1State::tpidr_el0},
	{sysreg(3, 3, 13, 0, 3), &El1State::tpidrro_el0},
	{sysreg(3, 3, 14, 3, 1), &El1State::cntv_ctl},  {sysreg(3, 3, 14, 0, 2), &El1State::cntv_cval},
};

constexpr u64 kMidr = sysreg(3, 0, 0, 0, 0), kMpidr = sysreg(3, 0, 0, 0, 5), kRevidr = sysreg(3, 0, 0, 0, 6);

// MPIDR_EL1 as KVM derives it from the vCPU id: Aff0 4 bits, then Aff1, Aff2.
u64 reset_mpidr(u32 id) { return (1ull << 31) | (id & 0xf) | ((id >> 4) & 0xff) << 8 | ((u64)(id >> 12) & 0xff) << 16; }

// Only AArch64 EL0t, EL1t and EL1h: the guest's EL1 is AArch64 (HCR_EL2.RW).
bool valid_pstate(u64 pstate)
{
	const u64 mode = pstate & 0x1f;
	return (pstate >> 32) == 0 && (mode == 0x0 || mode == 0x4 || mode == 0x5);
}

} // namespace

void Arm64Vcpu::reset()
{
	ctx_ = Context{};
	el1_ = El1State{};
	ctx_.pstate = kPstateEl1hMasked;
	el1_.sctlr = kSctlrReset;
	mpidr_ = reset_mpidr(id_);
	pending_ = false;
}

// The system registers: those El1State keeps (read and written), MPIDR_EL1
// (writable, as in KVM), and the identification registers, which read as the
// guest sees them (MIDR and REVIDR the host's, the ID space of op0 3, op1 0,
// CRn 0, CRm 1-7 through guest_id()) and, as in KVM, take a write only of
// the value they have. Anything else: -ENOENT.
Status Arm64Vcpu::get_sys_reg(u64 encoding, u64 &value) const
{
	for (const El1Reg &r : kEl1Regs) {
		if (r.encoding == encoding) {
			value = el1_.*r.field;
			return Status();
		}
	}
	if (encoding == kMpidr)
		value = mpidr_;
	else if (encoding == kMidr)
		value = AXVM_SYSREG_READ(SYS_MIDR_EL1);
	else if (encoding == kRevidr)
		value = AXVM_SYSREG_READ("s3_0_c0_c0_6");
	else if (is_id_register(encoding))
		value = guest_id(encoding);
	else
		return fail(err::ENOENT);
	return Status();
}

Status Arm64Vcpu::set_sys_reg(u64 encoding, u64 value)
{
	for (const El1Reg &r : kEl1Regs) {
		if (r.encoding == encoding) {
			el1_.*r.field = value;
			return Status();
		}
	}
	if (encoding == kMpidr) {
		mpidr_ = value;
		return Status();
	}
	u64 now = 0;
	TRY(get_sys_reg(encoding, now));
	if (value != now) {
		axvm_log(AXVM_LOG_WARN, "SET_ONE_REG: identification register 0x%llx is 0x%llx, not 0x%llx", encoding,
			 now, value);
		return fail(err::EINVAL);
	}
	return Status();
}

Status Arm64Vcpu::init(const axvm_vcpu_init &init)
{
	if (init.target != AXVM_ARM_TARGET_GENERIC_V8) {
		axvm_log(AXVM_LOG_WARN, "ARM_VCPU_INIT: target %u; axvm offers %u (ARM_PREFERRED_TARGET)", init.target,
			 AXVM_ARM_TARGET_GENERIC_V8);
		return fail(err::EINVAL);
	}
	for (usize i = 0; i < array_size(init.features); i++) {
		const u32 allowed = i == 0 ? 1u << AXVM_ARM_VCPU_PSCI_0_2 : 0;
		if (init.features[i] & ~allowed) {
			axvm_log(AXVM_LOG_WARN, "ARM_VCPU_INIT: features[%zu] 0x%x: only PSCI 0.2 is offered", i,
				 init.features[i]);
			return fail(err::EINVAL);
		}
	}
	reset();
	initialized_ = true;
	return Status();
}

Status Arm64Vcpu::get_one_reg(axvm_reg_value &r) const
{
	const u64 size = r.id & AXVM_REG_SIZE_MASK;
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
	if ((r.id & ~(AXVM_REG_SIZE_MASK | 0xffff)) == (AXVM_REG_ARM64 | kSysRegGroup))
		return set_sys_reg(r.id & 0xffff, r.value[0]);
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
		if (!valid_pstate(v)) {
			axvm_log(AXVM_LOG_WARN, "SET_ONE_REG: pstate 0x%llx is not AArch64 EL0t/EL1t/EL1h", v);
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
	return Status();
}

Status Arm64Vcpu::arch_ioctl(unsigned int cmd, void *arg, usize size)
{
	switch (cmd) {
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
	default:
		return fail(err::ENOTTY);
	}
}

} // namespace axvm::arm64
