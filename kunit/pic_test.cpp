// SPDX-License-Identifier: GPL-2.0
// The i8259 pair (arch/x86/irqchip/pic.hpp) driven the way guests drive it.
#include "check.hpp"
#include "irqchip_fakes.hpp"

#include <arch/x86/irqchip/pic.hpp>

using namespace axvm;
using namespace axvm::x86;
using axvm::test::FakeMachine;
using axvm::test::with_bench;

namespace {

struct PicBench {
	FakeMachine m;
	Pic pic{m};

	void out(u16 port, u8 value) { pic.port_write(port, 1, value); }
	u8 in(u16 port)
	{
		u32 value = 0xdead;
		pic.port_read(port, 1, value);
		return static_cast<u8>(value);
	}
	int irq(unsigned pin, bool level, int source = kUserspaceIrqSourceId)
	{
		auto r = pic.set_irq(pin, source, level);
		return r.ok() ? r.value() : -1000;
	}
	axvm_pic_state state(unsigned chip)
	{
		axvm_pic_state s = {};
		(void)pic.get_state(chip, s);
		return s;
	}
	// Linux's init_8259A(): vectors 0x30 and 0x38, cascade on IR2, 8086
	// mode, then everything but the cascade masked.
	void linux_init(bool auto_eoi = false)
	{
		out(0x20, 0x11);
		out(0x21, 0x30);
		out(0x21, 1u << 2);
		out(0x21, auto_eoi ? 0x03 : 0x01);
		out(0xa0, 0x11);
		out(0xa1, 0x38);
		out(0xa1, 2);
		out(0xa1, 0x01);
		out(0x21, 0xfb);
		out(0xa1, 0xff);
	}
};

} // namespace

extern "C" void axvm_test_pic_linux_init_and_eoi(struct kunit *t)
{
	with_bench<PicBench>(t, [t](PicBench *b) {
		b->linux_init();
		axvm_pic_state master = b->state(0);
		CHECK_EQ(t, master.irq_base, 0x30);
		CHECK_EQ(t, master.init_state, 0);
		CHECK_EQ(t, master.init4, 1);
		CHECK_EQ(t, master.imr, 0xfb);
		CHECK_EQ(t, b->in(0x21), 0xfb); // OCW1 reads back
		CHECK_EQ(t, b->state(1).irq_base, 0x38);

		// A masked IRQ0 is latched but reported as masked and not signalled.
		CHECK_EQ(t, b->irq(0, true), -1);
		CHECK(t, !b->pic.intr_asserted());
		const unsigned masks = b->m.mask_changes;
		b->out(0x21, 0xfa); // unmask IRQ0: the mask notifier hears it
		CHECK_EQ(t, b->m.mask_changes, masks + 1);
		CHECK_EQ(t, b->m.last_mask, 0u); // master pin 0, unmasked
		CHECK(t, b->pic.intr_asserted()); // the request latched while masked
		CHECK(t, b->pic.take_wakeup());
		CHECK(t, !b->pic.take_wakeup());

		// INTA: vector 0x30, IRQ0 in service, the edge request consumed.
		CHECK_EQ(t, b->pic.acknowledge(), 0x30);
		CHECK(t, !b->pic.intr_asserted());
		b->out(0x20, 0x0b); // OCW3: read ISR
		CHECK_EQ(t, b->in(0x20), 0x01);
		b->out(0x20, 0x0a); // OCW3: read IRR
		CHECK_EQ(t, b->in(0x20), 0x00);

		// The line is still high: no new edge, nothing new pending.
		CHECK_EQ(t, b->irq(0, true), 1);
		CHECK_EQ(t, b->in(0x20), 0x00);
		// A new edge while IRQ0 is in service waits in IRR: same priority.
		CHECK_EQ(t, b->irq(0, false), 1);
		CHECK_EQ(t, b->irq(0, true), 1);
		CHECK_EQ(t, b->irq(0, false), 1);
		CHECK_EQ(t, b->irq(0, true), 0); // already pending: coalesced
		CHECK_EQ(t, b->irq(0, false), 1);
		CHECK(t, !b->pic.intr_asserted());

		// Non-specific EOI: IRQ0 acked (master pin 0), the next one signalled.
		CHECK_EQ(t, b->m.acks, 0u);
		b->out(0x20, 0x20);
		CHECK_EQ(t, b->m.acks, 1u);
		CHECK_EQ(t, b->m.acked[0], 0u);
		CHECK(t, b->pic.intr_asserted());
		CHECK_EQ(t, b->pic.acknowledge(), 0x30);
		b->out(0x20, 0x60); // specific EOI of IRQ0
		CHECK_EQ(t, b->m.acks, 2u);
		b->out(0x20, 0x0b);
		CHECK_EQ(t, b->in(0x20), 0x00);

		// An EOI with nothing in service does nothing.
		b->out(0x20, 0x20);
		CHECK_EQ(t, b->m.acks, 2u);
	});
}

