// SPDX-License-Identifier: GPL-2.0
// The IOAPIC (arch/x86/irqchip/ioapic.hpp): registers, edge and level
// pins, remote IRR and EOI, coalescing, the EOI storm guard, state.
#include "check.hpp"
#include "irqchip_fakes.hpp"

#include <arch/x86/irqchip/ioapic.hpp>

using namespace axvm;
using namespace axvm::x86;
using axvm::test::FakeMachine;
using axvm::test::with_bench;

namespace {

constexpr u64 kBase = 0xfec00000;
constexpr u64 kLevel = 1ull << 15;
constexpr u64 kMask = 1ull << 16;
constexpr u64 kRemoteIrr = 1ull << 14;

struct IoapicBench {
	FakeMachine m;
	Ioapic io{m, m};

	u32 reg(u32 sel)
	{
		u64 value = 0;
		io.mmio_write(kBase, 4, sel);
		io.mmio_read(kBase + 0x10, 4, value);
		return static_cast<u32>(value);
	}
	void set_reg(u32 sel, u32 value)
	{
		io.mmio_write(kBase, 4, sel);
		io.mmio_write(kBase + 0x10, 4, value);
	}
	// As Linux programs an entry: high dword (destination) first.
	void route(unsigned pin, u64 entry)
	{
		set_reg(0x11 + 2 * pin, static_cast<u32>(entry >> 32));
		set_reg(0x10 + 2 * pin, static_cast<u32>(entry));
	}
	u64 entry(unsigned pin) { return reg(0x10 + 2 * pin) | (u64(reg(0x11 + 2 * pin)) << 32); }
	int irq(unsigned pin, bool level, bool line_status = false, int source = kUserspaceIrqSourceId)
	{
		auto r = io.set_irq(pin, source, level, line_status);
		return r.ok() ? r.value() : -1000;
	}
};

} // namespace

extern "C" void axvm_test_ioapic_registers(struct kunit *t)
{
	with_bench<IoapicBench>(t, [t](IoapicBench *b) {
		CHECK_EQ(t, b->reg(0x01), 0x00170011u); // 24 entries, version 0x11
		b->set_reg(0x01, 0);
		CHECK_EQ(t, b->reg(0x01), 0x00170011u);
		b->set_reg(0x00, 0xfa000000); // ID: 4 bits
		CHECK_EQ(t, b->reg(0x00), 0x0a000000u);
		CHECK_EQ(t, b->reg(0x02), 0x0a000000u); // arbitration ID = ID, read-only
		b->set_reg(0x02, 0x05000000);
		CHECK_EQ(t, b->reg(0x00), 0x0a000000u);
		CHECK_EQ(t, b->reg(0x03), 0xffffffffu); // no such register
		CHECK_EQ(t, b->reg(0x40), 0xffffffffu); // past entry 23
		CHECK_EQ(t, b->entry(0), kMask);        // reset: masked

		// Remote IRR and delivery status are read-only.
		b->route(3, 0xff00000000000000ull | kLevel | kRemoteIrr | (1u << 12) | 0x0800 | 0x31);
		CHECK_EQ(t, b->entry(3), 0xff00000000000000ull | kLevel | 0x0800 | 0x31);

		// IOREGSEL is 8 bits; only 0x00 and 0x10 decode; sizes 1-8.
		u64 value = 0;
		CHECK(t, b->io.mmio_write(kBase, 4, 0x1234));
		CHECK(t, b->io.mmio_read(kBase, 4, value) && value == 0x34);
		CHECK(t, b->io.mmio_write(kBase, 1, 0x01));
		CHECK(t, b->io.mmio_read(kBase + 0x10, 8, value) && value == 0x00170011);
		CHECK(t, b->io.mmio_read(kBase + 0x10, 2, value) && value == 0x0011);
		CHECK(t, b->io.mmio_read(kBase + 0x10, 1, value) && value == 0x11);
		CHECK(t, b->io.mmio_read(kBase + 0x20, 4, value) && value == 0);
		CHECK(t, b->io.mmio_read(kBase + 0x40, 4, value) && value == 0);
		CHECK(t, !b->io.mmio_read(kBase + 0x100, 4, value));
		CHECK(t, !b->io.mmio_read(kBase - 4, 4, value));
		CHECK(t, !b->io.mmio_write(kBase + 0xfc, 8, 0)); // runs past the window

		// set_state may move base_address away: KVM's device stays at the
		// default window but stops answering.
		axvm_ioapic_state s;
		b->io.get_state(s);
		CHECK_EQ(t, s.base_address, kBase);
		CHECK_EQ(t, s.id, 0xau);
		s.base_address = 0xfed00000;
		b->io.set_state(s);
		CHECK(t, !b->io.mmio_read(kBase, 4, value));
		CHECK(t, !b->io.mmio_read(0xfed00000, 4, value));
	});
}

