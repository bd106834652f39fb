// SPDX-License-Identifier: GPL-2.0
#include "lapic_timer.hpp"

namespace axvm::x86 {

namespace {

// TDCR bits 0, 1 and 3 (SDM 11.5.4): 0 -> 2, 1 -> 4, 2 -> 8, 3 -> 16,
// 8 -> 32, 9 -> 64, 10 -> 128, 11 -> 1.
u32 divide_from_tdcr(u32 tdcr)
{
	const u32 code = (tdcr & 3) | ((tdcr & 8) >> 1);
	return 1u << ((code + 1) & 7);
}

u64 add_capped(u64 now_ns, u64 delta_ns)
{
	if (now_ns > kLapicMaxTargetNs || delta_ns > kLapicMaxTargetNs - now_ns)
		return kLapicMaxTargetNs;
	return now_ns + delta_ns;
}

} // namespace

u64 mul_div_u64(u64 a, u32 b, u32 c)
{
	// a * b as three 32-bit limbs, then long division by c a limb at a
	// time: each partial dividend is below c << 32, so it fits 64 bits.
	const u64 low = (a & 0xffff'ffff) * b;
	const u64 high = (a >> 32) * b;
	const u64 mid = (low >> 32) + (high & 0xffff'ffff);
	const u64 limb2 = (high >> 32) + (mid >> 32);
	const u64 limb1 = mid & 0xffff'ffff;
	const u64 limb0 = low & 0xffff'ffff;
	if (limb2 >= c)
		return ~0ull;
	u64 rest = limb2;
	const u64 x1 = rest << 32 | limb1;
	const u64 q1 = x1 / c;
	rest = x1 % c;
	const u64 q0 = (rest << 32 | limb0) / c;
	return q1 << 32 | q0;
}

void LapicTimer::reset()
{
	*this = LapicTimer();
}

void LapicTimer::clamp_period()
{
	if (mode_ == TimerMode::Periodic && period_ns_ && period_ns_ < kLapicMinPeriodNs)
		period_ns_ = kLapicMinPeriodNs;
}

bool LapicTimer::set_mode(TimerMode mode)
{
	if (mode == mode_)
		return false;
	const bool deadline_switch = (mode_ == TimerMode::TscDeadline) != (mode == TimerMode::TscDeadline);
	if (deadline_switch) {
		stop();
		deadline_ = 0;
	}
	mode_ = mode;
	// A running one-shot count that becomes periodic keeps its expiry and
	// repeats at the (clamped) period from then on.
	clamp_period();
	return deadline_switch;
}

void LapicTimer::set_divide(u32 tdcr, u32 tmict, u64 now_ns)
{
	const u32 old = divide_;
	divide_ = divide_from_tdcr(tdcr);
	if (divide_ == old || !period_ns_)
		return;
	period_ns_ = count_to_ns(tmict);
	clamp_period();
	// KVM rescales even a one-shot count that has already fired, and so
	// fires it again; only a running count is rescaled here.
	if (!armed_)
		return;
	const u64 left = target_ns_ > now_ns ? target_ns_ - now_ns : 0;
	target_ns_ = add_capped(now_ns, mul_div_u64(left, divide_, old));
}

void LapicTimer::start(u32 tmict, u64 now_ns)
{
	stop();
	if (arm_period(tmict))
		target_ns_ = add_capped(now_ns, period_ns_);
}

bool LapicTimer::restore(TimerMode mode, u32 tdcr, u32 tmict, u32 tmcct, u64 now_ns)
{
	const bool deadline_switch = set_mode(mode);
	divide_ = divide_from_tdcr(tdcr);
	if (mode_ == TimerMode::TscDeadline)
		return deadline_switch;
	stop();
	if (!arm_period(tmict))
		return deadline_switch;
	u64 first = count_to_ns(tmcct);
	if (!first)
		first = mode_ == TimerMode::Periodic ? period_ns_ : 0;
	else if (first > period_ns_)
		first = period_ns_;
	target_ns_ = add_capped(now_ns, first);
	return deadline_switch;
}

// KVM's set_target_expiration: a count runs in one-shot and periodic mode
// only, and not from 0. The caller sets the first expiry.
bool LapicTimer::arm_period(u32 tmict)
{
	if (mode_ != TimerMode::OneShot && mode_ != TimerMode::Periodic)
		return false;
	period_ns_ = count_to_ns(tmict);
	if (!period_ns_)
		return false;
	clamp_period();
	armed_ = true;
	return true;
}

void LapicTimer::stop()
{
	armed_ = false;
	target_ns_ = 0;
	period_ns_ = 0;
}

u32 LapicTimer::current_count(u32 tmict, u64 now_ns) const
{
	if (!armed_ || !tmict || !period_ns_ || mode_ == TimerMode::TscDeadline)
		return 0;
	u64 left = target_ns_ > now_ns ? target_ns_ - now_ns : 0;
	// A periodic count past its target has reloaded even when the vCPU
	// has not taken the expiry yet (or took it late and re-armed from
	// then): what is left of the current period, as under KVM, whose
	// timer callback advances the target at once. Else a host slower than
	// the period (200 us at least) would read 0 at every TMCCT.
	if (!left && mode_ == TimerMode::Periodic)
		left = period_ns_ - (now_ns - target_ns_) % period_ns_;
	return u32((left % period_ns_) / divide_);
}

void LapicTimer::set_deadline(u64 deadline, u64 now_ns, u64 guest_tsc, u32 tsc_khz)
{
	if (mode_ != TimerMode::TscDeadline)
		return;
	stop();
	deadline_ = deadline;
	if (!deadline || !tsc_khz)
		return;
	// cycles * 10^6 / kHz = ns (KVM's start_sw_tscdeadline).
	const u64 ns = deadline > guest_tsc ? mul_div_u64(deadline - guest_tsc, 1'000'000, tsc_khz) : 0;
	target_ns_ = add_capped(now_ns, ns);
	armed_ = true;
}

u64 LapicTimer::next_expiry_ns(u64 now_ns) const
{
	if (!armed_)
		return 0;
	const u64 at = target_ns_ > now_ns ? target_ns_ : now_ns;
	return at ? at : 1;
}

bool LapicTimer::fire(u64 now_ns)
{
	if (!armed_ || now_ns < target_ns_)
		return false;
	if (mode_ == TimerMode::Periodic) {
		// KVM's advance_periodic_target_expiration: one interrupt for any
		// number of missed periods.
		target_ns_ = add_capped(target_ns_, period_ns_);
		if (target_ns_ < now_ns)
			target_ns_ = now_ns;
		return true;
	}
	armed_ = false;
	target_ns_ = 0;
	if (mode_ == TimerMode::TscDeadline)
		deadline_ = 0;
	return true;
}

} // namespace axvm::x86
