// SPDX-License-Identifier: GPL-2.0
// X86Vcpu with an in-kernel local APIC (the VM has KVM_CREATE_IRQCHIP or
// the split irqchip): its timer, INIT and SIPI and the MP state, the
// interrupts it and the PIC hand the vCPU, halting in the kernel, and the
// guest's accesses to it (xAPIC MMIO, x2APIC MSRs, APIC base, TSC deadline)
// and to the in-kernel PIC, PIT and IOAPIC. The same on SVM and VMX; the
// rules are KVM's (lapic.c, x86.c: kvm_apic_accept_events, vcpu_block,
// inject_pending_event).
#include "x86_vcpu.hpp"

#include "emulate.hpp"
#include "x86_vm.hpp"

namespace axvm::x86 {

Irqchip &X86Vcpu::irqchip() const { return *vm_arch().irqchip(); }

Status X86Vcpu::create_lapic()
{
	Irqchip *chip = vm_arch().irqchip();
	if (!chip)
		return Status();
	lapic_ = new Lapic(vcpu_id, vcpu_id == vm_arch().boot_cpu_id());
	lapic_timer_ = axvm_timer_create(lapic_timer_fired, this);
	if (!lapic_ || !lapic_timer_)
		return fail(err::ENOMEM);
	TRY(configure_lapic());
	// KVM: a vCPU other than the boot CPU waits for INIT and SIPI.
	mp_state_ = vcpu_id == vm_arch().boot_cpu_id() ? AXVM_MP_STATE_RUNNABLE : AXVM_MP_STATE_UNINITIALIZED;
	return Status();
}

void X86Vcpu::destroy_lapic()
{
	axvm_timer_destroy(lapic_timer_); // no callback runs after this
	lapic_timer_ = nullptr;
	delete lapic_;
	lapic_ = nullptr;
}

// What the local APIC derives from the vCPU's CPUID and the VM (KVM's
// kvm_apic_set_version and friends), at creation and on KVM_SET_CPUID2.
Status X86Vcpu::configure_lapic()
{
	if (!lapic_)
		return Status();
	LapicFeatures f = lapic_->features();
	f.cpuid_set = cpuid_set_;
	f.cpuid_x2apic = has_x2apic();
	f.cpuid_tsc_deadline = cpuid_.lookup(1, 0).ecx & (1u << 24);
	f.maxphyaddr = static_cast<u8>(guest_phys_bits());
	f.ioapic_in_kernel = irqchip().full();
	f.x2apic_format = irqchip().x2apic_format();
	Irqchip::Guard g(irqchip());
	return lapic_->configure(f);
}

void X86Vcpu::lapic_timer_fired(void *arg)
{
	X86Vcpu *v = static_cast<X86Vcpu *>(arg);
	__atomic_store_n(&v->lapic_timer_fired_, 1u, __ATOMIC_RELEASE);
	v->request_kick();
	if (KernelVcpu *kv = v->vm_.vcpu(v->vcpu_id))
		kv->kick();
}

// The lock held: the timer's expiry if it is due, and the host timer set
// for the next one. A timer due already when armed (a count of 1 is, by
// the time the TMICT write's exit returns) expires here, as in KVM's
// start_sw_timer: a host timer set in the past only cost an interrupt
// and an exit per tick.
void X86Vcpu::run_lapic_timer(u64 now)
{
	const bool fired = __atomic_exchange_n(&lapic_timer_fired_, 0u, __ATOMIC_ACQ_REL);
	const u64 due = lapic_->next_expiry_ns(now);
	if (fired || (due && due <= now))
		lapic_->expire(now);
	const u64 next = lapic_->next_expiry_ns(now);
	if (next == timer_armed_)
		return;
	timer_armed_ = next;
	if (next)
		axvm_timer_start(lapic_timer_, next);
	else
		axvm_timer_cancel(lapic_timer_);
}

// The lock held: a latched INIT resets the vCPU, a SIPI starts an AP
// waiting for one (KVM's kvm_apic_accept_events); in SMM an INIT stays
// latched until RSM and a SIPI is dropped. An SMI waits for the entry.
void X86Vcpu::accept_apic_events()
{
	if (lapic_->take_smi())
		smm_.smi_pending = true;
	if (smm_.active) {
		lapic_->set_sipi_pending(false);
	} else if (lapic_->take_init()) {
		lapic_->reset(true);
		init_reset();
		mp_state_ = lapic_->apic_base() & apic::kBaseBsp ? AXVM_MP_STATE_RUNNABLE : AXVM_MP_STATE_INIT_RECEIVED;
	}
	if (!smm_.active && lapic_->take_sipi() && mp_state_ == AXVM_MP_STATE_INIT_RECEIVED) {
		const u8 vector = lapic_->sipi_vector();
		axvm_sregs s;
		get_sregs(s);
		s.cs.selector = static_cast<u16>(vector << 8);
		s.cs.base = static_cast<u64>(vector) << 12;
		(void)set_sregs(s);
		set_rip(0);
		mp_state_ = AXVM_MP_STATE_RUNNABLE;
	}
	if (lapic_->take_nmi())
		events_.queue_nmi();
}

// INIT (SDM vol. 3A, 9.1.1): the registers as at RESET, the MSRs kept;
// what was pending goes.
void X86Vcpu::init_reset()
{
	init_registers();
	set_injected(Event{});
	events_.clear();
	smm_.smi_pending = false; // SMBASE stays (KVM resets it at RESET only)
	pending_ = Pending::None;
	xcr0_ = 1;
	dr_[0] = dr_[1] = dr_[2] = dr_[3] = 0;
	dr6_ = kDr6Fixed;
	dr7_ = kDr7Fixed;
}

bool X86Vcpu::guest_can_wake(const GuestInterruptState &g)
{
	if (mp_state_ == AXVM_MP_STATE_UNINITIALIZED || mp_state_ == AXVM_MP_STATE_INIT_RECEIVED)
		return false; // only INIT and SIPI, handled before
	if (events_.nmi_pending() || (smm_.smi_pending && !smm_.active))
		return true;
	if (!g.if_flag)
		return false;
	return events_.interrupt_pending() || lapic_->highest_deliverable() >= 0 ||
	       (irqchip().pic_output() && lapic_->accepts_pic_interrupts());
}

Result<ExitReason> X86Vcpu::irqchip_before_entry()
{
	if (!lapic_)
		return ExitReason::nothing();
	Irqchip::Guard g(irqchip());
	run_lapic_timer(axvm_now_ns());
	// KVM_RUN on an UNINITIALIZED vCPU waits, even with INIT there
	// already: after_wake() takes it and RUN returns -EAGAIN.
	waited_uninitialized_ = mp_state_ == AXVM_MP_STATE_UNINITIALIZED;
	if (waited_uninitialized_)
		return ExitReason::halt();
	accept_apic_events();
	if (mp_state_ != AXVM_MP_STATE_RUNNABLE) {
		// KVM's vcpu_block: AP_RESET_HOLD waits as HALTED does.
		const bool halted = mp_state_ == AXVM_MP_STATE_HALTED || mp_state_ == AXVM_MP_STATE_AP_RESET_HOLD;
		if (!halted || !guest_can_wake(interrupt_state()))
			return ExitReason::halt(); // blocks: has_wake_event() says when to look again
		mp_state_ = AXVM_MP_STATE_RUNNABLE;
	}
	set_cr8(lapic_->get_cr8());
	tpr_entered_ = lapic_->get_cr8();
	return ExitReason::nothing();
}

void X86Vcpu::irqchip_after_exit()
{
	entered_ = true;
	if (!lapic_ || cr8() == tpr_entered_)
		return;
	Irqchip::Guard g(irqchip());
	lapic_->set_cr8(cr8()); // the guest wrote CR8 (SVM's V_TPR, VMX's CR8 exits)
}

// KVM's KVM_RUN on an UNINITIALIZED vCPU: it blocks until an event comes,
// takes INIT and SIPI, and returns -EAGAIN (userspace runs it again).
Status X86Vcpu::after_wake()
{
	if (!lapic_ || !waited_uninitialized_)
		return Status();
	waited_uninitialized_ = false;
	Irqchip::Guard g(irqchip());
	accept_apic_events();
	return fail(err::EAGAIN);
}

// Halted (or waiting for INIT/SIPI): whether to run again.
bool X86Vcpu::irqchip_wake_event()
{
	Irqchip::Guard g(irqchip());
	run_lapic_timer(axvm_now_ns());
	// KVM's kvm_apic_has_pending_init_or_sipi (a SIPI an UNINITIALIZED
	// vCPU then drops wakes it too).
	// (In SMM both stay latched.)
	if (!smm_.active &&
	    (lapic_->init_pending() ||
	     (lapic_->sipi_pending() &&
	      (mp_state_ == AXVM_MP_STATE_INIT_RECEIVED || mp_state_ == AXVM_MP_STATE_UNINITIALIZED))))
		return true;
	if (lapic_->take_nmi())
		events_.queue_nmi();
	if (lapic_->take_smi())
		smm_.smi_pending = true;
	return guest_can_wake(interrupt_state());
}

// What the local APIC and the PIC have for the guest goes into the pending
// events at the last moment, acknowledged at their source (IRR -> ISR, the
// INTA cycle), only when the guest can take it now; otherwise the window
// opens for it. (The backends inject from the pending events.)
Delivery X86Vcpu::decide_delivery()
{
	const GuestInterruptState g = interrupt_state();
	bool window = window_requested_;
	if (lapic_) {
		Irqchip &chip = irqchip();
		Irqchip::Guard guard(chip);
		// KVM's req_int_win: userspace's request (the split irqchip's
		// PIC) counts only while the local APIC takes the PIC's ExtINT.
		// Opened otherwise, the window fired at once with nothing it
		// could deliver, entry after entry (Linux masks LVT0 when it
		// switches to the IOAPIC, with QEMU's PIC still asking).
		window = window && lapic_->accepts_pic_interrupts();
		if (lapic_->take_nmi())
			events_.queue_nmi();
		const bool extint = chip.pic_output() && lapic_->accepts_pic_interrupts();
		const int vector = extint ? -1 : lapic_->highest_deliverable();
		if (extint || vector >= 0) {
			const bool nmi_first = events_.nmi_pending() && !g.nmi_masked;
			if (g.if_flag && !g.shadow && !g.event_in_flight && !nmi_first && !events_.interrupt_pending()) {
				const int v = extint ? chip.pic_acknowledge() : vector;
				if (!extint)
					lapic_->on_inject(static_cast<u8>(v));
				// (A PIC vector may be below 32: refusing it here
				// lost an interrupt the PIC had already put in service.)
				events_.queue_external(static_cast<u8>(v));
			} else {
				window = true;
			}
		}
	}
	return events_.decide(g, window);
}

// ---- The guest's accesses ----

// The lock held: what a register write asks beyond the APIC itself. A
// split irqchip's IOAPIC (userspace's) hears of EOIs through an exit.
ExitReason X86Vcpu::lapic_effects(const LapicWriteEffects &fx)
{
	Irqchip &chip = irqchip();
	if (fx.send_ipi)
		chip.send_ipi(*lapic_, fx.ipi);
	run_lapic_timer(axvm_now_ns());
	if (fx.eoi.vector < 0)
		return ExitReason::nothing();
	if (chip.full()) {
		chip.lapic_eoi(vcpu_id, fx.eoi);
		return ExitReason::nothing();
	}
	if (chip.eoi_exits_to_user(*lapic_, static_cast<u8>(fx.eoi.vector)))
		return ExitReason::ioapic_eoi(static_cast<u8>(fx.eoi.vector));
	return ExitReason::nothing();
}

Result<ExitReason> X86Vcpu::kernel_mmio(u64 gpa, const MmioInstruction &m, u64 next_rip, bool *handled)
{
	*handled = false;
	u64 regs[16];
	for (u8 i = 0; i < 16; i++)
		regs[i] = gpr(i);
	const unsigned size = bytes(m.width);
	if (lapic_ && gpa >= lapic_->mmio_base() && gpa - lapic_->mmio_base() < kPageSize) {
		const u32 offset = static_cast<u32>(gpa - lapic_->mmio_base());
		Irqchip::Guard g(irqchip());
		const u64 now = axvm_now_ns();
		if (m.is_write) {
			LapicWriteEffects fx;
			Status s = lapic_->mmio_write(offset, size, static_cast<u32>(mmio_store_value(m, regs)), now, fx);
			if (s.ok()) {
				*handled = true;
				advance_rip(next_rip);
				return lapic_effects(fx);
			}
		} else {
			u32 value = 0;
			if (lapic_->mmio_read(offset, size, value, now).ok()) {
				*handled = true;
				mmio_complete_load(m, regs, value);
				for (u8 i = 0; i < 16; i++)
					set_gpr(i, regs[i]);
				advance_rip(next_rip);
				return ExitReason::nothing();
			}
		}
		// Not the APIC's (disabled without the MMIO hole): on to the rest.
	}
	if (Irqchip *chip = vm_arch().irqchip()) {
		u64 value = m.is_write ? mmio_store_value(m, regs) : 0;
		if (chip->mmio(gpa, size, m.is_write, value)) {
			*handled = true;
			if (!m.is_write) {
				mmio_complete_load(m, regs, value);
				for (u8 i = 0; i < 16; i++)
					set_gpr(i, regs[i]);
			}
			advance_rip(next_rip);
		}
	}
	return ExitReason::nothing();
}

bool X86Vcpu::kernel_port_io(u16 port, u8 size, bool in, u64 next_rip)
{
	Irqchip *chip = vm_arch().irqchip(), *pit_only = vm_arch().pit_only();
	if (!chip && !pit_only)
		return false;
	const u64 mask = size == 4 ? 0xffffffffull : (1ull << (8 * size)) - 1;
	u32 value = static_cast<u32>(gpr(kRax) & mask);
	if (!(chip && chip->port_io(port, size, !in, value)) && !(pit_only && pit_only->port_io(port, size, !in, value)))
		return false;
	if (in)
		set_gpr(kRax, size == 4 ? value : (gpr(kRax) & ~mask) | (value & mask));
	advance_rip(next_rip);
	return true;
}

// x2APIC MSRs and TSC_DEADLINE (the lock taken here).
Status X86Vcpu::lapic_msr(u32 index, u64 &value, bool write, bool host, ExitReason *exit)
{
	Irqchip::Guard g(irqchip());
	const u64 now = axvm_now_ns();
	if (index == apic::kMsrTscDeadline) {
		if (!write) {
			value = lapic_->tsc_deadline();
			return Status();
		}
		lapic_->set_tsc_deadline(value, now, guest_tsc(), axvm_x86_tsc_khz());
		run_lapic_timer(now);
		return Status();
	}
	if (index == apic::kMsrApicBase) {
		if (!write) {
			value = lapic_->apic_base();
			return Status();
		}
		return lapic_->set_apic_base(value, host);
	}
	if (!write)
		return lapic_->msr_read(index, value, now);
	LapicWriteEffects fx;
	TRY(lapic_->msr_write(index, value, now, fx));
	const ExitReason e = lapic_effects(fx);
	if (exit)
		*exit = e;
	return Status();
}

bool X86Vcpu::is_lapic_msr(u32 index) const
{
	return lapic_ && (index == apic::kMsrApicBase || index == apic::kMsrTscDeadline ||
			  (index >= apic::kMsrX2apicFirst && index <= apic::kMsrX2apicLast));
}

// ---- Ioctls ----

Status X86Vcpu::lapic_ioctl(unsigned int cmd, void *arg)
{
	if (!lapic_) {
		axvm_log(AXVM_LOG_WARN, "vCPU ioctl 0x%x: no in-kernel local APIC (KVM_CREATE_IRQCHIP)", cmd);
		return fail(err::EINVAL);
	}
	Irqchip::Guard g(irqchip());
	const u64 now = axvm_now_ns();
	if (cmd == AXVM_GET_LAPIC)
		return lapic_->get_state(*static_cast<axvm_lapic_state *>(arg), now);
	TRY(lapic_->set_state(*static_cast<const axvm_lapic_state *>(arg), now));
	run_lapic_timer(now);
	return Status();
}

void X86Vcpu::sregs_ioctl_get(axvm_sregs &s)
{
	get_sregs(s);
	if (!lapic_)
		return;
	Irqchip::Guard g(irqchip());
	s.apic_base = lapic_->apic_base();
	s.cr8 = lapic_->get_cr8();
}

// KVM's __set_sregs_common: kvm_is_valid_sregs(), then the APIC base as a
// host write (-EINVAL where kvm_set_apic_base() refuses it: reserved bits,
// x2APIC without the enable bit or without x2APIC in CPUID), before any
// register changes; with the local APIC in the kernel CR8 is its TPR.
Status X86Vcpu::sregs_ioctl_set(const axvm_sregs &s)
{
	if (!sregs_valid(s, cr4_extra()))
		return fail(err::EINVAL);
	if (lapic_) {
		Irqchip::Guard g(irqchip());
		if (!lapic_->set_apic_base(s.apic_base, true).ok()) {
			axvm_log(AXVM_LOG_WARN, "SET_SREGS: APIC base 0x%llx refused", s.apic_base);
			return fail(err::EINVAL);
		}
		if (s.cr8 <= 15)
			lapic_->set_cr8(s.cr8);
	} else if (!set_apic_base(s.apic_base, true).ok()) {
		axvm_log(AXVM_LOG_WARN, "SET_SREGS: APIC base 0x%llx refused", s.apic_base);
		return fail(err::EINVAL);
	}
	return set_sregs(s);
}

Status X86Vcpu::get_mp_state(axvm_mp_state &s)
{
	if (!lapic_) {
		s.mp_state = AXVM_MP_STATE_RUNNABLE;
		return Status();
	}
	Irqchip::Guard g(irqchip());
	accept_apic_events();
	s.mp_state = mp_state_;
	return Status();
}

// KVM's kvm_arch_vcpu_ioctl_set_mpstate.
Status X86Vcpu::set_mp_state(const axvm_mp_state &s)
{
	const u32 state = s.mp_state;
	if ((state > AXVM_MP_STATE_SIPI_RECEIVED && state != AXVM_MP_STATE_AP_RESET_HOLD) ||
	    (!lapic_ && state != AXVM_MP_STATE_RUNNABLE)) {
		axvm_log(AXVM_LOG_WARN, "SET_MP_STATE %u: %s", state,
			 lapic_ ? "not a state axvm has" : "only RUNNABLE without an in-kernel irqchip");
		return fail(err::EINVAL);
	}
	// KVM: INIT is latched in SMM (and with an SMI pending), so the
	// vCPU cannot be waiting for SIPI.
	if ((smm_.active || smm_.smi_pending) &&
	    (state == AXVM_MP_STATE_INIT_RECEIVED || state == AXVM_MP_STATE_SIPI_RECEIVED)) {
		axvm_log(AXVM_LOG_WARN, "SET_MP_STATE %u: the vCPU is in SMM or has an SMI pending", state);
		return fail(err::EINVAL);
	}
	if (!lapic_)
		return Status();
	Irqchip::Guard g(irqchip());
	if (state == AXVM_MP_STATE_SIPI_RECEIVED) {
		mp_state_ = AXVM_MP_STATE_INIT_RECEIVED;
		lapic_->set_sipi_pending(true);
	} else {
		mp_state_ = state;
	}
	request_kick();
	return Status();
}

void X86Vcpu::fill_irqchip_run_state(axvm_run &run)
{
	Irqchip &chip = irqchip();
	Irqchip::Guard g(chip);
	run.cr8 = lapic_->get_cr8();
	run.apic_base = lapic_->apic_base();
	// KVM: always ready with the PIC in the kernel; with the split irqchip
	// only where the APIC takes the PIC's ExtINT and none waits.
	run.ready_for_interrupt_injection =
		chip.full() || (ready_for_interrupt() && lapic_->accepts_pic_interrupts());
}

} // namespace axvm::x86
