// SPDX-License-Identifier: GPL-2.0
#include "pit.hpp"

namespace axvm::x86 {

namespace {

constexpr u16 kPitBase = 0x40;
constexpr u16 kPitPorts = 4;
constexpr u16 kSpeakerPort = 0x61;
constexpr u16 kSpeakerLength = 4; // KVM registers 0x61-0x64, answers 0x61
constexpr u32 kNsPerSec = 1000 * 1000 * 1000;

// Access modes of the control word, bits 5:4, and the byte a two-byte
// access reads or writes next.
enum : u8 { kLatch = 0, kLsb = 1, kMsb = 2, kWord0 = 3, kWord1 = 4 };

constexpr u32 kFullCount = 0x10000; // a count of 0 means 2^16

} // namespace

Pit::Pit(const PitConfig &config, u64 now)
	: speaker_(config.flags & AXVM_PIT_SPEAKER_DUMMY), irqchip_in_kernel_(config.irqchip_in_kernel),
	  min_period_(config.min_period_ns)
{
	for (unsigned i = 0; i < 3; i++) {
		channels_[i].mode = 0xff;
		channels_[i].gate = i != 2;
		load_count(i, 0, now);
	}
	reset_reinject();
}

void Pit::reset_reinject()
{
	pending_ = 0;
	irq_ack_ = true;
}

// Elapsed time of a channel's current count. Channel 0 counts from its
// timer (KVM: period minus the hrtimer's remaining time), the others from
// the load time.
u64 Pit::elapsed_ns(unsigned channel, u64 now) const
{
	i64 elapsed;
	if (channel == 0) {
		if (!period_)
			return 0;
		elapsed = static_cast<i64>(period_ - (expires_ - now));
	} else {
		elapsed = static_cast<i64>(now - static_cast<u64>(channels_[channel].count_load_time));
	}
	// A clock that went backwards (or a hostile load time) counts as 0.
	return elapsed < 0 ? 0 : static_cast<u64>(elapsed);
}

// The counter as KVM computes it. Modes 0, 1, 4 and 5 wrap through 0xffff
// after the terminal count; 2 and 3 reload; mode 3 counts by twos. Any
// other mode (0xff: never programmed) counts like mode 2. Only the low 16
// bits ever reach the guest.
u32 Pit::count(unsigned channel, u64 now) const
{
	const axvm_pit_channel_state &c = channels_[channel];
	const u64 d = mul_u64_u32_div(elapsed_ns(channel, now), kFrequencyHz, kNsPerSec);
	switch (c.mode) {
	case 0:
	case 1:
	case 4:
	case 5:
		return static_cast<u32>(c.count - d) & 0xffff;
	case 3:
		return static_cast<u32>(c.count - (2 * d) % c.count);
	default:
		return static_cast<u32>(c.count - d % c.count);
	}
}

// The OUT pin (82C54 "Modes"), as KVM computes it.
bool Pit::out(unsigned channel, u64 now) const
{
	const axvm_pit_channel_state &c = channels_[channel];
	const u64 d = mul_u64_u32_div(elapsed_ns(channel, now), kFrequencyHz, kNsPerSec);
	switch (c.mode) {
	case 1:
		return d < c.count;
	case 2:
		return d % c.count == 0 && d != 0;
	case 3:
		return d % c.count < (u64(c.count) + 1) / 2;
	case 4:
	case 5:
		return d == c.count;
	default: // 0
		return d >= c.count;
	}
}

void Pit::latch_count(unsigned channel, u64 now)
{
	axvm_pit_channel_state &c = channels_[channel];
	if (c.count_latched)
		return; // a latch holds until read
	c.latched_count = static_cast<u16>(count(channel, now));
	c.count_latched = c.rw_mode;
}

void Pit::latch_status(unsigned channel, u64 now)
{
	axvm_pit_channel_state &c = channels_[channel];
	if (c.status_latched)
		return;
	// NULL COUNT (bit 6) is not modelled: always 0, as KVM.
	c.status = static_cast<u8>((out(channel, now) << 7) | (c.rw_mode << 4) | (c.mode << 1) | c.bcd);
	c.status_latched = 1;
}

// Channel 0's timer (KVM's create_pit_timer). The first expiry is a full
// count away; a periodic guest gets at least min_period_ between ticks,
// so no guest makes the host's timer fire at 1 MHz.
void Pit::start_timer(u32 count, bool periodic, u64 now)
{
	if (!irqchip_in_kernel_ || (flags_ & AXVM_PIT_FLAGS_HPET_LEGACY))
		return;
	const u64 interval = mul_u64_u32_div(count, kNsPerSec, kFrequencyHz);
	period_ = interval;
	periodic_ = periodic;
	reset_reinject();
	if (periodic && period_ < min_period_)
		period_ = min_period_;
	expires_ = now + interval;
	armed_ = true;
}

// A new count takes effect at once (KVM does not wait for the next CLK
// or gate edge): channels 1 and 2 restart counting, channel 0 re-arms.
void Pit::load_count(unsigned channel, u32 value, u64 now)
{
	if (value == 0)
		value = kFullCount;
	axvm_pit_channel_state &c = channels_[channel];
	c.count = value;
	if (channel != 0) {
		c.count_load_time = static_cast<i64>(now);
		return;
	}
	switch (c.mode) {
	case 0:
	case 1:
	case 4:
		start_timer(value, false, now);
		break;
	case 2:
	case 3:
		start_timer(value, true, now);
		break;
	default: // 5 (needs a gate edge channel 0 never gets) or unprogrammed
		armed_ = false;
		break;
	}
}

bool Pit::expire(u64 now)
{
	if (!armed_ || now < expires_)
		return false;
	// Every period that passed is one expiry, as the hrtimer fires once
	// per period even when late.
	u64 expiries = 1;
	if (periodic_ && period_) {
		expiries += (now - expires_) / period_;
		expires_ += expiries * period_;
	} else {
		armed_ = false;
	}
	if (!reinject_)
		return true; // the controllers coalesce what the guest did not take
	pending_ = pending_ + expiries < pending_ ? ~0u : static_cast<u32>(pending_ + expiries);
	if (!irq_ack_)
		return false; // the last tick is not acked yet: owed
	irq_ack_ = false;
	return true;
}

bool Pit::irq_acked()
{
	if (!reinject_)
		return false;
	irq_ack_ = true;
	if (pending_ == 0)
		return false;
	// The acked tick is paid; another one owed goes out now.
	if (--pending_ == 0)
		return false;
	irq_ack_ = false;
	return true;
}

void Pit::irq_mask_changed(bool masked)
{
	if (reinject_ && !masked)
		reset_reinject();
}

void Pit::set_reinject(bool reinject)
{
	if (reinject == reinject_)
		return;
	// The count starts afresh when reinjection is turned (back) on.
	if (reinject)
		reset_reinject();
	reinject_ = reinject;
}

void Pit::write_control(u8 value, u64 now)
{
	const unsigned channel = value >> 6;
	if (channel == 3) {
		// Read-back: bit 5 clear latches the counts, bit 4 clear the
		// status of the channels selected by bits 1-3.
		for (unsigned i = 0; i < 3; i++) {
			if (!(value & (2u << i)))
				continue;
			if (!(value & 0x20))
				latch_count(i, now);
			if (!(value & 0x10))
				latch_status(i, now);
		}
		return;
	}
	axvm_pit_channel_state &c = channels_[channel];
	const u8 access = (value >> 4) & 3;
	if (access == kLatch) {
		latch_count(channel, now);
		return;
	}
	// A new mode does not reload or stop the counter (KVM): the next
	// count write does.
	c.rw_mode = access;
	c.read_state = access;
	c.write_state = access;
	c.mode = (value >> 1) & 7;
	if (c.mode > 5)
		c.mode -= 4; // 6 and 7 are modes 2 and 3
	c.bcd = value & 1; // stored; counting stays binary, as KVM
}

void Pit::write_count(unsigned channel, u8 value, u64 now)
{
	axvm_pit_channel_state &c = channels_[channel];
	switch (c.write_state) {
	case kMsb:
		load_count(channel, u32(value) << 8, now);
		break;
	case kWord0:
		c.write_latch = value;
		c.write_state = kWord1;
		break;
	case kWord1:
		load_count(channel, c.write_latch | (u32(value) << 8), now);
		c.write_state = kWord0;
		break;
	default: // kLsb, or anything a set_state left
		load_count(channel, value, now);
		break;
	}
}

// A latched status comes first, then a latched count, else the live count
// (82C54 "Read operations").
u8 Pit::read_data(unsigned channel, u64 now)
{
	axvm_pit_channel_state &c = channels_[channel];
	if (c.status_latched) {
		c.status_latched = 0;
		return c.status;
	}
	if (c.count_latched) {
		switch (c.count_latched) {
		case kMsb:
			c.count_latched = 0;
			return static_cast<u8>(c.latched_count >> 8);
		case kWord0:
			c.count_latched = kMsb;
			return static_cast<u8>(c.latched_count);
		default:
			c.count_latched = 0;
			return static_cast<u8>(c.latched_count);
		}
	}
	switch (c.read_state) {
	case kMsb:
		return static_cast<u8>(count(channel, now) >> 8);
	case kWord0:
		c.read_state = kWord1;
		return static_cast<u8>(count(channel, now));
	case kWord1:
		c.read_state = kWord0;
		return static_cast<u8>(count(channel, now) >> 8);
	default:
		return static_cast<u8>(count(channel, now));
	}
}

bool Pit::port_write(u16 port, unsigned size, u32 value, u64 now)
{
	if (io_range_contains(kPitBase, kPitPorts, port, size)) {
		const u8 byte = static_cast<u8>(value);
		if (port == kPitBase + 3)
			write_control(byte, now);
		else
			write_count(port - kPitBase, byte, now);
		return true;
	}
	if (!speaker_ || port != kSpeakerPort || !io_range_contains(kSpeakerPort, kSpeakerLength, port, size))
		return false;
	// Bit 1: speaker data (kept for KVM_GET_PIT2); bit 0: channel 2's
	// gate, whose rising edge restarts modes 1, 2, 3 and 5.
	if (value & 2)
		flags_ |= AXVM_PIT_FLAGS_SPEAKER_DATA_ON;
	else
		flags_ &= ~AXVM_PIT_FLAGS_SPEAKER_DATA_ON;
	axvm_pit_channel_state &c = channels_[2];
	const u8 gate = value & 1;
	if (c.gate < gate && (c.mode == 1 || c.mode == 2 || c.mode == 3 || c.mode == 5))
		c.count_load_time = static_cast<i64>(now);
	c.gate = gate;
	return true;
}

bool Pit::port_read(u16 port, unsigned size, u32 &value, u64 now)
{
	if (io_range_contains(kPitBase, kPitPorts, port, size)) {
		// The control port is write-only: KVM leaves the data as it was.
		value = port == kPitBase + 3 ? 0 : read_data(port - kPitBase, now);
		return true;
	}
	if (!speaker_ || port != kSpeakerPort || !io_range_contains(kSpeakerPort, kSpeakerLength, port, size))
		return false;
	// The refresh toggle (bit 4) flips about every 15 us: 2^14 ns.
	const u32 refresh = (now >> 14) & 1;
	value = (out(2, now) << 5) | (refresh << 4) | (!!(flags_ & AXVM_PIT_FLAGS_SPEAKER_DATA_ON) << 1) |
		channels_[2].gate; // unmasked, as KVM: only set_state can make it more than 1
	return true;
}

void Pit::get_state(axvm_pit_state2 &state) const
{
	state = {};
	for (unsigned i = 0; i < 3; i++)
		state.channels[i] = channels_[i];
	state.flags = flags_;
}

void Pit::set_state(const axvm_pit_state2 &state, u64 now)
{
	const bool hpet_start = !(flags_ & AXVM_PIT_FLAGS_HPET_LEGACY) && (state.flags & AXVM_PIT_FLAGS_HPET_LEGACY);
	for (unsigned i = 0; i < 3; i++)
		channels_[i] = state.channels[i];
	flags_ = state.flags;
	for (unsigned i = 0; i < 3; i++) {
		if (i == 0 && hpet_start) {
			// The HPET takes over IRQ0: stop channel 0 but keep its mode.
			const u8 mode = channels_[0].mode;
			channels_[0].mode = 0xff;
			load_count(0, channels_[0].count, now);
			channels_[0].mode = mode;
		} else {
			load_count(i, channels_[i].count, now);
		}
	}
}

} // namespace axvm::x86
