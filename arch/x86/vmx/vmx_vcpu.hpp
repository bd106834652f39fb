// SPDX-License-Identifier: GPL-2.0
// One vCPU on Intel VMX: its VMCS, the guest state axvm keeps while the VMCS
// is not current (ioctls run on any CPU), the decoding of VM exits (the
// emulation is X86Vcpu's) and the injection of events through the VMCS.
#pragma once

#include "../x86_vcpu.hpp"
#include "entry.h"
#include "vmx_cpu.hpp"

namespace axvm::vmx {

// A segment register as the VMCS holds it: access rights in the VMX
// layout (SDM vol. 3C, 25.4.1; x86::to_vmx_ar converts).
struct VmxSegment {
	u64 base;
	u32 limit;
	u32 ar;
	u16 selector;
};

// Interruption information (VM-entry, VM-exit, IDT-vectoring; SDM 25.8.3).
constexpr u32 kIntrValid = 1u << 31, kIntrErrorValid = 1u << 11;
constexpr u32 kIntrExtInt = 0u << 8, kIntrNmi = 2u << 8, kIntrHwException = 3u << 8, kIntrSoftInt = 4u << 8;
constexpr u32 kIntrPrivSoftException = 5u << 8;
constexpr u32 kIntrTypeMask = 7u << 8;
// Guest interruptibility state (SDM 25.4.2). STI and MOV SS blocking are
// the bits of KVM's shadow mask (KVM_X86_SHADOW_INT_STI, _MOV_SS).
constexpr u32 kBlockSti = 1u << 0, kBlockMovSs = 1u << 1, kBlockNmi = 1u << 3;
// Bit 31 of the exit reason: the VM entry failed (SDM 27.8).
constexpr u32 kExitFailedEntry = 1u << 31;

// The guest state in the VMCS, as the guest sees it: CR0 and CR4 without
// the bits VMX forces on (NE, VMXE), which the read shadows hide.
struct GuestState {
	VmxSegment seg[x86::kNumSegs];
	u64 gdtr_base, idtr_base;
	u32 gdtr_limit, idtr_limit;
	u64 cr0, cr3, cr4, efer, pat;
	u64 rip, rsp, rflags;
	u64 sysenter_cs, sysenter_esp, sysenter_eip;
	u64 pdpte[4];
	u32 interruptibility;
};

class VmxVcpu final : public x86::X86Vcpu {
public:
	static Result<VmxVcpu *> create(Vm &vm, u32 id);
	~VmxVcpu() override;

	Status setup() override;
	Status bind(unsigned int cpu) override;
	Status unbind() override;
	Result<ExitReason> run() override;
	Status check_runnable() const override;

private:
	explicit VmxVcpu(Vm &vm) : X86Vcpu(vm) {}

	// regs.cpp: the registers in GuestState, reset, SREGS, the VMCS copies.
	u64 gpr(u8 n) const override { return n == x86::kRsp ? g_.rsp : gprs_.r[n & 15]; }
	void set_gpr(u8 n, u64 value) override;
	u64 rip() const override { return g_.rip; }
	void set_rip(u64 rip) override { g_.rip = rip; }
	u64 rflags() const override { return g_.rflags; }
	void set_rip_rflags(u64 rip, u64 rflags) override;
	x86::Segment segment(x86::Seg s) const override;
	void set_segment_base(x86::Seg s, u64 base) override
	{
		g_.seg[s].base = base;
		state_dirty_ = true;
	}
	u64 cr0() const override { return g_.cr0; }
	u64 cr3() const override { return g_.cr3; }
	u64 cr4() const override { return g_.cr4; }
	u64 cr8() const override { return cr8_; }
	void set_cr8(u64 tpr) override { cr8_ = tpr; }
	u64 efer() const override { return g_.efer; }
	void set_efer(u64 value) override;
	u64 pat() const override { return g_.pat; }
	void set_pat(u64 value) override;
	u64 switched_msr(u32 index) const override;
	void set_switched_msr(u32 index, u64 value) override;
	u64 tsc_offset() const override { return tsc_offset_; }
	void set_tsc_offset(u64 offset) override;
	void get_sregs(axvm_sregs &s) const override;
	void init_registers() override
	{
		reset();
		inject_info_ = 0;
		state_dirty_ = true;
	}
	Status set_sregs(const axvm_sregs &s) override;
	void address_space_changed() override { state_dirty_ = true; } // the EPT pointer
	void reset();
	Status activate();
	void init_vmcs();         // controls and everything fixed; VMCS current
	void write_guest_state(); // GuestState -> VMCS
	void read_guest_state();  // VMCS -> GuestState, after an exit
	u64 hardware_cr0(u64 cr0) const;
	u64 hardware_cr4(u64 cr4) const;
	Status load_pdptes();

	// interrupts.cpp
	u8 interrupt_shadow() const override { return g_.interruptibility & (kBlockSti | kBlockMovSs); }
	void set_interrupt_shadow(u8 mask) override;
	bool nmi_masked() const override { return g_.interruptibility & kBlockNmi; }
	void set_nmi_masked(bool masked) override;
	x86::Event injected() const override;
	void set_injected(const x86::Event &e) override;
	void prepare_injection();
	void after_exit_interrupts(u32 idt_info, u32 idt_error, u32 instruction_len);

	// exits.cpp
	Result<ExitReason> handle_exit(u32 reason);
	Result<ExitReason> handle_exception_or_nmi();
	Result<ExitReason> handle_io(u64 qualification);
	Result<ExitReason> handle_cr(u64 qualification);
	Result<ExitReason> write_cr0(u64 value);
	Result<ExitReason> handle_ept_violation(u64 qualification);
	ExitReason skip(ExitReason then);
	ExitReason unexpected_exit(u32 code) const;
	u64 eptp() const;
	u64 cr0_host_owned() const; // the CR0 guest/host mask

	LoadedVmcs vmcs_;
	void *vmcs_page_ = nullptr;
	axvm_vmx_msr_entry *msrs_ = nullptr; // a page: guest area, then the host's
	u64 msrs_pa_ = 0;
	u16 vpid_ = 0;
	bool vmcs_ready_ = false; // cleared once and initialized (first bind)
	bool flush_vpid_ = true;
	bool flush_ept_ = true;
	bool state_dirty_ = true; // GuestState is newer than the VMCS
	bool msr_bitmap_all_ = false; // the VMCS has the bitmap where every MSR exits
	bool nmi_known_unmasked_ = true; // no NMI delivered since NMIs were last unmasked
	u64 host_cr3_ = 0, host_cr4_ = 0;
	u32 proc_ = 0;           // the primary controls, with the window bits
	u32 exit_len_ = 0;       // the exiting instruction's length
	u64 exit_qualification_ = 0;

	GuestState g_ = {};
	axvm_vmx_gprs gprs_ = {};
	u64 cr2_ = 0;
	u64 cr8_ = 0; // the TPR as CR8 shows it; axvm emulates no local APIC
	u64 tsc_offset_ = 0;

	// The event the next entry injects (VM-entry interruption information).
	u32 inject_info_ = 0, inject_error_ = 0, inject_len_ = 0;
};

} // namespace axvm::vmx
