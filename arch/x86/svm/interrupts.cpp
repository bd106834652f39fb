// SPDX-License-Identifier: GPL-2.0
// Interrupt and NMI delivery on SVM (AMD APM vol. 2, 15.20 and 15.21):
// - external interrupts go in as a virtual interrupt (V_IRQ with the
//   vector): the CPU delivers it when the guest can take it and clears
//   V_IRQ; one still set after the exit was not taken and stays pending.
//   (EVENTINJ would do too, but QEMU's SVM delivers an EVENTINJ interrupt
//   twice when it switches vCPUs at the wrong moment, and V_IRQ is what
//   the hardware offers for exactly this.)
// - NMIs and exceptions go in through EVENTINJ, and the IRET intercept
//   tells when an NMI handler returns;
// - V_IRQ without a vector taken, with the VINTR intercept, is the
//   "interrupt window": the CPU exits as soon as the guest could take one;
// - an event an exit interrupted (EXITINTINFO) goes in again.
#include "svm_vcpu.hpp"

#include "../emulate.hpp"

namespace axvm::svm {

namespace {
constexpr u64 kRflagsIf = 1ull << 9;
constexpr u8 kNmiVector = 2;
} // namespace

x86::GuestInterruptState SvmVcpu::interrupt_state() const
{
	return x86::GuestInterruptState{
		.if_flag = (vmcb_->save.rflags & kRflagsIf) != 0,
		.shadow = (vmcb_->control.int_state & kIntStateShadow) != 0,
		.nmi_masked = nmi_masked_,
		.event_in_flight = (vmcb_->control.event_inj & kEventValid) != 0 || virq_vector_ >= 0,
	};
}

// Right before an entry: inject what may be injected, or open the window.
void SvmVcpu::prepare_injection()
{
	VmcbControl &c = vmcb_->control;
	events_.clear_kick(); // from here, a new interrupt makes the entry give up
	if (virq_vector_ >= 0)
		return; // an interrupt is set up and not taken yet: leave it
	c.int_control &= ~(kIntVIrq | kIntVIntrPrioMax | kIntVIgnTpr | kIntVIntrVector);
	c.intercept_misc1 &= ~kInterceptVintr;
	switch (events_.decide(interrupt_state(), window_requested_)) {
	case x86::Delivery::Nmi:
		c.event_inj = kNmiVector | kEventTypeNmi | kEventValid;
		events_.take_nmi();
		stats.nmi_injections++;
		axvm_trace_inject(vcpu_id, kNmiVector, 1);
		nmi_masked_ = true;
		c.intercept_misc1 |= kInterceptIret;
		break;
	case x86::Delivery::Interrupt: {
		const int vector = events_.next_interrupt();
		virq_from_user_ = events_.user_interrupt_pending();
		events_.take_interrupt(vector);
		virq_vector_ = vector;
		stats.irq_injections++;
		axvm_trace_inject(vcpu_id, static_cast<u32>(vector), 0);
		c.int_control |= kIntVIrq | kIntVIntrPrioMax | kIntVIgnTpr | static_cast<u64>(vector) << 32;
		break;
	}
	case x86::Delivery::OpenWindow:
		// A virtual interrupt nobody will take: the VINTR intercept fires
		// the moment the guest could take it (IF set, no shadow).
		c.int_control |= kIntVIrq | kIntVIntrPrioMax | kIntVIgnTpr;
		c.intercept_misc1 |= kInterceptVintr;
		break;
	case x86::Delivery::None:
		break;
	}
}

// Right after an exit, before handling it.
void SvmVcpu::after_exit_interrupts()
{
	VmcbControl &c = vmcb_->control;
	// EVENTINJ was consumed by the entry; an event the exit interrupted is
	// in EXITINTINFO and goes in again (handle_exit), never lost.
	c.event_inj = 0;
	if (virq_vector_ >= 0) {
		// Taken (V_IRQ cleared by the CPU), or still waiting: then it is
		// pending again, ahead of anything queued since.
		// One whose delivery the exit interrupted is in EXITINTINFO and
		// goes in from there (handle_exit); QEMU leaves V_IRQ set then too.
		const bool interrupted = (c.exit_int_info & kEventValid) &&
					 static_cast<int>(c.exit_int_info & 0xff) == virq_vector_;
		if ((c.int_control & kIntVIrq) && !interrupted) {
			// (It was taken from there, so it fits back in.)
			if (virq_from_user_)
				(void)events_.set_user_interrupt(static_cast<u32>(virq_vector_));
			else
				(void)events_.queue(static_cast<u32>(virq_vector_));
		}
		c.int_control &= ~(kIntVIrq | kIntVIntrPrioMax | kIntVIgnTpr | kIntVIntrVector);
		virq_vector_ = -1;
	}
	if (iret_seen_ && vmcb_->save.rip != iret_rip_) {
		nmi_masked_ = false; // the IRET has executed
		iret_seen_ = false;
	}
	if (c.exit_code == kExitIret) {
		iret_seen_ = true;
		iret_rip_ = vmcb_->save.rip;
		c.intercept_misc1 &= ~kInterceptIret;
	}
}

// An event whose delivery an exit interrupted (EXITINTINFO) goes in again,
// an external interrupt the same way as the first time.
void SvmVcpu::reinject(u64 exit_int_info)
{
	// Exceptions have vectors below 32; QEMU records an interrupted
	// external interrupt as an "exception" with its vector, so a vector
	// of 32 or more is an interrupt whatever the type says.
	const u64 type = exit_int_info & kEventTypeMask;
	const bool interrupt = type == kEventTypeIntr || (type == kEventTypeException && (exit_int_info & 0xff) >= 32);
	if (!interrupt) {
		vmcb_->control.event_inj = exit_int_info;
		return;
	}
	virq_vector_ = exit_int_info & 0xff;
	virq_from_user_ = false;
	vmcb_->control.int_control |= kIntVIrq | kIntVIntrPrioMax | kIntVIgnTpr | (exit_int_info & 0xff) << 32;
}

void SvmVcpu::fill_run_state(axvm_run &run) const
{
	run.if_flag = (vmcb_->save.rflags & kRflagsIf) != 0;
	run.ready_for_interrupt_injection = ready_for_interrupt();
	run.cr8 = vmcb_->control.int_control & 0xf;
	run.apic_base = apic_base_;
}

bool SvmVcpu::can_block() const { return vmcb_->save.rflags & kRflagsIf; }

// KVM_GET_VCPU_EVENTS: what is set up for injection, NMI state, shadow.
void SvmVcpu::get_events(axvm_vcpu_events &e) const
{
	e = axvm_vcpu_events{};
	const u64 inj = vmcb_->control.event_inj;
	if (virq_vector_ >= 0) {
		e.interrupt.injected = 1;
		e.interrupt.nr = static_cast<u8>(virq_vector_);
	} else if (inj & kEventValid) {
		const u64 type = inj & kEventTypeMask;
		const u8 vector = inj & 0xff;
		if (type == kEventTypeException) {
			e.exception.injected = 1;
			e.exception.nr = vector;
			e.exception.has_error_code = (inj & kEventErrorValid) != 0;
			e.exception.error_code = static_cast<u32>(inj >> 32);
		} else if (type == kEventTypeNmi) {
			e.nmi.injected = 1;
		} else {
			e.interrupt.injected = 1;
			e.interrupt.nr = vector;
			e.interrupt.soft = type == kEventTypeSoftInt;
		}
	}
	e.interrupt.shadow = (vmcb_->control.int_state & kIntStateShadow) != 0;
	e.nmi.pending = events_.nmi_pending();
	e.nmi.masked = nmi_masked_;
	e.flags = AXVM_VCPUEVENT_VALID_NMI_PENDING | AXVM_VCPUEVENT_VALID_SHADOW;
}

// KVM_SET_VCPU_EVENTS, with KVM's checks for what axvm supports.
Status SvmVcpu::set_events(const axvm_vcpu_events &e)
{
	if (!x86::vcpu_events_valid(e))
		return fail(err::EINVAL);
	u64 inj = 0;
	if (e.exception.injected)
		inj = e.exception.nr | kEventTypeException | kEventValid |
		      (e.exception.has_error_code ? kEventErrorValid | static_cast<u64>(e.exception.error_code) << 32 : 0);
	else if (e.interrupt.injected)
		inj = e.interrupt.nr | (e.interrupt.soft ? kEventTypeSoftInt : kEventTypeIntr) | kEventValid;
	else if (e.nmi.injected)
		inj = kNmiVector | kEventTypeNmi | kEventValid;
	vmcb_->control.event_inj = inj;
	if (e.flags & AXVM_VCPUEVENT_VALID_NMI_PENDING)
		events_.set_nmi_pending(e.nmi.pending);
	nmi_masked_ = e.nmi.masked;
	if (nmi_masked_)
		vmcb_->control.intercept_misc1 |= kInterceptIret;
	if (e.flags & AXVM_VCPUEVENT_VALID_SHADOW)
		vmcb_->control.int_state = (vmcb_->control.int_state & ~kIntStateShadow) |
					   (e.interrupt.shadow ? kIntStateShadow : 0);
	return Status();
}

} // namespace axvm::svm
