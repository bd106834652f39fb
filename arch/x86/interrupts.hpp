// SPDX-License-Identifier: GPL-2.0
// What interrupts wait for a vCPU, and when one may be delivered: the
// bookkeeping shared by the x86 backends, free of any hardware access so it
// can be tested alone. Intel SDM vol. 3A, 6.8.3 (interrupt shadow after
// STI/MOV SS) and 6.7.1 (NMI blocking until IRET); AMD APM vol. 2, 15.20-15.21.
#pragma once

#include <axvm/result.hpp>

namespace axvm::x86 {

// The guest's interrupt state at the moment of entry.
struct GuestInterruptState {
	bool if_flag;        // RFLAGS.IF
	bool shadow;         // one-instruction shadow after STI or MOV SS
	bool nmi_masked;     // an NMI handler has not returned (IRET) yet
	bool event_in_flight; // an event is already set up for injection
};

enum class Delivery : u8 {
	None,       // nothing to do
	Nmi,        // inject the pending NMI now
	Interrupt,  // inject next_interrupt() now
	OpenWindow, // ask the CPU to exit as soon as the guest can take one
};

class PendingEvents {
public:
	// KVM_INTERRUPT (vCPU thread): one vector waits at a time, -EEXIST
	// while it does, -EINVAL beyond 255.
	Status set_user_interrupt(u32 vector);
	// AXVM_QUEUE_INTERRUPT (any thread): like an IRR bit; vectors 32-255.
	Status queue(u32 vector);
	// What an interrupt controller answered (the in-kernel PIC's INTA, the
	// local APIC's vector, one taken back after an entry): any vector, as
	// the 8259's base is the guest's choice (8 for IRQ 0 under a BIOS).
	void queue_external(u8 vector);
	// KVM_NMI or AXVM_QUEUE_INTERRUPT with AXVM_QUEUE_NMI (any thread).
	void queue_nmi() { __atomic_store_n(&nmi_, true, __ATOMIC_SEQ_CST); }
	void set_nmi_pending(bool pending) { __atomic_store_n(&nmi_, pending, __ATOMIC_SEQ_CST); }

	bool nmi_pending() const { return __atomic_load_n(&nmi_, __ATOMIC_SEQ_CST); }
	bool user_interrupt_pending() const { return user_vector_ >= 0; }
	bool interrupt_pending() const;
	// The vector to inject next: the user's, else the highest queued; -1.
	int next_interrupt() const;
	// Called when next_interrupt() (or the NMI) has been injected.
	void take_interrupt(int vector);
	void take_nmi() { set_nmi_pending(false); }
	// INIT: nothing waits any more.
	void clear();

	// What to do before an entry, given the guest's state and whether
	// userspace asked for KVM_EXIT_IRQ_WINDOW_OPEN.
	Delivery decide(const GuestInterruptState &guest, bool window_requested) const;
	// KVM's ready_for_interrupt_injection: the guest can take one now
	// and nothing is queued by KVM_INTERRUPT.
	bool ready_for_user_interrupt(const GuestInterruptState &guest) const;

	// Set by queue()/queue_nmi(); the entry path clears it before it
	// decides and gives up entering if it finds it set again.
	void request_kick() { __atomic_store_n(&kick_, 1u, __ATOMIC_SEQ_CST); }
	u32 *kick_flag() { return &kick_; }
	void clear_kick() { __atomic_store_n(&kick_, 0u, __ATOMIC_SEQ_CST); }

private:
	u64 queued_[4] = {}; // bitmap of vectors, atomic
	int user_vector_ = -1;
	bool nmi_ = false;
	u32 kick_ = 0;
};

} // namespace axvm::x86
