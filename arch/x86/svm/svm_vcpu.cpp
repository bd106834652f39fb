// SPDX-License-Identifier: GPL-2.0
// SvmVcpu lifecycle: VMCB set-up (AMD APM vol. 2, 15.5 "VMRUN Instruction"),
// binding to a CPU, one entry, and completing read exits.
#include "svm_vcpu.hpp"

#include "../x86.hpp"
#include "svm_cpu.hpp"

namespace axvm::svm {

Result<SvmVcpu *> SvmVcpu::create(Vm &vm, u32 id)
{
	SvmVcpu *v = new SvmVcpu(vm);
	if (!v)
		return fail(err::ENOMEM);
	v->vcpu_id = id;
	v->vmcb_ = static_cast<Vmcb *>(axvm_alloc_page(&v->vmcb_pa_));
	if (!v->vmcb_ || !v->init().ok()) {
		delete v;
		return fail(err::ENOMEM);
	}
	return v;
}

SvmVcpu::~SvmVcpu()
{
	if (vmcb_)
		axvm_free_page(vmcb_);
}

Status SvmVcpu::setup()
{
	init_vmcb();
	cpuid_.reset(true);
	return Status();
}

void SvmVcpu::init_vmcb()
{
	*vmcb_ = Vmcb{};
	asid_ = 0; // the VMCB lost it: take a fresh one before the next entry
	VmcbControl &c = vmcb_->control;
	// Everything that could reach host state or another guest exits: I/O
	// and MSRs through the all-ones maps, the SVM instructions themselves,
	// caches (INVD would drop the host's dirty lines), XCR0 (not switched),
	// the debug registers (not switched either; see exits.cpp) and the
	// performance counters (RDPMC would read the host's).
	c.intercept_misc1 = kInterceptIntr | kInterceptNmi | kInterceptSmi | kInterceptInit | kInterceptCpuid | kInterceptRdpmc |
			    kInterceptRsm | kInterceptInvd | kInterceptHlt | kInterceptInvlpga | kInterceptIoio |
			    kInterceptMsr | kInterceptShutdown;
	c.intercept_misc2 = kInterceptVmrun | kInterceptVmmcall | kInterceptVmload | kInterceptVmsave |
			    kInterceptStgi | kInterceptClgi | kInterceptSkinit | kInterceptRdtscp |
			    kInterceptWbinvd | kInterceptMonitor | kInterceptMwait | kInterceptMwaitCond |
			    kInterceptXsetbv | kInterceptRdpru;
	c.intercept_dr = 0xffffffff;
	// #DB and #AC as KVM intercepts them: a guest could otherwise make the
	// CPU deliver one endlessly (CVE-2015-5307, CVE-2015-8104); #MC so that
	// a host machine check reaches the host's handler (entry.c); #UD for
	// Intel's VMCALL (KVM_X86_QUIRK_FIX_HYPERCALL_INSN, exits.cpp).
	c.intercept_exceptions = 1u << x86::kVectorUd | 1u << x86::kVectorDb | 1u << x86::kVectorAc | 1u << x86::kVectorMc;
	c.intercept_cr = kInterceptCr4Write; // the guest must not turn on OSXSAVE or PKE
	c.iopm_base_pa = iopm_pa();
	c.msrpm_base_pa = msrpm_pa(false);
	c.tlb_control = kTlbFlushAll;
	c.int_control = kIntVIntrMasking;
	c.np_control = kNpEnable;
	c.n_cr3 = vm_.stage2()->root_phys();
	c.tsc_offset = tsc_offset_;
	tlb_flush_ = features().flush_by_asid ? kTlbFlushAsid : kTlbFlushAll;
	seen_generation_ = vm_.stage2()->generation();
	reset();
}

Status SvmVcpu::bind(unsigned int cpu)
{
	if (!host_save_pa(cpu)) {
		axvm_log(AXVM_LOG_ERR, "CPU %u has SVM off; cannot run a vCPU there", cpu);
		return fail(err::EIO);
	}
	cpu_ = static_cast<int>(cpu);
	asid_ = 0; // a fresh ASID on this CPU at the next entry (svm_cpu.hpp)
	return Status();
}

Status SvmVcpu::unbind()
{
	// SVM can flush an ASID only through VMRUN's TLB_CONTROL: what this
	// vCPU leaves here is flushed when the ASID is handed out again (see
	// README, "TLB tags").
	cpu_ = -1;
	return Status();
}

Result<ExitReason> SvmVcpu::run()
{
	const ExitReason first = TRY(before_entry());
	if (first.kind() != ExitKind::Nothing)
		return first;
	prepare_injection();
	const AsidGrant grant = asid_for(static_cast<unsigned>(cpu_), asid_, asid_generation_);
	if (grant.asid != asid_ || grant.generation != asid_generation_) {
		asid_ = grant.asid;
		asid_generation_ = grant.generation;
		vmcb_->control.asid = asid_;
		// Flush everything if either asks for it, else this ASID.
		if (grant.tlb_control == kTlbFlushAll || vmcb_->control.tlb_control == kTlbFlushNothing)
			vmcb_->control.tlb_control = grant.tlb_control;
	}
	vmcb_->control.msrpm_base_pa = msrpm_pa(msrs_all_intercepted());
	axvm_svm_entry entry = {
		.vmcb_pa = vmcb_pa_,
		.host_save_pa = host_save_pa(static_cast<unsigned>(cpu_)),
		.gprs = &gprs_,
		.vm_serial = vm_.serial(),
		.tlb_control = &vmcb_->control.tlb_control,
		.tlb_flush = tlb_flush_,
		.stage2_generation = stage2().generation_ptr(),
		.seen_generation = &seen_generation_,
		.kick = events_.kick_flag(),
		.vmcb = vmcb_,
		.guest_xcr0 = entry_xcr0(),
		.host_xcr0 = axvm_x86_host_xcr0(),
		.xcr0_seen = &xcr0_seen_,
		.guest_tsc_aux = msrs_.tsc_aux,
		.vcpu_id = vcpu_id,
	};
	const int entered = entry.host_save_pa ? axvm_svm_enter(&entry) : -err::EIO;
	note_exit_xcr0();
	irqchip_after_exit();
	if (entered == AXVM_SVM_KICKED)
		return ExitReason::nothing(); // decide again with the new interrupt
	if (entered) {
		axvm_log(AXVM_LOG_ERR, "VMRUN impossible on CPU %d: SVM was switched off under axvm", cpu_);
		return fail(err::EIO);
	}
	vmcb_->control.tlb_control = kTlbFlushNothing;
	after_exit_interrupts();
	return handle_exit();
}

} // namespace axvm::svm
