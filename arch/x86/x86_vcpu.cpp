// SPDX-License-Identifier: GPL-2.0
// X86Vcpu: the ioctls, completing what userspace answered, and the
// interrupt state KVM_RUN and KVM_GET/SET_VCPU_EVENTS report.
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
	pending_rip_ = segment_base(kCs) + rip();
	next_rip_ = next_rip;
}

// As KVM completes an exit (complete_fast_pio_in/out, complete_emulated_mmio,
// complete_hypercall_exit): unless userspace moved the vCPU elsewhere in
// the meantime (a new linear RIP), the instruction finishes now.
void X86Vcpu::complete_userspace_exit(u64 value)
{
	const Pending p = pending_;
	pending_ = Pending::None;
	if (p == Pending::None || segment_base(kCs) + rip() != pending_rip_)
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

GuestInterruptState X86Vcpu::interrupt_state() const
{
	return GuestInterruptState{
		.if_flag = (rflags() & kRflagsIf) != 0,
		.shadow = interrupt_shadow() != 0,
		.nmi_masked = nmi_masked(),
		.event_in_flight = injected().type != Event::Type::None,
	};
}

void X86Vcpu::fill_run_state(axvm_run &run) const
{
	run.if_flag = (rflags() & kRflagsIf) != 0;
	run.ready_for_interrupt_injection = ready_for_interrupt();
	run.cr8 = cr8();
	run.apic_base = apic_base_;
}

// KVM_GET_VCPU_EVENTS: what is set up for injection, NMI state, shadow.
void X86Vcpu::get_events(axvm_vcpu_events &e) const
{
	e = axvm_vcpu_events{};
	const Event inj = injected();
	switch (inj.type) {
	case Event::Type::Exception:
		e.exception.injected = 1;
		e.exception.nr = inj.vector;
		e.exception.has_error_code = inj.has_error;
		e.exception.error_code = inj.error;
		break;
	case Event::Type::Nmi:
		e.nmi.injected = 1;
		break;
	case Event::Type::Interrupt:
	case Event::Type::SoftInterrupt:
		e.interrupt.injected = 1;
		e.interrupt.nr = inj.vector;
		e.interrupt.soft = inj.type == Event::Type::SoftInterrupt;
		break;
	case Event::Type::None:
		break;
	}
	e.interrupt.shadow = interrupt_shadow();
	e.nmi.pending = events_.nmi_pending();
	e.nmi.masked = nmi_masked();
	e.flags = AXVM_VCPUEVENT_VALID_NMI_PENDING | AXVM_VCPUEVENT_VALID_SHADOW;
}

// KVM_SET_VCPU_EVENTS, with KVM's checks for what axvm supports.
Status X86Vcpu::set_events(const axvm_vcpu_events &e)
{
	if (!vcpu_events_valid(e))
		return fail(err::EINVAL);
	Event inj;
	if (e.exception.injected)
		inj = Event{Event::Type::Exception, e.exception.nr, e.exception.has_error_code != 0,
			    e.exception.error_code};
	else if (e.interrupt.injected)
		inj = Event{e.interrupt.soft ? Event::Type::SoftInterrupt : Event::Type::Interrupt, e.interrupt.nr,
			    false, 0};
	else if (e.nmi.injected)
		inj = Event{Event::Type::Nmi, kVectorNmi, false, 0};
	set_injected(inj);
	if (e.flags & AXVM_VCPUEVENT_VALID_NMI_PENDING)
		events_.set_nmi_pending(e.nmi.pending);
	set_nmi_masked(e.nmi.masked);
	if (e.flags & AXVM_VCPUEVENT_VALID_SHADOW)
		set_interrupt_shadow(e.interrupt.shadow);
	return Status();
}

} // namespace axvm::x86