extern "C" void axvm_test_ioapic_level_eoi(struct kunit *t)
{
	with_bench<IoapicBench>(t, [t](IoapicBench *b) {
		// Pin 5: level, vector 0x45, logical destination 0x03, lowest priority.
		b->route(5, 0x0300000000000000ull | kLevel | 0x0800 | 0x0100 | 0x45);
		CHECK(t, b->io.take_scan_request());
		CHECK(t, !b->io.take_scan_request());
		CHECK_EQ(t, b->irq(5, true), 1);
		CHECK_EQ(t, b->m.delivered, 1u);
		const IrqMessage &m = b->m.last;
		CHECK(t, m.dest_id == 3 && m.vector == 0x45 && m.delivery_mode == kDeliveryLowest && m.logical &&
			     m.level && m.assert && m.shorthand == 0);
		CHECK(t, b->entry(5) & kRemoteIrr);
		// Waiting for the EOI: nothing more goes out.
		CHECK_EQ(t, b->irq(5, true), -1);
		CHECK_EQ(t, b->m.delivered, 1u);

		// EOI with the line still high: acked, then delivered again.
		b->io.eoi(0, 0x45, true);
		CHECK_EQ(t, b->m.acks, 1u);
		CHECK_EQ(t, b->m.acked[0], 205u);
		CHECK_EQ(t, b->m.delivered, 2u);
		CHECK(t, b->entry(5) & kRemoteIrr);
		// An EOI of another vector, or an edge EOI, leaves it waiting.
		b->io.eoi(0, 0x46, true);
		b->io.eoi(0, 0x45, false);
		CHECK(t, b->entry(5) & kRemoteIrr);
		CHECK_EQ(t, b->m.acks, 2u); // the edge EOI still runs the notifiers

		// The device quiets, then the EOI: no re-delivery.
		CHECK_EQ(t, b->irq(5, false), 1);
		b->io.eoi(0, 0x45, true);
		CHECK(t, !(b->entry(5) & kRemoteIrr));
		CHECK_EQ(t, b->m.delivered, 2u);

		// An ack notifier that lowers the line (irqfd resampling) runs before
		// the re-delivery check, as in KVM.
		struct Resampler {
			static void lower(void *io, unsigned, unsigned pin)
			{
				(void)static_cast<Ioapic *>(io)->set_irq(pin, kUserspaceIrqSourceId, false, false);
			}
		};
		CHECK_EQ(t, b->irq(5, true), 1);
		b->m.on_ack = Resampler::lower;
		b->m.ack_context = &b->io;
		b->io.eoi(0, 0x45, true);
		CHECK_EQ(t, b->m.delivered, 3u);
		CHECK(t, !(b->entry(5) & kRemoteIrr));
		b->m.on_ack = nullptr;

		// Linux's trick: switching a stuck pin to edge clears remote IRR.
		CHECK_EQ(t, b->irq(5, true), 1);
		CHECK(t, b->entry(5) & kRemoteIrr);
		b->route(5, 0x0300000000000000ull | 0x0800 | 0x45);
		CHECK(t, !(b->entry(5) & kRemoteIrr));
		// Back to level with the line high: delivered at once.
		b->route(5, 0x0300000000000000ull | kLevel | 0x0800 | 0x45);
		CHECK_EQ(t, b->m.delivered, 5u);
		CHECK(t, b->entry(5) & kRemoteIrr);

		// No APIC took it (-1): KVM still sets remote IRR.
		b->irq(5, false);
		b->io.eoi(0, 0x45, true);
		b->m.deliver_result = -1;
		CHECK_EQ(t, b->irq(5, true), -1);
		CHECK(t, b->entry(5) & kRemoteIrr);
		// All refused (0): remote IRR stays clear, the line can try again.
		b->irq(5, false);
		b->io.eoi(0, 0x45, true);
		b->m.deliver_result = 0;
		CHECK_EQ(t, b->irq(5, true), 0);
		CHECK(t, !(b->entry(5) & kRemoteIrr));
	});
}

