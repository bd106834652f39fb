// SPDX-License-Identifier: GPL-2.0
// #VMEXIT -> ExitReason (AMD APM vol. 2, 15.9-15.13 and appendix C). Exits
// the kernel finishes alone (CPUID, EFER/PAT, debug registers, a refused
// instruction) come back as ExitReason::nothing() and the RUN loop re-enters.
#include "svm_vcpu.hpp"

#include "../emulate.hpp"
#include "../guest_access.hpp"
#include "../x86.hpp"
#include "svm_cpu.hpp"

namespace axvm::svm {

namespace {

// IOIO EXITINFO1 (APM 15.10.2).
constexpr u64 kIoIn = 1u << 0, kIoString = 1u << 2, kIoRep = 1u << 3;
u8 io_size(u64 info) { return info & (1u << 4) ? 1 : info & (1u << 5) ? 2 : 4; }
u64 io_address_mask(u64 info)
{
	return info & (1u << 7) ? 0xffff : info & (1u << 8) ? 0xffffffffull : ~0ull;
}
u8 io_segment(u64 info) { return (info >> 10) & 7; }
u16 io_port(u64 info) { return static_cast<u16>(info >> 16); }

// NPF EXITINFO1 (APM 15.25.6): the #PF error code plus where it happened.
constexpr u64 kNpfWrite = 1u << 1, kNpfFetch = 1u << 4, kNpfInGuestWalk = 1ull << 33;


} // namespace

Result<ExitReason> SvmVcpu::handle_exit()
{
	VmcbControl &c = vmcb_->control;
	// An event (interrupt, exception) was being delivered when the exit
	// came: deliver it again on the next entry (APM 15.7.2).
	if (c.exit_int_info & kEventValid)
		reinject(c.exit_int_info);

	const u64 code = c.exit_code;
	if (code >= kExitReadDr0 && code < kExitReadDr0 + 0x20)
		return handle_dr_access(code >= kExitWriteDr0, code & 0xf);

	switch (code) {
	case kExitIntr:
	case kExitNmi:
	case kExitSmi:
	case kExitInit:
		// Taken by the host once GIF is set again (entry.c).
		return ExitReason::external_interrupt(0);
	case kExitVintr:
		stats.irq_window_exits++;
		return ExitReason::nothing(); // the window opened: the next entry decides
	case kExitIret:
		// An NMI handler returns: the next entry decides again (interrupts.cpp).
		return ExitReason::nothing();
	case kExitHlt:
		return skip(1, ExitReason::halt());
	case kExitCpuid:
		return skip(2, handle_cpuid());
	case kExitVmmcall: {
		Result<u64> next = next_rip(3);
		if (!next.ok())
			return Error{next.error()};
		return hypercall_exit(next.value());
	}
	case kExitIoio:
		return handle_ioio();
	case kExitMsr:
		return handle_msr();
	case kExitNpf:
		return handle_npf();
	case kExitWriteCr4:
		return handle_cr4_write();
	case kExitShutdown:
		// The VMCB is undefined after a shutdown intercept (APM 15.12):
		// start over from reset state, and keep reporting the shutdown
		// until userspace gives the vCPU new registers.
		init_vmcb();
		shut_down_ = true;
		return ExitReason::system_down(SystemDownKind::TripleFault);
	case kExitExceptionBase + x86::kVectorDb: {
		// The CPU reported the debug condition in the VMCB's DR6, which
		// goes back to its neutral value for the next entry.
		const u64 hit = vmcb_->save.dr6 ^ x86::kDr6Fixed;
		vmcb_->save.dr6 = x86::kDr6Fixed;
		return reflect_debug(hit);
	}
	case kExitExceptionBase + x86::kVectorAc:
		return reflect_alignment_check(); // AMD CPUs raise no split-lock #AC
	case kExitExceptionBase + x86::kVectorMc:
		return ExitReason::nothing(); // the host's, handled by entry.c
	case kExitRdpmc:
		// No PMU is offered (CPUID leaf 0xA is absent): every counter
		// index is invalid, which is #GP (SDM vol. 2B, RDPMC).
		return inject_exception(x86::kVectorGp, true, 0);
	case kExitInvd:
	case kExitWbinvd:
		return skip(2, ExitReason::nothing()); // the host keeps its caches coherent
	case kExitVmrun:
	case kExitVmload:
	case kExitVmsave:
	case kExitStgi:
	case kExitClgi:
	case kExitSkinit:
	case kExitInvlpga:
	case kExitRdtscp:
	case kExitMonitor:
	case kExitMwait:
	case kExitMwaitCond:
	case kExitXsetbv:
	case kExitRdpru:
	case kExitRsm:
		// Not offered in CPUID: the guest gets what a CPU without them gives.
		return inject_exception(x86::kVectorUd);
	case kExitInvalid:
		axvm_log(AXVM_LOG_WARN, "VMRUN refused the guest state (VMEXIT_INVALID)");
		return ExitReason::fail_entry(code);
	default: {
		// KVM's report of an exit it does not handle; the vCPU stays usable.
		axvm_log(AXVM_LOG_WARN, "#VMEXIT 0x%llx (info1 0x%llx info2 0x%llx) is not handled: internal error to userspace",
			 code, c.exit_info1, c.exit_info2);
		const u64 data[2] = {code, static_cast<u64>(cpu_)};
		return ExitReason::internal_error(kInternalErrorUnexpectedExit, 2, data);
	}
	}
}

ExitReason SvmVcpu::inject_exception(u8 vector, bool has_error, u32 error)
{
	vmcb_->control.event_inj = vector | kEventTypeException | kEventValid |
				   (has_error ? kEventErrorValid | static_cast<u64>(error) << 32 : 0);
	return ExitReason::nothing();
}

// Without NRIP save (QEMU's SVM has none), the length of the intercepted
// instruction is its opcode plus whatever legacy and REX prefixes precede it.
Result<u64> SvmVcpu::next_rip(u8 opcode_len)
{
	if (features().nrips && vmcb_->control.next_rip)
		return vmcb_->control.next_rip;
	Result<u8> prefixes = prefix_bytes();
	if (!prefixes.ok())
		return Error{prefixes.error()};
	return vmcb_->save.rip + prefixes.value() + opcode_len;
}

Result<ExitReason> SvmVcpu::skip(u8 opcode_len, ExitReason then)
{
	Result<u64> next = next_rip(opcode_len);
	if (!next.ok())
		return Error{next.error()};
	advance_rip(next.value());
	return then;
}

Result<u8> SvmVcpu::prefix_bytes()
{
	const bool long_mode = (vmcb_->save.efer & x86::kEferLma) && (vmcb_->save.cs.attrib & (1u << 9));
	auto is_prefix = [long_mode](u8 b) {
		return b == 0x66 || b == 0x67 || b == 0xf0 || b == 0xf2 || b == 0xf3 || b == 0x2e || b == 0x36 ||
		       b == 0x3e || b == 0x26 || b == 0x64 || b == 0x65 || (long_mode && (b & 0xf0) == 0x40);
	};
	// Almost every instruction that gets here has no prefix: look at the
	// first bytes only, and at all 15 when they are all prefixes.
	u8 bytes[15];
	usize n = 0;
	Status s = fetch(bytes, 4, &n);
	u8 i = 0;
	while (s.ok() && i < n && is_prefix(bytes[i]))
		i++;
	if (s.ok() && i == n && n == 4) {
		s = fetch(bytes, sizeof(bytes), &n);
		while (s.ok() && i < n && is_prefix(bytes[i]))
			i++;
	}
	if (!s.ok()) {
		axvm_log(AXVM_LOG_WARN, "cannot fetch the instruction at RIP 0x%llx", vmcb_->save.rip);
		return Error{s.error()};
	}
	return i;
}

Result<ExitReason> SvmVcpu::handle_ioio()
{
	const u64 info = vmcb_->control.exit_info1;
	const u64 next_rip = vmcb_->control.exit_info2; // APM 15.10.2: always saved for IOIO
	if (info & kIoString)
		return handle_string_io(info, next_rip);
	return info & kIoIn ? port_in(io_port(info), io_size(info), next_rip)
			    : port_out(io_port(info), io_size(info), next_rip);
}

// INS/OUTS move one element per exit: a REP instruction with elements left
// is not skipped, so the guest executes it again and exits for the next one
// (KVM may batch several; count 1 is always valid in KVM's ABI).
Result<ExitReason> SvmVcpu::handle_string_io(u64 info, u64 next_rip)
{
	const u64 amask = io_address_mask(info);
	const u8 size = io_size(info);
	if ((info & kIoRep) && !(gpr(x86::kRcx) & amask)) {
		advance_rip(next_rip);
		return ExitReason::nothing();
	}
	if (info & kIoIn) {
		set_pending(Pending::StringIn, next_rip);
		io_size_ = size;
		io_info_ = info;
		io_next_rip_ = next_rip;
		return ExitReason::io_read(io_port(info), width_of(size));
	}

	const VmcbSegment *segs[] = {&vmcb_->save.es, &vmcb_->save.cs, &vmcb_->save.ss,
				     &vmcb_->save.ds, &vmcb_->save.fs, &vmcb_->save.gs};
	Result<u8> seg_index = outs_segment(info);
	if (!seg_index.ok())
		return Error{seg_index.error()};
	const u8 seg = seg_index.value();
	u64 value = 0;
	Status s = access_linear(segment_base(*segs[seg], seg) + (gpr(x86::kRsi) & amask), &value, size, false);
	if (!s.ok())
		return Error{s.error()};
	const i64 delta = vmcb_->save.rflags & x86::kRflagsDf ? -static_cast<i64>(size) : size;
	set_gpr(x86::kRsi, x86::step_index(gpr(x86::kRsi), delta, amask));
	advance_rep(info, next_rip);
	return ExitReason::io_write(io_port(info), width_of(size), value);
}

// OUTS reads DS:rSI unless a segment prefix says otherwise. EXITINFO1
// names the segment only with decode assists (APM 15.10.2), which QEMU
// lacks, so without them the prefixes are read from the instruction.
Result<u8> SvmVcpu::outs_segment(u64 info)
{
	if (features().decode_assists)
		return static_cast<u8>(io_segment(info) < 6 ? io_segment(info) : 3);
	u8 bytes[15];
	usize n = 0;
	Status s = fetch(bytes, sizeof(bytes), &n);
	if (!s.ok())
		return Error{s.error()};
	u8 seg = 3; // DS
	for (usize i = 0; i < n; i++) {
		switch (bytes[i]) {
		case 0x26: seg = 0; continue;
		case 0x2e: seg = 1; continue;
		case 0x36: seg = 2; continue;
		case 0x3e: seg = 3; continue;
		case 0x64: seg = 4; continue;
		case 0x65: seg = 5; continue;
		case 0x66: case 0x67: case 0xf2: case 0xf3: continue;
		default: break;
		}
		break;
	}
	return seg;
}

void SvmVcpu::advance_rep(u64 info, u64 next_rip)
{
	const u64 amask = io_address_mask(info);
	if (info & kIoRep) {
		set_gpr(x86::kRcx, x86::step_index(gpr(x86::kRcx), -1, amask));
		if (gpr(x86::kRcx) & amask)
			return; // elements left: execute the instruction again
	}
	advance_rip(next_rip);
}

void SvmVcpu::complete_string_in(u64 value)
{
	const u64 amask = io_address_mask(io_info_);
	const u64 linear = segment_base(vmcb_->save.es, 0) + (gpr(x86::kRdi) & amask);
	if (!access_linear(linear, &value, io_size_, true).ok()) {
		// The buffer is not guest RAM: the element is dropped, as a
		// device write to a hole would be.
		axvm_log(AXVM_LOG_WARN, "INS to linear 0x%llx outside guest RAM", linear);
	}
	const i64 delta = vmcb_->save.rflags & x86::kRflagsDf ? -static_cast<i64>(io_size_) : io_size_;
	set_gpr(x86::kRdi, x86::step_index(gpr(x86::kRdi), delta, amask));
	advance_rep(io_info_, io_next_rip_);
}

// In 64-bit mode only FS and GS have a base (APM vol. 2, 4.5.3).
u64 SvmVcpu::segment_base(const VmcbSegment &s, u8 index) const
{
	const bool long_mode = (vmcb_->save.efer & x86::kEferLma) && (vmcb_->save.cs.attrib & (1u << 9));
	return long_mode && index < 4 ? 0 : s.base;
}

Result<ExitReason> SvmVcpu::handle_msr()
{
	const bool write = vmcb_->control.exit_info1 & 1;
	const u32 msr = static_cast<u32>(gpr(x86::kRcx));
	const u64 value = (gpr(x86::kRdx) << 32) | static_cast<u32>(gpr(x86::kRax));
	VmcbSave &s = vmcb_->save;

	if (msr == x86::kMsrEfer) {
		if (!write) {
			set_gpr(x86::kRax, static_cast<u32>(s.efer & ~x86::kEferSvme));
			set_gpr(x86::kRdx, (s.efer & ~x86::kEferSvme) >> 32);
			return skip(2, ExitReason::nothing());
		}
		if (x86::efer_write_faults(value, s.efer & ~x86::kEferSvme, s.cr0))
			return inject_exception(x86::kVectorGp, true, 0);
		s.efer = (value & ~x86::kEferLma) | (s.efer & x86::kEferLma) | x86::kEferSvme;
		return skip(2, ExitReason::nothing());
	}
	if (msr == x86::kMsrPat) {
		if (!write) {
			set_gpr(x86::kRax, static_cast<u32>(s.g_pat));
			set_gpr(x86::kRdx, s.g_pat >> 32);
			return skip(2, ExitReason::nothing());
		}
		if (!x86::pat_valid(value))
			return inject_exception(x86::kVectorGp, true, 0);
		s.g_pat = value;
		return skip(2, ExitReason::nothing());
	}
	if (write && msr == x86::kMsrX2apicIcr)
		return skip(2, x86::x2apic_icr_write(value));
	// Every other MSR: what a CPU does for one it lacks (#GP), never a
	// host access. (The ones VMLOAD/VMSAVE switch never exit: svm_cpu.cpp.)
	return inject_exception(x86::kVectorGp, true, 0);
}

// MOV to/from CRn/DRn (0F 20-23 /r; ModRM.reg = n, ModRM.rm = GPR, the
// mod bits ignored).
Result<u8> SvmVcpu::mov_crdr_gpr(u8 *len)
{
	u8 bytes[15];
	usize n = 0;
	Result<u8> prefixes = prefix_bytes();
	if (!prefixes.ok() || !fetch(bytes, sizeof(bytes), &n).ok() || n < prefixes.value() + 3u)
		return fail(err::EFAULT);
	const u8 p = prefixes.value();
	const bool rex_b = p && (bytes[p - 1] & 0xf1) == 0x41;
	*len = p + 3;
	return static_cast<u8>((bytes[p + 2] & 7) | (rex_b ? 8 : 0));
}

// MOV to CR4, intercepted so that a guest cannot set what SET_SREGS
// refuses: with OSXSAVE it could use the host's XCR0 and the register state
// beyond SSE that axvm does not switch. Checks as a CPU does (#GP).
Result<ExitReason> SvmVcpu::handle_cr4_write()
{
	u8 len = 0;
	Result<u8> reg = mov_crdr_gpr(&len);
	if (!reg.ok())
		return Error{reg.error()};
	VmcbSave &s = vmcb_->save;
	const u64 value = gpr(reg.value());
	if (x86::cr4_write_faults(value, s.cr4, s.cr3, s.efer))
		return inject_exception(x86::kVectorGp, true, 0);
	// The paging bits change translations: flush this ASID, as the
	// instruction itself would have.
	if (((value ^ s.cr4) & x86::kCr4FlushBits) &&
	    vmcb_->control.tlb_control == kTlbFlushNothing)
		vmcb_->control.tlb_control = tlb_flush_;
	s.cr4 = value;
	advance_rip(s.rip + len);
	return ExitReason::nothing();
}

Result<ExitReason> SvmVcpu::handle_dr_access(bool write, u8 dr)
{
	u8 len = 0;
	Result<u8> gpr_index = mov_crdr_gpr(&len);
	if (!gpr_index.ok())
		return Error{gpr_index.error()};
	if (dr >= 8)
		return inject_exception(x86::kVectorUd);
	access_dr(write, dr, gpr_index.value());
	advance_rip(vmcb_->save.rip + len);
	return ExitReason::nothing();
}

Result<ExitReason> SvmVcpu::handle_npf()
{
	const u64 info = vmcb_->control.exit_info1;
	const u64 gpa = vmcb_->control.exit_info2;
	const bool write = info & kNpfWrite;
	const u32 access = write ? kAccessWrite : (info & kNpfFetch) ? kAccessExec : kAccessRead;

	if (vm_.memory().backs(gpa, write))
		return ExitReason::nothing(); // a slot appeared since: the new stage 2 has it
	// Code or page tables outside RAM, or a fault while delivering an
	// event: nothing an MMIO exit can describe.
	if ((info & (kNpfFetch | kNpfInGuestWalk)) || (vmcb_->control.exit_int_info & kEventValid))
		return ExitReason::nested_page_fault(gpa, access);

	u8 bytes[15];
	usize n = 0;
	Status s = fetch(bytes, sizeof(bytes), &n);
	Result<x86::MmioInstruction> insn = s.ok() ? x86::decode_mmio(bytes, n, cpu_mode())
						   : Result<x86::MmioInstruction>(Error{s.error()});
	if (!insn.ok()) {
		axvm_log(AXVM_LOG_WARN, "MMIO at 0x%llx by an instruction axvm cannot decode (RIP 0x%llx)", gpa,
			 vmcb_->save.rip);
		return ExitReason::nested_page_fault(gpa, access);
	}
	return mmio_exit(gpa, insn.value(), vmcb_->save.rip + insn.value().length);
}

u64 SvmVcpu::cs_base() const { return segment_base(vmcb_->save.cs, 1); }

x86::CpuMode SvmVcpu::cpu_mode() const
{
	const VmcbSave &s = vmcb_->save;
	if (!(s.cr0 & x86::kCr0Pe) || (s.rflags & (1ull << 17)))
		return x86::CpuMode::Real; // real or virtual-8086
	if ((s.efer & x86::kEferLma) && (s.cs.attrib & (1u << 9)))
		return x86::CpuMode::Long64;
	return s.cs.attrib & (1u << 10) ? x86::CpuMode::Protected32 : x86::CpuMode::Protected16;
}

x86::PagingState SvmVcpu::paging() const
{
	const VmcbSave &s = vmcb_->save;
	return x86::PagingState{s.cr0, s.cr3, s.cr4, s.efer};
}

Status SvmVcpu::access_linear(u64 linear, void *buf, usize len, bool write)
{
	return x86::access_linear(paging(), vm_.memory(), linear, buf, len, write);
}

Status SvmVcpu::fetch(u8 *bytes, usize len, usize *fetched)
{
	return x86::fetch_instruction(paging(), vm_.memory(), segment_base(vmcb_->save.cs, 1) + vmcb_->save.rip, bytes,
				      len, fetched);
}

} // namespace axvm::svm
