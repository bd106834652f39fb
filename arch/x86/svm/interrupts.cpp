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

// KVM reports an SVM shadow as both kinds (svm_get_interrupt_shadow): the
// VMCB does not say which instruction cast it.
u8 SvmVcpu::interrupt_shadow() const
{
	return (vmcb_->control.int_state & kIntStateShadow) ? 3 : 0;
}

void SvmVcpu::set_interrupt_shadow(u8 mask)
{
	vmcb_->control.int_state = (vmcb_->control.int_state & ~kIntStateShadow) | (mask ? kIntStateShadow : 0);
}

void SvmVcpu::set_nmi_masked(bool masked)
{
	nmi_masked_ = masked;
	// The IRET intercept tells when the handler returns (after_exit_interrupts).
	if (masked)
		vmcb_->control.intercept_misc1 |= kInterceptIret;
}

// The interrupt in V_IRQ counts as set up for delivery, as one in EVENTINJ.
x86::Event SvmVcpu::injected() const
{
	using Type = x86::Event::Type;
	if (virq_vector_ >= 0)
		return x86::Event{Type::Interrupt, static_cast<u8>(virq_vector_), false, 0};
	const u64 inj = vmcb_->control.event_inj;
	if (!(inj & kEventValid))
		return x86::Event{};
	const u8 vector = inj & 0xff;
	switch (inj & kEventTypeMask) {
	case kEventTypeException:
		return x86::Event{Type::Exception, vector, (inj & kEventErrorValid) != 0, static_cast<u32>(inj >> 32)};
	case kEventTypeNmi:
		return x86::Event{Type::Nmi, vector, false, 0};
	case kEventTypeSoftInt:
		return x86::Event{Type::SoftInterrupt, vector, false, 0};
	default:
		return x86::Event{Type::Interrupt, vector, false, 0};
	}
}

void SvmVcpu::set_injected(const x86::Event &e)
{
	using Type = x86::Event::Type;
	u64 inj = 0;
	switch (e.type) {
	case Type::Exception:
		inj = e.vector | kEventTypeException | kEventValid |
		      (e.has_error ? kEventErrorValid | static_cast<u64>(e.error) << 32 : 0);
		break;
	case Type::Interrupt:
		inj = e.vector | kEventTypeIntr | kEventValid;
		break;
	case Type::SoftInterrupt:
		inj = e.vector | kEventTypeSoftInt | kEventValid;
		break;
	case Type::Nmi:
		inj = x86::kVectorNmi | kEventTypeNmi | kEventValid;
		break;
	case Type::None:
		break;
	}
	vmcb_->control.event_inj = inj;
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
	switch (decide_delivery()) {
	case x86::Delivery::Nmi:
		c.event_inj = x86::kVectorNmi | kEventTypeNmi | kEventValid;
		events_.take_nmi();
		stats.nmi_injections++;
		axvm_trace_inject(vcpu_id, x86::kVectorNmi, 1);
		set_nmi_masked(true);
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
				events_.queue_external(static_cast<u8>(virq_vector_));
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

} // namespace axvm::svm
