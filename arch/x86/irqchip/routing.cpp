// SPDX-License-Identifier: GPL-2.0
#include "routing.hpp"

#include <axvm/raii.hpp>

namespace axvm::x86 {

namespace {

constexpr u8 kMsiUsed = 0x80; // GsiSlot::chips: the GSI has a non-IRQCHIP route

// kvm_set_routing_entry and the entry flags check of kvm_set_irq_routing.
Result<RouteTarget> check_entry(const axvm_irq_routing_entry &ue, const RoutingOptions &options)
{
	RouteTarget t = {};
	if (ue.type == AXVM_IRQ_ROUTING_MSI ? (ue.flags & ~AXVM_MSI_VALID_DEVID) : ue.flags)
		return fail(err::EINVAL);
	switch (ue.type) {
	case AXVM_IRQ_ROUTING_IRQCHIP: {
		if (options.mode == IrqchipMode::Split)
			return fail(err::EINVAL);
		const u32 chip = ue.u.irqchip.irqchip;
		const u32 pin = ue.u.irqchip.pin;
		if (chip == kIrqChipIoapic ? pin >= AXVM_IOAPIC_NUM_PINS : chip > kIrqChipPicSlave || pin >= 8)
			return fail(err::EINVAL);
		t.type = AXVM_IRQ_ROUTING_IRQCHIP;
		t.irqchip = static_cast<u8>(chip);
		t.pin = static_cast<u8>(chip == kIrqChipPicSlave ? pin + 8 : pin);
		return t;
	}
	case AXVM_IRQ_ROUTING_MSI:
		// The device id (AXVM_MSI_VALID_DEVID) means nothing on x86.
		t.type = AXVM_IRQ_ROUTING_MSI;
		t.msi = MsiAddress{ue.u.msi.address_lo, ue.u.msi.address_hi, ue.u.msi.data};
		if (msi_invalid(t.msi, options.x2apic_32bit_ids))
			return fail(err::EINVAL);
		return t;
	default:
		// Hyper-V SynIC and Xen event channel routes: axvm has neither.
		return fail(err::EINVAL);
	}
}

// setup_routing_entry: a GSI may drive one input of each irqchip, or be
// the one route to anything else.
bool conflicts(u8 used, const axvm_irq_routing_entry &ue)
{
	if (!used)
		return false;
	if ((used & kMsiUsed) || ue.type != AXVM_IRQ_ROUTING_IRQCHIP)
		return true;
	return ue.u.irqchip.irqchip < kNrIrqChips && (used & (1u << ue.u.irqchip.irqchip));
}

u8 used_bit(const RouteTarget &t) { return t.type == AXVM_IRQ_ROUTING_IRQCHIP ? 1u << t.irqchip : kMsiUsed; }

} // namespace

Result<RoutingTable *> RoutingTable::create(const axvm_irq_routing_entry *entries, u32 nr, u32 flags,
					    const RoutingOptions &options)
{
	// kvm_arch_can_set_irq_routing, then KVM_SET_GSI_ROUTING's header.
	if (options.mode == IrqchipMode::None || nr > kMaxRoutes || flags || (nr && !entries))
		return fail(err::EINVAL);
	u32 max_gsi = 0;
	for (u32 i = 0; i < nr; i++) {
		if (entries[i].gsi >= kMaxRoutes)
			return fail(err::EINVAL);
		max_gsi = entries[i].gsi > max_gsi ? entries[i].gsi : max_gsi;
	}
	Owned<RoutingTable> table(new RoutingTable);
	if (!table)
		return fail(err::ENOMEM);
	table->nr_gsis_ = max_gsi + 1;
	table->slots_ = new GsiSlot[table->nr_gsis_];
	table->targets_ = nr ? new RouteTarget[nr] : nullptr;
	if (!table->slots_ || (nr && !table->targets_))
		return fail(err::ENOMEM);

	// In userspace's order, as KVM checks each entry against the ones
	// before it; then count the routes per GSI.
	for (u32 i = 0; i < nr; i++) {
		GsiSlot &slot = table->slots_[entries[i].gsi];
		if (conflicts(slot.chips, entries[i]))
			return fail(err::EINVAL);
		const RouteTarget t = TRY(check_entry(entries[i], options));
		slot.chips |= used_bit(t);
		slot.count++;
	}
	u32 next = 0;
	for (u32 gsi = 0; gsi < table->nr_gsis_; gsi++) {
		GsiSlot &slot = table->slots_[gsi];
		slot.first = static_cast<u16>(next);
		next += slot.count;
		slot.count = 0;
	}
	for (auto &row : table->chip_gsi_)
		for (int &gsi : row)
			gsi = -1;
	for (u32 i = 0; i < nr; i++) {
		GsiSlot &slot = table->slots_[entries[i].gsi];
		const RouteTarget t = check_entry(entries[i], options).value();
		table->targets_[slot.first + slot.count++] = t;
		if (t.type == AXVM_IRQ_ROUTING_IRQCHIP)
			table->chip_gsi_[t.irqchip][t.pin] = static_cast<int>(entries[i].gsi);
	}
	return table.release();
}

Result<RoutingTable *> RoutingTable::create_default()
{
	constexpr u32 kEntries = 16 * 2 + 8;
	axvm_irq_routing_entry *entries = new axvm_irq_routing_entry[kEntries];
	if (!entries)
		return fail(err::ENOMEM);
	u32 n = 0;
	for (u32 gsi = 0; gsi < AXVM_IOAPIC_NUM_PINS; gsi++) {
		entries[n].gsi = gsi;
		entries[n].type = AXVM_IRQ_ROUTING_IRQCHIP;
		entries[n].u.irqchip = {kIrqChipIoapic, gsi};
		n++;
		if (gsi >= 16)
			continue;
		entries[n].gsi = gsi;
		entries[n].type = AXVM_IRQ_ROUTING_IRQCHIP;
		entries[n].u.irqchip = {gsi < 8 ? kIrqChipPicMaster : kIrqChipPicSlave, gsi % 8};
		n++;
	}
	auto table = create(entries, n, 0, RoutingOptions{IrqchipMode::Kernel, false});
	delete[] entries;
	return table;
}

Result<RoutingTable *> RoutingTable::create_empty()
{
	return create(nullptr, 0, 0, RoutingOptions{IrqchipMode::Split, false});
}

RoutingTable::~RoutingTable()
{
	delete[] targets_;
	delete[] slots_;
}

RouteList RoutingTable::lookup(u32 gsi) const
{
	if (gsi >= nr_gsis_)
		return RouteList{nullptr, 0};
	const GsiSlot &slot = slots_[gsi];
	return RouteList{targets_ + slot.first, slot.count};
}

int RoutingTable::gsi_of(unsigned irqchip, unsigned pin) const
{
	if (irqchip >= kNrIrqChips || pin >= AXVM_IOAPIC_NUM_PINS)
		return -1;
	return chip_gsi_[irqchip][pin];
}

} // namespace axvm::x86
