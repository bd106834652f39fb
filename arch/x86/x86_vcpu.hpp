// SPDX-License-Identifier: GPL-2.0
// What an x86 vCPU does the same way on SVM and on VMX, as KVM's x86.c does
// it for its vendor modules: the register, event and CPUID ioctls; the
// emulation that finishes an intercepted instruction (port and string I/O,
// MMIO, MSRs, debug registers, CPUID, hypercalls) and completes it when
// userspace has answered; the interrupt bookkeeping and what KVM_RUN
// reports of it. A backend decodes its exits and calls these; it provides
// its registers through the accessors below and injects what they set up.
#pragma once

#include <axvm/arch_vcpu.hpp>
#include <axvm/steal_clock.hpp>
#include <axvm/exit_to_run.hpp>
#include <axvm/vm.hpp>

#include "cpuid.hpp"
#include "guest_walk.hpp"
#include "host.h"
#include "interrupts.hpp"
#include "irqchip/irqchip.hpp"
#include "mmio_decoder.hpp"
#include "msrs.hpp"
#include "segments.hpp"
#include "x86.hpp"

namespace axvm::x86 {

class X86Vm;

// An event set up for delivery at the next entry (VMCB EVENTINJ / VMX
// VM-entry interruption information), as KVM_GET/SET_VCPU_EVENTS see it.
struct Event {
	enum class Type : u8 { None, Interrupt, SoftInterrupt, Nmi, Exception };
	Type type = Type::None;
	u8 vector = 0;
	bool has_error = false;
	u32 error = 0;
};

// A string I/O instruction as the backend decoded it.
struct StringIo {
	u16 port;
	u8 size;      // bytes per element
	bool in;      // INS (else OUTS)
	bool rep;
	u64 amask;    // the address size: 0xffff, 0xffffffff or ~0
	u8 segment;   // OUTS: the source segment (Seg), DS unless overridden
	u64 next_rip; // after the instruction
};

class X86Vcpu : public ArchVcpu {
public:
	void complete_userspace_exit(u64 value, bool failed) final;
	void take_io_batch(const u8 *data, u32 len) final;
	Status arch_ioctl(unsigned int cmd, void *arg, usize size) final;

	void set_interrupt_window_request(bool wanted) final;
	bool window_open_for_user() const final;
	Status take_run_state(axvm_run &run) final;
	void store_run_state(axvm_run &run) final;
	bool ready_for_interrupt() const final { return events_.ready_for_user_interrupt(interrupt_state()); }
	bool has_wake_event() final;
	Status after_wake() final;
	Status queue_interrupt(u32 vector, bool nmi) final;
	void fill_run_state(axvm_run &run) final;
	// With an in-kernel local APIC a HLT always waits in the kernel (for
	// an NMI or INIT with interrupts off), as under KVM.
	bool can_block() const final { return lapic_ || (rflags() & kRflagsIf); }
	bool halts_in_kernel() const final { return lapic_ != nullptr; }

	// For the in-kernel irqchip (irqchip/irqchip.cpp).
	Lapic *lapic() const { return lapic_; }
	// An interrupt came for the vCPU: an entry under way gives up.
	void request_kick() { events_.request_kick(); }
	void run_begin() final
	{
		steal_update_ = true;
		axvm_x86_fpu_enter(fpu_);
	}
	void run_end() final { axvm_x86_fpu_leave(fpu_); }

protected:
	explicit X86Vcpu(Vm &vm) : vm_(vm) {}
	~X86Vcpu() override
	{
		destroy_lapic();
		axvm_x86_fpu_destroy(fpu_);
	}
	// What both backends allocate (process context): -ENOMEM.
	Status init();