extern "C" void axvm_test_pic_rotation(struct kunit *t)
{
	with_bench<PicBench>(t, [t](PicBench *b) {
		b->linux_init();
		b->out(0x21, 0x00);
		// IRQ3 and IRQ5 pending: 3 first with fixed priorities.
		b->irq(3, true);
		b->irq(5, true);
		CHECK_EQ(t, b->pic.acknowledge(), 0x33);
		// IRQ5 has lower priority than IRQ3 in service: not signalled.
		CHECK(t, !b->pic.intr_asserted());
		// Rotate on non-specific EOI: IRQ3 becomes the lowest, IRQ4 the highest.
		b->out(0x20, 0xa0);
		CHECK_EQ(t, b->state(0).priority_add, 4);
		CHECK_EQ(t, b->pic.acknowledge(), 0x35);
		// IRQ1 now ranks below IRQ5 in service: it waits.
		b->irq(1, true);
		CHECK(t, !b->pic.intr_asserted());
		b->out(0x20, 0x65); // specific EOI of IRQ5
		CHECK(t, b->pic.intr_asserted());
		CHECK_EQ(t, b->pic.acknowledge(), 0x31);

		// Set priority: IRQ6 lowest, so IRQ7 the highest.
		b->out(0x20, 0x61);
		b->out(0x20, 0xc6);
		CHECK_EQ(t, b->state(0).priority_add, 7);
		b->irq(0, true);
		b->irq(7, true);
		CHECK_EQ(t, b->pic.acknowledge(), 0x37);
		// Rotate on specific EOI of IRQ7: IRQ0 becomes the highest.
		b->out(0x20, 0xe7);
		CHECK_EQ(t, b->state(0).priority_add, 0);
		CHECK_EQ(t, b->pic.acknowledge(), 0x30);
		b->out(0x20, 0x20);

		// Rotation in auto-EOI mode (OCW2 0x80 sets, 0x00 clears).
		b->linux_init(true);
		b->out(0x21, 0x00);
		b->out(0x20, 0x80);
		CHECK_EQ(t, b->state(0).rotate_on_auto_eoi, 1);
		b->irq(4, true);
		const unsigned acks = b->m.acks;
		CHECK_EQ(t, b->pic.acknowledge(), 0x34);
		CHECK_EQ(t, b->m.acks, acks + 1);      // auto-EOI acks at INTA
		CHECK_EQ(t, b->state(0).isr, 0);      // and leaves nothing in service
		CHECK_EQ(t, b->state(0).priority_add, 5);
		b->out(0x20, 0x00);
		CHECK_EQ(t, b->state(0).rotate_on_auto_eoi, 0);
	});
}

