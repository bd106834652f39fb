// SPDX-License-Identifier: GPL-2.0
// GSI routing (arch/x86/irqchip/routing.hpp) with every KVM check, and MSI
// decoding (msi.hpp).
#include "check.hpp"
#include "irqchip_fakes.hpp"

#include <arch/x86/irqchip/routing.hpp>

using namespace axvm;
using namespace axvm::x86;
using axvm::test::FakeMachine;

namespace {

axvm_irq_routing_entry chip_entry(u32 gsi, u32 irqchip, u32 pin)
{
	axvm_irq_routing_entry e = {};
	e.gsi = gsi;
	e.type = AXVM_IRQ_ROUTING_IRQCHIP;
	e.u.irqchip.irqchip = irqchip;
	e.u.irqchip.pin = pin;
	return e;
}

axvm_irq_routing_entry msi_entry(u32 gsi, u32 lo, u32 hi, u32 data)
{
	axvm_irq_routing_entry e = {};
	e.gsi = gsi;
	e.type = AXVM_IRQ_ROUTING_MSI;
	e.u.msi.address_lo = lo;
	e.u.msi.address_hi = hi;
	e.u.msi.data = data;
	return e;
}

constexpr RoutingOptions kKernel = {IrqchipMode::Kernel, false};

// The errno of building a table from @n entries (0 when it builds).
int build(const axvm_irq_routing_entry *e, u32 n, RoutingOptions options = kKernel, u32 flags = 0)
{
	auto r = RoutingTable::create(e, n, flags, options);
	if (r.ok())
		delete r.value();
	return r.error();
}

} // namespace

extern "C" void axvm_test_routing_default(struct kunit *t)
{
	auto r = RoutingTable::create_default();
	CHECK(t, r.ok());
	if (!r.ok())
		return;
	RoutingTable *table = r.value();
	CHECK_EQ(t, table->nr_gsis(), 24u);
	RouteList l = table->lookup(0);
	CHECK_EQ(t, l.count, 2u);
	CHECK(t, l.targets[0].type == AXVM_IRQ_ROUTING_IRQCHIP && l.targets[0].irqchip == kIrqChipIoapic &&
		     l.targets[0].pin == 0);
	CHECK(t, l.targets[1].irqchip == kIrqChipPicMaster && l.targets[1].pin == 0);
	l = table->lookup(9);
	CHECK_EQ(t, l.count, 2u);
	CHECK(t, l.targets[0].irqchip == kIrqChipIoapic && l.targets[0].pin == 9);
	CHECK(t, l.targets[1].irqchip == kIrqChipPicSlave && l.targets[1].pin == 9); // the slave's IR1
	unsigned n = 0;
	for (const RouteTarget &target : table->lookup(16))
		n += target.irqchip == kIrqChipIoapic && target.pin == 16;
	CHECK_EQ(t, n, 1u);
	CHECK_EQ(t, table->lookup(23).count, 1u);
	CHECK_EQ(t, table->lookup(24).count, 0u);
	CHECK_EQ(t, table->lookup(~0u).count, 0u);
	CHECK_EQ(t, table->gsi_of(kIrqChipPicSlave, 14), 14);
	CHECK_EQ(t, table->gsi_of(kIrqChipIoapic, 23), 23);
	CHECK_EQ(t, table->gsi_of(kIrqChipPicMaster, 8), -1);
	CHECK_EQ(t, table->gsi_of(3, 0), -1);
	delete table;

	// The split irqchip starts with no routes at all.
	r = RoutingTable::create_empty();
	CHECK(t, r.ok() && r.value()->lookup(0).count == 0 && r.value()->nr_gsis() == 1);
	if (r.ok())
		delete r.value();

	// KVM's result of one GSI over its routes.
	GsiStatus none;
	CHECK_EQ(t, none.value(), -1);
	GsiStatus s;
	s.add(-1);
	s.add(0);
	CHECK_EQ(t, s.value(), 0); // coalesced somewhere, masked elsewhere
	s.add(2);
	s.add(-1);
	CHECK_EQ(t, s.value(), 2);
}