	// ---- The backend's registers ----
	virtual u64 gpr(u8 n) const = 0;
	virtual void set_gpr(u8 n, u64 value) = 0;
	virtual u64 rip() const = 0;
	virtual void set_rip(u64 rip) = 0;
	virtual u64 rflags() const = 0;
	// KVM_SET_REGS: also ends a shutdown, as new registers do on KVM.
	virtual void set_rip_rflags(u64 rip, u64 rflags) = 0;
	virtual Segment segment(Seg s) const = 0;
	virtual void set_segment_base(Seg s, u64 base) = 0; // FS/GS base through their MSRs
	virtual u64 cr0() const = 0;
	virtual u64 cr3() const = 0;
	virtual u64 cr4() const = 0;
	virtual u64 cr8() const = 0;
	virtual void set_cr8(u64 tpr) = 0; // 0-15
	virtual u64 efer() const = 0; // as the guest sees it
	virtual void get_sregs(axvm_sregs &s) const = 0;
	// INIT: the registers as a RESET leaves them (the backend's state).
	virtual void init_registers() = 0;
	virtual Status set_sregs(const axvm_sregs &s) = 0;
	// SMM entered or left: the next entry uses stage2() (NPT's nCR3, the
	// EPT pointer); seen_generation_ is already reset, for the TLB flush.
	virtual void address_space_changed() = 0;
	// The guest wrote @value, already checked (efer_write_faults, pat_valid).
	virtual void set_efer(u64 value) = 0;
	virtual u64 pat() const = 0;
	virtual void set_pat(u64 value) = 0;
	// The MSRs the hardware switches for the guest (VMCB; VMCS and its MSR
	// areas): SYSENTER_CS/ESP/EIP, STAR, LSTAR, CSTAR, SFMASK and
	// KERNEL_GS_BASE (msr::k*), values already checked.
	virtual u64 switched_msr(u32 index) const = 0;
	virtual void set_switched_msr(u32 index, u64 value) = 0;
	// The guest's TSC is the host's plus this.
	virtual u64 tsc_offset() const = 0;
	virtual void set_tsc_offset(u64 offset) = 0;

	// ---- The backend's interrupt state ----
	// KVM's shadow mask: KVM_X86_SHADOW_INT_STI (1), _MOV_SS (2).
	virtual u8 interrupt_shadow() const = 0;
	virtual void set_interrupt_shadow(u8 mask) = 0;
	virtual bool nmi_masked() const = 0;
	virtual void set_nmi_masked(bool masked) = 0;
	// The event the next entry delivers (or one the backend has set up in
	// its own way, such as SVM's virtual interrupt).
	virtual Event injected() const = 0;
	virtual void set_injected(const Event &e) = 0;

	// A triple fault (or an RSM KVM shuts down on): RUN reports a shutdown
	// until userspace sets new registers.
	bool shut_down_ = false;
	// The stage-2 generation the vCPU's TLB tag was last flushed at (the
	// entry code compares and updates it); ~0 flushes at the next entry.
	u64 seen_generation_ = 0;

	// ---- System Management Mode (x86_smm.cpp) ----
	// KVM's address space of the vCPU: 1 in SMM (SMRAM's memory map).
	u32 address_space() const { return smm_.active ? 1 : 0; }
	MemoryMap &guest_memory() const { return vm_.memory(address_space()); }
	Stage2 &stage2() const { return *vm_.stage2(address_space()); }
	// First in each entry: the in-kernel irqchip's work, the steal-time
	// record, a shutdown reported again, then a pending SMI, taken unless
	// an event is being delivered (KVM takes it before NMIs and
	// interrupts, and only outside SMM).
	Result<ExitReason> before_entry();
	// RSM (an SVM intercept; a #UD on VMX): #UD outside SMM, else the
	// state-save map restored, or a shutdown where KVM shuts down.
	ExitReason emulate_rsm();
	// A #UD the backend intercepted: RSM, the other vendor's hypercall
	// @foreign (rewritten into this CPU's @native), or the guest's own.
	ExitReason invalid_opcode(const u8 (&foreign)[3], const u8 (&native)[3]);

