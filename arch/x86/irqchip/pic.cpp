// SPDX-License-Identifier: GPL-2.0
#include "pic.hpp"

namespace axvm::x86 {

namespace {

constexpr unsigned kMaster = 0;
constexpr unsigned kSlave = 1;
constexpr unsigned kCascadePin = 2; // the slave's INTR enters the master's IR2
constexpr int kNone = 8;            // "no request": lower than priority 7

// The priority (0 highest) of the highest-priority bit of @mask, with IR
// (priority_add) at priority 0 after rotation; kNone for an empty mask.
int highest_priority(const axvm_pic_state &s, unsigned mask)
{
	if (!(mask & 0xff))
		return kNone;
	int priority = 0;
	while (!(mask & (1u << ((priority + s.priority_add) & 7))))
		priority++;
	return priority;
}

unsigned irq_of(const axvm_pic_state &s, int priority) { return (priority + s.priority_add) & 7; }

} // namespace

Pic::Pic(IrqNotifier &notifier) : notifier_(notifier)
{
	// IRQ0 (PIT), 1 (keyboard), 2 (cascade), 8 (RTC) and 13 (FPU) are
	// edge-only on the PIIX: their ELCR bits are read-only zero.
	chips_[kMaster].elcr_mask = 0xf8;
	chips_[kSlave].elcr_mask = 0xde;
}

// Edge inputs latch a rising edge in IRR; level inputs follow the line
// (8259A data sheet, "Edge and level triggered modes"). The result is what
// KVM reports: -1 masked, 0 already pending, 1 newly latched.
int Pic::set_irq1(unsigned c, unsigned irq, bool level)
{
	axvm_pic_state &s = chip(c);
	const u8 mask = static_cast<u8>(1u << irq);
	int ret = 1;
	if (s.elcr & mask) {
		if (level) {
			ret = !(s.irr & mask);
			s.irr |= mask;
			s.last_irr |= mask;
		} else {
			s.irr &= ~mask;
			s.last_irr &= ~mask;
		}
	} else if (level) {
		if (!(s.last_irr & mask)) {
			ret = !(s.irr & mask);
			s.irr |= mask;
		}
		s.last_irr |= mask;
	} else {
		s.last_irr &= ~mask;
	}
	return (s.imr & mask) ? -1 : ret;
}

// The input this chip would signal now: the highest unmasked request above
// everything in service, or -1. In special fully nested mode the master
// lets the slave interrupt a slave interrupt in service (IR2 not counted).
int Pic::highest_request(unsigned c) const
{
	const axvm_pic_state &s = chips_[c];
	const int priority = highest_priority(s, s.irr & ~s.imr);
	if (priority == kNone)
		return -1;
	unsigned in_service = s.isr;
	if (s.special_fully_nested_mode && c == kMaster)
		in_service &= ~(1u << kCascadePin);
	if (priority < highest_priority(s, in_service))
		return static_cast<int>(irq_of(s, priority));
	return -1;
}

// Re-evaluates both outputs after anything that may change them: a slave
// request is a pulse on the master's IR2 (an edge, as KVM wires it).
void Pic::update_irq()
{
	if (highest_request(kSlave) >= 0) {
		set_irq1(kMaster, kCascadePin, true);
		set_irq1(kMaster, kCascadePin, false);
	}
	const bool level = highest_request(kMaster) >= 0;
	if (!output_)
		wakeup_ = true; // as KVM: any evaluation from low asks for a kick
	output_ = level;
}

bool Pic::take_wakeup()
{
	const bool wake = wakeup_ && output_;
	wakeup_ = false;
	return wake;
}

// Ends the interrupt of @irq on chip @c and tells the ack notifiers
// (their pins: master 0-7, slave 8-15).
void Pic::clear_isr(unsigned c, unsigned irq)
{
	chip(c).isr &= static_cast<u8>(~(1u << irq));
	notifier_.irq_acked(c == kMaster ? kIrqChipPicMaster : kIrqChipPicSlave, irq + 8 * c);
}

Result<int> Pic::set_irq(unsigned pin, int irq_source_id, bool level)
{
	if (!LineStates<16>::valid(pin, irq_source_id))
		return fail(err::EINVAL);
	const bool line = lines_.set(pin, irq_source_id, level);
	const int ret = set_irq1(pin / 8, pin % 8, line);
	update_irq();
	return ret;
}

// INTA on one chip: the request moves to ISR (a level request stays in IRR
// while the line is high); with auto-EOI it ends at once.
void Pic::intack(unsigned c, unsigned irq)
{
	axvm_pic_state &s = chip(c);
	s.isr |= static_cast<u8>(1u << irq);
	if (!(s.elcr & (1u << irq)))
		s.irr &= static_cast<u8>(~(1u << irq));
	if (s.auto_eoi) {
		if (s.rotate_on_auto_eoi)
			s.priority_add = (irq + 1) & 7;
		clear_isr(c, irq);
	}
}

u8 Pic::acknowledge()
{
	output_ = false;
	u8 vector;
	const int irq = highest_request(kMaster);
	if (irq < 0) {
		// The request went away before INTA: the master answers IR7.
		vector = static_cast<u8>(chip(kMaster).irq_base + 7);
	} else {
		intack(kMaster, static_cast<unsigned>(irq));
		if (irq == static_cast<int>(kCascadePin)) {
			const int irq2 = highest_request(kSlave);
			if (irq2 >= 0)
				intack(kSlave, static_cast<unsigned>(irq2));
			// ... or the slave's spurious IR7 (IRQ15).
			vector = static_cast<u8>(chip(kSlave).irq_base + (irq2 >= 0 ? irq2 : 7));
		} else {
			vector = static_cast<u8>(chip(kMaster).irq_base + irq);
		}
	}
	update_irq();
	return vector;
}

// ICW1 starts the initialization sequence: edge requests, masks, rotation
// and special modes are forgotten; level requests still asserted stay.
// KVM then ends (and acks) the dropped edge requests' ISR bits, but only
// when some vCPU takes PIC interrupts at all.
void Pic::icw1_reset(unsigned c)
{
	axvm_pic_state &s = chip(c);
	const u8 edge_irr = s.irr & ~s.elcr;
	s.last_irr = 0;
	s.irr &= s.elcr;
	s.imr = 0;
	s.priority_add = 0;
	s.special_mask = 0;
	s.read_reg_select = 0;
	if (!s.init4) {
		s.special_fully_nested_mode = 0;
		s.auto_eoi = 0;
	}
	s.init_state = 1;
	if (!notifier_.pic_intr_accepted())
		return;
	for (unsigned irq = 0; irq < 8; irq++)
		if (edge_irr & (1u << irq))
			clear_isr(c, irq);
}

// A0=0 writes: ICW1 (bit 4), OCW3 (bit 3) or OCW2 (8259A data sheet,
// "Operation command words").
void Pic::write_command(unsigned c, u8 value)
{
	axvm_pic_state &s = chip(c);
	if (value & 0x10) {
		// Single mode (bit 1) and level-triggered mode (LTIM, bit 3)
		// are not modelled, as in KVM: the ELCR decides per input.
		s.init4 = value & 1;
		icw1_reset(c);
		return;
	}
	if (value & 0x08) {
		if (value & 0x04)
			s.poll = 1;
		if (value & 0x02)
			s.read_reg_select = value & 1;
		if (value & 0x40)
			s.special_mask = (value >> 5) & 1; // stored; KVM never applies it
		return;
	}
	const unsigned cmd = value >> 5;
	switch (cmd) {
	case 0: // rotate in auto-EOI mode: clear
	case 4: // ... set
		s.rotate_on_auto_eoi = static_cast<u8>(cmd >> 2);
		break;
	case 1:   // non-specific EOI
	case 5: { // rotate on non-specific EOI
		const int priority = highest_priority(s, s.isr);
		if (priority == kNone)
			break;
		const unsigned irq = irq_of(s, priority);
		if (cmd == 5)
			s.priority_add = (irq + 1) & 7;
		clear_isr(c, irq);
		update_irq();
		break;
	}
	case 3: // specific EOI
		clear_isr(c, value & 7);
		update_irq();
		break;
	case 6: // set priority: IR(value & 7) becomes the lowest
		s.priority_add = (value + 1) & 7;
		update_irq();
		break;
	case 7: // rotate on specific EOI
		s.priority_add = ((value & 7) + 1) & 7;
		clear_isr(c, value & 7);
		update_irq();
		break;
	default: // 2: no operation
		break;
	}
}

// A0=1 writes: OCW1 (the mask) outside initialization, else ICW2-4.
void Pic::write_data(unsigned c, u8 value)
{
	axvm_pic_state &s = chip(c);
	switch (s.init_state) {
	case 0: {
		const u8 changed = s.imr ^ value;
		s.imr = value;
		for (unsigned irq = 0; irq < 8; irq++)
			if (changed & (1u << irq))
				notifier_.irq_mask_changed(c == kMaster ? kIrqChipPicMaster : kIrqChipPicSlave,
							   irq + 8 * c, value & (1u << irq));
		update_irq();
		break;
	}
	case 1: // ICW2: vector base, bits 2:0 come from the input
		s.irq_base = value & 0xf8;
		s.init_state = 2;
		break;
	case 2: // ICW3: the cascade wiring is fixed
		s.init_state = s.init4 ? 3 : 0;
		break;
	case 3: // ICW4
		s.special_fully_nested_mode = (value >> 4) & 1;
		s.auto_eoi = (value >> 1) & 1;
		s.init_state = 0;
		break;
	default: // only a set_state can leave another value; ICW1 recovers
		break;
	}
}

// Poll mode (OCW3 bit 2): the next read is an INTA without INTR. KVM
// returns the bare input number (no bit 7) and ends its service at once;
// a slave poll also ends the master's cascade request.
u8 Pic::poll(unsigned c)
{
	axvm_pic_state &s = chip(c);
	const int irq = highest_request(c);
	if (irq < 0) {
		update_irq();
		return 0x07;
	}
	if (c == kSlave) {
		chip(kMaster).isr &= static_cast<u8>(~(1u << kCascadePin));
		chip(kMaster).irr &= static_cast<u8>(~(1u << kCascadePin));
	}
	s.irr &= static_cast<u8>(~(1u << irq));
	clear_isr(c, static_cast<unsigned>(irq));
	if (c == kSlave || irq != static_cast<int>(kCascadePin))
		update_irq();
	return static_cast<u8>(irq);
}

u8 Pic::read(unsigned c, bool data_port)
{
	axvm_pic_state &s = chip(c);
	if (s.poll) {
		const u8 value = poll(c);
		s.poll = 0;
		return value;
	}
	if (data_port)
		return s.imr;
	return s.read_reg_select ? s.isr : s.irr;
}

bool Pic::port_write(u16 port, unsigned size, u32 value)
{
	const u8 byte = static_cast<u8>(value);
	unsigned c;
	if (io_range_contains(0x20, 2, port, size))
		c = kMaster;
	else if (io_range_contains(0xa0, 2, port, size))
		c = kSlave;
	else if (io_range_contains(0x4d0, 2, port, size)) {
		if (size == 1)
			chip(port & 1).elcr = byte & chip(port & 1).elcr_mask;
		return true;
	} else
		return false;
	if (size != 1)
		return true;
	if (port & 1)
		write_data(c, byte);
	else
		write_command(c, byte);
	return true;
}

bool Pic::port_read(u16 port, unsigned size, u32 &value)
{
	const bool pic = io_range_contains(0x20, 2, port, size) || io_range_contains(0xa0, 2, port, size);
	const bool elcr = io_range_contains(0x4d0, 2, port, size);
	if (!pic && !elcr)
		return false;
	value = 0;
	if (size != 1)
		return true;
	if (elcr)
		value = chip(port & 1).elcr;
	else
		value = read(port >> 7, port & 1);
	return true;
}

Status Pic::get_state(unsigned c, axvm_pic_state &state) const
{
	if (c > kSlave)
		return fail(err::EINVAL);
	state = chips_[c];
	return Status();
}

Status Pic::set_state(unsigned c, const axvm_pic_state &state)
{
	if (c > kSlave)
		return fail(err::EINVAL);
	chips_[c] = state;
	update_irq();
	return Status();
}

} // namespace axvm::x86