extern "C" void axvm_test_ioapic_edge_mask_coalesce(struct kunit *t)
{
	with_bench<IoapicBench>(t, [t](IoapicBench *b) {
		// Masked at reset: latched, not delivered.
		CHECK_EQ(t, b->irq(4, true), -1);
		CHECK_EQ(t, b->m.delivered, 0u);
		CHECK_EQ(t, b->irq(4, false), 1);
		b->route(4, 0x0100000000000000ull | 0x34);
		CHECK_EQ(t, b->m.mask_changes, 1u);
		CHECK_EQ(t, b->m.last_mask, 204u); // pin 4 unmasked
		CHECK_EQ(t, b->m.delivered, 0u);   // an edge is not replayed on unmask

		b->m.deliver_result = 2; // two APICs took it
		CHECK_EQ(t, b->irq(4, true), 2);
		CHECK_EQ(t, b->m.last.level, false);
		// get_state hides the delivered edge's IRR bit...
		axvm_ioapic_state s;
		b->io.get_state(s);
		CHECK_EQ(t, s.irr, 0u);
		CHECK_EQ(t, b->irq(4, true), 0); // no new edge: coalesced
		CHECK_EQ(t, b->irq(4, true, false, 3), 0);
		CHECK_EQ(t, b->m.delivered, 1u);
		// ... but, as KVM, not after a coalesced assert: it is pending again.
		b->io.get_state(s);
		CHECK_EQ(t, s.irr, 1u << 4);
		CHECK_EQ(t, b->irq(4, false), 0); // source 3 still holds the line high
		CHECK_EQ(t, b->irq(4, false, false, 3), 1);
		CHECK_EQ(t, b->irq(4, true), 2);
		CHECK_EQ(t, b->io.set_irq(24, 0, true, false).error(), -err::EINVAL);
		CHECK_EQ(t, b->io.set_irq(0, 64, true, false).error(), -err::EINVAL);

		// The RTC (pin 8) with KVM_IRQ_LINE_STATUS: coalesced (0) until every
		// vCPU that took the last tick EOI'd it.
		b->route(8, 0x28);
		b->m.deliver_result = 2;
		b->m.accepting_vcpus = 0x5; // vCPUs 0 and 2
		CHECK_EQ(t, b->irq(8, true, true), 2);
		CHECK_EQ(t, b->irq(8, false, true), 1);
		CHECK_EQ(t, b->irq(8, true, true), 0);
		b->irq(8, false, true);
		b->io.eoi(0, 0x28, false);
		b->io.eoi(1, 0x28, false); // did not take it: changes nothing
		CHECK_EQ(t, b->irq(8, true, true), 0);
		b->irq(8, false, true);
		b->io.eoi(2, 0x29, false); // another vector: changes nothing
		CHECK_EQ(t, b->irq(8, true, true), 0);
		b->irq(8, false, true);
		b->io.eoi(2, 0x28, false);
		CHECK_EQ(t, b->irq(8, true, true), 2);
		b->irq(8, false, true);
		// KVM_IRQ_LINE (no status) is never held back.
		CHECK_EQ(t, b->irq(8, true, false), 2);
		b->irq(8, false, false);
		// Restored tracking (after KVM_SET_LAPIC) counts again.
		b->io.eoi(0, 0x28, false);
		b->io.eoi(2, 0x28, false);
		b->io.rtc_eoi_tracking_restore(1, true);
		CHECK_EQ(t, b->irq(8, true, true), 0);
		b->irq(8, false, true);
		b->io.rtc_eoi_tracking_restore(1, false);
		CHECK_EQ(t, b->irq(8, true, true), 2);
	});
}