	// ---- Exits both backends finish the same way ----
	// The intercepted instruction completed: RIP moves to @next_rip and a
	// shadow cast by a preceding STI or MOV SS ends, as the CPU would end it
	// (SDM vol. 3A, 6.8.3; KVM's skip_emulated_instruction()). With
	// RFLAGS.TF the guest then takes the single-step trap it would have
	// taken (KVM's kvm_vcpu_do_singlestep()).
	void advance_rip(u64 next_rip);
	// An exception for the guest at the next entry; always Nothing.
	ExitReason inject_exception(u8 vector, bool has_error = false, u32 error = 0);
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
	bool guest_alignment_check() const;
	ExitReason handle_cpuid(); // RAX..RDX from the table; the caller skips CPUID
	// What KVM's kvm_update_cpuid_runtime() keeps current in the vCPU's
	// CPUID, applied to @r (leaf @function/@index): the guest sees it and
	// KVM_GET_CPUID2 returns it.
	void cpuid_runtime(u32 function, u32 index, CpuidResult &r) const;
	// KVM_SET_CPUID2; once the vCPU has run, only the same table again.
	Status set_cpuid(const axvm_cpuid2 &c, usize size);
	Status get_cpuid(axvm_cpuid2 &c, usize size) const;
	// IN/OUT whose next instruction is at @next_rip: RIP gets there when
	// userspace has handled the exit (KVM's complete_fast_pio_*), so an
	// exit in an STI shadow still reports the shadow, as KVM does.
	ExitReason port_io(u16 port, u8 size, bool in, u64 next_rip);
	// INS/OUTS, one element per exit: a REP instruction with elements left
	// is not completed, so the guest executes it again and exits for the
	// next one (KVM may batch several; count 1 is always valid in its ABI).
	Result<ExitReason> string_io(const StringIo &io);
	// A guest access to @gpa outside RAM (an NPF, an EPT violation): the
	// instruction at RIP decoded into an MMIO exit, unless it is a fetch,
	// a page-table walk or an event delivery (@describable false): then
	// nothing an MMIO exit can describe, KVM_EXIT_INTERNAL_ERROR (emulation), as KVM.
	Result<ExitReason> mmio_fault(u64 gpa, u32 access, bool describable);
	// RDMSR/WRMSR ending at @next_rip (msrs.cpp): emulated here; what is
	// refused is a #GP, or an exit where userspace asked for one.
	ExitReason msr_access(bool write, u64 next_rip);
	// RDTSCP, intercepted where the hardware cannot give the guest its
	// TSC_AUX: EDX:EAX the guest's TSC, ECX its TSC_AUX.
	ExitReason emulate_rdtscp(u64 next_rip);
	// XSETBV ending at @next_rip (fpu.cpp): XCR0 checked and kept.
	ExitReason emulate_xsetbv(u64 next_rip);
	// The XCR0 the next entry loads (0: none: no CR4.OSXSAVE), and what
	// the guest had at the exit (note_exit_xcr0, after the entry).
	u64 entry_xcr0();
	void note_exit_xcr0();
	u64 xcr0_seen_ = 0;
	u64 guest_supported_xcr0() const;
	Status set_xcr0(u64 value);
	// VMCALL/VMMCALL ending at @next_rip (completed with RAX = the result),
	// but for KVM's hypercalls the kernel answers (kernel_hypercall).
	ExitReason hypercall_exit(u64 next_rip);
	// The other vendor's hypercall instruction at RIP (VMCALL on SVM,
	// VMMCALL on VMX), which raised #UD: @native is this CPU's.
	ExitReason foreign_hypercall(const u8 (&native)[3]);
	// MONITOR or MWAIT ending at @next_rip: KVM's NOPs, or #UD.
	ExitReason monitor_mwait(u64 next_rip);
	// KVM_CAP_ENFORCE_PV_FEATURE_CPUID (KVM_ENABLE_CAP on the vCPU).
	bool pv_enforce_ = false;
	// MSR_KVM_STEAL_TIME (pv.cpp): the write's checks, and the record
	// brought up to date before an entry.
	Status set_steal_time_msr(u64 value);
	void record_steal_time();
	StealClock steal_clock_;
	bool steal_update_ = false; // a RUN began: bump the version even with nothing stolen
	// Whether the guest may use KVM PV feature @bit (CPUID 0x40000001 EAX).
	bool pv_feature(u32 bit) const;
	u8 cpl() const;

