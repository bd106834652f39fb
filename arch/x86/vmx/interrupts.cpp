// SPDX-License-Identifier: GPL-2.0
// Interrupt and NMI delivery on VMX (Intel SDM vol. 3C, 26.6 "Event
// Injection" and 27.2.4 "Information for VM Exits During Event Delivery"):
// - an interrupt, NMI or exception goes in through the VM-entry
//   interruption information, one per entry;
// - interrupt-window and NMI-window exiting say when the guest can take
//   the next one (virtual NMIs: the CPU tracks NMI blocking and its end at
//   IRET in the interruptibility state);
// - an event whose delivery an exit interrupted (IDT-vectoring information)
//   goes in again.
#include "vmx_vcpu.hpp"

#include "../emulate.hpp"

namespace axvm::vmx {

namespace {
constexpr u64 kRflagsIf = 1ull << 9;
constexpr u8 kNmiVector = 2;
} // namespace

x86::GuestInterruptState VmxVcpu::interrupt_state() const
{
	return x86::GuestInterruptState{
		.if_flag = (g_.rflags & kRflagsIf) != 0,
		.shadow = (g_.interruptibility & (kBlockSti | kBlockMovSs)) != 0,
		.nmi_masked = (g_.interruptibility & kBlockNmi) != 0,
		.event_in_flight = (inject_info_ & kIntrValid) != 0,
	};
}

// Right before an entry: inject what may be injected, or open the window.
void VmxVcpu::prepare_injection()
{
	events_.clear_kick(); // from here, a new interrupt makes the entry give up
	proc_ &= ~(proc::kIntWindow | proc::kNmiWindow);
	const x86::Delivery d = events_.decide(interrupt_state(), window_requested_);
	switch (d) {
	case x86::Delivery::Nmi:
		inject_info_ = kNmiVector | kIntrNmi | kIntrValid;
		events_.take_nmi();
		stats.nmi_injections++;
		axvm_trace_inject(vcpu_id, kNmiVector, 1);
		break;
	case x86::Delivery::Interrupt: {
		const int vector = events_.next_interrupt();
		events_.take_interrupt(vector);
		inject_info_ = static_cast<u32>(vector) | kIntrExtInt | kIntrValid;
		stats.irq_injections++;
		axvm_trace_inject(vcpu_id, static_cast<u32>(vector), 0);
		break;
	}
	case x86::Delivery::OpenWindow:
		proc_ |= proc::kIntWindow; // exits as soon as IF is set and no shadow
		break;
	case x86::Delivery::None:
		break;
	}
	// An NMI that must wait (blocked, shadowed, or behind another event):
	// the CPU exits as soon as it could take one.
	if (events_.nmi_pending())
		proc_ |= proc::kNmiWindow;
}

// Right after an exit, before handling it: the injected event was consumed
// by the entry; one the exit interrupted goes in again as it was.
void VmxVcpu::after_exit_interrupts(u32 idt_info, u32 idt_error, u32 instruction_len)
{
	inject_info_ = 0;
	if (!(idt_info & kIntrValid))
		return;
	inject_info_ = idt_info & ~(1u << 12); // bit 12 is undefined here
	inject_error_ = idt_error;
	inject_len_ = instruction_len; // for software interrupts and exceptions
}

void VmxVcpu::fill_run_state(axvm_run &run) const
{
	run.if_flag = (g_.rflags & kRflagsIf) != 0;
	run.ready_for_interrupt_injection = ready_for_interrupt();
	run.cr8 = cr8_;
	run.apic_base = apic_base_;
}

bool VmxVcpu::can_block() const { return g_.rflags & kRflagsIf; }

// KVM_GET_VCPU_EVENTS: what is set up for injection, NMI state, shadow
// (KVM's mask: 1 after STI, 2 after MOV SS).
void VmxVcpu::get_events(axvm_vcpu_events &e) const
{
	e = axvm_vcpu_events{};
	if (inject_info_ & kIntrValid) {
		const u32 type = inject_info_ & kIntrTypeMask;
		const u8 vector = inject_info_ & 0xff;
		if (type == kIntrNmi) {
			e.nmi.injected = 1;
		} else if (type == kIntrExtInt || type == kIntrSoftInt) {
			e.interrupt.injected = 1;
			e.interrupt.nr = vector;
			e.interrupt.soft = type == kIntrSoftInt;
		} else {
			e.exception.injected = 1;
			e.exception.nr = vector;
			e.exception.has_error_code = (inject_info_ & kIntrErrorValid) != 0;
			e.exception.error_code = inject_error_;
		}
	}
	e.interrupt.shadow = static_cast<u8>(g_.interruptibility & (kBlockSti | kBlockMovSs));
	e.nmi.pending = events_.nmi_pending();
	e.nmi.masked = (g_.interruptibility & kBlockNmi) != 0;
	e.flags = AXVM_VCPUEVENT_VALID_NMI_PENDING | AXVM_VCPUEVENT_VALID_SHADOW;
}

// KVM_SET_VCPU_EVENTS, with KVM's checks for what axvm supports.
Status VmxVcpu::set_events(const axvm_vcpu_events &e)
{
	if (!x86::vcpu_events_valid(e))
		return fail(err::EINVAL);
	u32 info = 0;
	if (e.exception.injected)
		info = e.exception.nr | kIntrHwException | kIntrValid | (e.exception.has_error_code ? kIntrErrorValid : 0);
	else if (e.interrupt.injected)
		info = e.interrupt.nr | (e.interrupt.soft ? kIntrSoftInt : kIntrExtInt) | kIntrValid;
	else if (e.nmi.injected)
		info = kNmiVector | kIntrNmi | kIntrValid;
	inject_info_ = info;
	inject_error_ = e.exception.error_code;
	inject_len_ = 0;
	if (e.flags & AXVM_VCPUEVENT_VALID_NMI_PENDING)
		events_.set_nmi_pending(e.nmi.pending);
	g_.interruptibility = (g_.interruptibility & ~kBlockNmi) | (e.nmi.masked ? kBlockNmi : 0);
	if (e.flags & AXVM_VCPUEVENT_VALID_SHADOW) {
		// MOV SS wins over STI, as in KVM; STI blocking needs IF.
		const u8 shadow = e.interrupt.shadow;
		u32 block = shadow & 2 ? kBlockMovSs : (shadow & 1) && (g_.rflags & kRflagsIf) ? kBlockSti : 0;
		g_.interruptibility = (g_.interruptibility & ~(kBlockSti | kBlockMovSs)) | block;
	}
	return Status();
}

} // namespace axvm::vmx