extern "C" void axvm_test_pic_elcr_level(struct kunit *t)
{
	with_bench<PicBench>(t, [t](PicBench *b) {
		b->linux_init();
		b->out(0x21, 0x00);
		b->out(0xa1, 0x00);
		// IRQ0-2 are edge-only on the master, IRQ8 and 13 on the slave.
		b->out(0x4d0, 0xff);
		b->out(0x4d1, 0xff);
		CHECK_EQ(t, b->in(0x4d0), 0xf8);
		CHECK_EQ(t, b->in(0x4d1), 0xde);
		b->out(0x4d0, 0x08); // only IRQ3 level
		b->out(0x4d1, 0x00);

		CHECK_EQ(t, b->irq(3, true), 1);
		CHECK_EQ(t, b->irq(3, true), 0); // still pending: coalesced
		CHECK_EQ(t, b->pic.acknowledge(), 0x33);
		b->out(0x20, 0x0a);
		CHECK_EQ(t, b->in(0x20), 0x08); // a level request stays in IRR at INTA
		b->out(0x20, 0x20);
		CHECK(t, b->pic.intr_asserted()); // still asserted: again after EOI
		CHECK_EQ(t, b->pic.acknowledge(), 0x33);
		b->out(0x20, 0x20);

		// The line is the OR of its sources.
		CHECK_EQ(t, b->irq(3, true, 5), 0);
		CHECK_EQ(t, b->irq(3, false, kUserspaceIrqSourceId), 0); // source 5 holds it
		CHECK(t, b->pic.intr_asserted());
		CHECK_EQ(t, b->irq(3, false, 5), 1);
		CHECK(t, !b->pic.intr_asserted());
		CHECK_EQ(t, b->in(0x20), 0x00);
		// A freed source no longer holds the line (it is seen at the next change).
		b->irq(3, true, 7);
		b->pic.clear_source(7);
		b->irq(3, false, 0);
		CHECK(t, !b->pic.intr_asserted());

		// Bad pins and sources are refused.
		CHECK_EQ(t, b->pic.set_irq(16, 0, true).error(), -err::EINVAL);
		CHECK_EQ(t, b->pic.set_irq(0, 64, true).error(), -err::EINVAL);
		CHECK_EQ(t, b->pic.set_irq(0, -1, true).error(), -err::EINVAL);

		// ICW1 drops edge requests (acking them when the LAPIC takes PIC
		// interrupts) but keeps asserted level ones.
		b->irq(4, true);
		b->irq(3, true);
		const unsigned acks = b->m.acks;
		b->out(0x20, 0x11);
		CHECK_EQ(t, b->state(0).irr, 0x08);
		CHECK_EQ(t, b->m.acks, acks + 1);
		CHECK_EQ(t, b->m.acked[acks % FakeMachine::kLog], 4u);
		CHECK_EQ(t, b->state(0).imr, 0);
		CHECK_EQ(t, b->state(0).init_state, 1);
	});
}

