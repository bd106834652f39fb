// SPDX-License-Identifier: GPL-2.0
// X86Vcpu: finishing an intercepted instruction, the same on SVM and VMX
// (as KVM's kvm_emulate_* do it for both vendor modules).
#include "x86_vcpu.hpp"

#include "emulate.hpp"
#include "guest_access.hpp"
#include "x86_vm.hpp"

namespace axvm::x86 {

void X86Vcpu::advance_rip(u64 next_rip)
{
	set_rip(next_rip);
	set_interrupt_shadow(0);
	if ((rflags() & kRflagsTf) && injected().type == Event::Type::None)
		reflect_debug(kDr6Bs);
}

ExitReason X86Vcpu::inject_exception(u8 vector, bool has_error, u32 error)
{
	set_injected(Event{Event::Type::Exception, vector, has_error, error});
	return ExitReason::nothing();
}

void X86Vcpu::access_dr(bool write, u8 dr, u8 reg)
{
	u64 *shadow = dr < 4 ? &dr_[dr] : (dr & 1) ? &dr7_ : &dr6_; // DR4/5 alias DR6/7
	if (write)
		*shadow = gpr(reg);
	else
		set_gpr(reg, *shadow);
}

// KVM's kvm_deliver_exception_payload() for #DB: B0-B3 of earlier
// exceptions are cleared, the other status bits are sticky (SDM vol. 3B,
// 17.2.3), bit 12 reads 0.
ExitReason X86Vcpu::reflect_debug(u64 hit)
{
	hit &= kDr6Trap | kDr6Bd | kDr6Bs | kDr6Bt;
	dr6_ = ((dr6_ & ~kDr6Trap) | kDr6Fixed | hit) & ~(1ull << 12);
	return inject_exception(kVectorDb);
}

bool X86Vcpu::guest_alignment_check() const
{
	return attrib_dpl(segment(kSs).attrib) == 3 && (cr0() & kCr0Am) && (rflags() & kRflagsAc);
}

// As KVM: OSXSAVE mirrors CR4 (where the host has XSAVE), the APIC bit the
// APIC base's enable bit, and leaf 0xD's EBX is the XSAVE size for the
// XCR0 the guest has now.
void X86Vcpu::cpuid_runtime(u32 function, u32 index, CpuidResult &r) const
{
	if (function == 1) {
		if (axvm_x86_host_xcr0())
			r.ecx = (r.ecx & ~(1u << 27)) | (cr4() & kCr4Osxsave ? 1u << 27 : 0);
		const u64 base = lapic_ ? lapic_->apic_base() : apic_base_;
		r.edx = (r.edx & ~(1u << 9)) | (base & (1ull << 11) ? 1u << 9 : 0);
		// KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT off: MONITOR follows
		// IA32_MISC_ENABLE's MWAIT bit. (KVM writes it into its table
		// at each SET_CPUID2 and MISC_ENABLE toggle; here it is derived
		// on each read, the same answer unless the quirk is disabled
		// after SET_CPUID2 and before any MISC_ENABLE write.)
		if (!vm_arch().quirk(AXVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT))
			r.ecx = (r.ecx & ~kCpuidMonitor) | (msrs_.misc_enable & kMiscEnableMwait ? kCpuidMonitor : 0);
	}
	if (function == 0xd && index == 0 && r.eax)
		r.ebx = xsave_size(xcr0_);
}

Status X86Vcpu::set_cpuid(const axvm_cpuid2 &c, usize size)
{
	if (!entered_)
		return cpuid_.set(c, size);
	// KVM 6.1's kvm_cpuid_check_equal(): after KVM_RUN a vCPU model is
	// final; the same table (as the guest sees it) is accepted, any other
	// is -EINVAL.
	if (c.nent > AXVM_MAX_CPUID_ENTRIES || size < sizeof(c) + c.nent * sizeof(c.entries[0]))
		return fail(err::E2BIG);
	bool same = true;
	for (u32 i = 0; i < c.nent && same; i++) {
		const axvm_cpuid_entry2 &e = c.entries[i];
		const axvm_cpuid_entry2 *o = cpuid_.entry(i);
		if (!o || o->function != e.function || o->index != e.index || o->flags != e.flags) {
			same = false;
			break;
		}
		CpuidResult a{e.eax, e.ebx, e.ecx, e.edx}, b{o->eax, o->ebx, o->ecx, o->edx};
		cpuid_runtime(e.function, e.index, a);
		cpuid_runtime(o->function, o->index, b);
		same = a.eax == b.eax && a.ebx == b.ebx && a.ecx == b.ecx && a.edx == b.edx;
	}
	if (!same || c.nent != cpuid_.count()) {
		axvm_log(AXVM_LOG_WARN, "SET_CPUID2 after KVM_RUN: only the vCPU's own table again");
		return fail(err::EINVAL);
	}
	return Status();
}

Status X86Vcpu::get_cpuid(axvm_cpuid2 &c, usize size) const
{
	TRY(cpuid_.get(c, size));
	for (u32 i = 0; i < c.nent; i++) {
		axvm_cpuid_entry2 &e = c.entries[i];
		CpuidResult r{e.eax, e.ebx, e.ecx, e.edx};
		cpuid_runtime(e.function, e.index, r);
		e.eax = r.eax, e.ebx = r.ebx, e.ecx = r.ecx, e.edx = r.edx;
	}
	return Status();
}

ExitReason X86Vcpu::handle_cpuid()
{
	const u32 function = static_cast<u32>(gpr(kRax)), index = static_cast<u32>(gpr(kRcx));
	CpuidResult r = cpuid_.lookup(function, index);
	cpuid_runtime(function, index, r);
	set_gpr(kRax, r.eax);
	set_gpr(kRbx, r.ebx);
	set_gpr(kRcx, r.ecx);
	set_gpr(kRdx, r.edx);
	return ExitReason::nothing();
}

ExitReason X86Vcpu::port_io(u16 port, u8 size, bool in, u64 next_rip)
{
	if (kernel_port_io(port, size, in, next_rip))
		return ExitReason::nothing();
	if (in) {
		set_pending(Pending::PortIn, next_rip);
		io_size_ = size;
		return ExitReason::io_read(port, width_of(size));
	}
	set_pending(Pending::PortOut, next_rip);
	const u64 mask = size == 4 ? 0xffffffffull : (1ull << (8 * size)) - 1;
	return ExitReason::io_write(port, width_of(size), gpr(kRax) & mask);
}

Result<ExitReason> X86Vcpu::string_io(const StringIo &io)
{
	if (io.rep && !(gpr(kRcx) & io.amask)) {
		advance_rip(io.next_rip);
		return ExitReason::nothing();
	}
	string_ = io;
	if (io.in) {
		// KVM's pio_in_emulated() read-ahead: REP INS asks userspace for
		// up to kMaxIoBatch bytes at once, never past RCX nor the page
		// of ES:RDI.
		u64 n = 1;
		if (io.rep) {
			const u64 off = (segment_base(kEs) + (gpr(kRdi) & io.amask)) & 0xfff;
			const u64 in_page = rflags() & kRflagsDf ? off / io.size + 1 : (0x1000 - off) / io.size;
			n = gpr(kRcx) & io.amask;
			if (n > in_page)
				n = in_page;
			if (n > kMaxIoBatch / io.size)
				n = kMaxIoBatch / io.size;
			if (!n)
				n = 1;
		}
		string_count_ = static_cast<u32>(n);
		string_len_ = 0;
		set_pending(Pending::StringIn, io.next_rip);
		return ExitReason::io_read(io.port, width_of(io.size), static_cast<u16>(n));
	}
	u64 value = 0;
	TRY(access_linear(segment_base(static_cast<Seg>(io.segment)) + (gpr(kRsi) & io.amask), &value, io.size,
			  false));
	const i64 delta = rflags() & kRflagsDf ? -static_cast<i64>(io.size) : io.size;
	set_gpr(kRsi, step_index(gpr(kRsi), delta, io.amask));
	advance_rep();
	return ExitReason::io_write(io.port, width_of(io.size), value);
}

void X86Vcpu::take_io_batch(const u8 *data, u32 len)
{
	if (len > sizeof(string_buf_))
		len = sizeof(string_buf_);
	// The run area is userspace's, changing under us: one copy, then only it.
	copy_once(string_buf_, data, len);
	string_len_ = len;
}

// The elements userspace gave for the IN of string_: with a batch, as many
// as RCX still asks for (userspace may have changed it, as KVM allows),
// each stored at ES:RDI in turn; the instruction ends when RCX does.
void X86Vcpu::complete_string_in(u64 value)
{
	const u32 asked = string_count_;
	string_count_ = 1;
	if (asked <= 1) {
		store_string_in(value);
		advance_rep();
		return;
	}
	u64 n = string_.rep ? gpr(kRcx) & string_.amask : 1;
	if (n > asked)
		n = asked;
	for (u64 i = 0; i < n; i++) {
		u64 v = 0;
		for (u32 b = 0; b < string_.size; b++) {
			const u64 at = i * string_.size + b;
			v |= static_cast<u64>(at < string_len_ ? string_buf_[at] : 0) << (8 * b);
		}
		store_string_in(v);
		if (string_.rep)
			set_gpr(kRcx, step_index(gpr(kRcx), -1, string_.amask));
	}
	if (string_.rep && (gpr(kRcx) & string_.amask))
		return; // the instruction runs again for the rest
	advance_rip(string_.next_rip);
}

void X86Vcpu::store_string_in(u64 value)
{
	const u64 linear = segment_base(kEs) + (gpr(kRdi) & string_.amask);
	if (!access_linear(linear, &value, string_.size, true).ok()) {
		// The buffer is not guest RAM: the element is dropped, as a
		// device write to a hole would be.
		axvm_log(AXVM_LOG_WARN, "INS to linear 0x%llx outside guest RAM", linear);
	}
	const i64 delta = rflags() & kRflagsDf ? -static_cast<i64>(string_.size) : string_.size;
	set_gpr(kRdi, step_index(gpr(kRdi), delta, string_.amask));
}

// One element done: with REP and elements left, the instruction runs again.
void X86Vcpu::advance_rep()
{
	if (string_.rep) {
		set_gpr(kRcx, step_index(gpr(kRcx), -1, string_.amask));
		if (gpr(kRcx) & string_.amask)
			return;
	}
	advance_rip(string_.next_rip);
}

Result<ExitReason> X86Vcpu::mmio_fault(u64 gpa, u32 access, bool describable)
{
	if (guest_memory().backs(gpa, access & kAccessWrite))
		return ExitReason::nothing(); // a slot appeared since: the new stage 2 has it
	if (!describable)
		return ExitReason::nested_page_fault(gpa, access);
	u8 bytes[15];
	usize n = 0;
	Status s = fetch(bytes, sizeof(bytes), &n);
	Result<MmioInstruction> insn = s.ok() ? decode_mmio(bytes, n, cpu_mode()) : Result<MmioInstruction>(Error{s.error()});
	if (!insn.ok()) {
		axvm_log(AXVM_LOG_WARN, "MMIO at 0x%llx by an instruction axvm cannot decode (RIP 0x%llx)", gpa, rip());
		return ExitReason::nested_page_fault(gpa, access);
	}
	const MmioInstruction &m = insn.value();
	const u64 next_rip = rip() + m.length;
	bool handled = false;
	const ExitReason in_kernel = TRY(kernel_mmio(gpa, m, next_rip, &handled));
	if (handled)
		return in_kernel;
	if (m.is_write) {
		u64 regs[16];
		for (u8 i = 0; i < 16; i++)
			regs[i] = gpr(i);
		const u64 data = mmio_store_value(m, regs);
		advance_rip(next_rip); // a store completes now ...
		return ExitReason::mmio_write(gpa, m.width, data);
	}
	mmio_ = m; // ... a load when userspace answers it
	set_pending(Pending::Mmio, next_rip);
	return ExitReason::mmio_read(gpa, m.width, m.reg, m.reg_width, m.sign_extend);
}

ExitReason X86Vcpu::emulate_rdtscp(u64 next_rip)
{
	if (!has_rdtscp())
		return inject_exception(kVectorUd);
	const u64 tsc = guest_tsc();
	set_gpr(kRax, static_cast<u32>(tsc));
	set_gpr(kRdx, tsc >> 32);
	set_gpr(kRcx, static_cast<u32>(msrs_.tsc_aux));
	advance_rip(next_rip);
	return ExitReason::nothing();
}

ExitReason X86Vcpu::foreign_hypercall(const u8 (&native)[3])
{
	// KVM_X86_QUIRK_FIX_HYPERCALL_INSN: KVM writes this CPU's instruction
	// over the other vendor's and lets the guest run it again (KVM's
	// emulator_fix_hypercall()); without the quirk the guest gets the #UD
	// the CPU raised.
	if (!vm_arch().quirk(AXVM_X86_QUIRK_FIX_HYPERCALL_INSN))
		return inject_exception(kVectorUd);
	u8 copy[3] = {native[0], native[1], native[2]};
	if (!access_linear(segment_base(kCs) + rip(), copy, sizeof(copy), true).ok())
		return inject_exception(kVectorUd); // not writable as the guest maps it
	return ExitReason::nothing();
}

ExitReason X86Vcpu::monitor_mwait(u64 next_rip)
{
	// KVM's kvm_emulate_monitor_mwait(): NOPs, unless
	// KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS is off and the guest's CPUID
	// lacks MONITOR: then the #UD such a CPU raises.
	CpuidResult r = cpuid_.lookup(1, 0);
	cpuid_runtime(1, 0, r);
	if (!vm_arch().quirk(AXVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS) && !(r.ecx & kCpuidMonitor))
		return inject_exception(kVectorUd);
	advance_rip(next_rip);
	return ExitReason::nothing();
}

ExitReason X86Vcpu::hypercall_exit(u64 next_rip)
{
	if (kernel_hypercall(next_rip))
		return ExitReason::nothing();
	u64 regs[16];
	for (u8 i = 0; i < 16; i++)
		regs[i] = gpr(i);
	set_pending(Pending::Hypercall, next_rip);
	return hypercall(regs, cpu_mode() == CpuMode::Long64);
}

CpuMode X86Vcpu::cpu_mode() const
{
	if (!(cr0() & kCr0Pe) || (rflags() & kRflagsVm))
		return CpuMode::Real; // real or virtual-8086
	const u16 cs = segment(kCs).attrib;
	if ((efer() & kEferLma) && (cs & kAttrL))
		return CpuMode::Long64;
	return cs & kAttrDb ? CpuMode::Protected32 : CpuMode::Protected16;
}

u64 X86Vcpu::segment_base(Seg s) const
{
	return s < kFs && cpu_mode() == CpuMode::Long64 ? 0 : segment(s).base;
}

Status X86Vcpu::access_linear(u64 linear, void *buf, usize len, bool write)
{
	return x86::access_linear(paging(), guest_memory(), linear, buf, len, write);
}

Status X86Vcpu::fetch(u8 *bytes, usize len, usize *fetched)
{
	return fetch_instruction(paging(), guest_memory(), segment_base(kCs) + rip(), bytes, len, fetched);
}

} // namespace axvm::x86
