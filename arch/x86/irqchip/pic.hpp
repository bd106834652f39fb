// SPDX-License-Identifier: GPL-2.0
// The i8259A master/slave pair of a PC as KVM models it (arch/x86/kvm/
// i8259.c): ICW1-4, OCW1-3, IRR/ISR/IMR, rotation, poll mode, auto-EOI, the
// slave cascaded on the master's IR2, and the PIIX ELCR (ports 0x4d0/0x4d1)
// choosing edge or level per input. Intel 8259A data sheet (order 231468);
// Intel 82371AB (PIIX4) data sheet, 4.1.13 (ELCR).
//
// No locks: the caller holds the VM's irqchip lock around every call.
#pragma once

#include "irq_message.hpp"

#include <axvm/result.hpp>
#include <uapi/axvm.h>

namespace axvm::x86 {

class Pic {
public:
	// KVM_CREATE_IRQCHIP's PIC: all registers zero, IRQ0-2 and IRQ8/13
	// always edge (elcr_mask 0xf8 / 0xde).
	explicit Pic(IrqNotifier &notifier);

	// A level change on input @pin (0-7 master, 8-15 slave) from
	// @irq_source_id (0-63): KVM's kvm_pic_set_irq result, -1 if the pin
	// is masked, 0 if the request was already pending (coalesced), 1
	// otherwise. -EINVAL for a pin or source out of range.
	Result<int> set_irq(unsigned pin, int irq_source_id, bool level);
	// KVM's kvm_pic_clear_all: the source drives no pin any more.
	void clear_source(int irq_source_id) { lines_.clear_source(irq_source_id); }

	// Guest port I/O; false if the access is not within one of the PIC's
	// ranges (0x20-0x21, 0xa0-0xa1, 0x4d0-0x4d1). Only byte accesses
	// do anything; wider ones are taken and ignored (reads give 0), as KVM.
	bool port_write(u16 port, unsigned size, u32 value);
	bool port_read(u16 port, unsigned size, u32 &value);

	// The master's INTR output, wired to LINT0 of every local APIC.
	bool intr_asserted() const { return output_; }
	// True once after INTR was raised from low: kick the vCPU that takes
	// PIC interrupts (KVM's pic_unlock wakeup).
	bool take_wakeup();
	// The INTA cycle (KVM's kvm_pic_read_irq): the vector of the highest
	// request, or the spurious IRQ7 (master) / IRQ15 (slave) vector when
	// the request went away.
	u8 acknowledge();

	// KVM_GET/SET_IRQCHIP for AXVM_IRQCHIP_PIC_MASTER (0) or _SLAVE (1);
	// -EINVAL for another chip. KVM copies the 16 bytes verbatim; every
	// field is safe for any value here (all are used masked).
	Status get_state(unsigned chip, axvm_pic_state &state) const;
	Status set_state(unsigned chip, const axvm_pic_state &state);

private:
	axvm_pic_state &chip(unsigned i) { return chips_[i]; }
	void write_command(unsigned c, u8 value);
	void write_data(unsigned c, u8 value);
	u8 read(unsigned c, bool data_port);
	u8 poll(unsigned c);
	void icw1_reset(unsigned c);
	void clear_isr(unsigned c, unsigned irq);
	void intack(unsigned c, unsigned irq);
	int set_irq1(unsigned c, unsigned irq, bool level);
	int highest_request(unsigned c) const;
	void update_irq();

	axvm_pic_state chips_[2] = {};
	LineStates<16> lines_;
	bool output_ = false;
	bool wakeup_ = false;
	IrqNotifier &notifier_;
};

} // namespace axvm::x86
