// SPDX-License-Identifier: GPL-2.0
// What an x86 vCPU does the same way on SVM and on VMX: the register and
// event ioctls, completing the read exits (port and string IN, MMIO loads,
// hypercalls), CPUID from the vCPU's table, and the interrupt queue. The
// backends provide the registers and the hardware's view of them.
#pragma once

#include <axvm/arch_vcpu.hpp>
#include <axvm/vm.hpp>

#include "cpuid.hpp"
#include "interrupts.hpp"
#include "mmio_decoder.hpp"
#include "x86.hpp"

namespace axvm::x86 {

class X86Vcpu : public ArchVcpu {
public:
	void set_return_value(u64 value) final;
	int arch_ioctl(unsigned int cmd, void *arg, usize size) final;

	void set_interrupt_window_request(bool wanted) final { window_requested_ = wanted; }
	bool ready_for_interrupt() const final { return events_.ready_for_user_interrupt(interrupt_state()); }
	bool has_wake_event() const final { return events_.interrupt_pending() || events_.nmi_pending(); }
	int queue_interrupt(u32 vector, bool nmi) final;

protected:
	explicit X86Vcpu(Vm &vm) : vm_(vm) {}

	// The read exit the next RUN completes (set_return_value).
	enum class Pending : u8 { None, PortIn, StringIn, Mmio, Hypercall };

	// ---- The backend's registers ----
	virtual u64 gpr(u8 n) const = 0;
	virtual void set_gpr(u8 n, u64 value) = 0;
	virtual u64 rip() const = 0;
	virtual u64 rflags() const = 0;
	// KVM_SET_REGS: also ends a shutdown, as new registers do on KVM.
	virtual void set_rip_rflags(u64 rip, u64 rflags) = 0;
	virtual void get_sregs(axvm_sregs &s) const = 0;
	virtual Status set_sregs(const axvm_sregs &s) = 0;
	virtual void get_events(axvm_vcpu_events &e) const = 0;
	virtual Status set_events(const axvm_vcpu_events &e) = 0;
	virtual GuestInterruptState interrupt_state() const = 0;
	// INS: the element read by userspace goes to ES:rDI; rDI, rCX and RIP move.
	virtual void complete_string_in(u64 value) = 0;

	// ---- Exits both backends finish the same way ----
	ExitReason handle_cpuid(); // RAX..RDX from the table; the caller skips CPUID
	ExitReason port_in(u16 port, u8 size);
	ExitReason port_out(u16 port, u8 size);
	// The decoded MMIO instruction @m at @gpa, RIP already past it.
	ExitReason mmio_exit(u64 gpa, const MmioInstruction &m);
	static Width width_of(u8 bytes) { return bytes == 1 ? Width::Byte : bytes == 2 ? Width::Word : Width::Dword; }

	Vm &vm_;
	Pending pending_ = Pending::None;
	MmioInstruction mmio_ = {};
	u8 io_size_ = 0; // PortIn/StringIn element size
	CpuidTable cpuid_;
	PendingEvents events_;
	bool window_requested_ = false; // userspace's request_interrupt_window
	u64 apic_base_ = 0; // stored for GET_SREGS; axvm emulates no local APIC

private:
	void get_regs(axvm_regs &r) const;
	void set_regs(const axvm_regs &r);
};

} // namespace axvm::x86