extern "C" void axvm_test_routing_custom(struct kunit *t)
{
	axvm_irq_routing_entry *e = new axvm_irq_routing_entry[RoutingTable::kMaxRoutes];
	CHECK(t, e);
	if (!e)
		return;
	// QEMU's ISA override (IRQ0 on IOAPIC pin 2), all three chips on one
	// GSI, MSIs (one with a device id) far up, a gap in between.
	e[0] = chip_entry(0, kIrqChipIoapic, 2);
	e[1] = chip_entry(0, kIrqChipPicMaster, 0);
	e[2] = chip_entry(5, kIrqChipPicSlave, 7);
	e[3] = chip_entry(5, kIrqChipIoapic, 5);
	e[4] = chip_entry(5, kIrqChipPicMaster, 5);
	e[5] = msi_entry(4095, 0xfee01000, 0, 0x4041);
	e[6] = msi_entry(100, 0xfee00000, 0, 0x30);
	e[6].flags = AXVM_MSI_VALID_DEVID;
	e[6].u.msi.pad = 0x1234;
	e[7] = chip_entry(6, kIrqChipIoapic, 2); // pin 2 again: the last wins for gsi_of
	auto r = RoutingTable::create(e, 8, 0, kKernel);
	CHECK(t, r.ok());
	if (r.ok()) {
		RoutingTable *table = r.value();
		CHECK_EQ(t, table->nr_gsis(), 4096u);
		CHECK_EQ(t, table->lookup(5).count, 3u);
		CHECK(t, table->lookup(5).targets[0].pin == 15); // the slave's IR7
		CHECK_EQ(t, table->lookup(50).count, 0u);
		const RouteList msi = table->lookup(4095);
		CHECK(t, msi.count == 1 && msi.targets[0].type == AXVM_IRQ_ROUTING_MSI &&
			     msi.targets[0].msi.address_lo == 0xfee01000 && msi.targets[0].msi.data == 0x4041);
		CHECK_EQ(t, table->gsi_of(kIrqChipIoapic, 2), 6);
		CHECK_EQ(t, table->gsi_of(kIrqChipPicSlave, 15), 5);
		delete table;
	}

	// The most routes KVM takes, one per GSI.
	for (u32 i = 0; i < RoutingTable::kMaxRoutes; i++)
		e[i] = msi_entry(i, 0xfee00000, 0, 0x20 + i % 200);
	r = RoutingTable::create(e, RoutingTable::kMaxRoutes, 0, kKernel);
	CHECK(t, r.ok() && r.value()->lookup(4000).targets[0].msi.data == 0x20 + 4000 % 200);
	if (r.ok())
		delete r.value();
	delete[] e;
}

extern "C" void axvm_test_routing_rejections(struct kunit *t)
{
	axvm_irq_routing_entry e[3] = {};
	e[0] = chip_entry(1, kIrqChipIoapic, 1);
	CHECK_EQ(t, build(e, 1), 0);
	CHECK_EQ(t, build(e, 0), 0);                                              // an empty table is fine
	CHECK_EQ(t, build(e, 1, {IrqchipMode::None, false}), -err::EINVAL);       // no irqchip
	CHECK_EQ(t, build(e, RoutingTable::kMaxRoutes + 1), -err::EINVAL);        // too many
	CHECK_EQ(t, build(e, 1, kKernel, 1), -err::EINVAL);                       // header flags
	CHECK_EQ(t, build(nullptr, 1), -err::EINVAL);
	e[0].gsi = 4096;
	CHECK_EQ(t, build(e, 1), -err::EINVAL); // GSI limit
	e[0] = chip_entry(1, kIrqChipIoapic, 1);
	e[0].flags = 1;
	CHECK_EQ(t, build(e, 1), -err::EINVAL); // IRQCHIP entries take no flags
	e[0] = msi_entry(1, 0xfee00000, 0, 0x30);
	e[0].flags = 2;
	CHECK_EQ(t, build(e, 1), -err::EINVAL); // MSI: only VALID_DEVID
	e[0].flags = AXVM_MSI_VALID_DEVID;
	CHECK_EQ(t, build(e, 1), 0);
	const u32 bad_types[] = {0, 3, 4, 5, 99}; // none, s390, Hyper-V, Xen, junk
	for (u32 type : bad_types) {
		e[0] = chip_entry(1, kIrqChipIoapic, 1);
		e[0].type = type;
		CHECK_EQ(t, build(e, 1), -err::EINVAL);
	}
	e[0] = chip_entry(1, kIrqChipPicMaster, 8);
	CHECK_EQ(t, build(e, 1), -err::EINVAL); // PIC pins 0-7
	e[0] = chip_entry(1, kIrqChipPicSlave, 8);
	CHECK_EQ(t, build(e, 1), -err::EINVAL);
	e[0] = chip_entry(1, kIrqChipIoapic, 24);
	CHECK_EQ(t, build(e, 1), -err::EINVAL); // IOAPIC pins 0-23
	e[0] = chip_entry(1, 3, 0);
	CHECK_EQ(t, build(e, 1), -err::EINVAL); // no irqchip 3
	e[0] = chip_entry(1, kIrqChipIoapic, 1);
	CHECK_EQ(t, build(e, 1, {IrqchipMode::Split, false}), -err::EINVAL); // split: MSI only
	e[0] = msi_entry(1, 0xfee00000, 0, 0x30);
	CHECK_EQ(t, build(e, 1, {IrqchipMode::Split, false}), 0);
	e[0].u.msi.address_hi = 0x101;
	CHECK_EQ(t, build(e, 1, {IrqchipMode::Kernel, false}), 0); // address_hi ignored
	CHECK_EQ(t, build(e, 1, {IrqchipMode::Kernel, true}), -err::EINVAL); // x2APIC format: 7:0 reserved
	e[0].u.msi.address_hi = 0x100;
	CHECK_EQ(t, build(e, 1, {IrqchipMode::Kernel, true}), 0);

	// One input per irqchip per GSI; an MSI alone on its GSI.
	e[0] = chip_entry(2, kIrqChipPicMaster, 2);
	e[1] = chip_entry(2, kIrqChipPicMaster, 3);
	CHECK_EQ(t, build(e, 2), -err::EINVAL);
	e[1] = chip_entry(2, kIrqChipPicSlave, 3);
	CHECK_EQ(t, build(e, 2), 0);
	e[1] = msi_entry(2, 0xfee00000, 0, 0x30);
	CHECK_EQ(t, build(e, 2), -err::EINVAL);
	e[0] = msi_entry(2, 0xfee00000, 0, 0x31);
	CHECK_EQ(t, build(e, 2), -err::EINVAL);
	e[1] = chip_entry(2, kIrqChipIoapic, 3);
	CHECK_EQ(t, build(e, 2), -err::EINVAL);
	e[1].gsi = 3;
	CHECK_EQ(t, build(e, 2), 0);
	// A second IOAPIC pin on GSI 3.
	e[2] = chip_entry(3, kIrqChipIoapic, 4);
	CHECK_EQ(t, build(e, 3), -err::EINVAL);
}

