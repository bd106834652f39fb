// SPDX-License-Identifier: GPL-2.0
#include "ioapic.hpp"

namespace axvm::x86 {

namespace {

// Indirect registers (82093AA 3.2).
constexpr u32 kRegId = 0x00;
constexpr u32 kRegVersion = 0x01;
constexpr u32 kRegArbitration = 0x02;
constexpr u32 kRegRedirection = 0x10; // 0x10 + 2n low, 0x11 + 2n high
constexpr u32 kVersion = 0x11;

// Redirection entry bits (82093AA 3.2.4).
constexpr u64 kDeliveryStatus = 1ull << 12;
constexpr u64 kRemoteIrr = 1ull << 14;
constexpr u64 kLevelTrigger = 1ull << 15;
constexpr u64 kMasked = 1ull << 16;

u8 vector_of(u64 e) { return static_cast<u8>(e); }
bool is_level(u64 e) { return e & kLevelTrigger; }

// The register bits an access of @size reaches: the registers are 32 bits
// wide, so 8 bytes reach the same as 4; 0 for sizes KVM ignores.
u32 access_mask(unsigned size)
{
	switch (size) {
	case 1:
		return 0xff;
	case 2:
		return 0xffff;
	case 4:
	case 8:
		return 0xffffffff;
	default:
		return 0;
	}
}

IrqMessage message_of(u64 e)
{
	IrqMessage m = {};
	m.dest_id = static_cast<u32>(e >> 56);
	m.vector = vector_of(e);
	m.delivery_mode = (e >> 8) & 7;
	m.logical = e & (1ull << 11);
	m.level = is_level(e);
	m.assert = true;
	m.shorthand = 0;
	return m;
}

} // namespace

Ioapic::Ioapic(IrqSink &sink, IrqNotifier &notifier) : sink_(sink), notifier_(notifier)
{
	regs_.base_address = kDefaultBase;
	for (u64 &e : regs_.redirtbl)
		e = kMasked;
}

bool Ioapic::in_range(u64 addr, unsigned size) const
{
	// The bus decodes the default window; the device itself then checks
	// the (settable) base, as KVM's ioapic_in_range.
	return io_range_contains(kDefaultBase, kMmioLength, addr, size) && addr >= regs_.base_address &&
	       addr - regs_.base_address < kMmioLength;
}

u32 Ioapic::read_indirect() const
{
	const u32 sel = regs_.ioregsel;
	switch (sel) {
	case kRegVersion:
		return ((kPins - 1) << 16) | kVersion;
	case kRegId:
	case kRegArbitration:
		return (regs_.id & 0xf) << 24;
	default: {
		// Unsigned: selectors 0x03-0x0f wrap far out of the table.
		const u32 index = (sel - kRegRedirection) >> 1;
		const u64 e = index < kPins ? regs_.redirtbl[index] : ~0ull;
		return static_cast<u32>((sel & 1) ? e >> 32 : e);
	}
	}
}

void Ioapic::write_indirect(u32 value)
{
	const u32 sel = regs_.ioregsel;
	switch (sel) {
	case kRegVersion:
	case kRegArbitration:
		return; // read-only
	case kRegId:
		regs_.id = (value >> 24) & 0xf;
		return;
	default:
		break;
	}
	const u32 index = (sel - kRegRedirection) >> 1;
	if (index >= kPins)
		return;
	u64 &e = regs_.redirtbl[index];
	const u64 old = e;
	if (sel & 1)
		e = (e & 0xffffffffull) | (u64(value) << 32);
	else
		e = (e & ~0xffffffffull) | value;
	// Delivery status and remote IRR are read-only (82093AA 3.2.4);
	// KVM never sets the first.
	e = (e & ~(kRemoteIrr | kDeliveryStatus)) | (old & (kRemoteIrr | kDeliveryStatus));
	// Linux and Xen end a stuck level interrupt by switching the pin to
	// edge and back, expecting the switch to clear remote IRR (there is
	// no EOI register in version 0x11).
	if (!is_level(e))
		e &= ~kRemoteIrr;
	if ((old ^ e) & kMasked)
		notifier_.irq_mask_changed(kIrqChipIoapic, index, e & kMasked);
	if (is_level(e) && (regs_.irr & (1u << index)))
		service(index, false);
	scan_ = true;
}

// Sends pin @pin's message unless it is masked or a level interrupt
// still waits for its EOI; returns what KVM's ioapic_service does.
int Ioapic::service(unsigned pin, bool line_status)
{
	const u64 e = regs_.redirtbl[pin];
	if ((e & kMasked) || (is_level(e) && (e & kRemoteIrr)))
		return -1;
	const IrqMessage msg = message_of(e);
	if (!msg.level)
		irr_delivered_ |= 1u << pin;
	int ret;
	if (pin == kRtcPin && line_status) {
		// set_line() only gets here with no RTC EOI outstanding.
		ret = sink_.deliver(msg, &rtc_dest_);
		rtc_pending_eoi_ = ret < 0 ? 0 : ret;
	} else {
		ret = sink_.deliver(msg, nullptr);
	}
	// Also when no APIC matched (-1), as KVM: the pin then waits for an
	// EOI that never comes, until the entry is rewritten as edge.
	if (ret && msg.level)
		regs_.redirtbl[pin] |= kRemoteIrr;
	return ret;
}

int Ioapic::set_line(unsigned pin, bool level, bool line_status)
{
	const u32 bit = 1u << pin;
	if (!level) {
		regs_.irr &= ~bit;
		return 1;
	}
	// Windows keeps time by counting RTC ticks: KVM_IRQ_LINE_STATUS tells
	// userspace a tick was coalesced while the last is not EOI'd.
	if (pin == kRtcPin && line_status && rtc_pending_eoi_ > 0)
		return 0;
	const u32 old_irr = regs_.irr;
	regs_.irr |= bit;
	if (!is_level(regs_.redirtbl[pin])) {
		irr_delivered_ &= ~bit;
		if (old_irr & bit)
			return 0; // the line was already high: no new edge
	}
	return service(pin, line_status);
}

Result<int> Ioapic::set_irq(unsigned pin, int irq_source_id, bool level, bool line_status)
{
	if (!LineStates<kPins>::valid(pin, irq_source_id))
		return fail(err::EINVAL);
	return set_line(pin, lines_.set(pin, irq_source_id, level), line_status);
}

bool Ioapic::mmio_read(u64 addr, unsigned size, u64 &value)
{
	if (!in_range(addr, size))
		return false;
	u32 result = 0;
	switch (addr & 0xff) {
	case 0x00:
		result = regs_.ioregsel;
		break;
	case 0x10:
		result = read_indirect();
		break;
	default:
		break;
	}
	value = result & access_mask(size); // 8 bytes: zero-extended
	return true;
}

bool Ioapic::mmio_write(u64 addr, unsigned size, u64 value)
{
	if (!in_range(addr, size))
		return false;
	const u32 mask = access_mask(size);
	if (!mask)
		return true; // KVM warns and drops other sizes
	const u32 data = static_cast<u32>(value) & mask; // 8 bytes: the upper half goes nowhere
	switch (addr & 0xff) {
	case 0x00:
		regs_.ioregsel = data & 0xff;
		break;
	case 0x10:
		write_indirect(data);
		break;
	default:
		break;
	}
	return true;
}

void Ioapic::rtc_reset()
{
	rtc_pending_eoi_ = 0;
	rtc_dest_.vcpus = 0;
}

void Ioapic::rtc_eoi(unsigned vcpu_id, u8 vector)
{
	if (vcpu_id >= kIrqMaxVcpus)
		return;
	const u64 bit = 1ull << vcpu_id;
	if (!(rtc_dest_.vcpus & bit) || rtc_dest_.vectors[vcpu_id] != vector)
		return;
	rtc_dest_.vcpus &= ~bit;
	// KVM warns and rebuilds from every local APIC if the count goes
	// negative; the map is the truth here, so start over empty.
	if (--rtc_pending_eoi_ < 0)
		rtc_reset();
}

void Ioapic::rtc_eoi_tracking_restore(unsigned vcpu_id, bool pending_eoi)
{
	if (vcpu_id >= kIrqMaxVcpus)
		return;
	const u64 bit = 1ull << vcpu_id;
	if (pending_eoi == !!(rtc_dest_.vcpus & bit))
		return;
	if (pending_eoi) {
		rtc_dest_.vcpus |= bit;
		rtc_dest_.vectors[vcpu_id] = vector_of(regs_.redirtbl[kRtcPin]);
		rtc_pending_eoi_++;
	} else {
		rtc_dest_.vcpus &= ~bit;
		if (--rtc_pending_eoi_ < 0)
			rtc_reset();
	}
}

void Ioapic::eoi_pin(unsigned pin, bool level_trigger)
{
	// The notifiers run first (KVM drops its lock for them; they may
	// assert or deassert lines here): an irqfd resampler that lowers the
	// line now prevents the re-delivery below.
	notifier_.irq_acked(kIrqChipIoapic, pin);
	if (!level_trigger)
		return;
	u64 &e = regs_.redirtbl[pin];
	e &= ~kRemoteIrr;
	if (!(e & kMasked) && (regs_.irr & (1u << pin))) {
		// Still asserted: real hardware re-sends, but not instantly; a
		// guest that never quiets its device would never run again,
		// so every kEoiStormCount-th re-delivery in a row is deferred.
		if (++eoi_count_[pin] == kEoiStormCount) {
			eoi_count_[pin] = 0;
			deferred_eoi_ = true;
		} else {
			service(pin, false);
		}
	} else {
		eoi_count_[pin] = 0;
	}
}

void Ioapic::eoi(unsigned vcpu_id, u8 vector, bool level_trigger)
{
	rtc_eoi(vcpu_id, vector);
	for (unsigned pin = 0; pin < kPins; pin++)
		if (vector_of(regs_.redirtbl[pin]) == vector)
			eoi_pin(pin, level_trigger);
}

bool Ioapic::take_deferred_eoi_request()
{
	const bool request = deferred_eoi_;
	deferred_eoi_ = false;
	return request;
}

void Ioapic::deferred_eoi_inject()
{
	for (unsigned pin = 0; pin < kPins; pin++) {
		const u64 e = regs_.redirtbl[pin];
		if (is_level(e) && (regs_.irr & (1u << pin)) && !(e & kRemoteIrr))
			service(pin, false);
	}
}

bool Ioapic::take_scan_request()
{
	const bool request = scan_;
	scan_ = false;
	return request;
}

void Ioapic::get_state(axvm_ioapic_state &state) const
{
	state = regs_;
	state.irr &= ~irr_delivered_;
}

void Ioapic::set_state(const axvm_ioapic_state &state)
{
	regs_ = state;
	regs_.irr = 0;
	irr_delivered_ = 0;
	scan_ = true;
	rtc_reset();
	for (unsigned pin = 0; pin < kPins; pin++)
		if (state.irr & (1u << pin))
			set_line(pin, true, true);
	// KVM rebuilds the RTC tracking from every local APIC next
	// (kvm_rtc_eoi_tracking_restore_all): the integrator's part.
	rtc_reset();
}

} // namespace axvm::x86
