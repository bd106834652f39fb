// SPDX-License-Identifier: GPL-2.0
// KVM_GET/SET_REGS and KVM_GET/SET_SREGS on a VMX vCPU, the state a vCPU
// starts in (SDM vol. 3A, 9.1.1; KVM's kvm_vcpu_reset()), and the copies
// between GuestState and the VMCS (SDM vol. 3C, 25.4).
#include "vmx_vcpu.hpp"

#include "../emulate.hpp"
#include "vmcs.h"
#include "vmx_insn.h"

namespace axvm::vmx {

namespace {

VmxSegment real_mode(u16 selector, u64 base, u32 ar) { return VmxSegment{base, 0xffff, ar, selector}; }

bool pae_paging(const GuestState &g)
{
	return (g.cr0 & x86::kCr0Pg) && (g.cr4 & x86::kCr4Pae) && !(g.efer & x86::kEferLma);
}

} // namespace

void VmxVcpu::reset()
{
	g_ = GuestState{};
	using namespace x86;
	g_.seg[kCs] = real_mode(0xf000, 0xffff0000, 0x9b);
	g_.seg[kDs] = g_.seg[kEs] = g_.seg[kFs] = g_.seg[kGs] = g_.seg[kSs] = real_mode(0, 0, 0x93);
	g_.seg[kLdtr] = real_mode(0, 0, 0x82);
	g_.seg[kTr] = real_mode(0, 0, 0x8b);
	g_.gdtr_limit = g_.idtr_limit = 0xffff;
	g_.cr0 = x86::kCr0Cd | x86::kCr0Nw | x86::kCr0Et;
	g_.rflags = x86::kRflagsFixed;
	g_.rip = 0xfff0;
	g_.pat = x86::kPatPowerOn;
	for (u64 &r : gprs_.r)
		r = 0;
	gprs_.r[x86::kRdx] = 0x600; // family 6 reset signature, as KVM reports
	cr2_ = cr8_ = 0;
	apic_base_ = 0xfee00900;
	state_dirty_ = true;
	flush_vpid_ = true;
	nmi_known_unmasked_ = true;
}

// The hardware's CR0/CR4: the guest's, plus what VMX operation fixes to 1
// (CR0.NE; CR0.PE/PG too without unrestricted guest; CR4.VMXE), and for
// CR0 without CD and NW: as KVM (KVM_VM_CR0_ALWAYS_OFF), the guest never
// runs with its caches off; it keeps the bits it wrote. The guest reads
// its own value through the read shadows; those bits are host-owned.
u64 VmxVcpu::hardware_cr0(u64 cr0) const
{
	const Features &f = features();
	const u64 free = f.unrestricted_guest ? x86::kCr0Pe | x86::kCr0Pg : 0;
	return (cr0 & ~(x86::kCr0Cd | x86::kCr0Nw)) | (f.cr0_fixed0 & ~free);
}

u64 VmxVcpu::cr0_host_owned() const { return hardware_cr0(0) | x86::kCr0Cd | x86::kCr0Nw; }

u64 VmxVcpu::hardware_cr4(u64 cr4) const { return cr4 | features().cr4_fixed0; }

void VmxVcpu::init_vmcs()
{
	const Features &f = features();
	axvm_vmwrite(VMCS_LINK_POINTER, ~0ull);
	axvm_vmwrite(VMCS_VPID, vpid_);
	axvm_vmwrite(VMCS_PIN_CONTROLS, f.pin);
	proc_ = f.proc;
	axvm_vmwrite(VMCS_PROC_CONTROLS, proc_);
	// Without a VPID of its own (all taken), the vCPU runs with VPIDs off.
	axvm_vmwrite(VMCS_PROC_CONTROLS2, vpid_ ? f.proc2 : f.proc2 & ~proc2::kVpid);
	axvm_vmwrite(VMCS_EXCEPTION_BITMAP, 1u << x86::kVectorUd | 1u << x86::kVectorDb | 1u << x86::kVectorAc |
						    1u << x86::kVectorMc); // exits.cpp says why
	axvm_vmwrite(VMCS_CR3_TARGET_COUNT, 0);
	msr_bitmap_all_ = false;
	axvm_vmwrite(VMCS_MSR_BITMAP, msr_bitmap_pa(false));
	axvm_vmwrite(VMCS_EXIT_CONTROLS, f.exit);
	// The guest's syscall MSRs and KernelGSBase in, stored back on exit;
	// the host's (second half of the page) loaded on exit.
	axvm_vmwrite(VMCS_ENTRY_MSR_LOAD_ADDR, msrs_pa_);
	axvm_vmwrite(VMCS_ENTRY_MSR_LOAD_COUNT, AXVM_VMX_NR_MSRS);
	axvm_vmwrite(VMCS_EXIT_MSR_STORE_ADDR, msrs_pa_);
	axvm_vmwrite(VMCS_EXIT_MSR_STORE_COUNT, AXVM_VMX_NR_MSRS);
	axvm_vmwrite(VMCS_EXIT_MSR_LOAD_ADDR, msrs_pa_ + AXVM_VMX_NR_MSRS * sizeof(axvm_vmx_msr_entry));
	axvm_vmwrite(VMCS_EXIT_MSR_LOAD_COUNT, AXVM_VMX_NR_MSRS);
	axvm_vmwrite(VMCS_EPT_POINTER, eptp());
	axvm_vmwrite(VMCS_CR0_MASK, cr0_host_owned());
	axvm_vmwrite(VMCS_CR4_MASK, ~0ull); // every MOV to CR4 is checked (exits.cpp)
	axvm_vmwrite(VMCS_GUEST_DEBUGCTL, 0);
	axvm_vmwrite(VMCS_GUEST_DR7, 0x400); // the guest's DR7 is a shadow (exits.cpp)
	axvm_vmwrite(VMCS_GUEST_PENDING_DEBUG, 0);
	axvm_vmwrite(VMCS_GUEST_ACTIVITY_STATE, 0);
	state_dirty_ = true;
}

// SYSENTER in the VMCS's guest state, the syscall MSRs and KernelGSBase in
// the MSR areas (vmx_vcpu.cpp lists them).
u64 VmxVcpu::switched_msr(u32 index) const
{
	switch (index) {
	case x86::msr::kSysenterCs: return g_.sysenter_cs;
	case x86::msr::kSysenterEsp: return g_.sysenter_esp;
	case x86::msr::kSysenterEip: return g_.sysenter_eip;
	default:
		for (u32 i = 0; i < AXVM_VMX_NR_MSRS; i++)
			if (msrs_[i].index == index)
				return msrs_[i].value;
		return 0;
	}
}

void VmxVcpu::set_switched_msr(u32 index, u64 value)
{
	switch (index) {
	case x86::msr::kSysenterCs: g_.sysenter_cs = value; break;
	case x86::msr::kSysenterEsp: g_.sysenter_esp = value; break;
	case x86::msr::kSysenterEip: g_.sysenter_eip = value; break;
	default:
		for (u32 i = 0; i < AXVM_VMX_NR_MSRS; i++)
			if (msrs_[i].index == index)
				msrs_[i].value = value;
		return;
	}
	state_dirty_ = true;
}

void VmxVcpu::set_tsc_offset(u64 offset)
{
	tsc_offset_ = offset;
	state_dirty_ = true;
}

void VmxVcpu::write_guest_state()
{
	axvm_vmwrite(VMCS_EPT_POINTER, eptp()); // changes with SMM (address_space_changed)
	for (u32 i = 0; i < x86::kNumSegs; i++) {
		const VmxSegment &s = g_.seg[i];
		axvm_vmwrite(VMCS_GUEST_ES_SELECTOR + 2 * i, s.selector);
		axvm_vmwrite(VMCS_GUEST_ES_LIMIT + 2 * i, s.limit);
		axvm_vmwrite(VMCS_GUEST_ES_AR + 2 * i, s.ar);
		axvm_vmwrite(VMCS_GUEST_ES_BASE + 2 * i, s.base);
	}
	axvm_vmwrite(VMCS_GUEST_GDTR_BASE, g_.gdtr_base);
	axvm_vmwrite(VMCS_GUEST_GDTR_LIMIT, g_.gdtr_limit);
	axvm_vmwrite(VMCS_GUEST_IDTR_BASE, g_.idtr_base);
	axvm_vmwrite(VMCS_GUEST_IDTR_LIMIT, g_.idtr_limit);
	axvm_vmwrite(VMCS_GUEST_CR0, hardware_cr0(g_.cr0));
	axvm_vmwrite(VMCS_CR0_SHADOW, g_.cr0);
	axvm_vmwrite(VMCS_GUEST_CR3, g_.cr3);
	axvm_vmwrite(VMCS_GUEST_CR4, hardware_cr4(g_.cr4));
	axvm_vmwrite(VMCS_CR4_SHADOW, g_.cr4);
	axvm_vmwrite(VMCS_GUEST_EFER, g_.efer);
	axvm_vmwrite(VMCS_GUEST_PAT, g_.pat);
	axvm_vmwrite(VMCS_ENTRY_CONTROLS,
		     features().entry | (g_.efer & x86::kEferLma ? entry_ctl::kLongModeGuest : 0));
	axvm_vmwrite(VMCS_GUEST_SYSENTER_CS, g_.sysenter_cs);
	axvm_vmwrite(VMCS_GUEST_SYSENTER_ESP, g_.sysenter_esp);
	axvm_vmwrite(VMCS_GUEST_SYSENTER_EIP, g_.sysenter_eip);
	axvm_vmwrite(VMCS_TSC_OFFSET, tsc_offset_);
	for (u32 i = 0; i < 4; i++)
		axvm_vmwrite(VMCS_GUEST_PDPTE0 + 2 * i, g_.pdpte[i]);
	axvm_vmwrite(VMCS_GUEST_RIP, g_.rip);
	axvm_vmwrite(VMCS_GUEST_RSP, g_.rsp);
	axvm_vmwrite(VMCS_GUEST_RFLAGS, g_.rflags);
	axvm_vmwrite(VMCS_GUEST_INTERRUPTIBILITY, g_.interruptibility);
}

// After an exit: everything the guest can change without exiting.
void VmxVcpu::read_guest_state()
{
	for (u32 i = 0; i < x86::kNumSegs; i++) {
		VmxSegment &s = g_.seg[i];
		s.selector = static_cast<u16>(axvm_vmread(VMCS_GUEST_ES_SELECTOR + 2 * i));
		s.limit = static_cast<u32>(axvm_vmread(VMCS_GUEST_ES_LIMIT + 2 * i));
		s.ar = static_cast<u32>(axvm_vmread(VMCS_GUEST_ES_AR + 2 * i));
		s.base = axvm_vmread(VMCS_GUEST_ES_BASE + 2 * i);
	}
	g_.gdtr_base = axvm_vmread(VMCS_GUEST_GDTR_BASE);
	g_.gdtr_limit = static_cast<u32>(axvm_vmread(VMCS_GUEST_GDTR_LIMIT));
	g_.idtr_base = axvm_vmread(VMCS_GUEST_IDTR_BASE);
	g_.idtr_limit = static_cast<u32>(axvm_vmread(VMCS_GUEST_IDTR_LIMIT));
	const u64 owned = cr0_host_owned();
	g_.cr0 = (axvm_vmread(VMCS_GUEST_CR0) & ~owned) | (g_.cr0 & owned);
	g_.cr3 = axvm_vmread(VMCS_GUEST_CR3);
	g_.efer = axvm_vmread(VMCS_GUEST_EFER);
	g_.pat = axvm_vmread(VMCS_GUEST_PAT);
	g_.sysenter_cs = axvm_vmread(VMCS_GUEST_SYSENTER_CS);
	g_.sysenter_esp = axvm_vmread(VMCS_GUEST_SYSENTER_ESP);
	g_.sysenter_eip = axvm_vmread(VMCS_GUEST_SYSENTER_EIP);
	if (pae_paging(g_))
		for (u32 i = 0; i < 4; i++)
			g_.pdpte[i] = axvm_vmread(VMCS_GUEST_PDPTE0 + 2 * i);
	g_.rip = axvm_vmread(VMCS_GUEST_RIP);
	g_.rsp = axvm_vmread(VMCS_GUEST_RSP);
	g_.rflags = axvm_vmread(VMCS_GUEST_RFLAGS);
	g_.interruptibility = static_cast<u32>(axvm_vmread(VMCS_GUEST_INTERRUPTIBILITY));
	// Only a delivered NMI blocks NMIs (with virtual NMIs, until IRET):
	// KVM's nmi_known_unmasked. (Bochs was seen to report the blocking of
	// an NMI delivered to another VMCS on the same CPU.)
	if (nmi_known_unmasked_)
		g_.interruptibility &= ~kBlockNmi;
}

// PAE paging without long mode: the CPU holds the four PDPTEs, loaded from
// CR3 when paging is turned on or CR3 written (SDM vol. 3A, 4.4.1); VM
// entry loads them from the VMCS, so a state set from outside the guest
// reads them as the CPU would. -EFAULT if CR3 is not in guest RAM.
Status VmxVcpu::load_pdptes()
{
	if (!pae_paging(g_))
		return Status();
	return guest_memory().read(g_.cr3 & ~0x1full, g_.pdpte, sizeof(g_.pdpte));
}

void VmxVcpu::set_efer(u64 value)
{
	g_.efer = (value & ~x86::kEferLma) | (g_.efer & x86::kEferLma); // LMA is the CPU's
	state_dirty_ = true;
}

void VmxVcpu::set_pat(u64 value)
{
	g_.pat = value;
	state_dirty_ = true;
}

void VmxVcpu::set_rip_rflags(u64 rip, u64 rflags)
{
	g_.rip = rip;
	g_.rflags = rflags;
	// STI blocking needs IF (SDM 26.3.1.5): the shadow goes with IF.
	if (!(g_.rflags & x86::kRflagsIf))
		g_.interruptibility &= ~kBlockSti;
	shut_down_ = false;
}

x86::Segment VmxVcpu::segment(x86::Seg s) const
{
	const VmxSegment &v = g_.seg[s];
	return x86::Segment{v.selector, x86::from_vmx_ar(v.ar), v.limit, v.base};
}

void VmxVcpu::get_sregs(axvm_sregs &out) const
{
	using namespace x86;
	out = axvm_sregs{};
	out.es = to_kvm(segment(kEs)), out.cs = to_kvm(segment(kCs)), out.ss = to_kvm(segment(kSs));
	out.ds = to_kvm(segment(kDs)), out.fs = to_kvm(segment(kFs)), out.gs = to_kvm(segment(kGs));
	out.ldt = to_kvm(segment(kLdtr)), out.tr = to_kvm(segment(kTr));
	out.gdt.base = g_.gdtr_base, out.gdt.limit = static_cast<u16>(g_.gdtr_limit);
	out.idt.base = g_.idtr_base, out.idt.limit = static_cast<u16>(g_.idtr_limit);
	out.cr0 = g_.cr0, out.cr2 = cr2_, out.cr3 = g_.cr3, out.cr4 = g_.cr4;
	out.cr8 = cr8_;
	out.efer = g_.efer;
	out.apic_base = apic_base_;
}

Status VmxVcpu::set_sregs(const axvm_sregs &in)
{
	using namespace x86;
	if (!sregs_valid(in, cr4_extra()))
		return fail(err::EINVAL);
	const GuestState before = g_;
	const axvm_segment *segs[kNumSegs] = {&in.es, &in.cs, &in.ss, &in.ds, &in.fs, &in.gs, &in.ldt, &in.tr};
	for (u32 i = 0; i < kNumSegs; i++) {
		const Segment s = from_kvm(*segs[i]);
		u32 ar = to_vmx_ar(s.attrib);
		// As KVM with unrestricted guest: the accessed bit set on every
		// usable segment but LDTR (older VMMs leave it clear; VM entry
		// needs it).
		if (i != kLdtr && !(ar & kArUnusable) && features().unrestricted_guest)
			ar |= 1;
		g_.seg[i] = VmxSegment{s.base, s.limit, ar, s.selector};
	}
	g_.gdtr_base = in.gdt.base, g_.gdtr_limit = in.gdt.limit;
	g_.idtr_base = in.idt.base, g_.idtr_limit = in.idt.limit;
	g_.cr0 = in.cr0, g_.cr3 = in.cr3, g_.cr4 = in.cr4, g_.efer = in.efer;
	if (!load_pdptes().ok()) {
		axvm_log(AXVM_LOG_WARN, "SET_SREGS: PAE page-directory pointers at CR3 0x%llx are not in guest RAM",
			 in.cr3);
		g_ = before;
		return fail(err::EINVAL);
	}
	cr2_ = in.cr2;
	cr8_ = in.cr8 & 0xf;
	// New control registers: translations cached under the old ones go.
	flush_vpid_ = true;
	state_dirty_ = true;
	shut_down_ = false;
	return Status();
}

} // namespace axvm::vmx
