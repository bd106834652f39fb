// SPDX-License-Identifier: GPL-2.0
// The i8254 (arch/x86/irqchip/pit.hpp): counts over time, latches and
// read-back, channel 0's ticks with reinjection and the period clamp, the
// speaker port, state.
#include "check.hpp"
#include "irqchip_fakes.hpp"

#include <arch/x86/irqchip/pit.hpp>

using namespace axvm;
using namespace axvm::x86;
using axvm::test::with_bench;

namespace {

constexpr u64 kT0 = 1000ull * 1000 * 1000; // 1 s on the caller's clock
constexpr u64 kUs = 1000;

struct PitBench {
	explicit PitBench(u32 flags = AXVM_PIT_SPEAKER_DUMMY, bool irqchip = true)
		: pit(PitConfig{flags, irqchip, Pit::kDefaultMinPeriodNs}, kT0)
	{
	}
	Pit pit;

	void out(u16 port, u8 value, u64 now) { pit.port_write(port, 1, value, now); }
	u8 in(u16 port, u64 now)
	{
		u32 value = 0xdead;
		pit.port_read(port, 1, value, now);
		return static_cast<u8>(value);
	}
	// Mode @mode on @channel with LSB-then-MSB access, count @count at @now.
	void program(unsigned channel, unsigned mode, u16 count, u64 now)
	{
		out(0x43, static_cast<u8>(channel << 6 | 0x30 | mode << 1), now);
		out(0x40 + channel, count & 0xff, now);
		out(0x40 + channel, count >> 8, now);
	}
	u16 latched(unsigned channel, u64 now)
	{
		out(0x43, static_cast<u8>(channel << 6), now); // counter latch
		const u8 lo = in(0x40 + channel, now + 12345); // a latch does not move
		return static_cast<u16>(lo | in(0x40 + channel, now + 23456) << 8);
	}
};

} // namespace

extern "C" void axvm_test_pit_counting(struct kunit *t)
{
	with_bench<PitBench>(t, [t](PitBench *b) {
		// Mode 2 (rate generator): 1193181 Hz, 1000 counts a period.
		b->program(2, 2, 1000, kT0);
		CHECK_EQ(t, b->latched(2, kT0), 1000);
		CHECK_EQ(t, b->latched(2, kT0 + 100 * kUs), 1000 - 119);
		CHECK_EQ(t, b->latched(2, kT0 + 1000 * kUs), 1000 - 193); // 1193 ticks: wrapped once
		// Mode 3 (square wave) counts down by two; OUT is high the first half.
		b->program(2, 3, 1000, kT0);
		CHECK_EQ(t, b->latched(2, kT0 + 100 * kUs), 1000 - 238);
		CHECK_EQ(t, b->in(0x61, kT0 + 100 * kUs) & 0x20, 0x20);
		CHECK_EQ(t, b->in(0x61, kT0 + 503 * kUs) & 0x20, 0);
		CHECK_EQ(t, b->in(0x61, kT0 + 838 * kUs) & 0x20, 0);
		CHECK_EQ(t, b->in(0x61, kT0 + 900 * kUs) & 0x20, 0x20); // the next period
		// Mode 0 (interrupt on terminal count): OUT rises at 0, the count wraps.
		b->program(1, 0, 500, kT0);
		CHECK_EQ(t, b->latched(1, kT0 + 419 * kUs), 1);
		CHECK_EQ(t, b->latched(1, kT0 + 838 * kUs), u16(500 - 999));
		// Mode 6 is mode 2, 7 is 3 (don't-care bit 3 of the mode field).
		b->out(0x43, 0x7c, kT0);
		axvm_pit_state2 s;
		b->pit.get_state(s);
		CHECK_EQ(t, s.channels[1].mode, 2);
		// A count of 0 is 0x10000.
		b->program(1, 2, 0, kT0);
		b->pit.get_state(s);
		CHECK_EQ(t, s.channels[1].count, 0x10000u);
		CHECK_EQ(t, b->latched(1, kT0), 0); // 0x10000 as 16 bits
		CHECK_EQ(t, b->latched(1, kT0 + 100 * kUs), 0x10000 - 119);
	});
}

