// SPDX-License-Identifier: GPL-2.0
// The 24-pin IOAPIC as KVM models it (arch/x86/kvm/ioapic.c): version 0x11
// (no EOI register), IOREGSEL/IOWIN at 0xfec00000, the redirection table
// with its read-only bits, edge and level pins with remote IRR, KVM's RTC
// (pin 8) coalescing report and its EOI storm guard. Intel 82093AA IOAPIC
// data sheet (order 290566), 3.2 (registers) and 3.2.4 (redirection table).
//
// No locks: the caller holds the VM's irqchip lock around every call.
// Messages leave through IrqSink::deliver; EOIs come in through eoi().
#pragma once

#include "irq_message.hpp"

#include <axvm/result.hpp>
#include <uapi/axvm.h>

namespace axvm::x86 {

class Ioapic {
public:
	// (Enumerators: -fno-weak forbids the inline variables a static
	// constexpr member would be.)
	enum : u32 {
		kPins = AXVM_IOAPIC_NUM_PINS,
		kRtcPin = 8,
		// Consecutive re-deliveries at EOI after which one is deferred.
		kEoiStormCount = 10000,
	};
	enum : u64 { kDefaultBase = 0xfec00000, kMmioLength = 0x100 };

	// KVM_CREATE_IRQCHIP's IOAPIC: every pin masked, ID 0.
	Ioapic(IrqSink &sink, IrqNotifier &notifier);

	// A level change on @pin (0-23) from @irq_source_id (0-63). KVM's
	// kvm_ioapic_set_irq result: 1 for a deassert; for an assert 0 if an
	// edge was already pending (or, with @line_status, the RTC's last
	// tick is not EOI'd everywhere yet), -1 if the pin is masked or a
	// level pin waits for its EOI, else the sink's delivery count.
	// @line_status: the caller is KVM_IRQ_LINE_STATUS. -EINVAL for a pin
	// or source out of range.
	Result<int> set_irq(unsigned pin, int irq_source_id, bool level, bool line_status);
	void clear_source(int irq_source_id) { lines_.clear_source(irq_source_id); }

	// Guest MMIO at guest-physical @addr; false if the access is not the
	// IOAPIC's (KVM's device sits at 0xfec00000 and answers only while
	// the state's base_address says so too). Sizes 1, 2, 4, 8.
	bool mmio_read(u64 addr, unsigned size, u64 &value);
	bool mmio_write(u64 addr, unsigned size, u64 value);

	// A local APIC's EOI of @vector (KVM's kvm_ioapic_update_eoi) on vCPU
	// @vcpu_id, with the TMR bit of that vector as @level_trigger: ack
	// notifiers for every pin with that vector, then for level EOIs the
	// remote IRR is cleared and a line still asserted is delivered again.
	void eoi(unsigned vcpu_id, u8 vector, bool level_trigger);
	// True once after the storm guard deferred a re-delivery: call
	// deferred_eoi_inject() about 10 ms later (KVM: HZ / 100).
	bool take_deferred_eoi_request();
	void deferred_eoi_inject();

	// True once after the redirection table changed: the integrator
	// recomputes each vCPU's EOI-broadcast vectors (KVM_REQ_SCAN_IOAPIC).
	bool take_scan_request();
	u64 redirection_entry(unsigned pin) const { return pin < kPins ? regs_.redirtbl[pin] : 0; }
	// KVM's kvm_rtc_eoi_tracking_restore_one, after KVM_SET_LAPIC or
	// set_state: for a vCPU the RTC entry targets, whether its local APIC
	// still has the RTC vector in IRR or ISR.
	void rtc_eoi_tracking_restore(unsigned vcpu_id, bool pending_eoi);

	// KVM_GET/SET_IRQCHIP (AXVM_IRQCHIP_IOAPIC). get hides edge requests
	// already delivered; set takes every field as KVM does (all are used
	// masked or range-checked) and delivers the requests in state.irr
	// again. Then the RTC tracking is empty: restore it per vCPU.
	void get_state(axvm_ioapic_state &state) const;
	void set_state(const axvm_ioapic_state &state);

private:
	u32 read_indirect() const;
	void write_indirect(u32 value);
	int set_line(unsigned pin, bool level, bool line_status);
	int service(unsigned pin, bool line_status);
	void eoi_pin(unsigned pin, bool level_trigger);
	void rtc_eoi(unsigned vcpu_id, u8 vector);
	void rtc_reset();
	bool in_range(u64 addr, unsigned size) const;

	axvm_ioapic_state regs_ = {};
	u32 irr_delivered_ = 0; // edge requests already sent (hidden from get_state)
	u32 eoi_count_[kPins] = {};
	bool deferred_eoi_ = false;
	bool scan_ = false;
	int rtc_pending_eoi_ = 0;
	DestMap rtc_dest_ = {};
	LineStates<kPins> lines_;
	IrqSink &sink_;
	IrqNotifier &notifier_;
};

} // namespace axvm::x86
