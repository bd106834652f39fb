// SPDX-License-Identifier: GPL-2.0
// One vCPU on AMD SVM: its VMCB, guest registers and FPU state, and the
// translation of #VMEXITs into ExitReasons.
#pragma once

#include <axvm/arch_vcpu.hpp>
#include <axvm/vm.hpp>

#include "../cpuid.hpp"
#include "../guest_walk.hpp"
#include "../interrupts.hpp"
#include "../mmio_decoder.hpp"
#include "entry.h"
#include "vmcb.hpp"

namespace axvm::svm {

class SvmVcpu final : public ArchVcpu {
public:
	// Allocates everything (process context); setup() only initializes.
	static Result<SvmVcpu *> create(Vm &vm);
	~SvmVcpu() override;

	Status setup() override;
	Status bind(unsigned int cpu) override;
	Status unbind() override;
	Result<ExitReason> run() override;
	void set_return_value(u64 value) override;
	int arch_ioctl(unsigned int cmd, void *arg, usize size) override;

	void set_interrupt_window_request(bool wanted) override { window_requested_ = wanted; }
	bool ready_for_interrupt() const override;
	void fill_run_state(axvm_run &run) const override;
	bool can_block() const override;
	bool has_wake_event() const override;
	int queue_interrupt(u32 vector, bool nmi) override;

private:
	explicit SvmVcpu(Vm &vm) : vm_(vm) {}

	// The read exit the next RUN completes (set_return_value).
	enum class Pending : u8 { None, PortIn, StringIn, Mmio, Hypercall };

	// regs.cpp: KVM_GET/SET_REGS and KVM_GET/SET_SREGS.
	void get_regs(axvm_regs &r) const;
	void set_regs(const axvm_regs &r);
	void get_sregs(axvm_sregs &s) const;
	Status set_sregs(const axvm_sregs &s);
	void reset();
	void init_vmcb(); // control area and reset state; also after a shutdown

	// interrupts.cpp
	x86::GuestInterruptState interrupt_state() const;
	void prepare_injection();
	void after_exit_interrupts();
	void reinject(u64 exit_int_info);
	void get_events(axvm_vcpu_events &e) const;
	Status set_events(const axvm_vcpu_events &e);

	// exits.cpp
	Result<ExitReason> handle_exit();
	Result<ExitReason> handle_ioio();
	Result<ExitReason> handle_string_io(u64 info, u64 next_rip);
	void complete_string_in(u64 value);
	void advance_rep(u64 info, u64 next_rip);
	Result<u8> outs_segment(u64 info);
	u64 segment_base(const VmcbSegment &s, u8 index) const;
	x86::CpuMode cpu_mode() const;
	Result<ExitReason> handle_dr_access(bool write, u8 dr);
	Result<ExitReason> handle_cr4_write();
	// MOV to/from CRn/DRn (0F 20-23 /r): the GPR operand; @len its length.
	Result<u8> mov_crdr_gpr(u8 *len);
	Result<ExitReason> handle_npf();
	Result<ExitReason> handle_msr();
	ExitReason handle_cpuid();
	Result<ExitReason> skip(u8 opcode_len, ExitReason then);
	ExitReason inject_exception(u8 vector, bool has_error = false, u32 error = 0);
	Result<u8> prefix_bytes();
	x86::PagingState paging() const;
	Status fetch(u8 *bytes, usize len, usize *fetched);
	Status access_linear(u64 linear, void *buf, usize len, bool write);

	u64 gpr(u8 n) const;
	void set_gpr(u8 n, u64 value);

	Vm &vm_;
	Vmcb *vmcb_ = nullptr;
	u64 vmcb_pa_ = 0;
	void *fpu_ = nullptr; // a page; the FXSAVE image is its first 512 bytes
	u32 asid_ = 0;            // 0: none yet on this CPU
	u64 asid_generation_ = 0;
	int cpu_ = -1;
	u8 tlb_flush_ = kTlbFlushAll;
	u64 seen_generation_ = 0;
	bool shut_down_ = false; // until userspace sets new registers
	axvm_svm_gprs gprs_ = {};

	Pending pending_ = Pending::None;
	x86::MmioInstruction mmio_ = {};
	u8 io_size_ = 0;      // PortIn/StringIn element size
	u64 io_info_ = 0;     // StringIn: the IOIO EXITINFO1
	u64 io_next_rip_ = 0; // StringIn: RIP after the instruction

	u64 dr_[4] = {}, dr6_ = 0xffff0ff0, dr7_ = 0x400; // shadows: the guest never owns debug registers
	x86::CpuidTable cpuid_;
	x86::PendingEvents events_;
	bool window_requested_ = false; // userspace's request_interrupt_window
	bool nmi_masked_ = false;       // an injected NMI's handler has not returned
	bool iret_seen_ = false;        // ... it is returning: unmask once RIP moves on
	u64 iret_rip_ = 0;
	int virq_vector_ = -1;        // the interrupt set up in V_IRQ, until the exit
	bool virq_from_user_ = false; // ... and whether KVM_INTERRUPT queued it
	u64 apic_base_ = 0; // stored for GET_SREGS; axvm emulates no local APIC
};

} // namespace axvm::svm