extern "C" void axvm_test_pit_latch_and_read_back(struct kunit *t)
{
	with_bench<PitBench>(t, [t](PitBench *b) {
		b->program(2, 3, 1000, kT0);
		// The first latch holds until read; a second one is ignored.
		b->out(0x43, 0x80, kT0 + 100 * kUs);
		b->out(0x43, 0x80, kT0 + 200 * kUs);
		CHECK_EQ(t, b->in(0x42, kT0 + 300 * kUs), (1000 - 238) & 0xff);
		CHECK_EQ(t, b->in(0x42, kT0 + 300 * kUs), (1000 - 238) >> 8);
		// Read-back of count and status of channel 2: status first.
		b->out(0x43, 0xc8, kT0 + 100 * kUs);
		CHECK_EQ(t, b->in(0x42, kT0), 0x80 | 0x30 | 3 << 1); // OUT high, LSB/MSB, mode 3
		CHECK_EQ(t, b->in(0x42, kT0), (1000 - 238) & 0xff);
		CHECK_EQ(t, b->in(0x42, kT0), (1000 - 238) >> 8);
		// Status only (bit 5 set: no count latch), then the live count.
		b->out(0x43, 0xe8, kT0 + 600 * kUs);
		CHECK_EQ(t, b->in(0x42, kT0), 0x00 | 0x30 | 3 << 1); // OUT low in the second half
		CHECK_EQ(t, b->in(0x42, kT0 + 100 * kUs), (1000 - 238) & 0xff);
		// LSB-only and MSB-only access modes, and BCD kept in the status.
		b->out(0x43, 0x95, kT0); // channel 2, LSB, mode 2, BCD
		b->out(0x42, 0x50, kT0);
		axvm_pit_state2 s;
		b->pit.get_state(s);
		CHECK(t, s.channels[2].count == 0x50 && s.channels[2].bcd == 1 && s.channels[2].rw_mode == 1);
		CHECK_EQ(t, b->in(0x42, kT0 + 10 * kUs), 0x50 - 11);
		CHECK_EQ(t, b->in(0x42, kT0 + 10 * kUs), 0x50 - 11); // no toggling
		b->out(0x43, 0xa4, kT0); // channel 2, MSB, mode 2
		b->out(0x42, 0x12, kT0);
		b->pit.get_state(s);
		CHECK_EQ(t, s.channels[2].count, 0x1200u);
		CHECK_EQ(t, b->in(0x42, kT0), 0x12);
		b->out(0x43, 0xe8, kT0);
		// KVM's mode 2 OUT is high only at each reload, not before the first.
		CHECK_EQ(t, b->in(0x42, kT0), 0x00 | 0x20 | 2 << 1);
		// Word writes wait for the second byte.
		b->out(0x43, 0xb4, kT0);
		b->out(0x42, 0x34, kT0);
		b->pit.get_state(s);
		CHECK(t, s.channels[2].count == 0x1200 && s.channels[2].write_state == 4 && s.channels[2].write_latch == 0x34);
		b->out(0x42, 0x12, kT0);
		b->pit.get_state(s);
		CHECK_EQ(t, s.channels[2].count, 0x1234u);
		// The control port reads nothing; wider accesses and other ports.
		u32 value = 0xdead;
		CHECK(t, b->pit.port_read(0x43, 1, value, kT0) && value == 0);
		CHECK(t, b->pit.port_read(0x40, 4, value, kT0));
		CHECK(t, !b->pit.port_read(0x42, 4, value, kT0));
		CHECK(t, !b->pit.port_read(0x44, 1, value, kT0));
		CHECK(t, !b->pit.port_read(0x62, 1, value, kT0));
	});
}