	// ---- The in-kernel irqchip (x86_irqchip.cpp) ----
	// First in each entry: the local APIC's timer, INIT/SIPI and NMIs; a
	// halt to block (waiting for SIPI, or halted with nothing to wake it).
	Result<ExitReason> irqchip_before_entry();
	// Right after each exit: the TPR the guest may have written.
	void irqchip_after_exit();
	// What the backend's injection does next, the local APIC's and the
	// PIC's interrupts included.
	Delivery decide_delivery();
	// Guest MMIO and port I/O the in-kernel devices take (*handled), done
	// at once; the exit (nothing, or KVM_EXIT_IOAPIC_EOI) to go on with.
	Result<ExitReason> kernel_mmio(u64 gpa, const MmioInstruction &m, u64 next_rip, bool *handled);
	bool kernel_port_io(u16 port, u8 size, bool in, u64 next_rip);

	// What the next entry may deliver (IF, shadow, NMI blocking, an event
	// already set up).
	GuestInterruptState interrupt_state() const;
	CpuMode cpu_mode() const;
	// A segment's base as an address uses it: none but FS's and GS's in
	// 64-bit mode (SDM vol. 3A, 3.4.4).
	u64 segment_base(Seg s) const;
	PagingState paging() const { return PagingState{cr0(), cr3(), cr4(), efer()}; }
	Status access_linear(u64 linear, void *buf, usize len, bool write);
	// Up to @len bytes of the instruction at RIP (@fetched says how many).
	Status fetch(u8 *bytes, usize len, usize *fetched);

	X86Vm &vm_arch() const;
	// Every MSR access must exit: the VM's MSR filter covers one the guest
	// otherwise uses directly (X86Vm::filters_pass_through).
	bool msrs_all_intercepted() const;
	// Guest-physical address width (CPUID 0x80000008, 36 without it).
	u32 guest_phys_bits() const;
	bool has_rdtscp() const;
	// CR4 bits this guest may set beyond kCr4Allowed: those of the
	// features its CPUID and axvm offer (CpuidTable::cr4_feature_bits()).
	u64 cr4_extra() const;
	bool has_x2apic() const;
	u64 guest_tsc() const;

	Vm &vm_;
	CpuidTable cpuid_;
	MsrState msrs_;
	PendingEvents events_;
	bool window_requested_ = false; // userspace's request_interrupt_window
	u64 apic_base_ = 0; // stored for GET_SREGS; axvm emulates no local APIC
	u64 dr_[4] = {}, dr6_ = kDr6Fixed, dr7_ = kDr7Fixed; // the guest's debug registers

private:
	// The exit the next RUN completes (complete_userspace_exit).
	enum class Pending : u8 { None, PortIn, PortOut, StringIn, Mmio, Hypercall, MsrRead, MsrWrite };

	// KVM's hypercalls answered here (KVM_HC_SCHED_YIELD, and those the
	// guest's PV CPUID refuses): RAX set, past @next_rip; false: userspace's.
	bool kernel_hypercall(u64 next_rip);
	void get_debugregs(axvm_debugregs &d) const;
	Status set_debugregs(const axvm_debugregs &d);
	Status set_tsc_khz(u32 khz);
	// KVM_HAS/GET/SET_DEVICE_ATTR: -ENXIO for an attribute it has not.
	Status device_attr(unsigned int cmd, axvm_attr_value &a);
	Status tpr_access_reporting(const axvm_tpr_access_ctl &c);
	Status set_vapic_addr(u64 gpa);
	// KVM_GET/SET_FPU, _XSAVE, _XCRS (fpu.cpp).
	Status fpu_ioctl(unsigned int cmd, void *arg);

	// msrs.cpp
	Status get_msr(u32 index, u64 &value, bool host);
	Status set_msr(u32 index, u64 value, bool host);
	Status set_apic_base(u64 value, bool host);
	Status mce_msr(u32 index, u64 *value, bool write, bool host);
	Status setup_mce(u64 mcg_cap);
	bool mtrr_valid(u32 index, u64 value) const;
	u64 *mtrr_slot(u32 index);
	u64 *kvmclock_slot(u32 index);
	bool known_msr(u32 index);
	void msrs_ioctl(axvm_msrs &m, bool write);

