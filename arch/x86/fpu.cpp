// SPDX-License-Identifier: GPL-2.0
// X86Vcpu: the guest's FPU and extended state as userspace sees it
// (KVM_GET/SET_FPU, KVM_GET/SET_XSAVE, KVM_GET/SET_XCRS) and XCR0, which
// XSETBV sets (KVM's __kvm_set_xcr) and the entry code loads around the
// guest. The state itself is the kernel's (host.c), in its guest fpstate.
#include "x86_vcpu.hpp"

#include <axvm/raii.hpp>

namespace axvm::x86 {

namespace {

constexpr u64 kXfeatFp = 1, kXfeatSse = 2, kXfeatYmm = 4;

// The legacy FXSAVE area at the start of the XSAVE layout (SDM vol. 1,
// 10.5.1) and the XSAVE header's XSTATE_BV (at 512).
struct FxsaveArea {
	u16 fcw, fsw;
	u8 ftw, reserved1;
	u16 fop;
	u64 fip, fdp;
	u32 mxcsr, mxcsr_mask;
	u8 st[8][16];
	u8 xmm[16][16];
	u8 reserved2[96];
};
static_assert(sizeof(FxsaveArea) == 512);
constexpr usize kXstateBvOffset = 512;

template <usize N> void copy_regs(u8 (&to)[N][16], const u8 (&from)[N][16])
{
	for (usize i = 0; i < N; i++)
		for (usize b = 0; b < 16; b++)
			to[i][b] = from[i][b];
}

} // namespace

u64 supported_xcr0() { return axvm_x86_host_xcr0() & (kXfeatFp | kXfeatSse | kXfeatYmm); }

// What the guest may enable: what its CPUID leaf 0xD offers, of what axvm
// supports (KVM's guest_supported_xcr0), and x87 always.
u64 X86Vcpu::guest_supported_xcr0() const
{
	const CpuidResult d = cpuid_.lookup(0xd, 0);
	return ((static_cast<u64>(d.edx) << 32 | d.eax) & supported_xcr0()) | kXfeatFp;
}

// KVM's __kvm_set_xcr() for XCR0.
Status X86Vcpu::set_xcr0(u64 value)
{
	if (!(value & kXfeatFp) || ((value & kXfeatYmm) && !(value & kXfeatSse)) ||
	    (value & ~guest_supported_xcr0()))
		return fail(err::EINVAL);
	xcr0_ = value;
	return Status();
}

ExitReason X86Vcpu::emulate_xsetbv(u64 next_rip)
{
	// #UD without CR4.OSXSAVE (the CPU checks it before the exit on SVM
	// and VMX alike); #GP outside CPL 0, for another XCR or a bad value.
	const u64 value = (gpr(kRdx) << 32) | static_cast<u32>(gpr(kRax));
	if (attrib_dpl(segment(kSs).attrib) != 0 || static_cast<u32>(gpr(kRcx)) != 0 || !set_xcr0(value).ok())
		return inject_exception(kVectorGp, true, 0);
	advance_rip(next_rip);
	return ExitReason::nothing();
}

u64 X86Vcpu::entry_xcr0()
{
	xcr0_seen_ = xcr0_;
	return cr4() & kCr4Osxsave ? xcr0_ : 0;
}

// After an exit: what XCR0 the guest had. It differs from what was loaded
// only where the XSETBV intercept was not honoured (see entry_common.h);
// a value this guest may have is taken, anything else is not.
void X86Vcpu::note_exit_xcr0()
{
	if (xcr0_seen_ != xcr0_)
		(void)set_xcr0(xcr0_seen_);
}

Status X86Vcpu::fpu_ioctl(unsigned int cmd, void *arg)
{
	switch (cmd) {
	case AXVM_GET_XSAVE:
		axvm_x86_fpu_get_xsave(fpu_, arg, sizeof(axvm_xsave), supported_xcr0());
		return Status();
	case AXVM_SET_XSAVE:
		return axvm_x86_fpu_set_xsave(fpu_, arg, supported_xcr0()) ? fail(err::EINVAL) : Status();
	case AXVM_GET_XCRS: {
		axvm_xcrs &x = *static_cast<axvm_xcrs *>(arg);
		x = axvm_xcrs{};
		if (axvm_x86_host_xcr0()) {
			x.nr_xcrs = 1;
			x.xcrs[0].value = xcr0_;
		}
		return Status();
	}
	case AXVM_SET_XCRS: {
		const axvm_xcrs &x = *static_cast<const axvm_xcrs *>(arg);
		if (x.nr_xcrs > AXVM_MAX_XCRS || x.flags)
			return fail(err::EINVAL);
		for (u32 i = 0; i < x.nr_xcrs; i++)
			if (x.xcrs[i].xcr == 0)
				return set_xcr0(x.xcrs[i].value);
		return Status();
	}
	case AXVM_GET_FPU:
	case AXVM_SET_FPU:
		break;
	default:
		return fail(err::ENOTTY);
	}
	// KVM_GET/SET_FPU: the legacy area, through the XSAVE image so that
	// the rest of the state stays as it is.
	Owned<axvm_xsave> image(new axvm_xsave);
	if (!image)
		return fail(err::ENOMEM);
	axvm_x86_fpu_get_xsave(fpu_, image.get(), sizeof(axvm_xsave), supported_xcr0());
	FxsaveArea &fx = *reinterpret_cast<FxsaveArea *>(image->region);
	axvm_fpu &f = *static_cast<axvm_fpu *>(arg);
	if (cmd == AXVM_GET_FPU) {
		f = axvm_fpu{};
		copy_regs(f.fpr, fx.st);
		f.fcw = fx.fcw, f.fsw = fx.fsw, f.ftwx = fx.ftw, f.last_opcode = fx.fop;
		f.last_ip = fx.fip, f.last_dp = fx.fdp, f.mxcsr = fx.mxcsr;
		copy_regs(f.xmm, fx.xmm);
		return Status();
	}
	copy_regs(fx.st, f.fpr);
	fx.fcw = f.fcw, fx.fsw = f.fsw, fx.ftw = f.ftwx, fx.fop = f.last_opcode;
	fx.fip = f.last_ip, fx.fdp = f.last_dp, fx.mxcsr = f.mxcsr;
	copy_regs(fx.xmm, f.xmm);
	// Both parts now hold what userspace gave, also where they were in
	// their initial state before.
	reinterpret_cast<u8 *>(image->region)[kXstateBvOffset] |= kXfeatFp | kXfeatSse;
	return axvm_x86_fpu_set_xsave(fpu_, image.get(), supported_xcr0()) ? fail(err::EINVAL) : Status();
}

} // namespace axvm::x86
