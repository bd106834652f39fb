// SPDX-License-Identifier: GPL-2.0
// Interrupt bookkeeping (arch/x86/interrupts.hpp) and the Blocked edges of
// the vCPU state machine as the RUN loop takes them.
#include "check.hpp"
#include "fake_arch.hpp"

#include <arch/x86/interrupts.hpp>
#include <axvm/kernel_vcpu.hpp>
#include <uapi/axvm.h>

using namespace axvm;
using namespace axvm::x86;
using axvm::test::FakeVcpu;

extern "C" void axvm_test_interrupts_queueing(struct kunit *t)
{
	PendingEvents *p = new PendingEvents;
	CHECK(t, p);
	if (!p)
		return;
	CHECK(t, !p->interrupt_pending() && p->next_interrupt() == -1 && !p->nmi_pending());
	CHECK_EQ(t, p->set_user_interrupt(256).error(), -err::EINVAL);
	CHECK_EQ(t, p->set_user_interrupt(0x30).error(), 0);
	CHECK_EQ(t, p->set_user_interrupt(0x31).error(), -err::EEXIST); // one KVM_INTERRUPT at a time
	CHECK_EQ(t, p->queue(31).error(), -err::EINVAL);                 // an exception vector
	CHECK_EQ(t, p->queue(256).error(), -err::EINVAL);
	CHECK_EQ(t, p->queue(0x20).error(), 0);
	CHECK_EQ(t, p->queue(0xf0).error(), 0);
	CHECK_EQ(t, p->queue(0x20).error(), 0); // like an IRR bit: queued once
	CHECK_EQ(t, *p->kick_flag(), 1u);
	// The user's vector first, then the highest queued one.
	CHECK_EQ(t, p->next_interrupt(), 0x30);
	p->take_interrupt(0x30);
	CHECK(t, !p->user_interrupt_pending());
	CHECK_EQ(t, p->next_interrupt(), 0xf0);
	p->take_interrupt(0xf0);
	CHECK_EQ(t, p->next_interrupt(), 0x20);
	p->take_interrupt(0x20);
	CHECK_EQ(t, p->next_interrupt(), -1);
	p->queue_nmi();
	CHECK(t, p->nmi_pending());
	p->take_nmi();
	CHECK(t, !p->nmi_pending());
	delete p;
}

extern "C" void axvm_test_interrupts_delivery_decisions(struct kunit *t)
{
	PendingEvents p;
	const GuestInterruptState open{true, false, false, false};
	const GuestInterruptState cli{false, false, false, false};
	const GuestInterruptState shadow{true, true, false, false};
	const GuestInterruptState in_flight{true, false, false, true};
	const GuestInterruptState nmi_masked{true, false, true, false};

	CHECK(t, p.decide(open, false) == Delivery::None);
	CHECK(t, p.decide(open, true) == Delivery::OpenWindow); // KVM_EXIT_IRQ_WINDOW_OPEN comes via the window
	CHECK(t, p.ready_for_user_interrupt(open));
	CHECK(t, !p.ready_for_user_interrupt(cli));
	CHECK(t, !p.ready_for_user_interrupt(shadow)); // never in the STI/MOV SS shadow
	CHECK(t, !p.ready_for_user_interrupt(in_flight));

	CHECK_EQ(t, p.set_user_interrupt(0x21).error(), 0);
	CHECK(t, !p.ready_for_user_interrupt(open)); // one is already waiting
	CHECK(t, p.decide(open, false) == Delivery::Interrupt);
	CHECK(t, p.decide(cli, false) == Delivery::OpenWindow);
	CHECK(t, p.decide(shadow, false) == Delivery::OpenWindow);
	// An interrupted delivery being re-injected goes first; the new one waits.
	CHECK(t, p.decide(in_flight, false) == Delivery::OpenWindow);

	p.queue_nmi();
	CHECK(t, p.decide(open, false) == Delivery::Nmi);       // NMI before interrupts
	CHECK(t, p.decide(cli, false) == Delivery::Nmi);        // IF does not mask NMIs
	CHECK(t, p.decide(shadow, false) == Delivery::OpenWindow);
	CHECK(t, p.decide(nmi_masked, false) == Delivery::Interrupt); // handler running: not nested
	p.take_nmi();
	p.take_interrupt(0x21);
	CHECK(t, p.decide(in_flight, false) == Delivery::None);
}

extern "C" void axvm_test_interrupts_blocked_edges(struct kunit *t)
{
	FakeVcpu f;
	CHECK(t, f.ok());
	if (!f.ok())
		return;
	Vcpu &v = *f.vcpu;
	CHECK(t, v.setup().ok());
	axvm_preempt_disable();
	CHECK(t, v.bind().ok());
	axvm_preempt_enable();

	// A halt the guest can be woken from: Running -> Blocked -> Ready.
	f.arch->blockable = true;
	CHECK(t, v.run(true).ok());
	CHECK(t, v.state() == VcpuState::Blocked);
	CHECK(t, v.run().error() == -err::EINVAL && v.state() == VcpuState::Invalid); // Blocked cannot run
}

extern "C" void axvm_test_interrupts_blocked_in_run_loop(struct kunit *t)
{
	{
		// A halt with interrupts off, or without halt-in-kernel: Ready, exit HLT.
		FakeVcpu f;
		CHECK(t, f.ok() && f.vcpu->setup().ok());
		axvm_preempt_disable();
		CHECK(t, f.vcpu->bind().ok());
		CHECK(t, f.vcpu->run(true).ok() && f.vcpu->state() == VcpuState::Ready); // not blockable
		f.arch->blockable = true;
		CHECK(t, f.vcpu->run(false).ok() && f.vcpu->state() == VcpuState::Ready);
		CHECK(t, f.vcpu->run(true).ok() && f.vcpu->state() == VcpuState::Blocked);
		CHECK(t, f.vcpu->wake().ok() && f.vcpu->state() == VcpuState::Ready);
		axvm_preempt_enable();
		// A wake of a vCPU that is not Blocked is illegal: Invalid, as every edge.
		CHECK(t, f.vcpu->wake().error() == -err::EINVAL && f.vcpu->state() == VcpuState::Invalid);
	}
	axvm_run *run = static_cast<axvm_run *>(axvm_kzalloc(AXVM_RUN_PAGES * kPageSize));
	FakeVcpu f;
	const bool halt_in_kernel = true;
	KernelVcpu *loop = f.ok() && run && f.vcpu->setup().ok() ? new KernelVcpu(f.give_away(), *run, halt_in_kernel) : nullptr;
	CHECK(t, loop && loop->init());
	if (loop) {
		// Queueing for a vCPU that is not Blocked wakes nothing and moves
		// no state: it only queues.
		CHECK_EQ(t, loop->queue_interrupt(0x20, false).error(), 0);
		CHECK(t, f.vcpu->state() == VcpuState::Free && f.arch->queued == 1);
		// Inside RUN: halt -> Blocked; the queued event wakes it at once ->
		// Ready -> Running again; the next exit (an OUT) reaches userspace.
		f.arch->blockable = true;
		f.arch->script[0] = ExitReason::halt();
		f.arch->script[1] = ExitReason::io_write(0xe9, Width::Byte, 'z');
		f.arch->script_len = 2;
		CHECK_EQ(t, loop->run().error(), 0);
		CHECK_EQ(t, run->exit_reason, static_cast<u32>(AXVM_EXIT_IO));
		CHECK_EQ(t, f.arch->run_calls, 2);
		CHECK(t, f.vcpu->state() == VcpuState::Ready);
	}
	delete loop;
	axvm_kfree(run);
}