extern "C" void axvm_test_ioapic_eoi_storm(struct kunit *t)
{
	with_bench<IoapicBench>(t, [t](IoapicBench *b) {
		b->route(9, kLevel | 0x59);
		b->irq(9, true);
		// A guest that EOIs without quieting its device: every EOI re-delivers,
		// but the 10000th in a row waits for the deferred injection.
		for (unsigned i = 1; i < Ioapic::kEoiStormCount; i++)
			b->io.eoi(0, 0x59, true);
		CHECK_EQ(t, b->m.delivered, u32(Ioapic::kEoiStormCount));
		CHECK(t, !b->io.take_deferred_eoi_request());
		b->io.eoi(0, 0x59, true);
		CHECK_EQ(t, b->m.delivered, u32(Ioapic::kEoiStormCount));
		CHECK(t, !(b->entry(9) & kRemoteIrr));
		CHECK(t, b->io.take_deferred_eoi_request());
		CHECK(t, !b->io.take_deferred_eoi_request());
		b->io.deferred_eoi_inject();
		CHECK_EQ(t, b->m.delivered, u32(Ioapic::kEoiStormCount) + 1);
		CHECK(t, b->entry(9) & kRemoteIrr);
		// The count starts over: the next EOIs re-deliver at once.
		b->io.eoi(0, 0x59, true);
		CHECK_EQ(t, b->m.delivered, u32(Ioapic::kEoiStormCount) + 2);
		// A line found low at EOI resets the count.
		b->irq(9, false);
		b->io.eoi(0, 0x59, true);
		b->io.deferred_eoi_inject(); // nothing asserted: nothing sent
		CHECK_EQ(t, b->m.delivered, u32(Ioapic::kEoiStormCount) + 2);
	});
}

extern "C" void axvm_test_ioapic_state(struct kunit *t)
{
	with_bench<IoapicBench>(t, [t](IoapicBench *b) {
		b->route(10, kLevel | 0x5a);
		b->route(11, 0x5b);
		b->irq(10, true);
		b->irq(11, true);
		axvm_ioapic_state s;
		b->io.get_state(s);
		CHECK_EQ(t, s.irr, 1u << 10); // the edge on 11 was delivered
		CHECK(t, s.redirtbl[10] & kRemoteIrr);
		CHECK_EQ(t, s.ioregsel, 0x10u + 2 * 11);

		// Into a fresh IOAPIC: remote IRR comes along, so pin 10 waits for
		// its EOI; after it, the restored request goes out again.
		with_bench<IoapicBench>(t, [&](IoapicBench *c) {
			c->io.set_state(s);
			CHECK(t, c->io.take_scan_request());
			CHECK_EQ(t, c->m.delivered, 0u);
			c->io.eoi(0, 0x5a, true);
			CHECK_EQ(t, c->m.delivered, 1u);
			axvm_ioapic_state s2;
			c->io.get_state(s2);
			CHECK_EQ(t, s2.irr, s.irr);
			CHECK_EQ(t, s2.redirtbl[10], s.redirtbl[10]);
			CHECK_EQ(t, s2.redirtbl[11], s.redirtbl[11]);
			// Pending requests in state.irr are delivered by set_state itself.
			s.redirtbl[10] &= ~kRemoteIrr;
			c->io.set_state(s);
			CHECK_EQ(t, c->m.delivered, 2u);

			// Hostile: every byte 0xff. Nothing indexes with these values;
			// registers read back masked; all pins masked, so nothing goes out.
			u8 *bytes = reinterpret_cast<u8 *>(&s);
			for (unsigned i = 0; i < sizeof(s); i++)
				bytes[i] = 0xff;
			s.base_address = kBase;
			const unsigned sent = c->m.delivered;
			c->io.set_state(s);
			CHECK_EQ(t, c->m.delivered, sent);
			u64 value = 0;
			CHECK(t, c->io.mmio_read(kBase + 0x10, 4, value) && value == 0xffffffff); // IOREGSEL 0xffffffff
			CHECK_EQ(t, c->reg(0x00), 0x0f000000u);
			c->io.eoi(0, 0xff, true); // every pin has vector 0xff
			CHECK_EQ(t, c->m.delivered, sent);
		});
	});
}
