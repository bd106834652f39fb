// SPDX-License-Identifier: GPL-2.0
// What an x86 vCPU does the same way on SVM and on VMX: the register and
// event ioctls, completing the read exits (port and string IN, MMIO loads,
// hypercalls), CPUID from the vCPU's table, and the interrupt queue. The
// backends provide the registers and the hardware's view of them.
#pragma once

#include <axvm/arch_vcpu.hpp>
#include <axvm/vm.hpp>

#include "cpuid.hpp"
#include "host.h"
#include "interrupts.hpp"
#include "mmio_decoder.hpp"
#include "x86.hpp"

namespace axvm::x86 {

class X86Vcpu : public ArchVcpu {
public:
	void complete_userspace_exit(u64 value) final;
	Status arch_ioctl(unsigned int cmd, void *arg, usize size) final;

	void set_interrupt_window_request(bool wanted) final { window_requested_ = wanted; }
	bool ready_for_interrupt() const final { return events_.ready_for_user_interrupt(interrupt_state()); }
	bool has_wake_event() const final { return events_.interrupt_pending() || events_.nmi_pending(); }
	Status queue_interrupt(u32 vector, bool nmi) final;
	void run_begin() final { axvm_x86_fpu_enter(fpu_); }
	void run_end() final { axvm_x86_fpu_leave(fpu_); }

protected:
	explicit X86Vcpu(Vm &vm) : vm_(vm) {}
	~X86Vcpu() override { axvm_x86_fpu_destroy(fpu_); }
	// What both backends allocate (process context): -ENOMEM.
	Status init();

	// The exit the next RUN completes (complete_userspace_exit).
	enum class Pending : u8 { None, PortIn, PortOut, StringIn, Mmio, Hypercall };

	// ---- The backend's registers ----
	virtual u64 gpr(u8 n) const = 0;
	virtual void set_gpr(u8 n, u64 value) = 0;
	virtual u64 rip() const = 0;
	virtual u64 rflags() const = 0;
	virtual void set_rip(u64 rip) = 0;
	virtual u64 cs_base() const = 0;
	virtual CpuMode cpu_mode() const = 0;
	// The STI / MOV SS shadow ends with the instruction after it.
	virtual void end_interrupt_shadow() = 0;
	// KVM_SET_REGS: also ends a shutdown, as new registers do on KVM.
	virtual void set_rip_rflags(u64 rip, u64 rflags) = 0;
	virtual void get_sregs(axvm_sregs &s) const = 0;
	virtual Status set_sregs(const axvm_sregs &s) = 0;
	virtual void get_events(axvm_vcpu_events &e) const = 0;
	virtual Status set_events(const axvm_vcpu_events &e) = 0;
	virtual GuestInterruptState interrupt_state() const = 0;
	// INS: the element read by userspace goes to ES:rDI; rDI, rCX and RIP move.
	virtual void complete_string_in(u64 value) = 0;

	// The backend's event injection (an exception, with its error code),
	// set up for the next entry; always ExitReason::nothing().
	virtual ExitReason inject_exception(u8 vector, bool has_error = false, u32 error = 0) = 0;

	// ---- Exits both backends finish the same way ----
	// The intercepted instruction completed: RIP moves to @next_rip and a
	// shadow cast by a preceding STI or MOV SS ends, as the CPU would end it
	// (SDM vol. 3A, 6.8.3; KVM's skip_emulated_instruction()).
	// With RFLAGS.TF the guest then takes the single-step trap it would
	// have taken (KVM's kvm_vcpu_do_singlestep()).
	void advance_rip(u64 next_rip);
	// MOV to/from DRn with GPR @reg, RIP not yet moved: the guest keeps its
	// debug registers in shadows, never loaded into the hardware, so no
	// guest breakpoint fires in the host and none of the host's in the guest.
	void access_dr(bool write, u8 dr, u8 reg);
	// A #DB the guest raised (intercepted): DR6 as the CPU would have left
	// it with the @hit bits (B0-B3, BD, BS, BT), and the #DB reflected.
	ExitReason reflect_debug(u64 hit);
	// An #AC the guest raised (intercepted, so that a guest cannot make the
	// CPU loop delivering it: the CVE-2015-5307 class): reflected.
	ExitReason reflect_alignment_check() { return inject_exception(kVectorAc, true, 0); }
	// The guest's own alignment checking is on (CPL 3, CR0.AM, RFLAGS.AC).
	bool guest_alignment_check(u8 cpl, u64 cr0) const { return cpl == 3 && (cr0 & kCr0Am) && (rflags() & kRflagsAc); }
	ExitReason handle_cpuid(); // RAX..RDX from the table; the caller skips CPUID
	// IN/OUT whose next instruction is at @next_rip: RIP gets there when
	// userspace has handled the exit (KVM's complete_fast_pio_*), so an
	// exit in an STI shadow still reports the shadow, as KVM does.
	ExitReason port_in(u16 port, u8 size, u64 next_rip);
	ExitReason port_out(u16 port, u8 size, u64 next_rip);
	// The decoded MMIO instruction @m at @gpa, ending at @next_rip: a
	// store completes now, a load when userspace answers it.
	ExitReason mmio_exit(u64 gpa, const MmioInstruction &m, u64 next_rip);
	// VMCALL/VMMCALL ending at @next_rip (completed with RAX = the result).
	ExitReason hypercall_exit(u64 next_rip);
	// The exit userspace completes (see complete_userspace_exit).
	void set_pending(Pending p, u64 next_rip);
	static Width width_of(u8 bytes) { return bytes == 1 ? Width::Byte : bytes == 2 ? Width::Word : Width::Dword; }

	Vm &vm_;
	axvm_x86_fpu *fpu_ = nullptr; // the guest's FPU and extended state
	Pending pending_ = Pending::None;
	u64 pending_rip_ = 0;    // the linear RIP of the exit: a vCPU moved elsewhere drops it
	u64 next_rip_ = 0;       // ... and where it continues once completed
	MmioInstruction mmio_ = {};
	u8 io_size_ = 0; // PortIn/StringIn element size
	CpuidTable cpuid_;
	PendingEvents events_;
	bool window_requested_ = false; // userspace's request_interrupt_window
	u64 apic_base_ = 0; // stored for GET_SREGS; axvm emulates no local APIC
	u64 dr_[4] = {}, dr6_ = kDr6Fixed, dr7_ = kDr7Fixed; // the guest's debug registers

private:
	void get_regs(axvm_regs &r) const;
	void set_regs(const axvm_regs &r);
};

} // namespace axvm::x86
