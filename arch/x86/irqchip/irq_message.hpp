// SPDX-License-Identifier: GPL-2.0
// What the interrupt controller models (PIC, IOAPIC, PIT, MSI) hand to the
// rest of the machine, and what they need back from it. The integrator
// implements IrqSink and IrqNotifier; the models call them with the VM's
// irqchip lock held, and the callbacks may call back into any model (the
// lock is already held: the models keep no state across those calls that
// they do not re-read afterwards, as KVM re-reads after dropping its lock).
#pragma once

#include <axvm/types.hpp>

namespace axvm::x86 {

// One interrupt message to the local APICs: an IOAPIC redirection entry,
// a decoded MSI or an IPI. Fields as KVM's struct kvm_lapic_irq, but the
// delivery mode unshifted (Intel SDM vol. 3A, 10.6.1 and 11.11).
struct IrqMessage {
	u32 dest_id;       // 8 bits (xAPIC), 32 with the x2APIC MSI extension
	u8 vector;
	u8 delivery_mode;  // 0 fixed, 1 lowest, 2 SMI, 4 NMI, 5 INIT, 6 SIPI, 7 ExtINT
	bool logical;      // destination mode
	bool level;        // trigger mode: true = level
	bool assert;       // level: asserted (always true for IOAPIC and MSI)
	u8 shorthand;      // 0 none, 1 self, 2 all, 3 all but self (ICR 19:18)
};

enum DeliveryMode : u8 {
	kDeliveryFixed = 0,
	kDeliveryLowest = 1,
	kDeliverySmi = 2,
	kDeliveryNmi = 4,
	kDeliveryInit = 5,
	kDeliverySipi = 6,
	kDeliveryExtInt = 7,
};

// axvm's vCPU ids are below 64 (Vm::kMaxVcpus).
constexpr unsigned kIrqMaxVcpus = 64;

// Which vCPUs accepted a message and with which vector: KVM's dest_map,
// filled only for the IOAPIC's RTC pin, whose EOIs KVM counts so that
// KVM_IRQ_LINE_STATUS can report a coalesced RTC tick.
struct DestMap {
	u64 vcpus;                    // bit n: vCPU id n accepted
	u8 vectors[kIrqMaxVcpus];     // valid where the bit is set
};

class IrqSink {
public:
	// KVM's kvm_irq_delivery_to_apic: the number of local APICs that
	// accepted @msg (> 0), 0 if every destination refused it (APIC
	// disabled), -1 if no APIC matched at all. With @dest_map, set the bit
	// and vector of every vCPU that accepted a fixed or lowest-priority
	// message.
	virtual int deliver(const IrqMessage &msg, DestMap *dest_map) = 0;

protected:
	~IrqSink() = default;
};

// The irqchip numbers of KVM_IRQCHIP_* (the routing entries' `irqchip`).
enum IrqChip : unsigned {
	kIrqChipPicMaster = 0,
	kIrqChipPicSlave = 1,
	kIrqChipIoapic = 2,
	kNrIrqChips = 3,
};

class IrqNotifier {
public:
	// KVM's kvm_notify_acked_irq: the guest ended the interrupt of this
	// controller input (PIC pins 0-15, the slave's 8-15; IOAPIC pins
	// 0-23). Ack notifiers (PIT reinjection, irqfd resampling) hang here;
	// the integrator maps (chip, pin) to a GSI with RoutingTable::gsi_of.
	virtual void irq_acked(unsigned irqchip, unsigned pin) = 0;
	// KVM's kvm_fire_mask_notifiers: the guest changed the mask of a pin.
	virtual void irq_mask_changed(unsigned irqchip, unsigned pin, bool masked) = 0;
	// Whether any vCPU takes the PIC's INTR now (KVM's
	// kvm_apic_accept_pic_intr on some vCPU: LAPIC disabled or LVT0
	// unmasked ExtINT). A PIC reset acks dropped requests only then.
	virtual bool pic_intr_accepted() = 0;

protected:
	~IrqNotifier() = default;
};

// Line levels per interrupt source: KVM ORs the sources of a pin
// (__kvm_irq_line_state) so that KVM_IRQ_LINE, irqfds and the PIT do not
// undo each other's level. Source ids are 0-63 as KVM's.
constexpr int kIrqSourceIds = 64;
constexpr int kUserspaceIrqSourceId = 0;
constexpr int kIrqfdResampleIrqSourceId = 1;

template <unsigned Pins> class LineStates {
public:
	static bool valid(unsigned pin, int source)
	{
		return pin < Pins && source >= 0 && source < kIrqSourceIds;
	}
	// The pin's level once @source drives it to @level (callers checked
	// valid()).
	bool set(unsigned pin, int source, bool level)
	{
		const u64 bit = 1ull << source;
		states_[pin] = level ? states_[pin] | bit : states_[pin] & ~bit;
		return states_[pin] != 0;
	}
	// KVM's kvm_*_clear_all: a freed source id no longer drives any pin.
	void clear_source(int source)
	{
		if (source < 0 || source >= kIrqSourceIds)
			return;
		for (u64 &state : states_)
			state &= ~(1ull << source);
	}

private:
	u64 states_[Pins] = {};
};

// Whether an access of @size bytes at @addr lies within [base, base+len):
// KVM's I/O bus hands a device only accesses it fully contains.
constexpr bool io_range_contains(u64 base, u64 len, u64 addr, unsigned size)
{
	return size > 0 && addr >= base && addr - base < len && size <= len - (addr - base);
}

} // namespace axvm::x86
