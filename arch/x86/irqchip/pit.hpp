// SPDX-License-Identifier: GPL-2.0
// The i8254 PIT as KVM models it (arch/x86/kvm/i8254.c): three counters at
// ports 0x40-0x43, the port 0x61 stub (channel 2's gate and output) with
// KVM_PIT_SPEAKER_DUMMY, modes 0-5, counter latch and read-back, and
// channel 0 as the source of IRQ0 with KVM's reinjection of missed ticks
// (KVM_REINJECT_CONTROL) and its minimum period. Intel 82C54 data sheet
// (order 231244): "Control word format", "Read-back command", "Modes".
//
// Time is the caller's: every call that needs it takes `now` in ns of one
// monotonic clock (the kernel's ktime_get(), so that count_load_time in
// KVM_GET/SET_PIT2 means what it means under KVM). Channel 0's ticks are
// driven by the integrator's timer: arm it for next_irq_ns(), call
// expire() when it fires, and pulse GSI 0 (assert, deassert) with the
// PIT's own irq source id whenever expire() or irq_acked() says so.
// No locks: the caller holds the VM's irqchip lock around every call.
#pragma once

#include "irq_message.hpp"

#include <axvm/result.hpp>
#include <uapi/axvm.h>

namespace axvm::x86 {

struct PitConfig {
	u32 flags;               // KVM_CREATE_PIT2's: AXVM_PIT_SPEAKER_DUMMY
	bool irqchip_in_kernel;  // KVM_CREATE_IRQCHIP was done: channel 0 ticks
	u64 min_period_ns;       // KVM's min_timer_period_us, in ns (200 us)
};

class Pit {
public:
	enum : u32 { kFrequencyHz = 1193181 }; // KVM_PIT_FREQ
	enum : u64 { kDefaultMinPeriodNs = 200 * 1000, kNoTimer = ~0ull };

	// KVM_CREATE_PIT2 at time @now: every channel in mode 0xff ("never
	// programmed") with count 0x10000, gates 1, 1, 0; reinjection on.
	Pit(const PitConfig &config, u64 now);

	// KVM_CREATE_IRQCHIP after the PIT: channel 0 starts ticking at its
	// next count load.
	void set_irqchip_in_kernel(bool in_kernel) { irqchip_in_kernel_ = in_kernel; }

	// Guest port I/O at 0x40-0x43 and, with AXVM_PIT_SPEAKER_DUMMY, 0x61;
	// false if the access is not the PIT's.
	bool port_write(u16 port, unsigned size, u32 value, u64 now);
	bool port_read(u16 port, unsigned size, u32 &value, u64 now);

	// When channel 0 expires next (absolute ns), or kNoTimer.
	u64 next_irq_ns() const { return armed_ ? expires_ : kNoTimer; }
	// The integrator's timer fired at @now (>= next_irq_ns()): counts the
	// periods that passed and re-arms. True: pulse GSI 0 now.
	bool expire(u64 now);
	// Ack notifier on GSI 0 (the guest ended IRQ0 at the PIC or IOAPIC).
	// With reinjection, true: pulse GSI 0 now for a tick still owed.
	bool irq_acked();
	// Mask notifier on GSI 0: unmasking forgets the ticks owed.
	void irq_mask_changed(bool masked);

	// KVM_REINJECT_CONTROL. With it (the default), every expiry is owed to
	// the guest and delivered one per ack; without, expiries that come
	// before the last tick was taken are lost in the controllers.
	void set_reinject(bool reinject);
	bool reinject() const { return reinject_; }
	u32 ticks_owed() const { return pending_; }

	// KVM_GET_PIT2 / KVM_SET_PIT2. As KVM, set takes every field (all are
	// used masked, range-checked or as a default), reloads each channel's
	// count at @now and stops channel 0 when HPET legacy mode turns on.
	// count_load_time is in the clock of `now`. (KVM_SET_PIT is set_state
	// with the current flags.)
	void get_state(axvm_pit_state2 &state) const;
	void set_state(const axvm_pit_state2 &state, u64 now);

private:
	u64 elapsed_ns(unsigned channel, u64 now) const;
	u32 count(unsigned channel, u64 now) const;
	bool out(unsigned channel, u64 now) const;
	void latch_count(unsigned channel, u64 now);
	void latch_status(unsigned channel, u64 now);
	void load_count(unsigned channel, u32 value, u64 now);
	void start_timer(u32 count, bool periodic, u64 now);
	void write_control(u8 value, u64 now);
	void write_count(unsigned channel, u8 value, u64 now);
	u8 read_data(unsigned channel, u64 now);
	void reset_reinject();

	axvm_pit_channel_state channels_[3] = {};
	u32 flags_ = 0;
	// Channel 0's timer, as KVM's hrtimer: period and expiry stay after
	// it stops (counts keep being computed from them).
	bool armed_ = false;
	bool periodic_ = false;
	u64 period_ = 0;
	u64 expires_ = 0;
	bool reinject_ = true;
	u32 pending_ = 0; // expiries not yet acked, the one in flight included
	bool irq_ack_ = true;
	bool speaker_;
	bool irqchip_in_kernel_;
	u64 min_period_;
};

// a * mul / div without overflow for a < 2^63, mul < 2^32, div <= 2^32
// (the kernel's mul_u64_u32_div, without 128-bit division).
constexpr u64 mul_u64_u32_div(u64 a, u32 mul, u32 div)
{
	return (a / div) * mul + (a % div) * mul / div;
}

} // namespace axvm::x86