extern "C" void axvm_test_pic_cascade_poll_spurious(struct kunit *t)
{
	with_bench<PicBench>(t, [t](PicBench *b) {
		b->linux_init();
		b->out(0xa1, 0xfb); // unmask IRQ10
		CHECK_EQ(t, b->irq(10, true), 1);
		CHECK(t, b->pic.intr_asserted()); // through the master's IR2
		CHECK_EQ(t, b->pic.acknowledge(), 0x3a);
		CHECK_EQ(t, b->state(0).isr, 0x04);
		CHECK_EQ(t, b->state(1).isr, 0x04);
		b->out(0xa0, 0x20);
		b->out(0x20, 0x20);
		CHECK_EQ(t, b->m.acked[0], 110u); // slave pin 10
		CHECK_EQ(t, b->m.acked[1], 2u);   // master pin 2
		b->irq(10, false);

		// A level request that goes away before INTA: spurious IRQ7 / IRQ15.
		b->out(0x4d0, 0x08);
		b->out(0x21, 0xf3);
		b->irq(3, true);
		CHECK(t, b->pic.intr_asserted());
		b->irq(3, false);
		CHECK_EQ(t, b->pic.acknowledge(), 0x37);
		CHECK_EQ(t, b->state(0).isr, 0);
		b->out(0x4d1, 0x08); // IRQ11 level
		b->out(0xa1, 0xf3);
		b->irq(11, true);
		b->out(0xa1, 0xff); // masked on the slave after the cascade latched
		CHECK_EQ(t, b->pic.acknowledge(), 0x3f);
		b->out(0x20, 0x20);
		b->out(0xa1, 0xf3); // IRQ11 pulses the cascade again...
		b->irq(11, false);  // ... and goes away: the master's IR2 edge stays
		CHECK_EQ(t, b->pic.acknowledge(), 0x3f);
		b->out(0x20, 0x20);

		// Poll mode: the read is the INTA, the number comes back bare.
		b->out(0x21, 0x00);
		b->irq(5, true);
		b->out(0x20, 0x0c);
		CHECK_EQ(t, b->in(0x20), 5);
		CHECK_EQ(t, b->state(0).isr, 0);
		CHECK_EQ(t, b->state(0).poll, 0);
		b->out(0x20, 0x0c);
		CHECK_EQ(t, b->in(0x20), 0x07); // nothing pending
		// A slave poll also ends the master's cascade request.
		b->out(0xa1, 0x00);
		b->irq(9, true);
		CHECK_EQ(t, b->state(0).irr & 4, 4); // the cascade pulse latched on IR2
		b->out(0xa0, 0x0c);
		CHECK_EQ(t, b->in(0xa0), 1);
		CHECK_EQ(t, b->state(0).irr & 4, 0);
		CHECK_EQ(t, b->state(0).isr & 4, 0);

		// OCW3 special mask is kept (KVM does not act on it).
		b->out(0x20, 0x68);
		CHECK_EQ(t, b->state(0).special_mask, 1);

		// Only byte accesses count; other ports are not the PIC's.
		u32 value = 0x1234;
		CHECK(t, b->pic.port_read(0x20, 2, value) && value == 0);
		CHECK(t, b->pic.port_write(0x21, 1, 0x55) && b->state(0).imr == 0x55);
		CHECK(t, b->pic.port_write(0x20, 2, 0x11) && b->state(0).init_state == 0);
		CHECK(t, !b->pic.port_write(0x21, 2, 0));  // runs past the device
		CHECK(t, !b->pic.port_read(0x22, 1, value));
		CHECK(t, !b->pic.port_read(0x4d2, 1, value));
	});
}

extern "C" void axvm_test_pic_state(struct kunit *t)
{
	with_bench<PicBench>(t, [t](PicBench *b) {
		b->linux_init();
		b->out(0x21, 0x00);
		b->irq(6, true);
		axvm_pic_state s = {};
		CHECK(t, b->pic.get_state(0, s).ok());
		CHECK_EQ(t, s.irr, 0x40);
		CHECK_EQ(t, s.elcr_mask, 0xf8);
		CHECK_EQ(t, b->pic.get_state(2, s).error(), -err::EINVAL);
		CHECK_EQ(t, b->pic.set_state(2, s).error(), -err::EINVAL);

		// A round trip through a second PIC gives the same INTA.
		with_bench<PicBench>(t, [&](PicBench *c) {
			for (unsigned chip = 0; chip < 2; chip++) {
				CHECK(t, b->pic.get_state(chip, s).ok());
				CHECK(t, c->pic.set_state(chip, s).ok());
			}
			CHECK(t, c->pic.intr_asserted()); // re-evaluated on set
			CHECK_EQ(t, c->pic.acknowledge(), b->pic.acknowledge());

			// Hostile but harmless: KVM takes every byte; all are used masked.
			axvm_pic_state h;
			u8 *bytes = reinterpret_cast<u8 *>(&h);
			for (unsigned i = 0; i < sizeof(h); i++)
				bytes[i] = 0xff;
			h.init_state = 0x77;
			CHECK(t, c->pic.set_state(0, h).ok());
			CHECK(t, c->pic.set_state(1, h).ok());
			c->out(0x21, 0x00);          // no init step 0x77: ignored
			CHECK_EQ(t, c->state(0).imr, 0xff);
			c->out(0x4d0, 0xff);          // the ELCR mask came from userspace too
			CHECK_EQ(t, c->in(0x4d0), 0xff);
			(void)c->pic.acknowledge();
			c->out(0x20, 0x11);           // ICW1 recovers
			CHECK_EQ(t, c->state(0).init_state, 1);
		});
	});
}