extern "C" void axvm_test_pit_ticks_and_reinjection(struct kunit *t)
{
	with_bench<PitBench>(t, [t](PitBench *b) {
		CHECK_EQ(t, b->pit.next_irq_ns(), u64(Pit::kNoTimer)); // mode 0xff: never programmed
		// Linux's 100 Hz tick: mode 2, count 11932 = 10000159 ns.
		constexpr u64 kP = 10000159;
		b->program(0, 2, 11932, kT0);
		CHECK_EQ(t, b->pit.next_irq_ns(), kT0 + kP);
		CHECK(t, b->pit.reinject());
		CHECK(t, !b->pit.expire(kT0 + kP - 1)); // early: nothing
		CHECK(t, b->pit.expire(kT0 + kP));      // tick 1 goes out
		CHECK_EQ(t, b->pit.next_irq_ns(), kT0 + 2 * kP);
		// Channel 0's count runs from its timer.
		CHECK_EQ(t, b->latched(0, kT0 + kP + 100 * kUs), 11932 - 119);
		// The guest does not ack: tick 2 is owed, then a late timer owes 3 more.
		CHECK(t, !b->pit.expire(kT0 + 2 * kP));
		CHECK(t, !b->pit.expire(kT0 + 5 * kP + 5));
		CHECK_EQ(t, b->pit.ticks_owed(), 5u);
		CHECK_EQ(t, b->pit.next_irq_ns(), kT0 + 6 * kP);
		// One owed tick per ack until all five went out.
		unsigned sent = 1;
		for (int i = 0; i < 10; i++)
			sent += b->pit.irq_acked();
		CHECK_EQ(t, sent, 5u);
		CHECK_EQ(t, b->pit.ticks_owed(), 0u);
		// Unmasking GSI 0 forgets what is owed.
		CHECK(t, b->pit.expire(kT0 + 6 * kP));
		CHECK(t, !b->pit.expire(kT0 + 7 * kP));
		b->pit.irq_mask_changed(true);
		CHECK_EQ(t, b->pit.ticks_owed(), 2u);
		b->pit.irq_mask_changed(false);
		CHECK_EQ(t, b->pit.ticks_owed(), 0u);
		CHECK(t, b->pit.expire(kT0 + 8 * kP)); // and the next tick goes out at once

		// Without reinjection every expiry is a tick; acks change nothing.
		b->pit.set_reinject(false);
		CHECK(t, b->pit.expire(kT0 + 9 * kP));
		CHECK(t, b->pit.expire(kT0 + 12 * kP)); // three periods late: one tick
		CHECK_EQ(t, b->pit.next_irq_ns(), kT0 + 13 * kP);
		CHECK(t, !b->pit.irq_acked());
		b->pit.set_reinject(true); // afresh
		CHECK(t, b->pit.expire(kT0 + 13 * kP));
		CHECK_EQ(t, b->pit.ticks_owed(), 1u);

		// Reprogramming re-arms from now and starts the count afresh.
		b->program(0, 2, 11932, kT0 + 20 * kP + 3);
		CHECK_EQ(t, b->pit.ticks_owed(), 0u);
		CHECK_EQ(t, b->pit.next_irq_ns(), kT0 + 21 * kP + 3);
		// Mode 5 on channel 0 (no gate edge ever comes) stops the timer.
		b->program(0, 5, 100, kT0);
		CHECK_EQ(t, b->pit.next_irq_ns(), u64(Pit::kNoTimer));
	});
}

extern "C" void axvm_test_pit_period_clamp_and_gating(struct kunit *t)
{
	with_bench<PitBench>(t, [t](PitBench *b) {
		// A 712 kHz periodic timer: the first expiry is as asked, then 200 us.
		b->program(0, 2, 2, kT0);
		CHECK_EQ(t, b->pit.next_irq_ns(), kT0 + 1676);
		CHECK(t, b->pit.expire(kT0 + 1676));
		CHECK_EQ(t, b->pit.next_irq_ns(), kT0 + 1676 + 200 * kUs);
		// A one-shot is not clamped, and fires once.
		b->program(0, 0, 2, kT0);
		CHECK_EQ(t, b->pit.next_irq_ns(), kT0 + 1676);
		CHECK(t, b->pit.expire(kT0 + 5000));
		CHECK_EQ(t, b->pit.next_irq_ns(), u64(Pit::kNoTimer));
		CHECK(t, !b->pit.expire(kT0 + 10000));
		// Channel 0 keeps counting after its one shot, wrapping through 0xffff.
		CHECK_EQ(t, b->latched(0, kT0 + 1676 + 100 * kUs), u16(2 - 121));

		// HPET legacy mode takes IRQ0 away: the timer stops, the mode stays,
		// and loads do not start it until the flag goes.
		b->program(0, 2, 11932, kT0);
		axvm_pit_state2 s;
		b->pit.get_state(s);
		s.flags |= AXVM_PIT_FLAGS_HPET_LEGACY;
		b->pit.set_state(s, kT0);
		CHECK_EQ(t, b->pit.next_irq_ns(), u64(Pit::kNoTimer));
		b->pit.get_state(s);
		CHECK(t, s.channels[0].mode == 2 && (s.flags & AXVM_PIT_FLAGS_HPET_LEGACY));
		b->program(0, 2, 11932, kT0);
		CHECK_EQ(t, b->pit.next_irq_ns(), u64(Pit::kNoTimer));
		s.flags = 0;
		b->pit.set_state(s, kT0 + 7);
		CHECK_EQ(t, b->pit.next_irq_ns(), kT0 + 7 + 10000159);

		// Without the in-kernel irqchip channel 0 never ticks.
		PitBench *c = new PitBench(0, false);
		CHECK(t, c);
		if (c) {
			c->program(0, 2, 11932, kT0);
			CHECK_EQ(t, c->pit.next_irq_ns(), u64(Pit::kNoTimer));
			c->pit.set_irqchip_in_kernel(true);
			c->program(0, 2, 11932, kT0);
			CHECK_EQ(t, c->pit.next_irq_ns(), kT0 + 10000159);
			// No speaker stub without KVM_PIT_SPEAKER_DUMMY: 0x61 is userspace's.
			u32 value;
			CHECK(t, !c->pit.port_read(0x61, 1, value, kT0));
			CHECK(t, !c->pit.port_write(0x61, 1, 3, kT0));
			delete c;
		}

		// Port 0x61: gate 2 and speaker data; a rising gate restarts modes 1-3, 5.
		b->program(2, 2, 1000, kT0);
		b->out(0x61, 0x00, kT0);
		CHECK_EQ(t, b->in(0x61, kT0) & 0x03, 0);
		b->out(0x61, 0x03, kT0 + 100 * kUs);
		CHECK_EQ(t, b->in(0x61, kT0 + 100 * kUs) & 0x03, 0x03);
		b->pit.get_state(s);
		CHECK(t, s.flags & AXVM_PIT_FLAGS_SPEAKER_DATA_ON);
		CHECK_EQ(t, b->latched(2, kT0 + 100 * kUs), 1000); // restarted at the edge
		b->out(0x61, 0x01, kT0 + 200 * kUs); // gate stays high: no restart
		CHECK_EQ(t, b->latched(2, kT0 + 200 * kUs), 1000 - 119);
		b->pit.get_state(s);
		CHECK(t, !(s.flags & AXVM_PIT_FLAGS_SPEAKER_DATA_ON));
		// The refresh bit toggles every 2^14 ns.
		CHECK_EQ(t, b->in(0x61, 0) & 0x10, 0);
		CHECK_EQ(t, b->in(0x61, 1u << 14) & 0x10, 0x10);
		u32 value;
		CHECK(t, !b->pit.port_read(0x62, 1, value, kT0));
	});
}

