// SPDX-License-Identifier: GPL-2.0
// The local APIC timer (Intel SDM vol. 3A, 11.5.4): one-shot and periodic
// counting through the divider, and TSC-deadline mode (11.5.4.1). Pure
// arithmetic on time the caller passes: the host's monotonic clock in
// nanoseconds and, for a deadline, the guest TSC and its rate. No host timer
// is touched here; the owner (Lapic) keeps TMICT and TDCR in its register
// page and says when they change.
//
// KVM's rules (arch/x86/kvm/lapic.c, Linux 6.1): the APIC bus runs at 1 GHz,
// so one count is `divide` ns; periodic periods are at least 200 us
// (min_timer_period_us) so a guest cannot make the host's timer storm; a
// periodic timer that fell behind restarts from now instead of catching up.
#pragma once

#include <axvm/types.hpp>

namespace axvm::x86 {

// LVTT[18:17] (SDM 11.5.1).
enum class TimerMode : u8 { OneShot = 0, Periodic = 1, TscDeadline = 2, Reserved = 3 };

// KVM's min_timer_period_us.
constexpr u64 kLapicMinPeriodNs = 200'000;
// Timer targets never go beyond this, so the integrator can hand them to
// the kernel's signed ktime_t.
constexpr u64 kLapicMaxTargetNs = 0x7fff'ffff'ffff'ffffull;

class LapicTimer {
public:
	// Back to reset: one-shot, divide by 2, nothing armed.
	void reset();

	TimerMode mode() const { return mode_; }
	// A new LVTT mode (already masked by what the CPUID offers). Moving
	// into or out of TSC-deadline mode stops the timer and forgets the
	// deadline and the period; returns true then, and the owner zeroes
	// TMICT as KVM does (apic_update_lvtt).
	bool set_mode(TimerMode mode);

	// TDCR changed (SDM 11.5.4): a running count goes on at the new
	// rate from where it is.
	void set_divide(u32 tdcr, u32 tmict, u64 now_ns);
	u32 divide() const { return divide_; }

	// A TMICT write in one-shot or periodic mode: count `tmict` from now;
	// 0 stops the timer.
	void start(u32 tmict, u64 now_ns);
	// KVM_SET_LAPIC (KVM's apic_update_lvtt, update_divide_count and
	// __start_apic_timer(APIC_TMCCT)): the mode and divider of the new
	// page, then a one-shot or periodic count goes on from `tmcct`: 0
	// means a full period for a periodic timer and "expired" for a
	// one-shot one, more than TMICT counts from TMICT. An armed TSC
	// deadline stays armed if the mode stays. Returns set_mode()'s answer.
	bool restore(TimerMode mode, u32 tdcr, u32 tmict, u32 tmcct, u64 now_ns);
	void stop();

	// TMCCT (SDM 11.5.4): 0 once a one-shot count is over, when stopped,
	// and always in TSC-deadline mode.
	u32 current_count(u32 tmict, u64 now_ns) const;

	// IA32_TSC_DEADLINE in TSC-deadline mode: 0 disarms; a deadline at or
	// before the guest's TSC is due at once. Without a TSC rate the value
	// is kept but nothing is armed, as in KVM.
	void set_deadline(u64 deadline, u64 now_ns, u64 guest_tsc, u32 tsc_khz);
	u64 deadline() const { return deadline_; }

	// When the timer next fires, never before now_ns; 0 if not armed.
	u64 next_expiry_ns(u64 now_ns) const;
	// Fires if due: a periodic timer re-arms, the others disarm (and a
	// fired deadline reads 0). Returns whether it fired.
	bool fire(u64 now_ns);
	bool armed() const { return armed_; }
	u64 period_ns() const { return period_ns_; }

private:
	u64 count_to_ns(u32 count) const { return u64(count) * divide_; }
	void clamp_period();
	bool arm_period(u32 tmict);

	TimerMode mode_ = TimerMode::OneShot;
	u32 divide_ = 2;
	bool armed_ = false;
	u64 period_ns_ = 0; // TMICT in ns (clamped when periodic); 0 when stopped
	u64 target_ns_ = 0; // the next expiry, while armed
	u64 deadline_ = 0;  // IA32_TSC_DEADLINE, in guest TSC cycles
};

// a * b / c, for c != 0, saturated to ~0 when it does not fit 64 bits;
// no 128-bit division (the kernel has no __udivti3).
u64 mul_div_u64(u64 a, u32 b, u32 c);

} // namespace axvm::x86
