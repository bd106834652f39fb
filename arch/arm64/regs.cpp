// SPDX-License-Identifier: GPL-2.0
// The KVM arm64 register ABI: KVM_ARM_VCPU_INIT resets a vCPU to the state
// an EL1 kernel boots in, KVM_GET/SET_ONE_REG reach the core registers by
// their offset in KVM's struct kvm_regs (Documentation/virt/kvm/api.rst,
// "ARM64 registers").
#include "vcpu.hpp"

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
	pending_ = false;
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
