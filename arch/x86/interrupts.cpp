// SPDX-License-Identifier: GPL-2.0
#include "interrupts.hpp"

namespace axvm::x86 {

Status PendingEvents::set_user_interrupt(u32 vector)
{
	if (vector > 255)
		return fail(err::EINVAL);
	if (user_vector_ >= 0)
		return fail(err::EEXIST);
	user_vector_ = static_cast<int>(vector);
	return Status();
}

Status PendingEvents::queue(u32 vector)
{
	// 0-31 are exceptions, not interrupts a device can raise.
	if (vector < 32 || vector > 255)
		return fail(err::EINVAL);
	queue_external(static_cast<u8>(vector));
	return Status();
}

void PendingEvents::queue_external(u8 vector)
{
	__atomic_fetch_or(&queued_[vector / 64], 1ull << (vector % 64), __ATOMIC_SEQ_CST);
	request_kick();
}

void PendingEvents::clear()
{
	for (u64 &word : queued_)
		__atomic_store_n(&word, 0ull, __ATOMIC_SEQ_CST);
	user_vector_ = -1;
	set_nmi_pending(false);
}

bool PendingEvents::interrupt_pending() const { return next_interrupt() >= 0; }

int PendingEvents::next_interrupt() const
{
	if (user_vector_ >= 0)
		return user_vector_;
	// The highest vector first, as a local APIC prioritizes.
	for (int word = 3; word >= 0; word--) {
		const u64 bits = __atomic_load_n(&queued_[word], __ATOMIC_SEQ_CST);
		if (bits)
			return word * 64 + 63 - __builtin_clzll(bits);
	}
	return -1;
}

void PendingEvents::take_interrupt(int vector)
{
	if (vector == user_vector_) {
		user_vector_ = -1;
		return;
	}
	if (vector >= 0 && vector < 256)
		__atomic_fetch_and(&queued_[vector / 64], ~(1ull << (vector % 64)), __ATOMIC_SEQ_CST);
}

Delivery PendingEvents::decide(const GuestInterruptState &g, bool window_requested) const
{
	const bool irq = interrupt_pending();
	const bool nmi = nmi_pending();
	// One event per entry: with one already set up (a re-injection),
	// come back as soon as possible for the rest.
	if (g.event_in_flight)
		return irq || nmi || window_requested ? Delivery::OpenWindow : Delivery::None;
	if (nmi && !g.nmi_masked && !g.shadow)
		return Delivery::Nmi;
	if (irq && g.if_flag && !g.shadow)
		return Delivery::Interrupt;
	if (irq || window_requested)
		return Delivery::OpenWindow;
	return Delivery::None;
}

bool PendingEvents::ready_for_user_interrupt(const GuestInterruptState &g) const
{
	return g.if_flag && !g.shadow && !g.event_in_flight && !user_interrupt_pending();
}

} // namespace axvm::x86
