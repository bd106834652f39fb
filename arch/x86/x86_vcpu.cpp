// SPDX-License-Identifier: GPL-2.0
#include "x86_vcpu.hpp"

namespace axvm::x86 {

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
	pending_ = Pending::None; // as in KVM: new registers cancel an unfinished read
}

void X86Vcpu::set_return_value(u64 value)
{
	switch (pending_) {
	case Pending::PortIn: {
		const u64 mask = io_size_ == 4 ? ~0ull : (1ull << (8 * io_size_)) - 1;
		const u64 rax = io_size_ == 4 ? 0 : gpr(kRax) & ~mask;
		set_gpr(kRax, rax | (value & mask));
		break;
	}
	case Pending::StringIn:
		complete_string_in(value);
		break;
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
	case Pending::None:
		break;
	}
	pending_ = Pending::None;
}

int X86Vcpu::arch_ioctl(unsigned int cmd, void *arg, usize size)
{
	switch (cmd) {
	case AXVM_GET_REGS:
		get_regs(*static_cast<axvm_regs *>(arg));
		return 0;
	case AXVM_SET_REGS:
		set_regs(*static_cast<const axvm_regs *>(arg));
		return 0;
	case AXVM_GET_SREGS:
		get_sregs(*static_cast<axvm_sregs *>(arg));
		return 0;
	case AXVM_SET_SREGS:
		return set_sregs(*static_cast<const axvm_sregs *>(arg)).error();
	case AXVM_SET_CPUID2:
		return cpuid_.set(*static_cast<const axvm_cpuid2 *>(arg), size).error();
	case AXVM_GET_CPUID2:
		return cpuid_.get(*static_cast<axvm_cpuid2 *>(arg), size).error();
	case AXVM_INTERRUPT:
		return events_.set_user_interrupt(static_cast<const axvm_interrupt *>(arg)->irq);
	case AXVM_NMI:
		events_.queue_nmi();
		return 0;
	case AXVM_GET_VCPU_EVENTS:
		get_events(*static_cast<axvm_vcpu_events *>(arg));
		return 0;
	case AXVM_SET_VCPU_EVENTS:
		return set_events(*static_cast<const axvm_vcpu_events *>(arg)).error();
	default:
		return -err::ENOTTY;
	}
}

int X86Vcpu::queue_interrupt(u32 vector, bool nmi)
{
	if (!nmi)
		return events_.queue(vector);
	events_.queue_nmi();
	events_.request_kick();
	return 0;
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

ExitReason X86Vcpu::port_in(u16 port, u8 size)
{
	pending_ = Pending::PortIn;
	io_size_ = size;
	return ExitReason::io_read(port, width_of(size));
}

ExitReason X86Vcpu::port_out(u16 port, u8 size)
{
	const u64 mask = size == 4 ? 0xffffffffull : (1ull << (8 * size)) - 1;
	return ExitReason::io_write(port, width_of(size), gpr(kRax) & mask);
}

ExitReason X86Vcpu::mmio_exit(u64 gpa, const MmioInstruction &m)
{
	if (m.is_write) {
		u64 regs[16];
		for (u8 i = 0; i < 16; i++)
			regs[i] = gpr(i);
		return ExitReason::mmio_write(gpa, m.width, mmio_store_value(m, regs));
	}
	mmio_ = m;
	pending_ = Pending::Mmio;
	return ExitReason::mmio_read(gpa, m.width, m.reg, m.reg_width, m.sign_extend);
}

} // namespace axvm::x86