	Irqchip &irqchip() const;
	Status create_lapic();
	void destroy_lapic();
	Status configure_lapic();
	static void lapic_timer_fired(void *vcpu);
	void run_lapic_timer(u64 now);
	void accept_apic_events();
	void init_reset();
	bool guest_can_wake(const GuestInterruptState &g);
	bool irqchip_wake_event();
	ExitReason lapic_effects(const LapicWriteEffects &fx);
	Status lapic_msr(u32 index, u64 &value, bool write, bool host, ExitReason *exit);
	bool is_lapic_msr(u32 index) const;
	Status lapic_ioctl(unsigned int cmd, void *arg);
	// KVM_GET/SET_SREGS: the backend's registers, and the APIC base and
	// TPR where the in-kernel local APIC holds them (x86_irqchip.cpp).
	void sregs_ioctl_get(axvm_sregs &s);
	Status sregs_ioctl_set(const axvm_sregs &s);
	Status get_mp_state(axvm_mp_state &s);
	Status set_mp_state(const axvm_mp_state &s);
	void fill_irqchip_run_state(axvm_run &run);

	void get_regs(axvm_regs &r) const;
	void set_regs(const axvm_regs &r);
	// KVM_CAP_SYNC_REGS at the start of RUN: kvm_valid_regs kept for
	// store_run_state(), the kvm_dirty_regs sets taken.
	Status take_sync_regs(axvm_run &run);
	void get_events(axvm_vcpu_events &e) const;
	Status set_events(const axvm_vcpu_events &e);
	void set_pending(Pending p, u64 next_rip);
	// INS: the element userspace read goes to ES:rDI; rDI, rCX and RIP move.
	void complete_string_in(u64 value);
	void store_string_in(u64 value);
	void advance_rep();
	static Width width_of(u8 bytes) { return bytes == 1 ? Width::Byte : bytes == 2 ? Width::Word : Width::Dword; }

	struct Smm {
		bool active = false;      // in SMM (KVM's HF_SMM_MASK)
		bool inside_nmi = false;  // entered with NMIs blocked
		bool smi_pending = false; // KVM_SMI, an SMI IPI: taken at the next entry
		u64 smbase = 0x30000;     // MSR_IA32_SMBASE (userspace's only); the map keeps 32 bits
	};
	Smm smm_;
	// KVM uses its 64-bit state-save map where the guest's CPUID has LM.
	bool smm_long_mode() const;
	void enter_smm();
	// In or out of SMM: the address space, and the TLB with it.
	void set_smm(bool active);

	axvm_x86_fpu *fpu_ = nullptr; // the guest's FPU and extended state
	u64 xcr0_ = 1;                // the guest's XCR0 (x87 at reset)
	bool cpuid_set_ = false;      // KVM_SET_CPUID2 was done
	bool entered_ = false;        // the guest ran (KVM's last_vmentry_cpu != -1)
	// With an in-kernel irqchip:
	Lapic *lapic_ = nullptr;
	axvm_timer *lapic_timer_ = nullptr;
	u32 lapic_timer_fired_ = 0; // set by its callback
	u64 timer_armed_ = 0;       // when the host timer fires (0: not armed)
	u32 mp_state_ = AXVM_MP_STATE_RUNNABLE;
	bool waited_uninitialized_ = false; // this RUN blocked in UNINITIALIZED
	u64 sync_valid_ = 0; // this RUN's kvm_valid_regs, checked
	u64 tpr_entered_ = 0;       // the TPR the last entry gave the guest
	Pending pending_ = Pending::None;
	u64 pending_rip_ = 0; // the linear RIP of the exit: a vCPU moved elsewhere drops it
	u64 next_rip_ = 0;    // ... and where it continues once completed
	MmioInstruction mmio_ = {};
	StringIo string_ = {}; // StringIn: the instruction being repeated
	u8 io_size_ = 0;       // PortIn element size
	// A batched string IN (KVM's read-ahead): elements asked for, and the
	// data userspace gave, copied once (take_io_batch).
	u32 string_count_ = 1;
	u32 string_len_ = 0;
	u8 string_buf_[kMaxIoBatch] = {};
};

} // namespace axvm::x86
