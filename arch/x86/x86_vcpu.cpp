// SPDX-License-Identifier: GPL-2.0
#include "x86_vcpu.hpp"

#include "emulate.hpp"

namespace axvm::x86 {

Status X86Vcpu::init()
{
	fpu_ = axvm_x86_fpu_create();
	return fpu_ ? Status() : fail(err::ENOMEM);
}

void X86Vcpu::get_regs(axvm_regs &r) const
{
	u64 *const out[16] = {&r.rax, &r.rcx, &r.rdx, &r.rbx, &r.rsp, &r.rbp, &r.rsi, &r.rdi,
			      &r.r8,  &r.r9,  &r.r10, &r.r11, &r.r12, &r.r13, &r.r14, &r.r15};
	r = axvm_regs{};
	for (u8 i = 0; i < 16; i++)
		*out[i] = gpr(i);
	r.rip = rip();
	r.rflags = rflags();
}

void X86Vcpu::set_regs(const axvm_regs &r)
{
	const u64 in[16] = {r.rax, r.rcx, r.rdx, r.rbx, r.rsp, r.rbp, r.rsi, r.rdi,
			    r.r8,  r.r9,  r.r10, r.r11, r.r12, r.r13, r.r14, r.r15};
	for (u8 i = 0; i < 16; i++)
		set_gpr(i, in[i]);
	set_rip_rflags(r.rip, r.rflags | kRflagsFixed);
}

void X86Vcpu::set_pending(Pending p, u64 next_rip)
{
	pending_ = p;
	pending_rip_ = cs_base() + rip();
	next_rip_ = next_rip;
}

// As KVM completes an exit (complete_fast_pio_in/out, complete_emulated_mmio,
// complete_hypercall_exit): unless userspace moved the vCPU elsewhere in
// the meantime (a new linear RIP), the instruction finishes now.
void X86Vcpu::complete_userspace_exit(u64 value)
{
	const Pending p = pending_;
	pending_ = Pending::None;
	if (p == Pending::None || cs_base() + rip() != pending_rip_)
		return;
	switch (p) {
	case Pending::PortIn: {
		const u64 mask = io_size_ == 4 ? ~0ull : (1ull << (8 * io_size_)) - 1;
		const u64 rax = io_size_ == 4 ? 0 : gpr(kRax) & ~mask;
		set_gpr(kRax, rax | (value & mask));
		break;
	}
	case Pending::StringIn:
		complete_string_in(value);
		return; // it moves RIP itself (REP)
	case Pending::Mmio: {
		u64 regs[16];
		for (u8 i = 0; i < 16; i++)
			regs[i] = gpr(i);
		mmio_complete_load(mmio_, regs, value);
		for (u8 i = 0; i < 16; i++)
			set_gpr(i, regs[i]);
		break;
	}
	case Pending::Hypercall:
		set_gpr(kRax, value);
		break;
	case Pending::PortOut:
	case Pending::None:
		break;
	}
	advance_rip(next_rip_);
}

Status X86Vcpu::arch_ioctl(unsigned int cmd, void *arg, usize size)
{
	switch (cmd) {
	case AXVM_GET_REGS:
		get_regs(*static_cast<axvm_regs *>(arg));
		return Status();
	case AXVM_SET_REGS:
		set_regs(*static_cast<const axvm_regs *>(arg));
		return Status();
	case AXVM_GET_SREGS:
		get_sregs(*static_cast<axvm_sregs *>(arg));
		return Status();
	case AXVM_SET_SREGS:
		return set_sregs(*static_cast<const axvm_sregs *>(arg));
	case AXVM_SET_CPUID2:
		return cpuid_.set(*static_cast<const axvm_cpuid2 *>(arg), size);
	case AXVM_GET_CPUID2:
		return cpuid_.get(*static_cast<axvm_cpuid2 *>(arg), size);
	case AXVM_INTERRUPT:
		return events_.set_user_interrupt(static_cast<const axvm_interrupt *>(arg)->irq);
	case AXVM_NMI:
		events_.queue_nmi();
		return Status();
	case AXVM_GET_VCPU_EVENTS:
		get_events(*static_cast<axvm_vcpu_events *>(arg));
		return Status();
	case AXVM_SET_VCPU_EVENTS:
		return set_events(*static_cast<const axvm_vcpu_events *>(arg));
	default:
		return fail(err::ENOTTY);
	}
}

Status X86Vcpu::queue_interrupt(u32 vector, bool nmi)
{
	if (!nmi)
		return events_.queue(vector);
	events_.queue_nmi();
	events_.request_kick();
	return Status();
}

void X86Vcpu::advance_rip(u64 next_rip)
{
	set_rip(next_rip);
	end_interrupt_shadow();
	if ((rflags() & kRflagsTf) && !interrupt_state().event_in_flight)
		reflect_debug(kDr6Bs);
}

void X86Vcpu::access_dr(bool write, u8 dr, u8 reg)
{
	u64 *shadow = dr < 4 ? &dr_[dr] : (dr & 1) ? &dr7_ : &dr6_; // DR4/5 alias DR6/7
	if (write)
		*shadow = gpr(reg);
	else
		set_gpr(reg, *shadow);
}

// KVM's kvm_deliver_exception_payload() for #DB: B0-B3 of earlier
// exceptions are cleared, the other status bits are sticky (SDM vol. 3B,
// 17.2.3), bit 12 reads 0.
ExitReason X86Vcpu::reflect_debug(u64 hit)
{
	hit &= kDr6Trap | kDr6Bd | kDr6Bs | kDr6Bt;
	dr6_ = ((dr6_ & ~kDr6Trap) | kDr6Fixed | hit) & ~(1ull << 12);
	return inject_exception(kVectorDb);
}

ExitReason X86Vcpu::handle_cpuid()
{
	const CpuidResult r = cpuid_.lookup(static_cast<u32>(gpr(kRax)), static_cast<u32>(gpr(kRcx)));
	set_gpr(kRax, r.eax);
	set_gpr(kRbx, r.ebx);
	set_gpr(kRcx, r.ecx);
	set_gpr(kRdx, r.edx);
	return ExitReason::nothing();
}

ExitReason X86Vcpu::port_in(u16 port, u8 size, u64 next_rip)
{
	set_pending(Pending::PortIn, next_rip);
	io_size_ = size;
	return ExitReason::io_read(port, width_of(size));
}

ExitReason X86Vcpu::port_out(u16 port, u8 size, u64 next_rip)
{
	set_pending(Pending::PortOut, next_rip);
	const u64 mask = size == 4 ? 0xffffffffull : (1ull << (8 * size)) - 1;
	return ExitReason::io_write(port, width_of(size), gpr(kRax) & mask);
}

ExitReason X86Vcpu::mmio_exit(u64 gpa, const MmioInstruction &m, u64 next_rip)
{
	if (m.is_write) {
		u64 regs[16];
		for (u8 i = 0; i < 16; i++)
			regs[i] = gpr(i);
		const u64 data = mmio_store_value(m, regs);
		advance_rip(next_rip);
		return ExitReason::mmio_write(gpa, m.width, data);
	}
	mmio_ = m;
	set_pending(Pending::Mmio, next_rip);
	return ExitReason::mmio_read(gpa, m.width, m.reg, m.reg_width, m.sign_extend);
}

ExitReason X86Vcpu::hypercall_exit(u64 next_rip)
{
	u64 regs[16];
	for (u8 i = 0; i < 16; i++)
		regs[i] = gpr(i);
	set_pending(Pending::Hypercall, next_rip);
	return hypercall(regs, cpu_mode() == CpuMode::Long64);
}

} // namespace axvm::x86
