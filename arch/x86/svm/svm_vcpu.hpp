// SPDX-License-Identifier: GPL-2.0
// One vCPU on AMD SVM: its VMCB, guest registers and FPU state, and the
// translation of #VMEXITs into ExitReasons.
#pragma once

#include "../guest_walk.hpp"
#include "../x86_vcpu.hpp"
#include "entry.h"
#include "vmcb.hpp"

namespace axvm::svm {

class SvmVcpu final : public x86::X86Vcpu {
public:
	// Allocates everything (process context); setup() only initializes.
	static Result<SvmVcpu *> create(Vm &vm);
	~SvmVcpu() override;

	Status setup() override;
	Status bind(unsigned int cpu) override;
	Status unbind() override;
	Result<ExitReason> run() override;
	void fill_run_state(axvm_run &run) const override;
	bool can_block() const override;

private:
	explicit SvmVcpu(Vm &vm) : X86Vcpu(vm) {}

	// regs.cpp: the register ioctls' halves on the VMCB.
	u64 gpr(u8 n) const override;
	void set_gpr(u8 n, u64 value) override;
	u64 rip() const override { return vmcb_->save.rip; }
	u64 rflags() const override { return vmcb_->save.rflags; }
	void set_rip(u64 rip) override { vmcb_->save.rip = rip; }
	void end_interrupt_shadow() override { vmcb_->control.int_state &= ~kIntStateShadow; }
	void set_rip_rflags(u64 rip, u64 rflags) override;
	void get_sregs(axvm_sregs &s) const override;
	Status set_sregs(const axvm_sregs &s) override;
	void reset();
	void init_vmcb(); // control area and reset state; also after a shutdown

	// interrupts.cpp
	x86::GuestInterruptState interrupt_state() const override;
	void prepare_injection();
	void after_exit_interrupts();
	void reinject(u64 exit_int_info);
	void get_events(axvm_vcpu_events &e) const override;
	Status set_events(const axvm_vcpu_events &e) override;

	// exits.cpp
	Result<ExitReason> handle_exit();
	Result<ExitReason> handle_ioio();
	Result<ExitReason> handle_string_io(u64 info, u64 next_rip);
	void complete_string_in(u64 value) override;
	void advance_rep(u64 info, u64 next_rip);
	Result<u8> outs_segment(u64 info);
	u64 segment_base(const VmcbSegment &s, u8 index) const;
	x86::CpuMode cpu_mode() const override;
	u64 cs_base() const override;
	Result<ExitReason> handle_dr_access(bool write, u8 dr);
	Result<ExitReason> handle_cr4_write();
	// MOV to/from CRn/DRn (0F 20-23 /r): the GPR operand; @len its length.
	Result<u8> mov_crdr_gpr(u8 *len);
	Result<ExitReason> handle_npf();
	Result<ExitReason> handle_msr();
	Result<u64> next_rip(u8 opcode_len);
	Result<ExitReason> skip(u8 opcode_len, ExitReason then);
	ExitReason inject_exception(u8 vector, bool has_error = false, u32 error = 0) override;
	Result<u8> prefix_bytes();
	x86::PagingState paging() const;
	Status fetch(u8 *bytes, usize len, usize *fetched);
	Status access_linear(u64 linear, void *buf, usize len, bool write);

	Vmcb *vmcb_ = nullptr;
	u64 vmcb_pa_ = 0;
	u32 asid_ = 0;            // 0: none yet on this CPU
	u64 asid_generation_ = 0;
	int cpu_ = -1;
	u8 tlb_flush_ = kTlbFlushAll;
	u64 seen_generation_ = 0;
	bool shut_down_ = false; // until userspace sets new registers
	axvm_svm_gprs gprs_ = {};

	u64 io_info_ = 0;     // StringIn: the IOIO EXITINFO1
	u64 io_next_rip_ = 0; // StringIn: RIP after the instruction

	bool nmi_masked_ = false;       // an injected NMI's handler has not returned
	bool iret_seen_ = false;        // ... it is returning: unmask once RIP moves on
	u64 iret_rip_ = 0;
	int virq_vector_ = -1;        // the interrupt set up in V_IRQ, until the exit
	bool virq_from_user_ = false; // ... and whether KVM_INTERRUPT queued it
};

} // namespace axvm::svm