extern "C" void axvm_test_msi_decode(struct kunit *t)
{
	// Physical, fixed, edge: APIC 0x12, vector 0x41.
	IrqMessage m = decode_msi({0xfee12000, 0, 0x0041}, false);
	CHECK(t, m.dest_id == 0x12 && m.vector == 0x41 && m.delivery_mode == kDeliveryFixed && !m.logical &&
		     !m.level && m.assert && m.shorthand == 0);
	// Logical, lowest priority, level; address_hi ignored without the extension.
	m = decode_msi({0xfee0300c ^ 0x8, 0xabcdef00, 0xc1a2}, false);
	CHECK(t, m.dest_id == 0x03 && m.vector == 0xa2 && m.delivery_mode == kDeliveryLowest && m.logical &&
		     m.level);
	// The redirection hint makes a fixed message lowest priority.
	m = decode_msi({0xfee00008, 0, 0x30}, false);
	CHECK_EQ(t, m.delivery_mode, kDeliveryLowest);
	m = decode_msi({0xfee00008, 0, 0x430}, false);
	CHECK_EQ(t, m.delivery_mode, kDeliveryNmi);
	// Bits 11:5 (virt_destid_8_14) are ignored, and so is the data's bit 14.
	m = decode_msi({0xfee00fe0, 0, 0x4000 | 0x0500}, false);
	CHECK(t, m.dest_id == 0 && m.delivery_mode == kDeliveryInit && !m.level && m.assert);
	// KVM_X2APIC_API_USE_32BIT_IDS: address_hi 31:8 are the ID's 31:8.
	m = decode_msi({0xfeeff000, 0x12345600, 0x50}, true);
	CHECK_EQ(t, m.dest_id, 0x123456ffu);
	CHECK(t, !msi_invalid({0xfeeff000, 0x12345600, 0x50}, true));
	CHECK(t, msi_invalid({0xfeeff000, 0x12345601, 0x50}, true));
	CHECK(t, !msi_invalid({0xfeeff000, 0x12345601, 0x50}, false));

	// A route's set(): deassert -1, assert delivers, bad format -EINVAL.
	FakeMachine *fake = new FakeMachine;
	CHECK(t, fake);
	if (!fake)
		return;
	fake->deliver_result = 3;
	CHECK_EQ(t, set_msi(*fake, {0xfee01000, 0, 0x8031}, false, false), -1);
	CHECK_EQ(t, fake->delivered, 0u);
	CHECK_EQ(t, set_msi(*fake, {0xfee01000, 0, 0x8031}, true, false), 3);
	CHECK(t, fake->last.dest_id == 1 && fake->last.vector == 0x31 && fake->last.level);
	CHECK_EQ(t, set_msi(*fake, {0xfee01000, 1, 0x8031}, true, true), -err::EINVAL);
	CHECK_EQ(t, fake->delivered, 1u);
	delete fake;
}