extern "C" void axvm_test_pit_state(struct kunit *t)
{
	PitBench *b = new PitBench;
	PitBench *c = new PitBench;
	CHECK(t, b && c);
	if (!b || !c) {
		delete b;
		delete c;
		return;
	}
	b->program(0, 2, 11932, kT0);
	b->program(2, 3, 1000, kT0 + 5);
	b->out(0x43, 0x80, kT0 + 100 * kUs); // a pending latch travels too
	axvm_pit_state2 s;
	for (u32 &r : s.reserved)
		r = 0xabcd;
	b->pit.get_state(s);
	CHECK_EQ(t, s.reserved[8], 0u);
	CHECK_EQ(t, s.channels[2].count_load_time, i64(kT0 + 5));
	CHECK_EQ(t, s.channels[2].count_latched, 3);

	// Restored later: channels 1 and 2 count from the restore (KVM reloads
	// their counts), channel 0 re-arms from then with its full period.
	c->pit.set_state(s, kT0 + 1000 * kUs);
	axvm_pit_state2 s2;
	c->pit.get_state(s2);
	CHECK_EQ(t, s2.channels[2].count_load_time, i64(kT0 + 1000 * kUs));
	CHECK_EQ(t, s2.channels[0].count_load_time, s.channels[0].count_load_time);
	CHECK_EQ(t, c->in(0x42, kT0), (1000 - 238) & 0xff); // the latched count
	CHECK_EQ(t, c->in(0x42, kT0), (1000 - 238) >> 8);
	CHECK_EQ(t, c->latched(2, kT0 + 1100 * kUs), 1000 - 238);
	CHECK_EQ(t, c->pit.next_irq_ns(), kT0 + 1000 * kUs + 10000159);

	// Hostile: every byte 0xff. KVM takes it all; nothing here divides by
	// zero, shifts too far or indexes with it, and reads stay bytes.
	u8 *bytes = reinterpret_cast<u8 *>(&s);
	for (unsigned i = 0; i < sizeof(s); i++)
		bytes[i] = 0xff;
	c->pit.set_state(s, kT0);
	CHECK_EQ(t, c->pit.next_irq_ns(), u64(Pit::kNoTimer)); // mode 0xff; and HPET legacy
	CHECK_EQ(t, c->in(0x40, kT0), 0xff);                    // the latched status
	c->pit.get_state(s2);
	CHECK_EQ(t, s2.channels[0].count, 0xffffffffu);
	CHECK_EQ(t, s2.flags, 0xffffffffu);
	for (unsigned ch = 0; ch < 3; ch++)
		for (int i = 0; i < 4; i++)
			(void)c->in(0x40 + ch, kT0 + u64(i) * 1000 * kUs);
	(void)c->in(0x61, kT0);
	c->out(0x43, 0xfe, kT0);
	(void)c->in(0x41, kT0 + 3 * kUs);
	// A count of 0 from userspace loads as 0x10000, as from the guest.
	s.channels[1].count = 0;
	s.flags = 0;
	c->pit.set_state(s, kT0);
	c->pit.get_state(s2);
	CHECK_EQ(t, s2.channels[1].count, 0x10000u);
	delete c;
	delete b;
}
