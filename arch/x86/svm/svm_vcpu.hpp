// SPDX-License-Identifier: GPL-2.0
// One vCPU on AMD SVM: its VMCB, the guest registers VMRUN does not switch,
// the decoding of #VMEXITs (the emulation is X86Vcpu's) and the injection
// of events through the VMCB.
#pragma once

#include "../x86_vcpu.hpp"
#include "entry.h"
#include "vmcb.hpp"

namespace axvm::svm {

class SvmVcpu final : public x86::X86Vcpu {
public:
	// Allocates everything (process context); setup() only initializes.
	static Result<SvmVcpu *> create(Vm &vm, u32 id);
	~SvmVcpu() override;

	Status setup() override;
	Status bind(unsigned int cpu) override;
	Status unbind() override;
	Result<ExitReason> run() override;

private:
	explicit SvmVcpu(Vm &vm) : X86Vcpu(vm) {}

	// regs.cpp: the registers on the VMCB, reset state, SREGS.
	u64 gpr(u8 n) const override;
	void set_gpr(u8 n, u64 value) override;
	u64 rip() const override { return vmcb_->save.rip; }
	void set_rip(u64 rip) override { vmcb_->save.rip = rip; }
	u64 rflags() const override { return vmcb_->save.rflags; }
	void set_rip_rflags(u64 rip, u64 rflags) override;
	x86::Segment segment(x86::Seg s) const override;
	void set_segment_base(x86::Seg s, u64 base) override { (s == x86::kFs ? vmcb_->save.fs : vmcb_->save.gs).base = base; }
	u64 cr0() const override { return vmcb_->save.cr0; }
	u64 cr3() const override { return vmcb_->save.cr3; }
	u64 cr4() const override { return vmcb_->save.cr4; }
	u64 cr8() const override { return vmcb_->control.int_control & 0xf; }
	void set_cr8(u64 tpr) override { vmcb_->control.int_control = (vmcb_->control.int_control & ~0xfull) | tpr; }
	u64 efer() const override { return vmcb_->save.efer & ~x86::kEferSvme; }
	void set_efer(u64 value) override;
	u64 pat() const override { return vmcb_->save.g_pat; }
	void set_pat(u64 value) override { vmcb_->save.g_pat = value; }
	u64 switched_msr(u32 index) const override;
	void set_switched_msr(u32 index, u64 value) override;
	u64 tsc_offset() const override { return tsc_offset_; }
	void set_tsc_offset(u64 offset) override { vmcb_->control.tsc_offset = tsc_offset_ = offset; }
	void get_sregs(axvm_sregs &s) const override;
	void init_registers() override { init_vmcb(); }
	Status set_sregs(const axvm_sregs &s) override;
	void address_space_changed() override { vmcb_->control.n_cr3 = stage2().root_phys(); }
	void reset();
	void init_vmcb(); // control area and reset state; also after a shutdown

	// interrupts.cpp
	u8 interrupt_shadow() const override;
	void set_interrupt_shadow(u8 mask) override;
	bool nmi_masked() const override { return nmi_masked_; }
	void set_nmi_masked(bool masked) override;
	x86::Event injected() const override;
	void set_injected(const x86::Event &e) override;
	void prepare_injection();
	void after_exit_interrupts();
	void reinject(u64 exit_int_info);

	// exits.cpp
	Result<ExitReason> handle_exit();
	Result<ExitReason> handle_ioio();
	Result<u8> outs_segment(u64 info);
	Result<ExitReason> handle_dr_access(bool write, u8 dr);
	Result<ExitReason> handle_cr4_write();
	// MOV to/from CRn/DRn (0F 20-23 /r): the GPR operand; @len its length.
	Result<u8> mov_crdr_gpr(u8 *len);
	Result<ExitReason> handle_npf();
	Result<u64> next_rip(u8 opcode_len);
	Result<ExitReason> skip(u8 opcode_len, ExitReason then);
	Result<u8> prefix_bytes();

	Vmcb *vmcb_ = nullptr;
	u64 vmcb_pa_ = 0;
	u32 asid_ = 0;            // 0: none yet on this CPU
	u64 asid_generation_ = 0;
	int cpu_ = -1;
	u8 tlb_flush_ = kTlbFlushAll;
	u64 tsc_offset_ = 0;     // outlives the VMCB's reset
	axvm_svm_gprs gprs_ = {};

	bool nmi_masked_ = false;       // an injected NMI's handler has not returned
	bool iret_seen_ = false;        // ... it is returning: unmask once RIP moves on
	u64 iret_rip_ = 0;
	int virq_vector_ = -1;        // the interrupt set up in V_IRQ, until the exit
	bool virq_from_user_ = false; // ... and whether KVM_INTERRUPT queued it
};

} // namespace axvm::svm
