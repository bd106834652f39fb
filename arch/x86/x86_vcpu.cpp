// SPDX-License-Identifier: GPL-2.0
// X86Vcpu: the ioctls, completing what userspace answered, and the
// interrupt state KVM_RUN and KVM_GET/SET_VCPU_EVENTS report.
#include "x86_vcpu.hpp"

#include "emulate.hpp"
#include "x86_vm.hpp"

namespace axvm::x86 {

Status X86Vcpu::init()
{
	fpu_ = axvm_x86_fpu_create();
	if (!fpu_)
		return fail(err::ENOMEM);
	// A new vCPU's TSC joins the VM's (KVM's kvm_arch_vcpu_postcreate).
	set_tsc_offset(vm_arch().tsc_offset_for_write(0));
	return create_lapic();
}

// With the local APIC in userspace, its TPR is the VMM's: KVM loads
// run->cr8 into the vCPU on every KVM_RUN (-EINVAL above 15), after the
// registers of kvm_dirty_regs (so it wins over their CR8).
Status X86Vcpu::take_run_state(axvm_run &run)
{
	TRY(take_sync_regs(run));
	if (lapic_)
		return Status(); // the TPR is the in-kernel local APIC's
	const u64 tpr = __atomic_load_n(&run.cr8, __ATOMIC_RELAXED);
	if (tpr > 15) {
		axvm_log(AXVM_LOG_WARN, "RUN: run->cr8 0x%llx is not a TPR", tpr);
		return fail(err::EINVAL);
	}
	set_cr8(tpr);
	return Status();
}

// KVM's sync_regs(): the sets of kvm_dirty_regs, in the order REGS, SREGS,
// EVENTS, each cleared in kvm_dirty_regs once taken; a set refused as its
// ioctl would refuse it ends RUN with -EINVAL, the later ones untouched.
// The run page is userspace's, changing under us: both words and each set
// are copied once, and only the copies are checked and used.
Status X86Vcpu::take_sync_regs(axvm_run &run)
{
	const u64 valid = __atomic_load_n(&run.kvm_valid_regs, __ATOMIC_RELAXED);
	const u64 dirty = __atomic_load_n(&run.kvm_dirty_regs, __ATOMIC_RELAXED);
	sync_valid_ = 0;
	if ((valid | dirty) & ~static_cast<u64>(AXVM_SYNC_X86_VALID_FIELDS)) {
		axvm_log(AXVM_LOG_WARN, "RUN: kvm_valid_regs 0x%llx, kvm_dirty_regs 0x%llx: unknown register sets",
			 valid, dirty);
		return fail(err::EINVAL);
	}
	sync_valid_ = valid;
	// A vCPU waiting for INIT leaves the sets for the RUN that gets past
	// the wait (KVM returns before sync_regs() then).
	if (!dirty || mp_state_ == AXVM_MP_STATE_UNINITIALIZED)
		return Status();
	u64 left = dirty;
	Status s;
	if (dirty & AXVM_SYNC_X86_REGS) {
		axvm_regs r;
		copy_once(&r, &run.s.regs.regs, sizeof(r));
		set_regs(r);
		left &= ~static_cast<u64>(AXVM_SYNC_X86_REGS);
	}
	if (dirty & AXVM_SYNC_X86_SREGS) {
		axvm_sregs sr;
		copy_once(&sr, &run.s.regs.sregs, sizeof(sr));
		s = sregs_ioctl_set(sr);
		if (s.ok())
			left &= ~static_cast<u64>(AXVM_SYNC_X86_SREGS);
	}
	if (s.ok() && (dirty & AXVM_SYNC_X86_EVENTS)) {
		axvm_vcpu_events e;
		copy_once(&e, &run.s.regs.events, sizeof(e));
		s = set_events(e);
		if (s.ok())
			left &= ~static_cast<u64>(AXVM_SYNC_X86_EVENTS);
	}
	__atomic_store_n(&run.kvm_dirty_regs, left, __ATOMIC_RELAXED);
	// The refusal said why, as the ioctl's does; KVM answers -EINVAL.
	return s.ok() ? Status() : fail(err::EINVAL);
}

// KVM's store_regs(): the sets this RUN's kvm_valid_regs named.
void X86Vcpu::store_run_state(axvm_run &run)
{
	if (sync_valid_ & AXVM_SYNC_X86_REGS)
		get_regs(run.s.regs.regs);
	if (sync_valid_ & AXVM_SYNC_X86_SREGS)
		sregs_ioctl_get(run.s.regs.sregs);
	if (sync_valid_ & AXVM_SYNC_X86_EVENTS)
		get_events(run.s.regs.events);
	sync_valid_ = 0;
}

void X86Vcpu::get_regs(axvm_regs &r) const
{
	u64 *const out[16] = {&r.rax, &r.rcx, &r.rdx, &r.rbx, &r.rsp, &r.rbp, &r.rsi, &r.rdi,
			      &r.r8,  &r.r9,  &r.r10, &r.r11, &r.r12, &r.r13, &r.r14, &r.r15};
	r = axvm_regs{};
	for (u8 i = 0; i < 16; i++)
		*out[i] = gpr(i);
	r.rip = rip();
	r.rflags = rflags();
}

void X86Vcpu::set_regs(const axvm_regs &r)
{
	const u64 in[16] = {r.rax, r.rcx, r.rdx, r.rbx, r.rsp, r.rbp, r.rsi, r.rdi,
			    r.r8,  r.r9,  r.r10, r.r11, r.r12, r.r13, r.r14, r.r15};
	for (u8 i = 0; i < 16; i++)
		set_gpr(i, in[i]);
	set_rip_rflags(r.rip, r.rflags | kRflagsFixed);
}

void X86Vcpu::set_pending(Pending p, u64 next_rip)
{
	pending_ = p;
	pending_rip_ = segment_base(kCs) + rip();
	next_rip_ = next_rip;
}

// As KVM completes an exit (complete_fast_pio_in/out, complete_emulated_mmio,
// complete_hypercall_exit): unless userspace moved the vCPU elsewhere in
// the meantime (a new linear RIP), the instruction finishes now.
void X86Vcpu::complete_userspace_exit(u64 value, bool failed)
{
	const Pending p = pending_;
	pending_ = Pending::None;
	if (p == Pending::None || segment_base(kCs) + rip() != pending_rip_)
		return;
	switch (p) {
	case Pending::MsrRead:
	case Pending::MsrWrite:
		// KVM's complete_emulated_msr_access(): userspace's msr.error is
		// the #GP the guest gets; else a read's value goes to EDX:EAX.
		if (failed) {
			inject_exception(kVectorGp, true, 0);
			return;
		}
		if (p == Pending::MsrRead) {
			set_gpr(kRax, static_cast<u32>(value));
			set_gpr(kRdx, value >> 32);
		}
		break;
	case Pending::PortIn: {
		const u64 mask = io_size_ == 4 ? ~0ull : (1ull << (8 * io_size_)) - 1;
		const u64 rax = io_size_ == 4 ? 0 : gpr(kRax) & ~mask;
		set_gpr(kRax, rax | (value & mask));
		break;
	}
	case Pending::StringIn:
		complete_string_in(value);
		return; // it moves RIP itself (REP)
	case Pending::Mmio: {
		u64 regs[16];
		for (u8 i = 0; i < 16; i++)
			regs[i] = gpr(i);
		mmio_complete_load(mmio_, regs, value);
		for (u8 i = 0; i < 16; i++)
			set_gpr(i, regs[i]);
		break;
	}
	case Pending::Hypercall:
		set_gpr(kRax, value);
		break;
	case Pending::PortOut:
	case Pending::None:
		break;
	}
	advance_rip(next_rip_);
}

Status X86Vcpu::arch_ioctl(unsigned int cmd, void *arg, usize size)
{
	switch (cmd) {
	case AXVM_GET_REGS:
		get_regs(*static_cast<axvm_regs *>(arg));
		return Status();
	case AXVM_SET_REGS:
		set_regs(*static_cast<const axvm_regs *>(arg));
		return Status();
	case AXVM_GET_SREGS:
		sregs_ioctl_get(*static_cast<axvm_sregs *>(arg));
		return Status();
	case AXVM_SET_SREGS:
		return sregs_ioctl_set(*static_cast<const axvm_sregs *>(arg));
	case AXVM_SET_CPUID2:
		TRY(set_cpuid(*static_cast<const axvm_cpuid2 *>(arg), size));
		cpuid_set_ = true;
		return configure_lapic();
	case AXVM_GET_CPUID2:
		return get_cpuid(*static_cast<axvm_cpuid2 *>(arg), size);
	case AXVM_INTERRUPT:
		// With the PIC in the kernel there is nothing for userspace to
		// inject (KVM: -ENXIO, after the vector's range, -EINVAL); the
		// split irqchip's is the PIC's ExtINT.
		if (static_cast<const axvm_interrupt *>(arg)->irq > 255)
			return fail(err::EINVAL);
		if (lapic_ && irqchip().full())
			return fail(err::ENXIO);
		return events_.set_user_interrupt(static_cast<const axvm_interrupt *>(arg)->irq);
	case AXVM_NMI:
		events_.queue_nmi();
		return Status();
	case AXVM_SMI:
		smm_.smi_pending = true; // KVM's process_smi: taken at the next entry
		return Status();
	case AXVM_GET_VCPU_EVENTS:
		get_events(*static_cast<axvm_vcpu_events *>(arg));
		return Status();
	case AXVM_SET_VCPU_EVENTS:
		return set_events(*static_cast<const axvm_vcpu_events *>(arg));
	case AXVM_GET_MSRS:
	case AXVM_SET_MSRS:
		msrs_ioctl(*static_cast<axvm_msrs *>(arg), cmd == AXVM_SET_MSRS);
		return Status();
	case AXVM_X86_SETUP_MCE:
		return setup_mce(*static_cast<const u64 *>(arg));
	case AXVM_GET_DEBUGREGS:
		get_debugregs(*static_cast<axvm_debugregs *>(arg));
		return Status();
	case AXVM_SET_DEBUGREGS:
		return set_debugregs(*static_cast<const axvm_debugregs *>(arg));
	case AXVM_GET_MP_STATE:
		return get_mp_state(*static_cast<axvm_mp_state *>(arg));
	case AXVM_SET_MP_STATE:
		return set_mp_state(*static_cast<const axvm_mp_state *>(arg));
	case AXVM_GET_LAPIC:
	case AXVM_SET_LAPIC:
		return lapic_ioctl(cmd, arg);
	case AXVM_TPR_ACCESS_REPORTING:
		return tpr_access_reporting(*static_cast<const axvm_tpr_access_ctl *>(arg));
	case AXVM_SET_VAPIC_ADDR:
		return set_vapic_addr(static_cast<const axvm_vapic_addr *>(arg)->vapic_addr);
	case AXVM_GET_TSC_KHZ:
		*static_cast<u32 *>(arg) = axvm_x86_tsc_khz();
		return Status();
	case AXVM_HAS_DEVICE_ATTR:
	case AXVM_GET_DEVICE_ATTR:
	case AXVM_SET_DEVICE_ATTR:
		return device_attr(cmd, *static_cast<axvm_attr_value *>(arg));
	case AXVM_SET_TSC_KHZ:
		return set_tsc_khz(*static_cast<const u32 *>(arg));
	case AXVM_ENABLE_CAP: {
		// KVM's kvm_vcpu_ioctl_enable_cap(): flags must be 0, and of the
		// vCPU capabilities axvm has only the PV CPUID enforcement.
		const axvm_enable_cap &c = *static_cast<const axvm_enable_cap *>(arg);
		if (c.flags || c.cap != AXVM_CAP_ENFORCE_PV_FEATURE_CPUID)
			return fail(err::EINVAL);
		pv_enforce_ = c.args[0] != 0;
		return Status();
	}
	case AXVM_GET_FPU:
	case AXVM_SET_FPU:
	case AXVM_GET_XSAVE:
	case AXVM_SET_XSAVE:
	case AXVM_GET_XCRS:
	case AXVM_SET_XCRS:
		return fpu_ioctl(cmd, arg);
	default:
		return fail(err::ENOTTY);
	}
}

void X86Vcpu::get_debugregs(axvm_debugregs &d) const
{
	d = axvm_debugregs{};
	for (int i = 0; i < 4; i++)
		d.db[i] = dr_[i];
	d.dr6 = dr6_;
	d.dr7 = dr7_;
}

// KVM's checks: no flags, DR6 and DR7 within 32 bits.
Status X86Vcpu::set_debugregs(const axvm_debugregs &d)
{
	if (d.flags || (d.dr6 >> 32) || (d.dr7 >> 32)) {
		axvm_log(AXVM_LOG_WARN, "SET_DEBUGREGS: flags 0x%llx, DR6 0x%llx, DR7 0x%llx", d.flags, d.dr6, d.dr7);
		return fail(err::EINVAL);
	}
	for (int i = 0; i < 4; i++)
		dr_[i] = d.db[i];
	dr6_ = d.dr6;
	dr7_ = d.dr7;
	return Status();
}

// KVM's TPR patching for 32-bit Windows, which QEMU's kvmvapic asks for
// whatever the guest: TPR access exits (KVM_EXIT_TPR_ACCESS) that let QEMU
// patch the guest's TPR instructions, then a guest page (the VAPIC) that
// mirrors the TPR on every entry and exit. axvm offers neither: reporting
// goes off (QEMU sends that at every reset) and the VAPIC to 0 (also at
// every APIC reset), nothing else. Without reports QEMU never patches, so
// it never has a VAPIC to set; the guest's TPR accesses stay ordinary APIC
// accesses, which is all the optimization ever changed.
Status X86Vcpu::tpr_access_reporting(const axvm_tpr_access_ctl &c)
{
	if (c.flags) {
		axvm_log(AXVM_LOG_WARN, "TPR_ACCESS_REPORTING: flags 0x%x", c.flags);
		return fail(err::EINVAL);
	}
	if (c.enabled) {
		axvm_log(AXVM_LOG_WARN, "TPR_ACCESS_REPORTING: axvm reports no TPR accesses (only 0 is taken)");
		return fail(err::EOPNOTSUPP);
	}
	return Status();
}

Status X86Vcpu::set_vapic_addr(u64 gpa)
{
	if (!lapic_) { // as KVM: only with an in-kernel local APIC
		axvm_log(AXVM_LOG_WARN, "SET_VAPIC_ADDR: no in-kernel local APIC (KVM_CREATE_IRQCHIP)");
		return fail(err::EINVAL);
	}
	if (gpa) {
		axvm_log(AXVM_LOG_WARN, "SET_VAPIC_ADDR 0x%llx: axvm keeps no TPR shadow page (only 0 is taken)", gpa);
		return fail(err::EOPNOTSUPP);
	}
	return Status();
}

// Without TSC scaling only the host's rate (within KVM's 250 ppm) can be
// had; 0 means the host's.
Status X86Vcpu::set_tsc_khz(u32 khz)
{
	const u64 host = axvm_x86_tsc_khz();
	if (khz && (static_cast<u64>(khz) * 1000000 < host * (1000000 - 250) ||
		    static_cast<u64>(khz) * 1000000 > host * (1000000 + 250))) {
		axvm_log(AXVM_LOG_WARN, "SET_TSC_KHZ %u: the host's TSC runs at %llu kHz and axvm does not scale it",
			 khz, host);
		return fail(err::EINVAL);
	}
	return Status();
}

// The vCPU's one attribute, KVM_VCPU_TSC_OFFSET of KVM_VCPU_TSC_CTRL (KVM's
// kvm_arch_tsc_*_attr): the guest's TSC minus the host's. Setting it also
// makes it the VM's last TSC write, which vCPUs created later match.
Status X86Vcpu::device_attr(unsigned int cmd, axvm_attr_value &a)
{
	if (a.group != AXVM_VCPU_TSC_CTRL || a.attr != AXVM_VCPU_TSC_OFFSET)
		return fail(err::ENXIO);
	if (cmd == AXVM_GET_DEVICE_ATTR)
		a.value = tsc_offset();
	else if (cmd == AXVM_SET_DEVICE_ATTR)
		set_tsc_offset(vm_arch().tsc_offset_set(a.value));
	return Status();
}

X86Vm &X86Vcpu::vm_arch() const { return *static_cast<X86Vm *>(vm_.arch()); }

bool X86Vcpu::msrs_all_intercepted() const { return vm_arch().filters_pass_through(); }

u32 X86Vcpu::guest_phys_bits() const
{
	const CpuidResult max = cpuid_.lookup(0x80000000, 0);
	if (max.eax < 0x80000008)
		return 36;
	const u32 bits = cpuid_.lookup(0x80000008, 0).eax & 0xff;
	return bits >= 32 && bits <= 52 ? bits : 36;
}

bool X86Vcpu::has_rdtscp() const { return cpuid_.lookup(0x80000001, 0).edx & (1u << 27); }

u64 X86Vcpu::cr4_extra() const
{
	return cpuid_.cr4_feature_bits();
}

bool X86Vcpu::has_x2apic() const { return cpuid_.lookup(1, 0).ecx & (1u << 21); }

Status X86Vcpu::queue_interrupt(u32 vector, bool nmi)
{
	if (!nmi)
		return events_.queue(vector);
	events_.queue_nmi();
	events_.request_kick();
	return Status();
}

GuestInterruptState X86Vcpu::interrupt_state() const
{
	return GuestInterruptState{
		.if_flag = (rflags() & kRflagsIf) != 0,
		.shadow = interrupt_shadow() != 0,
		.nmi_masked = nmi_masked(),
		.event_in_flight = injected().type != Event::Type::None,
	};
}

void X86Vcpu::set_interrupt_window_request(bool wanted)
{
	// With the PIC in the kernel userspace has nothing to inject: KVM
	// ignores the request.
	window_requested_ = wanted && !(lapic_ && irqchip().full());
}

bool X86Vcpu::window_open_for_user() const
{
	return window_requested_ && ready_for_interrupt() && (!lapic_ || lapic_->accepts_pic_interrupts());
}

bool X86Vcpu::has_wake_event()
{
	if (lapic_)
		return irqchip_wake_event();
	return events_.interrupt_pending() || events_.nmi_pending();
}

void X86Vcpu::fill_run_state(axvm_run &run)
{
	run.if_flag = (rflags() & kRflagsIf) != 0;
	run.flags = smm_.active ? AXVM_RUN_X86_SMM : 0;
	if (lapic_) {
		fill_irqchip_run_state(run);
		return;
	}
	run.ready_for_interrupt_injection = ready_for_interrupt();
	run.cr8 = cr8();
	run.apic_base = apic_base_;
}

Result<ExitReason> X86Vcpu::before_entry()
{
	const ExitReason first = TRY(irqchip_before_entry());
	if (first.kind() != ExitKind::Nothing)
		return first;
	record_steal_time();
	if (shut_down_)
		return ExitReason::system_down(SystemDownKind::TripleFault);
	// As KVM's inject_pending_event: an event being delivered goes first
	// (the SMI waits for the next entry).
	if (smm_.smi_pending && !smm_.active && injected().type == Event::Type::None) {
		smm_.smi_pending = false;
		enter_smm();
	}
	return ExitReason::nothing();
}

// KVM_GET_VCPU_EVENTS: what is set up for injection, NMI state, shadow.
void X86Vcpu::get_events(axvm_vcpu_events &e) const
{
	e = axvm_vcpu_events{};
	const Event inj = injected();
	switch (inj.type) {
	case Event::Type::Exception:
		e.exception.injected = 1;
		e.exception.nr = inj.vector;
		e.exception.has_error_code = inj.has_error;
		e.exception.error_code = inj.error;
		break;
	case Event::Type::Nmi:
		e.nmi.injected = 1;
		break;
	case Event::Type::Interrupt:
	case Event::Type::SoftInterrupt:
		e.interrupt.injected = 1;
		e.interrupt.nr = inj.vector;
		e.interrupt.soft = inj.type == Event::Type::SoftInterrupt;
		break;
	case Event::Type::None:
		break;
	}
	e.interrupt.shadow = interrupt_shadow();
	e.nmi.pending = events_.nmi_pending();
	e.nmi.masked = nmi_masked();
	e.smi.smm = smm_.active;
	e.smi.pending = smm_.smi_pending;
	e.smi.smm_inside_nmi = smm_.inside_nmi;
	if (lapic_) {
		Irqchip::Guard g(irqchip());
		e.smi.latched_init = lapic_->init_pending();
	}
	e.flags = AXVM_VCPUEVENT_VALID_NMI_PENDING | AXVM_VCPUEVENT_VALID_SHADOW | AXVM_VCPUEVENT_VALID_SMM;
}

// KVM_SET_VCPU_EVENTS, with KVM's checks for what axvm supports.
Status X86Vcpu::set_events(const axvm_vcpu_events &e)
{
	if (!vcpu_events_valid(e))
		return fail(err::EINVAL);
	// KVM: INITs are latched in SMM, so a vCPU in (or about to enter) SMM
	// cannot be waiting for SIPI.
	const bool smm = e.flags & AXVM_VCPUEVENT_VALID_SMM;
	if (smm && (e.smi.smm || e.smi.pending) && mp_state_ == AXVM_MP_STATE_INIT_RECEIVED) {
		axvm_log(AXVM_LOG_WARN, "SET_VCPU_EVENTS: SMM with the vCPU in INIT_RECEIVED");
		return fail(err::EINVAL);
	}
	Event inj;
	if (e.exception.injected)
		inj = Event{Event::Type::Exception, e.exception.nr, e.exception.has_error_code != 0,
			    e.exception.error_code};
	else if (e.interrupt.injected)
		inj = Event{e.interrupt.soft ? Event::Type::SoftInterrupt : Event::Type::Interrupt, e.interrupt.nr,
			    false, 0};
	else if (e.nmi.injected)
		inj = Event{Event::Type::Nmi, kVectorNmi, false, 0};
	set_injected(inj);
	if (e.flags & AXVM_VCPUEVENT_VALID_NMI_PENDING)
		events_.set_nmi_pending(e.nmi.pending);
	set_nmi_masked(e.nmi.masked);
	if (e.flags & AXVM_VCPUEVENT_VALID_SHADOW)
		set_interrupt_shadow(e.interrupt.shadow);
	if (smm) {
		set_smm(e.smi.smm);
		smm_.smi_pending = e.smi.pending;
		if (e.smi.smm)
			smm_.inside_nmi = e.smi.smm_inside_nmi;
		if (lapic_) {
			Irqchip::Guard g(irqchip());
			lapic_->set_init_pending(e.smi.latched_init);
		}
	}
	return Status();
}

} // namespace axvm::x86
