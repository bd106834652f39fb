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

namespace axvm::vmx {

// MOV SS wins over STI, as in KVM; STI blocking needs IF (SDM 26.3.1.5).
void VmxVcpu::set_interrupt_shadow(u8 mask)
{
	const u32 block = mask & 2 ? kBlockMovSs : (mask & 1) && (g_.rflags & x86::kRflagsIf) ? kBlockSti : 0;
	g_.interruptibility = (g_.interruptibility & ~(kBlockSti | kBlockMovSs)) | block;
}

void VmxVcpu::set_nmi_masked(bool masked)
{
	g_.interruptibility = (g_.interruptibility & ~kBlockNmi) | (masked ? kBlockNmi : 0);
	nmi_known_unmasked_ = !masked;
}

x86::Event VmxVcpu::injected() const
{
	using Type = x86::Event::Type;
	if (!(inject_info_ & kIntrValid))
		return x86::Event{};
	const u8 vector = inject_info_ & 0xff;
	switch (inject_info_ & kIntrTypeMask) {
	case kIntrNmi:
		return x86::Event{Type::Nmi, vector, false, 0};
	case kIntrExtInt:
		return x86::Event{Type::Interrupt, vector, false, 0};
	case kIntrSoftInt:
		return x86::Event{Type::SoftInterrupt, vector, false, 0};
	default:
		return x86::Event{Type::Exception, vector, (inject_info_ & kIntrErrorValid) != 0, inject_error_};
	}
}

void VmxVcpu::set_injected(const x86::Event &e)
{
	using Type = x86::Event::Type;
	switch (e.type) {
	case Type::Exception:
		inject_info_ = e.vector | kIntrHwException | kIntrValid | (e.has_error ? kIntrErrorValid : 0);
		break;
	case Type::Interrupt:
		inject_info_ = e.vector | kIntrExtInt | kIntrValid;
		break;
	case Type::SoftInterrupt:
		inject_info_ = e.vector | kIntrSoftInt | kIntrValid;
		break;
	case Type::Nmi:
		inject_info_ = x86::kVectorNmi | kIntrNmi | kIntrValid;
		break;
	case Type::None:
		inject_info_ = 0;
		break;
	}
	inject_error_ = e.error;
	inject_len_ = 0;
}

// Right before an entry: inject what may be injected, or open the window.
void VmxVcpu::prepare_injection()
{
	events_.clear_kick(); // from here, a new interrupt makes the entry give up
	proc_ &= ~(proc::kIntWindow | proc::kNmiWindow);
	switch (decide_delivery()) {
	case x86::Delivery::Nmi:
		inject_info_ = x86::kVectorNmi | kIntrNmi | kIntrValid;
		events_.take_nmi();
		stats.nmi_injections++;
		axvm_trace_inject(vcpu_id, x86::kVectorNmi, 1);
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

} // namespace axvm::vmx
