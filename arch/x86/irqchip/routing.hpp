// SPDX-License-Identifier: GPL-2.0
// The GSI routing table of KVM_SET_GSI_ROUTING (and KVM_CREATE_IRQCHIP's
// default table): which controller inputs or MSIs each GSI drives. Built
// from userspace's entries with KVM's checks (virt/kvm/irqchip.c
// kvm_set_irq_routing, arch/x86/kvm/irq_comm.c kvm_set_routing_entry),
// then immutable: build it outside any lock (it allocates, which may
// sleep), swap the pointer in under the irqchip lock, free the old one
// when no reader can hold it any more.
#pragma once

#include "msi.hpp"

#include <axvm/result.hpp>
#include <uapi/axvm.h>

namespace axvm::x86 {

enum class IrqchipMode : u8 {
	None,   // no KVM_CREATE_IRQCHIP: routing cannot be set
	Kernel, // KVM_CREATE_IRQCHIP: PIC, IOAPIC and MSI routes
	Split,  // KVM_CAP_SPLIT_IRQCHIP: MSI routes only
};

struct RoutingOptions {
	IrqchipMode mode;
	bool x2apic_32bit_ids; // KVM_X2APIC_API_USE_32BIT_IDS is on
};

struct RouteTarget {
	u8 type;    // AXVM_IRQ_ROUTING_IRQCHIP or _MSI
	u8 irqchip; // IRQCHIP: kIrqChipPicMaster, _PicSlave or _Ioapic
	u8 pin;     // IRQCHIP: the controller input (PIC 0-15, slave 8-15; IOAPIC 0-23)
	MsiAddress msi; // MSI
};

// The routes of one GSI, in the order userspace gave them (the order KVM
// invokes them).
struct RouteList {
	const RouteTarget *targets;
	u32 count;
	const RouteTarget *begin() const { return targets; }
	const RouteTarget *end() const { return targets + count; }
};

class RoutingTable {
public:
	enum : u32 {
		kMaxRoutes = AXVM_MAX_IRQ_ROUTES, // also the GSI limit
		// A GSI has one MSI, or at most one input per irqchip.
		kMaxTargetsPerGsi = kNrIrqChips,
	};

	// KVM_SET_GSI_ROUTING with @nr entries and header @flags; -EINVAL as
	// KVM (no irqchip, nr > 4096, flags, a GSI >= 4096, entry flags, an
	// unknown type, irqchip/pin out of range, IRQCHIP routes with the
	// split irqchip, an MSI with x2APIC-format reserved bits, a second
	// route to the same irqchip or next to an MSI), -ENOMEM.
	static Result<RoutingTable *> create(const axvm_irq_routing_entry *entries, u32 nr, u32 flags,
					     const RoutingOptions &options);
	// KVM_CREATE_IRQCHIP's table (kvm_setup_default_irq_routing): GSI
	// 0-15 to the PIC input and the IOAPIC pin of that number, 16-23 to
	// the IOAPIC alone. (No IRQ0 -> pin 2 override: userspace sets that.)
	static Result<RoutingTable *> create_default();
	// KVM_CAP_SPLIT_IRQCHIP's table: no routes.
	static Result<RoutingTable *> create_empty();

	~RoutingTable();
	RoutingTable(const RoutingTable &) = delete;
	RoutingTable &operator=(const RoutingTable &) = delete;

	RouteList lookup(u32 gsi) const;
	// The GSI routed to a controller input (the last route given for it),
	// -1 if none: ack and mask notifiers are registered by GSI.
	int gsi_of(unsigned irqchip, unsigned pin) const;
	// One past the highest GSI given (KVM's nr_rt_entries).
	u32 nr_gsis() const { return nr_gsis_; }

private:
	struct GsiSlot {
		u16 first;   // index into targets_
		u8 count;
		u8 chips;    // while building: bit n = irqchip n used, bit 7 = MSI
	};

	RoutingTable() = default;

	RouteTarget *targets_ = nullptr;
	GsiSlot *slots_ = nullptr;
	u32 nr_gsis_ = 0;
	int chip_gsi_[kNrIrqChips][AXVM_IOAPIC_NUM_PINS] = {};
};

// KVM's kvm_set_irq sums the results of a GSI's routes: negative ones
// (masked, no route) count for nothing, and with none positive or zero the
// GSI reports -1.
class GsiStatus {
public:
	void add(int route_result)
	{
		if (route_result >= 0)
			value_ = route_result + (value_ < 0 ? 0 : value_);
	}
	int value() const { return value_; }

private:
	int value_ = -1;
};

} // namespace axvm::x86
