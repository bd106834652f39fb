// SPDX-License-Identifier: GPL-2.0
// VmxVcpu lifecycle: the VMCS (Intel SDM vol. 3C, ch. 24-26), loading it on
// the CPU the vCPU runs on, one entry, and completing read exits.
#include "vmx_vcpu.hpp"

#include "../x86.hpp"
#include "vmcs.h"
#include "vmx_insn.h"

namespace axvm::vmx {

namespace {
// The VMX preemption timer ends every entry after at most this many TSC
// ticks: no guest holds a CPU unbounded, even where a CPU (or Bochs, with
// guest IF=0) would not deliver the host's interrupts as exits.
constexpr u64 kTimeSliceTsc = 1ull << 22;
} // namespace

Result<VmxVcpu *> VmxVcpu::create(Vm &vm, u32 id)
{
	VmxVcpu *v = new VmxVcpu(vm);
	if (!v)
		return fail(err::ENOMEM);
	v->vcpu_id = id;
	v->vmcs_page_ = axvm_alloc_page(&v->vmcs_.pa);
	v->msrs_ = static_cast<axvm_vmx_msr_entry *>(axvm_alloc_page(&v->msrs_pa_));
	if (!v->vmcs_page_ || !v->msrs_ || !v->init().ok()) {
		delete v;
		return fail(err::ENOMEM);
	}
	v->vpid_ = alloc_vpid();
	return v;
}

VmxVcpu::~VmxVcpu()
{
	axvm_preempt_disable();
	clear(vmcs_); // before its memory goes: the CPU may still cache it
	axvm_preempt_enable();
	free_vpid(vpid_);
	if (vmcs_page_)
		axvm_free_page(vmcs_page_);
	if (msrs_)
		axvm_free_page(msrs_);
}

Status VmxVcpu::setup()
{
	*static_cast<u32 *>(vmcs_page_) = features().vmcs_revision;
	// The guest half of the MSR areas (loaded on entry, stored on exit).
	static const u32 switched[AXVM_VMX_NR_MSRS] = {0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, 0xc0000102};
	for (u32 i = 0; i < AXVM_VMX_NR_MSRS; i++)
		msrs_[i] = axvm_vmx_msr_entry{switched[i], 0, 0};
	cpuid_.reset(false);
	reset();
	return Status();
}

Status VmxVcpu::bind(unsigned int) { return activate(); }

// Makes the VMCS current on this CPU: the first time, VMCLEAR and the
// controls; on a CPU it was not loaded on, the host state of this CPU.
Status VmxVcpu::activate()
{
	if (!vmcs_ready_ && axvm_vmclear(vmcs_.pa)) { // a new VMCS starts clear (SDM 24.11.3)
		axvm_log(AXVM_LOG_ERR, "VMCLEAR refused a new VMCS");
		return fail(err::EIO);
	}
	const bool was_here = vmcs_.cpu == static_cast<int>(axvm_this_cpu());
	Status s = load(vmcs_);
	if (!s.ok())
		return s;
	if (!vmcs_ready_) {
		init_vmcs();
		vmcs_ready_ = true;
	}
	if (was_here)
		return Status(); // another vCPU's VMCS was current here meanwhile
	axvm_vmx_set_host_state(msrs_ + AXVM_VMX_NR_MSRS);
	// What this vCPU left in this CPU's TLBs when it last ran here may be
	// stale by now.
	flush_vpid_ = true;
	flush_ept_ = true;
	return Status();
}

Status VmxVcpu::unbind()
{
	clear(vmcs_); // on the CPU that has it; it goes there again by VMLAUNCH
	return Status();
}

Status VmxVcpu::check_runnable() const
{
	if (!features().unrestricted_guest && (!(g_.cr0 & x86::kCr0Pe) || !(g_.cr0 & x86::kCr0Pg))) {
		axvm_log(AXVM_LOG_WARN, "RUN: this CPU's VMX has no unrestricted guest; real-mode and unpaged "
					"guests cannot run");
		return fail(err::EOPNOTSUPP);
	}
	return Status();
}

Result<ExitReason> VmxVcpu::run()
{
	// VMX stays on under this run (see run_begins); gone after it, the
	// next run finds the CPU off and fails cleanly (load()).
	struct InRun {
		unsigned int cpu = axvm_this_cpu();
		InRun() { run_begins(cpu); }
		~InRun()
		{
			if (run_ends(cpu))
				axvm_log(AXVM_LOG_WARN, "CPU %u: VMX switched off after a vCPU's exit", cpu);
		}
	} in_run;
	const ExitReason first = TRY(before_entry());
	if (first.kind() != ExitKind::Nothing)
		return first;
	if (!is_current(vmcs_)) {
		Status s = activate();
		if (!s.ok())
			return Error{s.error()};
	}
	prepare_injection();
	if ((inject_info_ & (kIntrValid | kIntrTypeMask)) == (kIntrValid | kIntrNmi))
		nmi_known_unmasked_ = false; // the hardware tracks the blocking from here
	if (state_dirty_) {
		write_guest_state();
		state_dirty_ = false;
	} else {
		axvm_vmwrite(VMCS_GUEST_RIP, g_.rip);
		axvm_vmwrite(VMCS_GUEST_RSP, g_.rsp);
		axvm_vmwrite(VMCS_GUEST_RFLAGS, g_.rflags);
		axvm_vmwrite(VMCS_GUEST_INTERRUPTIBILITY, g_.interruptibility);
	}
	axvm_vmwrite(VMCS_PROC_CONTROLS, proc_);
	const bool all_msrs = msrs_all_intercepted();
	if (all_msrs != msr_bitmap_all_) {
		axvm_vmwrite(VMCS_MSR_BITMAP, msr_bitmap_pa(all_msrs));
		msr_bitmap_all_ = all_msrs;
	}
	// A real-mode guest takes exceptions without an error code; VM entry
	// refuses one there (SDM 26.2.1.3).
	axvm_vmwrite(VMCS_ENTRY_INTR_INFO, g_.cr0 & x86::kCr0Pe ? inject_info_ : inject_info_ & ~kIntrErrorValid);
	if (inject_info_ & kIntrValid) {
		axvm_vmwrite(VMCS_ENTRY_EXCEPTION_ERROR, inject_error_);
		axvm_vmwrite(VMCS_ENTRY_INSTRUCTION_LEN, inject_len_);
	}

	const Features &f = features();
	axvm_vmx_entry entry = {
		.gprs = &gprs_,
		.vm_serial = vm_.serial(),
		.cr2 = &cr2_,
		.launched = vmcs_.launched,
		.kick = events_.kick_flag(),
		.stage2_generation = stage2().generation_ptr(),
		.seen_generation = &seen_generation_,
		.eptp = eptp(),
		.vpid = vpid_,
		.flush_vpid = flush_vpid_,
		.flush_ept = flush_ept_,
		.host_cr3 = &host_cr3_,
		.host_cr4 = &host_cr4_,
		.host_msrs = msrs_ + AXVM_VMX_NR_MSRS,
		.preemption_timer = f.preemption_timer ? static_cast<u32>(kTimeSliceTsc >> f.timer_shift) : 0,
		.guest_xcr0 = entry_xcr0(),
		.host_xcr0 = axvm_x86_host_xcr0(),
		.xcr0_seen = &xcr0_seen_,
		.vcpu_id = vcpu_id,
	};
	const int entered = axvm_vmx_enter(&entry);
	note_exit_xcr0();
	irqchip_after_exit();
	if (entered == AXVM_VMX_KICKED)
		return ExitReason::nothing(); // decide again with the new interrupt
	flush_vpid_ = flush_ept_ = false;
	if (entered < 0) {
		axvm_log(AXVM_LOG_ERR, "VM entry impossible on CPU %d: VMX was switched off under axvm", vmcs_.cpu);
		return fail(err::EIO);
	}
	if (entered == AXVM_VMX_VMFAIL) {
		// The VMCS's controls or host state were refused: axvm's bug,
		// reported as KVM does (the VM-instruction error).
		const u64 error = axvm_vmread(VMCS_INSTRUCTION_ERROR);
		axvm_log(AXVM_LOG_ERR, "VM entry failed: VM-instruction error %llu", error);
		return ExitReason::fail_entry(error);
	}
	const u32 reason = static_cast<u32>(axvm_vmread(VMCS_EXIT_REASON));
	if (!(reason & kExitFailedEntry))
		vmcs_.launched = true;
	read_guest_state();
	exit_len_ = static_cast<u32>(axvm_vmread(VMCS_EXIT_INSTRUCTION_LEN));
	exit_qualification_ = axvm_vmread(VMCS_EXIT_QUALIFICATION);
	after_exit_interrupts(static_cast<u32>(axvm_vmread(VMCS_IDT_VECTORING_INFO)),
			      static_cast<u32>(axvm_vmread(VMCS_IDT_VECTORING_ERROR)), exit_len_);
	return handle_exit(reason);
}

// EPT pointer: write-back paging structures, 4-level walk (SDM 25.6.11).
u64 VmxVcpu::eptp() const { return stage2().root_phys() | 6 | (3u << 3); }

void VmxVcpu::set_gpr(u8 n, u64 value)
{
	if (n == x86::kRsp)
		g_.rsp = value;
	else
		gprs_.r[n & 15] = value;
}

} // namespace axvm::vmx
