// SPDX-License-Identifier: GPL-2.0
// KVM_GET/SET_REGS and KVM_GET/SET_SREGS on an SVM vCPU, with KVM's checks,
// and the state a vCPU starts in (AMD APM vol. 2, 14.1.3 "Processor
// Initialization State"; KVM's kvm_vcpu_reset()).
#include "svm_vcpu.hpp"

#include "../emulate.hpp"

namespace axvm::svm {

namespace {

VmcbSegment real_mode(u16 selector, u64 base, u16 attrib) { return VmcbSegment{selector, attrib, 0xffff, base}; }

} // namespace

void SvmVcpu::reset()
{
	// KVM's init_vmcb: code and data segments not yet accessed, TR a
	// busy 16-bit TSS (its VMX reset differs: accessed, 32-bit TSS). The
	// SMM state-save map shows them as KVM_GET_SREGS does.
	VmcbSave &s = vmcb_->save;
	s.cs = real_mode(0xf000, 0xffff0000, 0x9a);
	s.ds = s.es = s.fs = s.gs = s.ss = real_mode(0, 0, 0x92);
	s.gdtr = s.idtr = real_mode(0, 0, 0);
	s.ldtr = real_mode(0, 0, 0x82);
	s.tr = real_mode(0, 0, 0x83);
	s.cpl = 0;
	s.cr0 = x86::kCr0Cd | x86::kCr0Nw | x86::kCr0Et;
	s.cr2 = s.cr3 = s.cr4 = 0;
	s.efer = x86::kEferSvme; // required by VMRUN, hidden from the guest
	s.rflags = x86::kRflagsFixed;
	s.rip = 0xfff0;
	s.rsp = s.rax = 0;
	s.dr6 = 0xffff0ff0;
	s.dr7 = 0x400;
	s.g_pat = x86::kPatPowerOn;
	for (u64 &r : gprs_.r)
		r = 0;
	gprs_.r[x86::kRdx] = 0x600; // family 6 reset signature, as KVM reports
	apic_base_ = 0xfee00900;
}

u64 SvmVcpu::gpr(u8 n) const
{
	if (n == x86::kRax)
		return vmcb_->save.rax;
	if (n == x86::kRsp)
		return vmcb_->save.rsp;
	return gprs_.r[n & 15];
}

void SvmVcpu::set_gpr(u8 n, u64 value)
{
	if (n == x86::kRax)
		vmcb_->save.rax = value;
	else if (n == x86::kRsp)
		vmcb_->save.rsp = value;
	else
		gprs_.r[n & 15] = value;
}

void SvmVcpu::set_efer(u64 value)
{
	// LMA is the CPU's to set (with paging); SVME is required by VMRUN and
	// hidden from the guest.
	VmcbSave &s = vmcb_->save;
	s.efer = (value & ~x86::kEferLma) | (s.efer & x86::kEferLma) | x86::kEferSvme;
}

// VMLOAD and VMSAVE switch these (APM 15.5.2); the others are in the save
// area too.
static u64 *switched_slot(VmcbSave &s, u32 index)
{
	switch (index) {
	case x86::msr::kSysenterCs: return &s.sysenter_cs;
	case x86::msr::kSysenterEsp: return &s.sysenter_esp;
	case x86::msr::kSysenterEip: return &s.sysenter_eip;
	case x86::msr::kStar: return &s.star;
	case x86::msr::kLstar: return &s.lstar;
	case x86::msr::kCstar: return &s.cstar;
	case x86::msr::kSfmask: return &s.sfmask;
	default: return &s.kernel_gs_base;
	}
}

u64 SvmVcpu::switched_msr(u32 index) const { return *switched_slot(vmcb_->save, index); }

void SvmVcpu::set_switched_msr(u32 index, u64 value) { *switched_slot(vmcb_->save, index) = value; }

void SvmVcpu::set_rip_rflags(u64 rip, u64 rflags)
{
	vmcb_->save.rip = rip;
	vmcb_->save.rflags = rflags;
	shut_down_ = false;
}

// The VMCB keeps segments in x86::Segment's form (APM 15.5.1).
static_assert(sizeof(VmcbSegment) == sizeof(x86::Segment));

x86::Segment SvmVcpu::segment(x86::Seg s) const
{
	const VmcbSave &v = vmcb_->save;
	const VmcbSegment *const segs[x86::kNumSegs] = {&v.es, &v.cs, &v.ss, &v.ds, &v.fs, &v.gs, &v.ldtr, &v.tr};
	const VmcbSegment &g = *segs[s];
	return x86::Segment{g.selector, g.attrib, g.limit, g.base};
}

static VmcbSegment to_vmcb(const axvm_segment &s)
{
	const x86::Segment g = x86::from_kvm(s);
	return VmcbSegment{g.selector, g.attrib, g.limit, g.base};
}

// As KVM's svm_get_segment: G from the limit (the VMCB need not keep it),
// TR's busy bit and the data segments' accessed bit always set (the CPU's
// descriptor cache keeps them; Intel's VM entry checks them).
static axvm_segment from_vmcb(const VmcbSegment &v, x86::Seg seg)
{
	axvm_segment s = x86::to_kvm(x86::Segment{v.selector, v.attrib, v.limit, v.base});
	s.g = v.limit > 0xfffff;
	if (seg == x86::kTr)
		s.type |= 2;
	else if (seg != x86::kCs && seg != x86::kSs && seg != x86::kLdtr && !s.unusable)
		s.type |= 1;
	return s;
}

void SvmVcpu::get_sregs(axvm_sregs &out) const
{
	const VmcbSave &s = vmcb_->save;
	out = axvm_sregs{};
	using namespace x86;
	out.cs = from_vmcb(s.cs, kCs), out.ds = from_vmcb(s.ds, kDs), out.es = from_vmcb(s.es, kEs);
	out.fs = from_vmcb(s.fs, kFs), out.gs = from_vmcb(s.gs, kGs), out.ss = from_vmcb(s.ss, kSs);
	out.tr = from_vmcb(s.tr, kTr), out.ldt = from_vmcb(s.ldtr, kLdtr);
	// KVM: SS's DPL is the CPL; an unusable SS has D/B clear.
	out.ss.dpl = s.cpl & 3;
	if (out.ss.unusable)
		out.ss.db = 0;
	out.gdt.base = s.gdtr.base, out.gdt.limit = static_cast<u16>(s.gdtr.limit);
	out.idt.base = s.idtr.base, out.idt.limit = static_cast<u16>(s.idtr.limit);
	out.cr0 = s.cr0, out.cr2 = s.cr2, out.cr3 = s.cr3, out.cr4 = s.cr4;
	out.cr8 = vmcb_->control.int_control & 0xf;
	out.efer = s.efer & ~x86::kEferSvme;
	out.apic_base = apic_base_;
}

Status SvmVcpu::set_sregs(const axvm_sregs &in)
{
	if (!x86::sregs_valid(in, cr4_extra()))
		return fail(err::EINVAL);

	VmcbSave &s = vmcb_->save;
	s.cs = to_vmcb(in.cs), s.ds = to_vmcb(in.ds), s.es = to_vmcb(in.es);
	s.fs = to_vmcb(in.fs), s.gs = to_vmcb(in.gs), s.ss = to_vmcb(in.ss);
	s.tr = to_vmcb(in.tr), s.ldtr = to_vmcb(in.ldt);
	s.gdtr = VmcbSegment{0, 0, in.gdt.limit, in.gdt.base};
	s.idtr = VmcbSegment{0, 0, in.idt.limit, in.idt.base};
	s.cpl = in.cr0 & x86::kCr0Pe ? in.ss.dpl & 3 : 0;
	s.cr0 = in.cr0, s.cr2 = in.cr2, s.cr3 = in.cr3, s.cr4 = in.cr4;
	s.efer = in.efer | x86::kEferSvme;
	vmcb_->control.int_control = (vmcb_->control.int_control & ~0xfull) | (in.cr8 & 0xf);
	// New control registers: translations cached under the old ones go.
	vmcb_->control.tlb_control = tlb_flush_;
	shut_down_ = false;
	return Status();
}

} // namespace axvm::svm
